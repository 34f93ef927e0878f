"""The receiver map against brute-force reads: boundaries, residues, distances and the proven noise margin.

The map (:func:`mvm.receiver.receiver_map`) turns a row's arm phase v (levels) into a residue through boundaries
found by bisection. Its references here: the ideal receiver (round v to the nearest level), the noiseless receiver
evaluated directly at each v (fields from T = exp(base + 2j*pi*v/m), mean detector currents, I/Q correction,
atan2, rounding), and :func:`circuits.readout.read` itself, with its ADCs and noise.
"""

import dataclasses

import numpy as np
import pytest

from circuits.compiled import IqCorrection, compile_mdpu
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign
from circuits.readout import NoiseBall, Readout, Receivers, read, read_arms
from mvm.engine import TileTables
from mvm.receiver import ReceiverMap, receiver_map
from mvm.tile import ModulusTile
from photonics.photodetector import adc_lsb_a, adc_noise_lsb_rms_for_enob, mean_current_a

M = 31
SKIP = 1e-15  # the chip's default skip probability
# An I/Q-imbalanced receiver: the I pair's positive detector takes 10 % more signal (a gain error and an offset),
# the Q pair's signal is 0.12 rad off quadrature (0.6 level at m = 31: far from even boundaries).
I_GAIN, Q_SKEW_RAD = 1.1, 0.12
# A digital correction that is not the inverse of the skew (an arbitrary affine map that keeps the circle round
# enough to stay monotone): the map must follow whatever correction the row carries.
CORRECTION = IqCorrection(offset=(0.004, -0.006), matrix=((1.05, 0.08), (-0.03, 0.95)))


@pytest.fixture(scope="module")
def ideal_row():
    return compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=M), h=4))


def imbalanced(row, correction=None):
    s = row.arm_to_det.copy()
    s[0] *= I_GAIN
    s[2:] *= np.exp(1j * Q_SKEW_RAD)
    return dataclasses.replace(row, arm_to_det=s, iq_correction=correction)


def base_of(row) -> complex:
    return TileTables.from_tile(ModulusTile.from_rows([row])).base[0]


def map_of(row, readout: Readout) -> ReceiverMap:
    return receiver_map([row], Receivers.of([row], readout), readout, np.array([base_of(row)]), SKIP, np.zeros(1))


def fields_at(row, v) -> np.ndarray:
    t = np.exp(base_of(row) + 2j * np.pi * np.asarray(v) / M)
    return row.lo_to_det + row.arm_to_det * row.src_to_arm * t[..., None]


def noiseless_residue(row, readout: Readout, v) -> np.ndarray:
    """The receiver without noise or ADC at arm phases v, straight from the row: currents, correction, atan2."""
    current = mean_current_a(readout.laser.power_mw * np.abs(fields_at(row, v)) ** 2, readout.detector)
    z = (current[..., 0] - current[..., 1]) + 1j * (current[..., 2] - current[..., 3])
    if row.iq_correction is not None:
        scale = readout.detector.responsivity_a_per_w * readout.laser.power_mw * 1e-3
        z = row.iq_correction.apply(z / scale) * scale
    return np.mod(np.round(np.mod(np.angle(z), 2 * np.pi) * M / (2 * np.pi)).astype(np.int64), M)


def boundaries(rec: ReceiverMap) -> np.ndarray:
    inside = rec.inside[0]
    return np.sort(inside[np.isfinite(inside)])


def test_an_ideal_row_rounds_the_arm_phase_at_evenly_spaced_boundaries(ideal_row):
    # 1 mW: far below the detectors' compression, which bends the phase (about 2e-3 level at 10 mW)
    readout = Readout().with_laser_power(1.0)
    rec = map_of(ideal_row, readout)
    b = boundaries(rec)
    assert len(b) == M
    gaps = np.diff(np.append(b, b[0] + M))
    assert np.abs(gaps - 1).max() < 1e-3
    assert rec.spread[0] < 1e-3
    assert np.isfinite(rec.margin_levels[0])
    v = np.random.default_rng(1).uniform(-M, 2 * M, 100_000)
    rows = np.zeros(len(v), int)
    residue, distance = rec.residues(v, rows)
    off_half = np.abs(np.abs(v - np.rint(v)) - 0.5) > 1e-3
    np.testing.assert_array_equal(residue[off_half], np.mod(np.rint(v[off_half]), M))
    even, even_distance = rec.even_residues(v, rows)
    assert np.mean(even_distance <= 0) < 0.01
    np.testing.assert_array_equal(even[even_distance > 0], residue[even_distance > 0])
    assert np.all(even_distance <= distance + 1e-12)  # the even form is never more confident than the map


