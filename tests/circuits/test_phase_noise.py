"""Signal-arm phase noise: laser phase noise and frequency drift over the delay mismatch, drive noise; and the
receiver, each made dominant in turn against the prediction that `mirage mac --trials` and `mirage design` use.

Statistics of the per-source tests: 20,000 dot products at a predicted rate p in [5e-3, 1e-1] give at least
100 expected errors; a binomial count of mean 100 has sd 10, so the 2x window (50..200) lies 5 sd below and
10 sd above it: a correct model fails with probability below 3e-7. With drift on, the 20,000 trials share 1000
drift draws (one per run), a weaker but still ample sample (the rate averages over 1000 Gaussian offsets).
"""

import dataclasses

import numpy as np
import pytest
from scipy.special import erfcinv

from circuits.compiled import C_UM_PER_S, compile_mdpu
from circuits.link_budget import link_budget
from circuits.mdpu import MdpuDesign, MdpuRoutes
from circuits.mmu import MmuDesign
from circuits.readout import (
    Readout,
    drive_phase_sigma_rad,
    phase_sigma_rad,
    phase_variances_rad2,
    predicted_error_rate,
    ranged_detector,
    read,
    receiver_variances_rad2,
    saturation_laser_power_mw,
)
from mirage import mac
from mvm.config import ChipConfig, NoiseConfig
from mvm.gemm import build_chip, rns_gemm
from photonics.photodetector import adc_codes, codes_to_current_a
from tests.circuits.fold_2023 import fold_2023
from tests.circuits.noise_cases import receiver_only, with_laser
from tests.helpers import folded_path_um

M = 31
TARGET_RATE = 3e-2
# The rms phase that gives TARGET_RATE alone: erfc(pi / (m sigma sqrt 2)) = rate.
TARGET_SIGMA = np.pi / (M * np.sqrt(2) * erfcinv(TARGET_RATE))


@pytest.fixture(scope="module")
def mdpu4():
    return compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M)))


def path_delay_s(design: MdpuDesign) -> float:
    """Analytic signal-minus-LO group delay of a straight design: sum of L*ng/c over each arm's guides.

    A segment's guide is its electrode length L folded into n straight sections of at most section_max_um (n the
    least even count, at least 2) joined by n half-turns of radius r: L + n*pi*r of thin-film LN.
    """
    mmu = design.mmu
    guides_um = folded_path_um(mmu.segment_lengths_um(), mmu.eo)
    per_mmu = guides_um.sum() * mmu.eo.ng + mmu.heater.length_um * mmu.heater.ng
    lo = 2 * design.lo_heater.length_um * design.lo_heater.ng  # lo_bias, then lo_i or lo_q
    lo += design.routes.lo_um * design.routes.waveguide.ng
    return (design.h * per_mmu - lo) / C_UM_PER_S


@pytest.mark.parametrize("h, lo_um", [(1, 0.0), (3, 0.0), (3, 20_000.0)])
def test_delay_mismatch_is_the_sum_of_l_ng_over_c(h, lo_um):
    design = MdpuDesign(h=h, mmu=MmuDesign(modulus=13), routes=MdpuRoutes(lo_um=lo_um, hybrid_um=300.0))
    # The drive levels and heaters add phase/omega: at most (total phase)/omega, about 0.1 ps here.
    assert compile_mdpu(design).delay_mismatch_s() == pytest.approx(path_delay_s(design), rel=0, abs=1e-12)


def test_delay_mismatch_at_any_lo_bias_is_the_front_end_solved_there():
    """delay_mismatches_s takes the LO arm's delay as a line in the LO bias power (its heater's phase is linear in
    it): each design solved alone at its own power (arm_group_delays_s, every arm's delay from that solve) gives the
    same to the central difference's round-off (about 1e-20 s), up to several P_pi, for EO and ring MMUs asked for
    in one call, some of them already known. The bias moves the LO's delay by lambda0 / 2c = 2.6 fs per P_pi."""
    from circuits.compiled import arm_group_delays_s, delay_mismatches_s
    from circuits.mdpu import with_lo_bias

    rng = np.random.default_rng(3)
    designs = [
        with_lo_bias(base, float(p))
        for mmu in (MmuDesign(modulus=13), MmuDesign(modulus=7, element="ring-assisted"))
        for base in [MdpuDesign(h=2, mmu=mmu, routes=MdpuRoutes(lo_um=5_000.0, hybrid_um=300.0))]
        for p in rng.uniform(0, 3 * base.lo_heater.p_pi_mw, 5)
    ]
    delay_mismatches_s(designs[::3])  # some known before the call that asks for all
    got = delay_mismatches_s(designs)
    solved = np.array([arm_group_delays_s(d) for d in designs])  # (n, 2): signal, LO
    assert np.ptp(solved[:5, 1]) > 1e-15  # the LO's delay moves with its bias (a constant would miss by this)
    np.testing.assert_allclose(got, solved[:, 0] - solved[:, 1], rtol=0, atol=1e-19)


