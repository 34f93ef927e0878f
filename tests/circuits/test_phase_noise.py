"""Signal-arm phase noise: laser phase noise and frequency drift over the delay mismatch, drive noise."""

import dataclasses

import numpy as np
import pytest
from scipy.special import erfcinv

from circuits.compiled import C_UM_PER_S, compile_mdpu
from circuits.mdpu import MdpuDesign, MdpuRoutes
from circuits.mmu import MmuDesign
from circuits.readout import (
    Readout,
    drive_phase_sigma_rad,
    phase_sigma_rad,
    predicted_error_rate,
    ranged_detector,
    read,
)
from mirage import mac
from mvm.config import ChipConfig, NoiseConfig
from mvm.gemm import build_chip, rns_gemm
from photonics.laser import Laser
from photonics.photodetector import adc_codes, codes_to_current_a

M = 31
TARGET_RATE = 3e-2
# The rms phase that gives TARGET_RATE alone: erfc(pi / (m sigma sqrt 2)) = rate.
TARGET_SIGMA = np.pi / (M * np.sqrt(2) * erfcinv(TARGET_RATE))


@pytest.fixture(scope="module")
def mdpu4():
    return compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M)))


def path_delay_s(design: MdpuDesign) -> float:
    """Analytic signal-minus-LO group delay of a straight design: sum of L*ng/c over each arm's guides."""
    mmu = design.mmu
    per_mmu = mmu.segment_lengths_um().sum() * mmu.eo.ng + mmu.heater.length_um * mmu.heater.ng
    lo = 2 * design.lo_heater.length_um * design.lo_heater.ng  # lo_bias, then lo_i or lo_q
    lo += design.routes.lo_um * design.routes.waveguide.ng
    return (design.h * per_mmu - lo) / C_UM_PER_S


@pytest.mark.parametrize("h, lo_um", [(1, 0.0), (3, 0.0), (3, 20_000.0)])
def test_delay_mismatch_is_the_sum_of_l_ng_over_c(h, lo_um):
    design = MdpuDesign(h=h, mmu=MmuDesign(modulus=13), routes=MdpuRoutes(lo_um=lo_um, hybrid_um=300.0))
    # The drive levels and heaters add phase/omega: at most (total phase)/omega, about 0.1 ps here.
    assert compile_mdpu(design).delay_mismatch_s() == pytest.approx(path_delay_s(design), rel=0, abs=1e-12)


def test_drive_variance_table_against_pockels_slopes():
    for encoding in ("binary-length", "modular-drive"):
        c = compile_mdpu(MdpuDesign(h=2, mmu=MmuDesign(modulus=13, encoding=encoding)))
        mmu = c.design.mmu
        slope = np.pi * mmu.segment_lengths_um() * 1e-4 / mmu.eo.vpil_v_cm  # pi L / VpiL per volt
        w = np.arange(13)
        bits = (w[:, None] >> np.arange(mmu.segments)) & 1
        # One DAC per MMU: the active slopes add, then square; one DAC per segment: squares add.
        expected = (bits @ slope) ** 2 if mmu.shared_drive else bits @ slope**2
        assert mmu.shared_drive == (encoding == "binary-length")
        for x in (0, 5, 12):
            np.testing.assert_allclose(c.drive_variance_table[1, x], expected, rtol=1e-5)


def test_defaults_leave_read_as_the_receiver_alone(mdpu4):
    """Every new source off: read draws exactly the receiver's samples and returns the same residues."""
    rng = np.random.default_rng(5)
    x, w = rng.integers(0, M, (2000, 4)), rng.integers(0, M, (2000, 4))
    fields = mdpu4.detector_fields(x, w)
    readout = Readout().with_laser_power(0.05)
    got = read(mdpu4, fields, readout, np.random.default_rng(9))
    ref_rng = np.random.default_rng(9)
    detector = ranged_detector(mdpu4, readout)
    rin = np.sqrt(10 ** (readout.laser.rin_db_per_hz / 10) * detector.bandwidth_ghz * 1e9)
    power = readout.laser.power_mw * (1 + rin * ref_rng.standard_normal(fields.shape[:-1]))
    limit = 2.5e-3 / 0.6124646942440785  # the tanh limit whose 1-dB point is the 2.5 mA saturation current
    current = limit * np.tanh(1.1e-3 * power[..., None] * np.abs(fields) ** 2 / limit) + 10e-9  # + dark
    shot = 2 * 1.602176634e-19 * current * 10e9
    pairs = []
    for p, n in ((0, 1), (2, 3)):  # each balanced pair: both detectors' shot noise, ONE TIA (1.128 uA rms)
        sigma = np.sqrt(shot[..., p] + shot[..., n] + 1.128e-6**2)
        pairs.append(current[..., p] - current[..., n] + sigma * ref_rng.standard_normal(sigma.shape))
    i = codes_to_current_a(adc_codes(pairs[0], detector), detector)
    q = codes_to_current_a(adc_codes(pairs[1], detector), detector)
    residue = np.mod(np.round(np.mod(np.arctan2(q, i), 2 * np.pi) * M / (2 * np.pi)).astype(int), M)
    np.testing.assert_array_equal(got.residue, residue)
    np.testing.assert_array_equal(got.i_a, i)
    assert 0 < np.mean(residue != (x * w).sum(-1) % M) < 0.5  # the comparison saw errors