@pytest.mark.parametrize("correction", [None, CORRECTION], ids=["uncorrected", "corrected"])
def test_the_map_reads_as_the_noiseless_receiver_on_an_imbalanced_row(ideal_row, correction):
    row = imbalanced(ideal_row, correction)
    readout = Readout().with_laser_power(1.0)
    rec = map_of(row, readout)
    assert len(boundaries(rec)) == M
    assert rec.spread[0] > 0.1  # far from even: the binned form is the one under test
    v = np.random.default_rng(2).uniform(-M, 2 * M, 100_000)
    residue, distance = rec.residues(v, np.zeros(len(v), int))
    sure = distance > 1e-9
    assert sure.mean() > 0.999
    want = noiseless_residue(row, readout, v)
    wrong = np.count_nonzero(residue[sure] != want[sure])
    assert wrong == 0, f"{wrong} of {sure.sum()} residues differ from the noiseless receiver"
    # the distance is to the nearest boundary: the residue holds up to it and changes just past it on one side
    sub = np.nonzero(sure)[0][:2000]
    d = distance[sub]
    for step in (-0.999, 0.999):
        np.testing.assert_array_equal(noiseless_residue(row, readout, v[sub] + step * d), want[sub])
    past = [noiseless_residue(row, readout, v[sub] + step * d + step * 1e-7) != want[sub] for step in (-1, 1)]
    assert np.all(past[0] | past[1])


@pytest.mark.parametrize("correction", [None, CORRECTION], ids=["uncorrected", "corrected"])
def test_read_with_its_adc_agrees_beyond_the_noiseless_margin(ideal_row, correction):
    row = imbalanced(ideal_row, correction)
    readout = Readout(noise=False).with_laser_power(1.0)
    rec = map_of(row, readout)
    margin = rec.margin_levels[0]
    assert 0 < margin < 0.5  # the ADC's quantisation, and nothing else with noise off
    v = np.random.default_rng(3).uniform(0, M, 100_000)
    residue, distance = rec.residues(v, np.zeros(len(v), int))
    beyond = distance > margin
    got = read(row, fields_at(row, v[beyond]), readout).residue
    wrong = np.count_nonzero(got != residue[beyond])
    assert wrong == 0, f"{wrong} of {beyond.sum()} ADC reads differ beyond the margin {margin:.3g}"