@pytest.mark.parametrize("drive", ["single-ended", "differential"])
def test_drive_variance_table_against_pockels_slopes(drive):
    """Per unit of one driver's noise variance. A differential segment (two antiphase drivers, each with its own
    noise) sees twice the variance across its gap, and every segment is live there (one driver is always high)."""
    for encoding in ("binary-length", "modular-drive"):
        c = compile_mdpu(MdpuDesign(h=2, mmu=MmuDesign(modulus=13, encoding=encoding, drive=drive)))
        mmu = c.design.mmu
        slope = np.pi * mmu.segment_lengths_um() * 1e-4 / mmu.eo.vpil_v_cm  # pi L / VpiL per volt of the gap
        w = np.arange(13)
        bits = (w[:, None] >> np.arange(mmu.segments)) & 1
        if drive == "differential":
            bits = np.ones_like(bits)
        # One DAC per MMU: the active slopes add, then square; one DAC per segment: squares add.
        expected = (bits @ slope) ** 2 if mmu.shared_drive else bits @ slope**2
        expected = expected * {"single-ended": 1, "differential": 2}[drive]
        assert mmu.shared_drive == (encoding == "binary-length")
        for x in (0, 5, 12):
            np.testing.assert_allclose(c.drive_variance_table[1, x], expected, rtol=1e-5)


@pytest.mark.parametrize("modulus", [7, 31])
def test_drive_phase_variance_is_the_tables_sum_in_every_residue_dtype(modulus):
    """The flat gather's index runs in the narrowest signed type that holds h * m * m and the residues' type: the
    same sums as indexing the (h, m, m) table, for uint8 (whose own arithmetic would overflow), uint64, int32 and
    int64 residues that broadcast against each other."""
    c = compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=modulus, encoding="modular-drive")))
    rng = np.random.default_rng(5)
    x, w = rng.integers(0, modulus, (6, 1, 4)), rng.integers(0, modulus, (1, 9, 4))
    table = c.drive_variance_table
    expected = sum(table[j, x[..., j], w[..., j]] for j in range(4))
    for dtype in (np.uint8, np.uint64, np.int32, np.int64):
        np.testing.assert_array_equal(c.drive_phase_variance(x.astype(dtype), w.astype(dtype)), expected)


def test_phase_sources_at_zero_leave_read_as_the_receiver_alone(mdpu4):
    """Laser phase noise, drift and drive noise at 0: read draws exactly the receiver's samples."""
    rng = np.random.default_rng(5)
    x, w = rng.integers(0, M, (2000, 4)), rng.integers(0, M, (2000, 4))
    fields = mdpu4.detector_fields(x, w)
    readout = receiver_only(0.05)
    got = read(mdpu4, fields, readout, np.random.default_rng(9))
    ref_rng = np.random.default_rng(9)
    detector = ranged_detector(mdpu4, readout)
    rin = np.sqrt(10 ** (readout.laser.rin_db_per_hz / 10) * detector.bandwidth_ghz * 1e9)
    power = readout.laser.power_mw * (1 + rin * ref_rng.standard_normal(fields.shape[:-1]))
    limit = 20e-3 / 0.6124646942440785  # the tanh limit whose 1-dB point is the 20 mA saturation current
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
    """A readout where ``source`` dominates with about TARGET_SIGMA of phase noise, every other source small.

    The receiver alone at the power P_rx whose predicted rate is TARGET_RATE; the phase sources at 10 mW or
    30 P_rx if more (a lossy row, such as the 2023 chip's 32 dB binary-length one, needs P_rx of about 3 mW),
    where the receiver's variance is at most 1/30 of TARGET_SIGMA**2 (shot-limited; less where thermal),
    below the photodiodes' saturation.
    """
    tau = compiled.delay_mismatch_s()
    receiver_mw = link_budget(compiled, receiver_only(), TARGET_RATE).laser_power_mw
    if source == "receiver":
        return receiver_only(receiver_mw)
    quiet = receiver_only(max(10.0, 30 * receiver_mw))
    assert quiet.laser.power_mw < saturation_laser_power_mw(compiled, quiet.detector)
    if source == "laser_phase_noise":
        return with_laser(quiet, linewidth_khz=TARGET_SIGMA**2 / (2 * np.pi * tau) / 1e3)
    if source == "frequency_drift":
        return with_laser(quiet, frequency_drift_mhz_rms=TARGET_SIGMA / (2 * np.pi * tau) / 1e6)
    mean_variance = compiled.drive_variance_table.mean(axis=(1, 2)).sum()
    return dataclasses.replace(quiet, drive_noise_mv_rms=TARGET_SIGMA / np.sqrt(mean_variance) * 1e3)


