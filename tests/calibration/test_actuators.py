"""Calibration sets only the actuators the chip file declares ([actuators]), within their limits."""

import dataclasses

import numpy as np
import pytest

from calibration.calibrate import calibrate, calibrated_budget, shared_gains
from calibration.chip import nominal_trims, sample_chip
from calibration.variation import VariationConfig
from mvm.actuators import ActuatorsConfig, actuator_budget, drive_trim_groups, quantise_gain, trim_dacs
from mvm.config import ChipConfig, config_from_dict
from photonics.errors import UsageError


def _chip(**actuators) -> ChipConfig:
    # one 4 x 4 tile per modulus keeps calibration quick
    c = ChipConfig()
    return dataclasses.replace(
        c,
        tile=dataclasses.replace(c.tile, rows=4, h=4),
        actuators=dataclasses.replace(c.actuators, **actuators),
    )


def _calibrated(config: ChipConfig, seed: int = 3):
    sample = sample_chip(config, VariationConfig(), np.random.default_rng(seed))
    trims, report = calibrate(sample, np.random.default_rng(seed + 1))
    return trims, report


def _gains(config, trims):
    """(R, h, B, levels) gain of every driven level's voltage over the drawing's.

    A trim scales a segment's whole drive; with a differential drive (-V..+V) the middle level is 0 V, which no
    gain moves, so only the levels the drawing drives away from 0 V carry a ratio.
    """
    out = []
    for v, n in zip(trims.level_voltages_v, nominal_trims(config).level_voltages_v, strict=True):
        driven = np.abs(n[0, 0, 0]) > 1e-12
        assert driven.sum() >= 2
        np.testing.assert_array_equal(v[..., ~driven], n[..., ~driven])  # 0 V stays 0 V
        out.append(v[..., driven] / n[..., driven])
    return out


def test_no_drive_trim_leaves_every_drive_as_drawn():
    config = _chip(drive_trim="none")
    trims, report = _calibrated(config)
    for v, n in zip(trims.level_voltages_v, nominal_trims(config).level_voltages_v, strict=True):
        np.testing.assert_array_equal(v, n)
    assert report.gain_trim_rel == 0


def test_per_mmu_trims_one_quantised_gain_per_mmu_within_range():
    config = _chip(drive_trim="per-mmu", trim_bits=6, trim_range_rel=0.05)
    act = config.actuators
    trims, _ = _calibrated(config)
    steps = 2**act.trim_bits - 1
    for g in _gains(config, trims):  # (R, h, B, m-1)
        per_mmu = g[:, :, :1, :1]
        np.testing.assert_allclose(g, np.broadcast_to(per_mmu, g.shape), rtol=1e-12)  # one gain per MMU
        code = (per_mmu - (1 - act.trim_range_rel)) / (2 * act.trim_range_rel) * steps
        np.testing.assert_allclose(code, np.round(code), atol=1e-6)  # on the DAC's grid
        assert np.all((code > -1e-6) & (code < steps + 1e-6))  # within range
        assert len(np.unique(np.round(code))) > 1  # the trims did act


def test_per_column_trims_share_one_gain_over_the_rows():
    config = _chip(drive_trim="per-column")
    trims, _ = _calibrated(config)
    for m, g in zip(config.all_moduli, _gains(config, trims), strict=True):
        np.testing.assert_allclose(g, np.broadcast_to(g[:1], g.shape), rtol=1e-12)  # the rows share it
        np.testing.assert_allclose(g, np.broadcast_to(g[..., :1], g.shape), rtol=1e-12)  # over every level
        if config.mdpu_design(m).mmu.shared_drive:  # one input drive per column: one trim over its segments too
            np.testing.assert_allclose(g, np.broadcast_to(g[:, :, :1], g.shape), rtol=1e-12)
        # a digital-product column drives each segment from its own digital driver, so each has its own trim