def noisy_wrong(row, readout: Readout, rec: ReceiverMap, distance: float, draws: int, seed: int) -> int:
    """Wrong residues among ``draws`` noisy reads at ``distance`` (levels) either side of every boundary.

    Each read takes the largest drive-noise sigma of any input (the margin's worst case); ten calls, each with its
    own laser frequency drift.
    """
    rng = np.random.default_rng(seed)
    b = boundaries(rec)
    v = np.concatenate([b - distance, b + distance])
    want = noiseless_residue(row, readout, v)
    drive = np.sqrt(row.drive_variance_table.max(axis=(1, 2)).sum()) * readout.drive_noise_v_rms
    reps = -(-draws // (10 * len(v)))
    wrong = 0
    for _ in range(10):
        fields = np.broadcast_to(fields_at(row, v), (reps, len(v), 4))
        got = read(row, fields, readout, rng, drive_sigma_rad=np.full((reps, len(v)), drive)).residue
        wrong += np.count_nonzero(got != want)
    return wrong


@pytest.mark.parametrize(
    "kind, power_mw",
    [("ideal", 1.0), ("imbalanced", 10.0)],  # the receiver's noise dominates; the laser's phase noise does
)
def test_noise_never_crosses_the_margin_and_does_cross_a_quarter_of_it(ideal_row, kind, power_mw):
    row = ideal_row if kind == "ideal" else imbalanced(ideal_row, CORRECTION)
    readout = Readout().with_laser_power(power_mw)
    assert readout.noise and readout.laser.linewidth_khz > 0 and readout.drive_noise_v_rms > 0
    rec = map_of(row, readout)
    margin = rec.margin_levels[0]
    assert np.isfinite(margin)
    outside = noisy_wrong(row, readout, rec, margin * (1 + 1e-6), 200_000, seed=4)
    assert outside == 0, f"{outside} of 2e5 noisy reads just outside the margin {margin:.3g} read another residue"
    inside = noisy_wrong(row, readout, rec, margin / 4, 200_000, seed=5)
    assert inside > 20, f"only {inside} noisy reads at a quarter of the margin erred: the noise is too weak to test"


def test_the_adcs_own_noise_widens_the_margin_as_the_same_noise_at_the_tia_would(ideal_row):
    """The ADC's noise (ENOB 7.5: 0.29 LSB) is the same Gaussian at the pair's input as a TIA noise of that much more
    variance: the margins agree, to the grid's safety factor, which only the TIA's term takes. At 10 mW the row's
    ADC step is its own range's, far from the nominal detector's placeholder full scale: the margin at that
    placeholder's step was 0.330 levels, the row's 0.415 (both before the joint bound of receiver and phase noise;
    now 0.322)."""
    quiet = Readout().with_laser_power(10.0)
    sigma_lsb = adc_noise_lsb_rms_for_enob(7.5, 8)
    adc = dataclasses.replace(quiet, detector=dataclasses.replace(quiet.detector, adc_noise_lsb_rms=sigma_lsb))
    lsb_a = float(np.ravel(adc_lsb_a(Receivers.of([ideal_row], adc).detector))[0])  # the row's range
    d = quiet.detector
    tia_pa = np.sqrt((d.tia_noise_pa_rthz * 1e-12) ** 2 + (sigma_lsb * lsb_a) ** 2 / (d.bandwidth_ghz * 1e9)) * 1e12
    tia = dataclasses.replace(quiet, detector=dataclasses.replace(d, tia_noise_pa_rthz=float(tia_pa)))
    margins = [map_of(ideal_row, r).margin_levels[0] for r in (quiet, adc, tia)]
    assert np.all(np.isfinite(margins))
    # the grid's 1 % safety factor (GRID_SAFETY) widens the TIA's variance, not the ADC's: the TIA's margin is the
    # wider, by a fraction of that
    assert margins[1] <= margins[2] and margins[1] == pytest.approx(margins[2], rel=5e-3)
    assert margins[1] > 1.05 * margins[0]  # the ADC's noise counted (0.293 -> 0.322 levels, the phase noise's with it)


def test_bins_hold_the_nearest_boundaries_and_the_residue_read_at_each_bin_start():
    """Every row's bins at once (:func:`mvm.receiver._bins`) against their definition, bin by bin; a row with two
    boundaries in one bin is refused."""
    from mvm.receiver import BINS_PER_LEVEL, _bins

    rng = np.random.default_rng(4)
    m = 7
    b = np.sort(np.mod(np.arange(m) + 0.5 + 0.05 * rng.standard_normal((5, m)), m), axis=1)
    b[4, 2] = b[4, 1] + 1e-4  # two boundaries in one bin
    first = rng.integers(0, m, 5)
    start, inside, below, above, distinct = _bins(b, first, m)
    assert distinct.tolist() == [True] * 4 + [False]
    for r in range(4):
        ext = np.concatenate([b[r] - m, b[r], b[r] + m])
        for q in range(m * BINS_PER_LEVEL):
            lo, hi = q / BINS_PER_LEVEL, (q + 1) / BINS_PER_LEVEL
            here = b[r][(b[r] >= lo) & (b[r] < hi)]
            assert inside[r, q] == (here[0] if len(here) else np.inf)
            if len(here):  # the boundaries either side of the one inside
                assert below[r, q] == ext[ext < here[0]].max() and above[r, q] == ext[ext > here[0]].min()
            else:
                assert below[r, q] == ext[ext <= lo].max() and above[r, q] == ext[ext >= hi].min()
            assert start[r, q] == (first[r] + np.count_nonzero(b[r] <= lo) - 1) % m


def test_a_map_kept_on_disk_is_the_map_computed_and_another_input_recomputes(ideal_row, tmp_path, monkeypatch):
    from mvm import disk_cache, receiver

    readout = Readout()
    row = imbalanced(ideal_row, CORRECTION)
    computed = map_of(row, readout)  # the cache off (tests do not enable JAX's persistent cache)
    monkeypatch.setattr(disk_cache, "directory", lambda: tmp_path)
    calls = []
    real = receiver._receiver_map
    monkeypatch.setattr(receiver, "_receiver_map", lambda *a: calls.append(1) or real(*a))
    stored, loaded = map_of(row, readout), map_of(row, readout)
    assert len(calls) == 1  # the second read the file
    for got in (stored, loaded):
        for f in dataclasses.fields(ReceiverMap):
            assert np.array_equal(getattr(got, f.name), getattr(computed, f.name)), f.name
    other = map_of(row, dataclasses.replace(readout, drive_noise_mv_rms=5.0))  # more phase noise: a wider margin
    assert len(calls) == 2 and other.margin_levels[0] > computed.margin_levels[0]


def test_the_joint_bound_is_the_two_tails_taken_together():
    """Far from the arcsine's bend (shifts of 2 % of the amplitude, where asin(x) departs from x by x^2/6 of it, 7e-5)
    the receiver's term is linear in the noise's radius, and the largest of
    a cos(theta) + b sin(theta) on the quarter circle is hypot(a, b) (Cauchy-Schwarz): the joint bound is that, plus
    the rounding's constant, within its grid allowance (about 1e-3 of it) and above it, never below."""
    from scipy.stats import chi

    from mvm.receiver import _joint_levels

    radius, per_rad = chi.isf(SKIP, 3), M / (2 * np.pi)
    for phase_rad, sigma_a, rounding_a, gain, slowest in [
        (2.5e-3, 2.5e-3, 0.0, 1.0, 1.0),
        (1e-3, 1.5e-3, 4e-4, 1.3, 0.9),
    ]:
        got = _joint_levels(phase_rad, sigma_a, rounding_a, gain, 1.0, slowest, M, radius, np.inf)
        receiver_per_sigma = gain * sigma_a / slowest * per_rad  # levels per unit of the pair noise's radius
        want = radius * np.hypot(phase_rad * per_rad, receiver_per_sigma) + gain * rounding_a / slowest * per_rad
        assert want <= got <= want * (1 + 2e-3)
        union = radius * (phase_rad * per_rad + receiver_per_sigma)  # the two tails added, at the same radius
        assert got < 0.8 * union  # neither dominates: hypot(a, b) is at most 0.71 (a + b) where a = b
    # a ball reaching past the ADC's headroom or the smallest amplitude proves nothing
    assert _joint_levels(1e-3, 1e-6, 0.0, 1.0, 1.0, 1.0, M, radius, 5e-6) == np.inf
    assert _joint_levels(1e-3, 0.2, 0.0, 1.0, 1.0, 1.0, M, radius, np.inf) == np.inf


def test_at_a_large_skip_probability_reads_at_the_margin_err_less_often_and_at_half_of_it_more():
    """The margin for a skip probability of 1e-3 (1 mW: the receiver's and the phase's noise of one size, where the
    joint bound sets the margin, 0.178 levels against the added tails' 0.226): reads just outside it err at most
    that often (0-2 of 200,000 measured), reads at half of it far more often (about 2,900): the bound holds and is
    within a factor of two of the noise's tail."""
    row = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=M), h=4))
    readout = Readout().with_laser_power(1.0)
    skip, draws = 1e-3, 200_000
    rec = receiver_map([row], Receivers.of([row], readout), readout, np.array([base_of(row)]), skip, np.zeros(1))
    margin = rec.margin_levels[0]
    assert noisy_wrong(row, readout, rec, margin * (1 + 1e-6), draws, seed=9) <= skip * draws
    assert noisy_wrong(row, readout, rec, margin / 2, draws, seed=10) > 5 * skip * draws