@pytest.mark.parametrize(
    "source, encoding",
    [
        ("receiver", "binary-length"),
        ("laser_phase_noise", "binary-length"),
        ("frequency_drift", "binary-length"),
        ("drive", "binary-length"),
        ("drive", "modular-drive"),
        ("receiver", "digital-product"),
        ("laser_phase_noise", "digital-product"),
        ("frequency_drift", "digital-product"),
        ("drive", "digital-product"),
    ],
)
def test_each_source_alone_gives_its_predicted_error_rate(source, encoding):
    # binary-length folded as the 2023 chip: in 0.8 mm sections its 4 MMUs lose 41 dB and the receiver's noise
    # at 10 mW would no longer be small next to the source under test
    compiled = compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M, encoding=encoding, **fold_2023(encoding))))
    readout = readout_with(compiled, source)
    r = mac.trials(compiled, readout, 20_000, np.random.default_rng(1), 1e-2)
    assert r["phase_variance_share"][source] > 0.9
    assert set(r["phase_variance_share"]) == {"receiver", "laser_phase_noise", "frequency_drift", "drive"}
    assert sum(r["phase_variance_share"].values()) == pytest.approx(1.0)
    assert 5e-3 < r["predicted_error_rate"] < 1e-1
    assert r["predicted_error_rate"] / 2 <= r["error_rate"] <= 2 * r["predicted_error_rate"]
    assert r["delay_mismatch_s"] == compiled.delay_mismatch_s()


def with_adc_noise(compiled, readout: Readout, sigma_rad: float) -> Readout:
    """``readout`` with the ADC noise (LSB rms) that alone gives about ``sigma_rad`` of phase at zero input: the
    ADC's term of the receiver's variance, without its own noise, is lsb^2 / 12 / A^2, so A / lsb = 1 / sqrt(12 q)."""
    _, quantisation = receiver_variances_rad2(compiled, compiled.zero_input_fields()[None], readout)
    lsb_rms = sigma_rad / np.sqrt(12 * float(quantisation[0]))
    return dataclasses.replace(readout, detector=dataclasses.replace(readout.detector, adc_noise_lsb_rms=lsb_rms))


@pytest.mark.parametrize("encoding", ["binary-length", "digital-product"])
def test_adc_noise_alone_gives_its_predicted_error_rate(encoding):
    """The ADC's own noise dominant (the laser at 30x the receiver-limited power, the phase sources off): the
    simulated chain (its share of the pair's noise in codes) reads at the rate the analytic sigma predicts (its
    share of the pair's variance in amperes)."""
    compiled = compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M, encoding=encoding, **fold_2023(encoding))))
    quiet = receiver_only(30 * link_budget(compiled, receiver_only(), TARGET_RATE).laser_power_mw)
    readout = with_adc_noise(compiled, quiet, TARGET_SIGMA)
    assert readout.detector.adc_noise_lsb_rms > 1  # a noisy ADC: more than its quantisation
    r = mac.trials(compiled, readout, 20_000, np.random.default_rng(1), 1e-2)
    assert r["phase_variance_share"]["receiver"] > 0.9
    assert 5e-3 < r["predicted_error_rate"] < 1e-1
    assert r["predicted_error_rate"] / 2 <= r["error_rate"] <= 2 * r["predicted_error_rate"]
    quiet_rate = mac.trials(compiled, quiet, 20_000, np.random.default_rng(1), 1e-2)["error_rate"]
    assert quiet_rate < r["error_rate"] / 10  # the ADC's noise, not the rest, makes the errors


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
    receiver = float(phase_sigma_rad(mdpu4, fields[:1], receiver_only(10.0))[0])
    assert np.median(spreads) < 2 * receiver  # within one call only the receiver's noise
    assert np.std(means) == pytest.approx(TARGET_SIGMA, rel=0.35)  # between calls the drift