def readout_with(compiled, source: str) -> Readout:
    """A 10 mW readout where ``source`` alone gives about TARGET_SIGMA of phase noise."""
    tau = compiled.delay_mismatch_s()
    if source == "laser_phase_noise":
        return Readout(laser=Laser(linewidth_khz=TARGET_SIGMA**2 / (2 * np.pi * tau) / 1e3))
    if source == "frequency_drift":
        return Readout(laser=Laser(frequency_drift_mhz_rms=TARGET_SIGMA / (2 * np.pi * tau) / 1e6))
    mean_variance = compiled.drive_variance_table.mean(axis=(1, 2)).sum()
    return Readout(drive_noise_mv_rms=TARGET_SIGMA / np.sqrt(mean_variance) * 1e3)


@pytest.mark.parametrize(
    "source, encoding",
    [
        ("laser_phase_noise", "binary-length"),
        ("frequency_drift", "binary-length"),
        ("drive", "binary-length"),
        ("drive", "modular-drive"),
    ],
)
def test_each_source_alone_gives_its_predicted_error_rate(source, encoding):
    compiled = compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M, encoding=encoding)))
    readout = readout_with(compiled, source)
    r = mac.trials(compiled, readout, 20_000, np.random.default_rng(1), 1e-2)
    assert r["phase_variance_share"][source] > 0.9
    assert 5e-3 < r["predicted_error_rate"] < 1e-1
    assert r["predicted_error_rate"] / 2 <= r["error_rate"] <= 2 * r["predicted_error_rate"]
    assert r["delay_mismatch_s"] == compiled.delay_mismatch_s()


def test_drift_is_one_static_offset_per_read_call(mdpu4):
    readout = readout_with(mdpu4, "frequency_drift")
    zeros = np.zeros((3000, 4), dtype=np.int64)
    fields = mdpu4.detector_fields(zeros, zeros)
    rng = np.random.default_rng(2)
    spreads, means = [], []
    for _ in range(40):
        phase = np.angle(np.exp(1j * read(mdpu4, fields, readout, rng).phase_rad))
        spreads.append(phase.std())
        means.append(phase.mean())
    receiver = float(phase_sigma_rad(mdpu4, fields[:1], Readout())[0])
    assert np.median(spreads) < 2 * receiver  # within one call only the receiver's noise
    assert np.std(means) == pytest.approx(TARGET_SIGMA, rel=0.35)  # between calls the drift


def test_drive_noise_needs_the_residues(mdpu4):
    readout = Readout(drive_noise_mv_rms=1.0)
    fields = mdpu4.zero_input_fields()[None]
    with pytest.raises(ValueError, match="drive_sigma_rad"):
        read(mdpu4, fields, readout, np.random.default_rng(0))
    assert drive_phase_sigma_rad(mdpu4, np.zeros((1, 4), int), np.zeros((1, 4), int), Readout()) is None


def test_gemm_with_laser_noise_reads_at_the_predicted_rate():
    base = ChipConfig()
    compiled = [compile_mdpu(base.mdpu_design(m)) for m in base.all_moduli]
    tau = np.mean([c.delay_mismatch_s() for c in compiled])
    laser = dataclasses.replace(base.laser, linewidth_khz=TARGET_SIGMA**2 / (2 * np.pi * tau) / 1e3)
    chip = build_chip(dataclasses.replace(base, laser=laser))
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((8, 256)), rng.standard_normal((256, 16))
    _, report = rns_gemm(a, b, chip, seed=1)
    readout = chip.config.readout()
    predicted = np.mean([_rate(c, readout) for c in compiled])  # every tile's readouts weigh the same
    assert report.simulated_readouts == report.readouts  # the margin covers the phase noise: nothing skipped
    assert predicted / 2 <= report.residue_error_rate <= 2 * predicted


