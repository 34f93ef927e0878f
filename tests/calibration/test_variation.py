"""Variation sampling: zero variation is the drawing; correlation and distributions as configured."""

import dataclasses

import numpy as np
import pytest

from calibration.calibrate import probe_phase_error
from calibration.chip import build_chip, nominal_trims, sample_chip, tile_rows
from calibration.montecarlo import phase_error
from calibration.sensitivity import alone
from calibration.variation import Spread, VariationConfig, correlation_factor, sample_field, standard_draws
from mvm.config import ChipConfig
from mvm.gemm import build_chip as ideal_chip
from mvm.gemm import rns_gemm
from photonics.phase_shifter_eo import eo_phase_rad


@pytest.fixture(scope="module")
def config():
    return ChipConfig()


def test_zero_variation_reproduces_the_ideal_chip_exactly(config):
    sample = sample_chip(config, VariationConfig.zero(), np.random.default_rng(3))
    chip, ideal = build_chip(sample, nominal_trims(config)), ideal_chip(config)
    for t, ti in zip(chip.tiles, ideal.tiles):
        for r, ri in zip(t.rows, ti.rows):
            np.testing.assert_array_equal(r.segment_t, ri.segment_t)
            np.testing.assert_array_equal(r.lo_to_det, ri.lo_to_det)
            np.testing.assert_array_equal(r.arm_to_det, ri.arm_to_det)
    a, b = np.random.default_rng(1).standard_normal((24, 48)), np.random.default_rng(2).standard_normal((48, 20))
    c1, r1 = rns_gemm(a, b, chip, seed=5)
    c2, r2 = rns_gemm(a, b, ideal, seed=5)
    np.testing.assert_array_equal(c1, c2)
    assert r1.residue_errors == r2.residue_errors
    ideal_error = probe_phase_error(list(ideal.tiles[0].rows), np.random.default_rng(7))
    zero_error = probe_phase_error(tile_rows(sample, 0, nominal_trims(config)), np.random.default_rng(7))
    np.testing.assert_array_equal(zero_error, ideal_error)


def test_an_electrode_length_error_scales_the_pockels_phase_not_the_guide(config):
    """length_rel (the electrode's) turns each level by its Pockels phase pi V L / VpiL times the deviation, and
    leaves the drawn guide: the transmission's magnitude, and its phase at 0 V, are the ideal chip's."""
    variation = alone(dataclasses.replace(VariationConfig(), length_rel=Spread(0.0, 0.01)), "length_rel")
    sample = sample_chip(config, variation, np.random.default_rng(5))
    trims = nominal_trims(config)
    rows, ideal = tile_rows(sample, 0, trims), ideal_chip(config).tiles[0].rows
    design, eo = rows[0].design, config.phase_shifter_eo
    rel = sample.tiles[0].seg["length_rel"][..., None]  # (R, h, B, 1)
    assert np.abs(rel).max() > 5e-3
    volts = trims.level_voltages_v[0]  # (R, h, B, m)
    pockels = eo_phase_rad(
        design.wl_um,
        voltage_v=volts,
        length_um=design.mmu.segment_lengths_um()[:, None],
        vpil_v_cm=eo.vpil_v_cm,
        wl0_um=eo.wl0_um,
    )
    got = np.stack([r.segment_t for r in rows])
    want = np.stack([r.segment_t for r in ideal]) * np.exp(1j * np.asarray(pockels) * rel)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert np.abs(np.asarray(pockels) * rel).max() > 1e-2  # the turn is there to see


def test_uncalibrated_error_grows_with_variation_scale(config):
    # Centimetres of Pockels waveguide make the static phase saturate (random, ~1.8 rad rms) from about
    # 1e-4 of the default sigmas on; below that the error grows with the scale. Crosstalk is off so
    # that only the sigmas change.
    errors = []
    for scale in (1e-7, 1e-6, 1e-5):
        variation = dataclasses.replace(VariationConfig(), scale=scale, crosstalk_at_100um=0.0)
        samples = [sample_chip(config, variation, np.random.default_rng(s)) for s in range(3)]
        errors.append(np.median([phase_error(s, nominal_trims(config)) for s in samples]))
    assert errors[0] < errors[1] < errors[2], errors
    assert errors[1] / errors[0] > 5 and errors[0] > 0


def test_local_field_has_the_configured_spatial_correlation():
    xy = np.array([[0.0, 0.0], [500.0, 0.0], [2000.0, 0.0], [6000.0, 0.0]])
    factor = correlation_factor(xy, 2000.0)
    config = VariationConfig()
    rng = np.random.default_rng(0)
    draws = np.array([sample_field(rng, factor, config, Spread(0.0, 1.0)) for _ in range(20000)])
    corr = np.corrcoef(draws.T)
    d = np.abs(xy[:, None, 0] - xy[None, :, 0])
    np.testing.assert_allclose(corr, np.exp(-(d**2) / (2 * 2000.0**2)), atol=0.03)
    assert draws.std(0) == pytest.approx(np.ones(4), rel=0.03)


@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncnormal"])
def test_distributions_have_unit_variance(distribution):
    config = dataclasses.replace(VariationConfig(), distribution=distribution, truncate_sigmas=2.0)
    z = standard_draws(np.random.default_rng(1), 200_000, config)
    assert z.mean() == pytest.approx(0, abs=0.01) and z.std() == pytest.approx(1, rel=0.01)
    if distribution == "uniform":
        assert np.abs(z).max() <= np.sqrt(3)
    if distribution == "truncnormal":
        assert np.abs(z).max() <= 2.0 / 0.774 + 1e-9  # truncated at 2 sigma before rescaling


def test_bad_variation_settings():
    with pytest.raises(
        ValueError, match='VariationConfig: distribution: must be one of normal, uniform, truncnormal, got "cauchy"'
    ):
        VariationConfig(distribution="cauchy")
    with pytest.raises(ValueError, match="VariationConfig: crosstalk_at_100um: must be < 1, got 1.5"):
        VariationConfig(crosstalk_at_100um=1.5)


def test_positions_from_a_layout_feed_correlation_and_crosstalk(tmp_path):
    from calibration.chip import geometry_of
    from circuits.layout import load_positions, write_tile

    config = dataclasses.replace(ChipConfig(), tile=dataclasses.replace(ChipConfig().tile, rows=2, h=2))
    path = tmp_path / "tile.gds"
    write_tile(path, [config.mdpu_design(m) for m in config.all_moduli], rows=2)
    geometry = geometry_of(config, 0, str(path.with_suffix(".json")))
    segments = [d for d in load_positions(path) if d["role"] == "segment" and d["modulus"] == 31]
    for d in segments:
        np.testing.assert_allclose(geometry.segment_xy[d["row"], d["j"], d["b"]], (d["x_um"], d["y_um"]))
    assert not np.allclose(geometry.segment_xy, geometry_of(config, 0).segment_xy)  # not the default placement
    sample = sample_chip(config, VariationConfig(), np.random.default_rng(0), layout=str(path.with_suffix(".json")))
    assert sample.tiles[0].geometry is geometry
    with pytest.raises(ValueError, match="lay it out with the same configuration"):
        geometry_of(ChipConfig(), 0, str(path.with_suffix(".json")))