def test_drive_noise_needs_the_residues(mdpu4):
    readout = dataclasses.replace(receiver_only(), drive_noise_mv_rms=1.0)
    fields = mdpu4.zero_input_fields()[None]
    with pytest.raises(ValueError, match="drive_sigma_rad"):
        read(mdpu4, fields, readout, np.random.default_rng(0))
    assert drive_phase_sigma_rad(mdpu4, np.zeros((1, 4), int), np.zeros((1, 4), int), receiver_only()) is None


def test_gemm_with_laser_noise_reads_at_the_predicted_rate():
    # the laser's noise alone, over an LO routed straight to the hybrid (the matched LO leaves only 0.08 ps)
    default = ChipConfig()
    base = dataclasses.replace(
        default, noise=NoiseConfig(drive_noise_nv_rthz=0.0), tile=dataclasses.replace(default.tile, lo_path="direct")
    )
    compiled = [compile_mdpu(base.mdpu_design(m)) for m in base.all_moduli]
    tau = np.mean([abs(c.delay_mismatch_s()) for c in compiled])
    laser = dataclasses.replace(
        base.laser, linewidth_khz=TARGET_SIGMA**2 / (2 * np.pi * tau) / 1e3, frequency_drift_mhz_rms=0.0
    )
    chip = build_chip(dataclasses.replace(base, laser=laser))
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((8, 256)), rng.standard_normal((256, 16))
    _, report = rns_gemm(a, b, chip, seed=1)
    readout = chip.config.readout()
    predicted = np.mean([_rate(c, readout) for c in compiled])  # every tile's readouts weigh the same
    # the margin covers the phase noise, so nothing is proven; exact thinning simulates the readouts whose noise
    # leaves their balls (1,964 of 6,144), and the others read their noiseless residues
    assert 0 < report.simulated_readouts < report.readouts
    assert predicted / 2 <= report.residue_error_rate <= 2 * predicted


def test_gemm_with_adc_noise_reads_at_the_predicted_rate():
    """The engine proves no readout that the ADC's noise could move: its receiver maps carry that noise (and thin
    by it), so the product's residue error rate is the predicted one."""
    default = ChipConfig()
    base = dataclasses.replace(default, noise=NoiseConfig(drive_noise_nv_rthz=0.0))
    base = dataclasses.replace(
        base, laser=dataclasses.replace(base.laser, linewidth_khz=0.0, frequency_drift_mhz_rms=0.0)
    )
    compiled = [compile_mdpu(base.mdpu_design(m)) for m in base.all_moduli]
    readout = with_adc_noise(compiled[0], base.readout(), TARGET_SIGMA)
    chip = build_chip(dataclasses.replace(base, detector=readout.detector))
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((8, 256)), rng.standard_normal((256, 16))
    _, report = rns_gemm(a, b, chip, seed=1)
    readout = chip.config.readout()
    predicted = np.mean([_rate(c, readout) for c in compiled])
    assert 0 < report.simulated_readouts < report.readouts  # nothing proven, and thinned (1,153 of 6,144)
    assert predicted / 2 <= report.residue_error_rate <= 2 * predicted


def _rate(compiled, readout):
    """Predicted rate at zero input (the laser's noise does not depend on the input; the receiver's is small)."""
    sigma = phase_sigma_rad(compiled, compiled.zero_input_fields()[None], readout)[0]
    return predicted_error_rate(compiled.design.modulus, sigma)