def _rate(compiled, readout):
    """Predicted rate at zero input (the laser's noise does not depend on the input; the receiver's is small)."""
    sigma = phase_sigma_rad(compiled, compiled.zero_input_fields()[None], readout)[0]
    return predicted_error_rate(compiled.design.modulus, sigma)


def test_config_carries_drive_noise():
    cfg = dataclasses.replace(ChipConfig(), noise=NoiseConfig(drive_noise_mv_rms=2.0))
    assert cfg.readout().drive_noise_mv_rms == 2.0
    assert ChipConfig().readout().drive_noise_mv_rms == 0.0


def test_identical_rows_get_identical_margins():
    """The skip probability is split between the receiver and the phase noise once per row, not once per row seen."""
    laser = dataclasses.replace(ChipConfig().laser, linewidth_khz=1.0)
    config = dataclasses.replace(ChipConfig(), laser=laser)
    tile = build_chip(config).tiles[0]
    tile = dataclasses.replace(
        tile,
        rows=(tile.rows[0],) * 4,
        iq_gain=tile.iq_gain[:1].repeat(4),
        arm_amplitude=tile.arm_amplitude[:1].repeat(4),
    )
    margins = tile.safe_margin_rad(config.readout(), config.noise.skip_probability)
    np.testing.assert_array_equal(margins, np.full(4, margins[0]))


def test_the_link_budget_weighs_each_readout_at_its_own_drive_noise(mdpu4):
    from circuits.link_budget import mean_predicted_error_rate, workload_residues
    from circuits.readout import drive_phase_sigma_rad

    readout = Readout(drive_noise_mv_rms=0.3).with_laser_power(10.0)
    x, w = workload_residues(mdpu4)
    fields = mdpu4.detector_fields(x, w)
    drive = drive_phase_sigma_rad(mdpu4, x, w, readout)
    # independent reference: each readout's erfc at its own total sigma, then the mean
    receiver = phase_sigma_rad(mdpu4, fields, dataclasses.replace(readout, drive_noise_mv_rms=0.0))
    expected = np.mean(predicted_error_rate(mdpu4.design.modulus, np.sqrt(receiver**2 + drive**2)))
    assert mean_predicted_error_rate(mdpu4, readout, fields, drive) == pytest.approx(expected, rel=1e-9)
    # the mean variance first flatters: the rate is convex in sigma where it is small
    assert mean_predicted_error_rate(mdpu4, readout, fields) < expected


def test_a_ring_arm_delay_is_bounded_over_the_drive_levels():
    """Near resonance a ring delays light by up to its photon lifetime: the mismatch takes the worst level."""
    from circuits.compiled import arm_group_delays_s

    design = compile_mdpu(MdpuDesign(h=2, mmu=MmuDesign(element="ring-assisted"))).design
    signal, lo = arm_group_delays_s(design)
    ring = design.mmu.ring
    # the delay of one ring on resonance, from its own model at wl +/- a step, at every level's voltage
    from photonics import models

    volts = design.mmu.level_voltages_v()
    step = 1e-6
    phases = [
        np.angle(np.asarray(models()["ring_allpass"](wl=wl, **{**ring.settings(), "voltage_v": volts})[("o1", "o2")]))
        for wl in (design.wl_um - step, design.wl_um + step)
    ]
    d_omega = 2 * np.pi * C_UM_PER_S * (1 / (design.wl_um - step) - 1 / (design.wl_um + step))
    per_level = np.angle(np.exp(1j * (phases[0] - phases[1]))) / d_omega
    assert per_level.max() > 50 * max(per_level.min(), 1e-15)  # the delay does depend on the level
    rings = design.h * design.mmu.segments
    # the bound takes every ring at its slowest level (guides, heaters and hybrid only add to it)
    assert signal >= rings * per_level.max() * (1 - 1e-6)
    assert signal - lo > 0.9 * rings * per_level.max()  # level 0 alone would give a few ps