def test_lo_bias_heaters_stay_within_their_power_and_clipping_is_reported():
    config = _chip(lo_heater_max_mw=60.0)
    trims, report = _calibrated(config)
    for b in trims.lo_bias_power_mw:
        assert np.all((b >= 0) & (b <= 60.0))
    tight = _chip(lo_heater_max_mw=2.0)  # far less than a turn (2 P_pi = 40 mW): most rows cannot be reached
    trims, report = _calibrated(tight)
    for b in trims.lo_bias_power_mw:
        assert np.all((b >= 0) & (b <= 2.0))
    assert report.lo_heaters_clipped > 0


def test_shared_gain_is_the_least_squares_gain_of_its_group():
    rng = np.random.default_rng(0)
    ideal = np.array([1.0, 2.0, 4.0, 8.0])
    slope = ideal * (1 + 0.05 * rng.standard_normal((2, 3, 4)))
    groups = drive_trim_groups(ActuatorsConfig(drive_trim="per-mmu"), slope.shape, shared_drive=True)
    gains = shared_gains(slope, ideal, groups)
    for r in range(2):
        for c in range(3):
            s = slope[r, c]
            best = min(np.linspace(0.8, 1.2, 40001), key=lambda g: np.sum((g * s - ideal) ** 2))  # brute force
            assert gains[r, c] == pytest.approx(np.full(4, best), abs=2e-5)


def test_trim_dacs_counted_by_granularity():
    shape = (16, 16, 5)
    counts = {
        k: trim_dacs(ActuatorsConfig(drive_trim=k), shape, shared_drive=True)
        for k in ("none", "per-column", "per-mmu", "per-segment")
    }
    assert counts == {"none": 0, "per-column": 16, "per-mmu": 256, "per-segment": 1280}
    assert trim_dacs(ActuatorsConfig(drive_trim="per-column"), shape, shared_drive=False) == 80


def test_quantised_gain_is_on_the_grid_and_clipped_to_the_range():
    act = ActuatorsConfig(trim_range_rel=0.1, trim_bits=3)
    gain, clipped = quantise_gain(np.array([0.5, 0.95, 1.0, 1.31]), act)
    grid = 0.9 + 0.2 * np.arange(8) / 7
    assert all(np.isclose(grid, g).any() for g in gain)
    np.testing.assert_allclose(gain[[0, 3]], [0.9, 1.1])
    assert clipped.tolist() == [True, False, False, True]


def test_budget_counts_trim_dacs_and_heaters():
    config = _chip(drive_trim="per-mmu")
    budget = actuator_budget(config, lo_heater_power_mw=5.0, ring_heater_power_mw=0.0)
    dacs = 3 * 4 * 4  # three moduli, 4 x 4 MMUs each
    assert budget.trim_dacs == dacs
    assert budget.trim_power_mw == pytest.approx(dacs * config.actuators.trim_dac_power_uw * 1e-3)
    assert budget.area_mm2 == pytest.approx(dacs * config.actuators.trim_dac_area_um2 * 1e-6)
    assert budget.static_power_mw == pytest.approx(budget.trim_power_mw + 5.0)
    trims = nominal_trims(config)
    # the LO arm: the bias heater as trimmed plus the quarter-wave heater (P_pi / 2) of every row
    lo = sum(b.sum() for b in trims.lo_bias_power_mw) + 3 * 4 * config.heater.p_pi_mw / 2
    assert calibrated_budget(config, trims).lo_heater_power_mw == pytest.approx(lo)


def test_ring_assisted_chips_are_refused_with_the_measured_reason():
    c = ChipConfig()
    config = dataclasses.replace(c, tile=dataclasses.replace(c.tile, element="ring-assisted", rows=2, h=2))
    sample = sample_chip(config, VariationConfig(), np.random.default_rng(0))
    with pytest.raises(UsageError, match="ring-assisted chips cannot be calibrated.*1.84 to 1.85 rad"):
        calibrate(sample, np.random.default_rng(1))


def test_actuators_section_is_read_from_the_file():
    config = config_from_dict({"actuators": {"drive_trim": "per-column", "trim_bits": 10}})
    assert config.actuators.drive_trim == "per-column" and config.actuators.trim_bits == 10
    with pytest.raises(UsageError, match=r"\[actuators\] drive_trim: must be one of none, per-column"):
        config_from_dict({"actuators": {"drive_trim": "per-row"}})