class _OnTheSphere(NoiseBall):
    """Draws on the ball's surface (its worst case) in uniform directions, the RIN draw at its bound's edge."""

    def draws_outside(self, readout, rng, drive_sigma_rad, drift_hz):
        from circuits.readout import _Draws

        k, shape = self.dimensions(readout), np.shape(self.radius)
        direction = rng.standard_normal((k, *shape))
        w = direction / np.linalg.norm(direction, axis=0) * self.radius
        edge = self.rin_sigmas if np.isfinite(self.rin_sigmas) else 0.0
        return _Draws(w[0] if k == 3 else None, drift_hz, np.where(rng.random(shape) < 0.5, -edge, edge), w[-2:])


def reads_on_the_sphere_wrong(row, readout: Readout, rec: ReceiverMap, distance: float, radius: float, reps: int):
    """Wrong residues of reads at ``distance`` either side of every boundary with their noise on the sphere of
    ``radius`` (the drive's noise at its largest over the inputs, no drift); where uneven boundaries put another
    boundary nearer, that phase is left out."""
    b = boundaries(rec)
    v = np.concatenate([b - distance, b + distance])
    v = v[rec.residues(v, np.zeros(len(v), int))[1] >= distance * (1 - 1e-9)]
    assert len(v) >= M // 2, f"only {len(v)} phases {distance} from every boundary"
    v = np.tile(v, reps)
    want = noiseless_residue(row, readout, v)
    drive = np.sqrt(row.drive_variance_table.max(axis=(1, 2)).sum()) * readout.drive_noise_v_rms
    receivers = Receivers.of([row], readout).take(np.zeros(len(v), int))
    arm = np.exp(base_of(row) + 2j * np.pi * v / M)
    ball = _OnTheSphere(np.full(len(v), radius), rec.rin_sigmas)
    rng = np.random.default_rng(11)
    got = read_arms(receivers, arm, readout, rng, drive_sigma_rad=np.full(len(v), drive), drift_hz=0.0, outside=ball)
    return np.count_nonzero(got.residue != want)