def test_config_carries_drive_noise_over_the_band_a_readout_sees():
    """The drivers' noise density over the DAC's Nyquist band (half the clock), or over the receiver's noise
    bandwidth where that is narrower: sigma_V = density * sqrt(band), in volts."""

    def rms_mv(density_nv_rthz, clock_ghz, receiver_ghz=10.0):
        default = ChipConfig()
        cfg = dataclasses.replace(
            default,
            noise=NoiseConfig(drive_noise_nv_rthz=density_nv_rthz),
            tile=dataclasses.replace(default.tile, clock_ghz=clock_ghz),
            detector=dataclasses.replace(default.detector, bandwidth_ghz=receiver_ghz),
        )
        return cfg.readout().drive_noise_mv_rms

    assert rms_mv(20.0, 10.0) == pytest.approx(20e-9 * np.sqrt(5e9) * 1e3, rel=1e-12)
    assert rms_mv(20.0, 40.0, receiver_ghz=30.0) == 2 * rms_mv(20.0, 10.0)  # twice at 4x the clock
    assert rms_mv(20.0, 40.0) == pytest.approx(20e-9 * np.sqrt(10e9) * 1e3, rel=1e-12)  # the receiver's 10 GHz
    assert rms_mv(20.0, 40.0, receiver_ghz=8.0) == pytest.approx(20e-9 * np.sqrt(8e9) * 1e3, rel=1e-12)
    assert rms_mv(0.0, 10.0) == 0.0
    # the default: about 1 mV at the default clock, declared once (the density) and read by Readout's default too
    assert ChipConfig().readout().drive_noise_mv_rms == Readout().drive_noise_mv_rms == pytest.approx(1.0, rel=1e-12)


def test_a_chip_file_turns_every_phase_source_off_with_zeros():
    from mvm.config import config_from_dict

    default = ChipConfig().readout()
    assert default.laser.linewidth_khz > 0 and default.laser.frequency_drift_mhz_rms > 0
    off = config_from_dict(
        {"laser": {"linewidth_khz": 0, "frequency_drift_mhz_rms": 0}, "noise": {"drive_noise_nv_rthz": 0}}
    ).readout()
    assert (off.laser.linewidth_khz, off.laser.frequency_drift_mhz_rms, off.drive_noise_mv_rms) == (0, 0, 0)
    compiled = compile_mdpu(MdpuDesign(h=2, mmu=MmuDesign(modulus=M)))
    fields = compiled.zero_input_fields()[None]
    x = np.zeros((1, 2), dtype=np.int64)
    v = phase_variances_rad2(compiled, fields, off, drive_phase_sigma_rad(compiled, x, x, off))
    assert v["laser_phase_noise"] == v["frequency_drift"] == v["drive"] == 0
    on = phase_variances_rad2(compiled, fields, default, drive_phase_sigma_rad(compiled, x, x, default))
    assert min(on["laser_phase_noise"], on["frequency_drift"]) > 0


def test_identical_rows_get_identical_margins():
    """The skip probability is split between the receiver and the phase noise once per row, not once per row seen."""
    from mvm.engine import tile_engine
    from mvm.tile import ModulusTile

    laser = dataclasses.replace(ChipConfig().laser, linewidth_khz=1.0)
    config = dataclasses.replace(ChipConfig(), laser=laser)
    tile = ModulusTile.from_rows([build_chip(config).tiles[0].rows[0]] * 4)
    margins = tile_engine(tile, config.readout(), config.noise.skip_probability).receiver.margin_levels
    np.testing.assert_array_equal(margins, np.full(4, margins[0]))
    assert 0 < margins[0] < 0.5


def test_the_link_budget_weighs_each_readout_at_its_own_drive_noise(mdpu4):
    from circuits.link_budget import mean_predicted_error_rate, workload_residues
    from circuits.readout import drive_phase_sigma_rad

    readout = dataclasses.replace(receiver_only(10.0), drive_noise_mv_rms=0.3)
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