@pytest.mark.parametrize("kind, power_mw", [("ideal", 1.0), ("imbalanced", 10.0)])
def test_no_read_with_its_noise_in_its_bins_ball_errs_and_on_twice_the_ball_reads_do(ideal_row, kind, power_mw):
    """Exact thinning's premise: a readout at a bin's distance reads its noiseless residue for every draw in the
    bin's ball (:attr:`ReceiverMap.leave_radius`), checked with reads (ADCs, atan2) whose noise lies on the ball's
    surface, the RIN at its bound; on a sphere of twice the radius reads do err (the ball is within 2x of the
    largest harmless one: measured, reads first err at 1.3x on the ideal row, 1.5-2x on the imbalanced one,
    whose bound takes the smallest amplitude and slowest slope over the circle)."""
    from mvm.receiver import THIN_BINS_PER_LEVEL

    row = ideal_row if kind == "ideal" else imbalanced(ideal_row, CORRECTION)
    readout = Readout().with_laser_power(power_mw)
    rec = map_of(row, readout)
    balls = np.flatnonzero(rec.leave_radius[0] > 0)
    assert (
        len(balls) > 10 and rec.noise_ball(0, balls[0]).leave_probability(readout) > 1e-3
    )  # from a measurable tail on
    for k in balls[:: len(balls) // 6]:
        radius = rec.leave_radius[0, k]
        distance = k / THIN_BINS_PER_LEVEL
        assert reads_on_the_sphere_wrong(row, readout, rec, distance, radius, 500) == 0, (k, radius)
    k = balls[len(balls) // 2]
    assert reads_on_the_sphere_wrong(row, readout, rec, k / THIN_BINS_PER_LEVEL, 2 * rec.leave_radius[0, k], 500) > 20