def test_tenfold_linewidth_raises_the_laser_phase_noise_by_sqrt_10():
    """sigma**2 = 2*pi*linewidth*|tau| over the arms' own delay mismatch (tau from L*ng/c of each arm's guides)."""
    design = MdpuDesign(h=3, mmu=MmuDesign(modulus=13))
    compiled = compile_mdpu(design)
    fields = compiled.zero_input_fields()[None]
    tau = path_delay_s(design)
    assert abs(tau) > 1e-10
    sigmas = []
    for linewidth_khz in (10.0, 100.0):
        readout = with_laser(receiver_only(10.0), linewidth_khz=linewidth_khz)
        sigma = float(np.sqrt(phase_variances_rad2(compiled, fields, readout)["laser_phase_noise"][0]))
        assert sigma**2 == pytest.approx(2 * np.pi * linewidth_khz * 1e3 * abs(tau), rel=1e-3)
        sigmas.append(sigma)
    assert sigmas[1] / sigmas[0] == pytest.approx(np.sqrt(10), rel=1e-9)


def test_a_path_matched_lo_has_no_laser_phase_noise():
    """An LO route as long (in group delay) as the signal arm cancels the linewidth and the drift."""
    base = MdpuDesign(h=3, mmu=MmuDesign(modulus=13), routes=MdpuRoutes(lo_um=0.0, hybrid_um=300.0))
    lo_um = path_delay_s(base) * C_UM_PER_S / base.routes.waveguide.ng  # the LO length that matches the delay
    matched = compile_mdpu(dataclasses.replace(base, routes=MdpuRoutes(lo_um=lo_um, hybrid_um=300.0)))
    assert abs(matched.delay_mismatch_s()) < 1e-12  # the drive levels and heaters leave about 0.1 ps
    # tau is about 0.24 ns here (three 1 cm digital-product MMUs): a 10 MHz linewidth gives sqrt(2 pi dv tau)
    # = 0.12 rad and a 100 MHz drift 2 pi df tau = 0.15 rad unmatched
    readout = with_laser(receiver_only(10.0), linewidth_khz=10_000.0, frequency_drift_mhz_rms=100.0)
    v = phase_variances_rad2(matched, matched.zero_input_fields()[None], readout)
    unmatched = compile_mdpu(base)
    u = phase_variances_rad2(unmatched, unmatched.zero_input_fields()[None], readout)
    assert np.sqrt(u["laser_phase_noise"][0]) > 0.1 and np.sqrt(u["frequency_drift"][0]) > 0.1
    for source in ("laser_phase_noise", "frequency_drift"):  # variance ~ |tau| and ~ tau**2: both collapse
        assert v[source][0] < 1e-3 * u[source][0]


def test_receiver_at_its_saturation_power_reads_at_the_predicted_rate():
    """The receiver dominant, its brightest detector at 1 dB of compression: the compressed amplitude lowers the
    signal and the measured rate still follows the prediction (within 2x, 20,000 trials, see the module)."""
    compiled = compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M)))
    linear = readout_with(compiled, "receiver")
    power = linear.laser.power_mw
    default_saturation_mw = saturation_laser_power_mw(compiled, linear.detector)
    detector = dataclasses.replace(
        linear.detector, saturation_current_ma=linear.detector.saturation_current_ma * power / default_saturation_mw
    )
    saturated = dataclasses.replace(linear, detector=detector)
    assert saturation_laser_power_mw(compiled, detector) == pytest.approx(power, rel=1e-9)
    r = mac.trials(compiled, saturated, 20_000, np.random.default_rng(2), 1e-2)
    assert r["saturation_laser_power_mw"] == pytest.approx(power, rel=1e-9)
    assert r["predicted_error_rate"] > 1.3 * TARGET_RATE  # compression costs: the linear readout predicts 3e-2
    assert 5e-3 < r["predicted_error_rate"] < 2e-1
    assert r["predicted_error_rate"] / 2 <= r["error_rate"] <= 2 * r["predicted_error_rate"]


def test_the_link_budget_stays_below_saturation():
    compiled = compile_mdpu(MdpuDesign(h=4, mmu=MmuDesign(modulus=M)))
    readout = receiver_only()
    power = link_budget(compiled, readout, 1e-6).laser_power_mw
    cap = dataclasses.replace(
        readout.detector,
        saturation_current_ma=readout.detector.saturation_current_ma
        * 0.5
        * power
        / saturation_laser_power_mw(compiled, readout.detector),
    )
    with pytest.raises(ValueError, match="unreachable.*photodiode saturation"):
        link_budget(compiled, dataclasses.replace(readout, detector=cap), 1e-6)
