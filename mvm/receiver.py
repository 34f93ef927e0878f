"""The receiver of a tile row as a map from the arm's phase to a residue, with a proven noise margin.

When every MMU keeps its amplitude whatever its drive (Pockels segments,
heaters), the arm transmission of a readout is T = exp(base + 2j*pi*v/m) with v
(in levels) the only thing that changes from readout to readout. The noiseless
receiver (hybrid, detectors with their soft saturation, balanced pairs, the
digital I/Q correction, atan2, rounding) is then a fixed function of v, and
so is the residue it reads: it steps up by one at m boundaries b_0 < ... < b_{m-1}
on the circle v mod m. :func:`receiver_map` finds them on the exact receiver
model (a grid, then bisection to float64 round-off). The circle is cut into
``BINS_PER_LEVEL`` bins per level, each holding at most one boundary, so a
readout's residue is one lookup and one comparison, and its distance to the
nearest boundary three; for an ideal hybrid the boundaries are equally spaced
and this is rint.

The margin (in levels) beyond which a readout provably reads the same residue
with its noise and ADC as without, except with probability below
``skip_probability``:

- ADC quantisation moves (I, Q) by at most lsb/sqrt(2) (a float32 chain's
  rounding, ``CODE_ROUNDOFF`` codes, added); the receiver noise, a
  2-D Gaussian of rms sigma per axis (shot noise at the brightest pair
  currents over the circle, one TIA per pair), by more than
  sigma*sqrt(2*ln(1/p)) with probability p; the I/Q correction scales such a
  shift by at most its matrix's largest singular value. A shift D moves the read
  angle by at most asin(D/|z|), |z| the smallest corrected amplitude over the
  circle, and that is at most asin(D/|z|)/min(dphi/dv) in v.
- RIN scales all four detector powers together: the boundaries are found at
  +/- ``RIN_SIGMAS`` sigma of RIN too, and their largest move is added (zero for
  an ideal hybrid far from saturation); |z| is taken at the low end.
- Laser phase noise, frequency drift and drive noise rotate the arm itself,
  so they add sigma_phi*sqrt(2*ln(1/p)) directly in v; with them on, the
  receiver and the phase each get half of ``skip_probability``.
- With both on, a second bound takes the two together: the phase noise (one
  Gaussian) and the pair noise (two) whitened are a 3-D standard Gaussian w,
  inside the ball |w| <= r with probability 1 - p (r: the chi distribution's
  tail with 3 degrees of freedom), and the departure is at most the largest of
  sigma_phi*a (in v) plus the receiver's asin term at a shift of
  lsb/sqrt(2) + sigma*b over a^2 + b^2 = r^2 (:func:`_joint_levels`). Where
  neither source dominates it is the smaller (about 8.5 sqrt(s_1^2 + s_2^2)
  against 8.4 (s_1 + s_2)); each bound holds with probability 1 - p, so the
  margin takes the smaller of the two.

Within the margin, exact thinning: the same joint bound at a radius r is a
ball of the read's whitened draws (the phase's, where drawn, and the pairs')
inside which, with RIN within ``RIN_SIGMAS``, a readout that far from its
nearest boundary cannot cross it. Per row and distance bin
(``THIN_BINS_PER_LEVEL``) the map keeps the largest such radius on the
``THIN_RADII`` grid (:class:`circuits.readout.NoiseBall`: its leave probability); the engine simulates a readout with that
probability, its draws conditioned on leaving, and otherwise takes its
noiseless residue. That is the law of simulating it, not a bound: on the
calibrated default chip with an ENOB 6.5 ADC, where the margin proves almost
nothing, it simulates about 6,600 of the 512^3 product's 25,165,824 readouts.

Rows whose receiver is not monotone in v or with two boundaries closer than a
bin get an infinite margin and no balls: every readout of such a row is
simulated in full. A row whose ADC could clip gets an infinite margin too, and
keeps only the balls whose widest shift stays within its ADC's headroom.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import jax
import numpy as np
from scipy.stats import chi

from circuits.compiled import CompiledMdpu, correct_iq
from circuits.readout import CODE_ROUNDOFF, NoiseBall, Readout, Receivers
from mvm.digital import float_mod
from mvm.disk_cache import cached, digest
from photonics.laser import drift_phase_sigma_rad, phase_noise_variance_rad2, rin_relative_rms
from photonics.photodetector import adc_lsb_a, front_end_noise_variance_a2, mean_current_a

GRID_PER_LEVEL = 16  # receiver samples per level: they bracket the steps and sample the extremes
GRID_SAFETY = 0.01  # relative widening of the sampled extremes (|z|, slope, currents) for what lies between samples
# from the middle of a grid step of 1/16 level, quadratic convergence: the steps move a boundary by 3e-2, 4e-7,
# then 2e-14 levels (round-off: further steps move it back and forth by 1e-14), measured on a calibrated varied chip;
# every boundary is then checked within BOUNDARY_SLACK_LEVELS (else bisected)
NEWTON_STEPS = 3
DERIVATIVE_STEP = 1e-6  # levels, for the Newton slope
BISECTION_STEPS = 52  # the fallback: halvings of a grid step to float64 round-off of v
BOUNDARY_SLACK_LEVELS = 1e-9  # how far a found step may be from the true one (checked), and float64 fields
PHASE_SLACK_RAD = 1e-6  # round-off of ~1e6 rad of propagation phase in the device tables
RIN_SIGMAS = 8.0  # RIN excursions beyond 8 sigma have probability < 1e-15
BINS_PER_LEVEL = 8  # decision bins per level: boundaries closer than 1/8 level send the row to full simulation
# directions on the quarter circle a^2 + b^2 = r^2 where the joint bound is maximised; the grid's maximum is raised by
# the bound's largest slope times half a step, so the maximum between the directions is covered
JOINT_DIRECTIONS = 1025
# Exact thinning (:class:`circuits.readout.NoiseBall`): a readout within the margin is placed in a bin of its distance
# from the nearest boundary, THIN_BINS_PER_LEVEL bins a level over [0, 1/2), and each row's table gives the largest
# radius of whitened noise (on the THIN_RADII grid) that cannot carry a readout at the bin's lower edge across it
THIN_BINS_PER_LEVEL = 512
THIN_BINS = THIN_BINS_PER_LEVEL // 2
THIN_RADII = np.arange(193) / 16  # 0 to 12: chi(3)'s tail past 12 is 1e-30
THIN_DIRECTIONS = 257


@dataclass(frozen=True)
class ReceiverMap:
    """Per row of a tile: the residue read for arm phase v (levels) and the margin that proves it.

    Bin q of a row covers v in [q, q + 1) / BINS_PER_LEVEL: ``start_residue`` is read at
    its start, ``inside`` is the boundary in it (inf if none), ``below`` and ``above``
    the nearest boundaries before and after it (unwrapped past 0 and m).
    """

    modulus: int
    start_residue: np.ndarray  # (R, m * BINS_PER_LEVEL) int
    inside: np.ndarray  # (R, m * BINS_PER_LEVEL)
    below: np.ndarray  # (R, m * BINS_PER_LEVEL)
    above: np.ndarray  # (R, m * BINS_PER_LEVEL)
    margin_levels: np.ndarray  # (R,) distance from a boundary beyond which a readout is proven; inf: never
    offset: np.ndarray  # (R,) boundaries lie within ``spread`` of k + 1/2 + offset
    spread: np.ndarray  # (R,)
    centre_residue: np.ndarray  # (R,) residue read at v = offset
    # exact thinning, with noise on (else None): per row and distance bin (THIN_BINS_PER_LEVEL), the radius of the
    # noise ball that cannot carry a readout that far from a boundary across it
    leave_radius: np.ndarray | None = None  # (R, THIN_BINS)
    rin_sigmas: float = np.inf  # the RIN draw's bound that goes with the balls (inf: RIN off)

    def noise_ball(self, rows, bins) -> NoiseBall:
        """The noise balls of readouts on ``rows`` in distance bins ``bins`` (:data:`THIN_BINS_PER_LEVEL`)."""
        return NoiseBall(self.leave_radius[rows, bins], self.rin_sigmas)

    @functools.cached_property
    def device_arrays(self) -> tuple:
        """The map's arrays as int32/float32 JAX arrays, in field order (what jitted code rebuilds the map from).

        Cast by numpy: ``jnp.asarray(a, dtype)`` would compile a conversion program per shape in every fresh process;
        put by ``jax.device_put`` (a third of ``jnp.asarray``'s time: a chip's engine puts about twenty arrays).
        """
        floats = (
            self.inside,
            self.below,
            self.above,
            self.margin_levels,
            self.offset,
            self.spread,
            self.centre_residue,
        )
        return (
            jax.device_put(np.asarray(self.start_residue).astype(np.int32)),
            *(jax.device_put(np.asarray(a).astype(np.float32)) for a in floats),
        )

    @classmethod
    def never(cls, modulus: int, rows: int) -> ReceiverMap:
        """A map that proves nothing: every readout of every row is simulated in full."""
        bins = (rows, modulus * BINS_PER_LEVEL)
        inf = np.full(bins, np.inf)
        zeros = np.zeros(rows)
        return cls(
            modulus, np.zeros(bins, np.int64), inf, -inf, inf, np.full(rows, np.inf), zeros, zeros + np.inf, zeros
        )

    def residues(self, v, rows, xp=np):
        """Residues and distance to the nearest boundary (levels) for arm phases v of readouts on ``rows``."""
        m = self.modulus
        u = xp.mod(v, m)
        q = xp.clip(xp.floor(u * BINS_PER_LEVEL).astype(xp.int32), 0, m * BINS_PER_LEVEL - 1)
        inside = xp.asarray(self.inside, dtype=u.dtype)[rows, q]
        residue = xp.mod(xp.asarray(self.start_residue)[rows, q] + (u >= inside), m)
        below = xp.asarray(self.below, dtype=u.dtype)[rows, q]
        above = xp.asarray(self.above, dtype=u.dtype)[rows, q]
        return residue, xp.minimum(xp.abs(u - inside), xp.minimum(u - below, above - u))

    def even_residues(self, v, rows, xp=np):
        """As :meth:`residues`, without lookups: boundaries taken at k + 1/2 + offset, the distance less the spread.

        Exact wherever the distance it returns is positive (the true boundary is
        within ``spread`` of the even one); for rows whose boundaries are nearly
        even (a calibrated or ideal receiver) it is the cheap form. Float
        arithmetic throughout (integers below 2**22 are exact in float32).
        """
        m = self.modulus
        u = v - xp.asarray(self.offset, dtype=v.dtype)[rows]
        k = xp.rint(u)
        residue = k + xp.asarray(self.centre_residue, dtype=v.dtype)[rows]
        return float_mod(residue, m, xp), 0.5 - xp.abs(u - k) - xp.asarray(self.spread, dtype=v.dtype)[rows]


def _bins(b: np.ndarray, first: np.ndarray, m: int):
    """(start residue, inside, below, above) per bin (each (n, m * BINS_PER_LEVEL)) for n rows of ascending
    boundaries b (n, m) in [0, m), first (n,) the residue read just above b_0, and (n,) whether each row's
    boundaries lie in distinct bins (where not, that row's bins are to be discarded)."""
    count = m * BINS_PER_LEVEL
    n = len(b)
    q = np.minimum(np.floor(b * BINS_PER_LEVEL).astype(np.int64), count - 1)
    distinct = np.all(np.diff(q, axis=1) > 0, axis=1)  # b ascends, so q does: a repeat is a shared bin
    q = np.where(distinct[:, None], q, np.arange(m))  # a row with a shared bin: any distinct bins (discarded)
    starts = np.arange(count) / BINS_PER_LEVEL
    rows = np.arange(n)[:, None]
    inside = np.full((n, count), np.inf)
    inside[rows, q] = b
    # boundaries unwrapped over three turns, for the nearest one on either side of every bin
    ext = np.concatenate([b - m, b, b + m], axis=1)  # (n, 3m)
    ends = starts + 1 / BINS_PER_LEVEL
    below = np.take_along_axis(ext, np.stack([np.searchsorted(e, starts, side="right") for e in ext]) - 1, 1)
    above = np.take_along_axis(ext, np.stack([np.searchsorted(e, ends, side="left") for e in ext]), 1)
    k = np.arange(m)
    below[rows, q], above[rows, q] = ext[:, m + k - 1], ext[:, m + k + 1]  # a bin with a boundary: its neighbours
    # residue at each bin's start: first (read just above b_0) plus the boundaries passed since b_0, mod m
    passed = np.stack([np.searchsorted(row, starts, side="right") for row in b])  # boundaries at or before the start
    start = np.mod(np.asarray(first)[:, None] + passed - 1, m)
    return start, inside, below, above, distinct


@dataclass(frozen=True)
class _Rows:
    """A tile's receivers (arrays leading with R) and each row's log T_arm at v = 0."""

    receivers: Receivers
    base: np.ndarray  # (R,)

    @property
    def modulus(self) -> int:
        return self.receivers.modulus

    def z(self, readout: Readout, v: np.ndarray, rin):
        """Noiseless corrected I + jQ (A) and the four mean detector currents, detectors first (4, R, ...), for arm
        phases v (R, ...) in levels, the laser off by a relative ``rin`` (broadcast against v's trailing axes)."""
        rec = self.receivers
        extra = (slice(None),) + (None,) * (v.ndim - 1)
        t = np.exp(self.base[extra] + 2j * np.pi * v / self.modulus)
        # detectors first: each detector's pass runs over whole readouts (a trailing axis of 4 costs a loop each)
        fields = np.stack([rec.lo_to_det[:, k][extra] + rec.signal_to_det[:, k][extra] * t for k in range(4)])
        # the ADC's range does not enter the mean current: the nominal detector serves every row
        power = readout.laser.power_mw * np.asarray(1 + rin) * np.abs(fields) ** 2
        current = mean_current_a(power, readout.detector)
        z = (current[0] - current[1]) + 1j * (current[2] - current[3])
        if rec.iq_offset is not None:  # as circuits.readout.read_rows applies it, per unit input power
            scale = readout.detector.responsivity_a_per_w * readout.laser.power_mw * 1e-3
            z = correct_iq(z / scale, rec.iq_offset[extra], rec.iq_matrix[extra]) * scale
        return z, current


def _read_residue(z: np.ndarray, m: int) -> np.ndarray:
    phase = np.mod(np.angle(z), 2 * np.pi)  # as circuits.readout.read rounds it
    return np.mod(np.round(phase * m / (2 * np.pi)).astype(np.int64), m)


def _boundaries(rows: _Rows, readout: Readout, rins: np.ndarray, grid_z: np.ndarray):
    """(R, K, m) arm phases (levels, ascending in [0, m)) where each row's residue steps up by one at each of K
    relative laser powers ``rins``, and (R, K) whether the receiver is monotone there (exactly m steps of one).

    ``grid_z``: the receiver on the grid (R, K, G), which brackets each step; Newton on the
    read phase against its rounding threshold then finds it, and both sides of every
    step are checked to read as they should within the slack (else bisection).
    """
    m = rows.modulus
    v = np.arange(grid_z.shape[-1]) / GRID_PER_LEVEL
    res = _read_residue(grid_z, m)
    before = np.roll(res, 1, axis=-1)
    steps = np.mod(res - before, m)
    monotone = (np.count_nonzero(steps, axis=-1) == m) & np.all(steps <= 1, axis=-1)
    where = np.argsort(steps == 0, axis=-1, kind="stable")[..., :m]  # the steps' grid points, in order
    lo = v[where] - 1 / GRID_PER_LEVEL
    below = np.take_along_axis(before, where, -1)
    rin = np.asarray(rins)[:, None]
    target = np.exp(-1j * (below + 0.5) * (2 * np.pi / m))  # the rounding threshold (below + 1/2) * 2*pi/m

    def read_at(x):
        return rows.z(readout, x, rin)[0]

    def read_each(*xs):  # the receiver at several arrays of phases, in one evaluation (element by element the same)
        return np.split(read_at(np.concatenate(xs, axis=-1)), len(xs), axis=-1)

    b = lo + 0.5 / GRID_PER_LEVEL
    for _ in range(NEWTON_STEPS):
        up, down, here = read_each(b + DERIVATIVE_STEP, b - DERIVATIVE_STEP, b)
        slope = (np.angle(up * target) - np.angle(down * target)) / (2 * DERIVATIVE_STEP)
        b = np.clip(b - np.angle(here * target) / np.where(slope > 0, slope, np.inf), lo, lo + 1 / GRID_PER_LEVEL)
    left, right = read_each(b - BOUNDARY_SLACK_LEVELS / 2, b + BOUNDARY_SLACK_LEVELS / 2)
    left = _read_residue(left, m) == below
    right = _read_residue(right, m) == np.mod(below + 1, m)
    if not np.all((left & right) | ~monotone[..., None]):  # a receiver too bent for Newton: bisect
        lo, hi = lo.copy(), lo + 1 / GRID_PER_LEVEL
        for _ in range(BISECTION_STEPS):
            mid = (lo + hi) / 2
            same = _read_residue(read_at(mid), m) == below
            lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
        b = hi
    return np.sort(np.mod(b, m), axis=-1), monotone


def receiver_map(
    rows, receivers: Receivers, readout: Readout, bases: np.ndarray, skip_probability: float, slack_levels: np.ndarray
) -> ReceiverMap:
    """The receiver map of every row (``receivers``: theirs, read with ``readout``): ``bases[r]`` = log T_arm at
    v = 0; ``slack_levels[r]`` joins the margin.

    ``slack_levels`` carries what the caller's arithmetic may be off by (the
    float32 sum of the arm phase, an arm amplitude that is constant only to
    round-off). Kept on disk (:mod:`mvm.disk_cache`), keyed on every array it
    reads: the boundary search took 20 ms a tile in every fresh process.
    """
    phase_sigmas = signal_phase_sigmas_max_rad(rows[0], receivers.delay_mismatch_s, readout)
    inputs = (receivers, readout, np.asarray(bases, dtype=complex), float(skip_probability), slack_levels, phase_sigmas)
    # the code it runs: this module, float_mod, the receiver's models (hybrid, detectors, laser, I/Q correction)
    modules = ("mvm.receiver", "mvm.digital", "circuits", "photonics")
    return cached("receiver-map", digest(*inputs), lambda: _receiver_map(*inputs), modules)


def _receiver_map(
    receivers: Receivers,
    readout: Readout,
    bases: np.ndarray,
    skip_probability: float,
    slack_levels: np.ndarray,
    phase_sigmas: np.ndarray,
) -> ReceiverMap:
    """:func:`receiver_map` with each row's largest signal-arm phase noise (rad, rms) given: a function of its
    arguments alone."""
    stacked = _Rows(receivers, bases)
    m, count = stacked.modulus, len(bases)
    rin = rin_relative_rms(readout.laser, readout.detector.bandwidth_ghz) if readout.noise else 0.0
    rins = np.array([0.0, -RIN_SIGMAS * rin, RIN_SIGMAS * rin] if rin > 0 else [0.0])
    # the fields once per row and grid point (R, 1, G); the RIN scales their powers (R, K, G) as it would each copy
    grid = np.broadcast_to(np.arange(m * GRID_PER_LEVEL) / GRID_PER_LEVEL, (count, 1, m * GRID_PER_LEVEL))
    z, current = stacked.z(readout, grid, rins[:, None])  # (R, K, G), (4, R, K, G)
    steps, monotone = _boundaries(stacked, readout, rins, z)
    b, ok = steps[:, 0], monotone.all(axis=1)
    moved = np.abs(np.mod(steps - b[:, None] + m / 2, m) - m / 2).max(axis=(1, 2))
    above_first = ((b[:, 0] + b[:, 1 % m] + (m if m == 1 else 0)) / 2)[:, None]
    first = _read_residue(stacked.z(readout, above_first, 0.0)[0], m)[:, 0]
    # the receiver's extremes over the circle, sampled on the grid and widened by GRID_SAFETY for what lies between
    raw = np.stack([current[0] - current[1], current[2] - current[3]])
    widest = np.abs(raw).max(axis=(0, 2, 3)) * (1 + GRID_SAFETY)
    smallest = np.abs(z).min(axis=(1, 2)) * (1 - GRID_SAFETY)
    angle = np.unwrap(np.angle(np.concatenate([z, z[..., :1]], -1)), axis=-1)
    slowest = np.diff(angle, axis=-1).min(axis=(1, 2)) * GRID_PER_LEVEL * m / (2 * np.pi) * (1 - GRID_SAFETY)
    # the pairs' shot and TIA noise at their brightest currents; the ADC's own noise is in codes of each row's range
    # (below): the nominal detector's placeholder full scale would size it at the wrong step
    noise_var = np.max(
        [front_end_noise_variance_a2(current[q], current[q + 1], readout.detector) for q in (0, 2)],
        axis=(0, 2, 3),
    ) * (1 + GRID_SAFETY)

    start, inside, below, above, distinct = _bins(b, first, m)
    binned = ok & distinct
    start[~binned], inside[~binned], below[~binned], above[~binned] = 0, np.inf, -np.inf, np.inf
    margin = np.full(count, np.inf)
    full_scale_a = np.broadcast_to(receivers.detector.adc_full_scale_ua * 1e-6, (count,))
    lsb_a = np.broadcast_to(adc_lsb_a(receivers.detector), (count,))
    if readout.detector.adc_noise_lsb_rms:
        noise_var = noise_var + (readout.detector.adc_noise_lsb_rms * lsb_a) ** 2
    gains = None if receivers.iq_matrix is None else np.linalg.norm(receivers.iq_matrix, 2, axis=(-2, -1))
    radius = float(chi.isf(skip_probability, 3))  # of the 3-D ball holding the phase and pair noise (whitened)
    # the ADC's rounding moves I and Q by half a code each, and a float32 chain's inputs by CODE_ROUNDOFF more
    rounding_a = lsb_a * (0.5 + CODE_ROUNDOFF) * np.sqrt(2)
    leave_radius = np.zeros((count, THIN_BINS))  # 0: no ball (every draw may misread)

    def joint(i, radii, directions=JOINT_DIRECTIONS):  # row i's departure (levels) within the noise balls ``radii``
        args = (np.sqrt(noise_var[i]), rounding_a[i], 1.0 if gains is None else float(gains[i]))
        return _joint_levels(
            phase_sigmas[i], *args, smallest[i], slowest[i], m, radii, full_scale_a[i] - widest[i], directions
        )

    for i in np.nonzero(binned)[0]:
        fixed = moved[i] + BOUNDARY_SLACK_LEVELS + slack_levels[i]
        if readout.noise and slowest[i] > 0:  # the thinning table: the largest ball within each bin's distance
            departure = joint(i, THIN_RADII, THIN_DIRECTIONS) + fixed
            fits = np.searchsorted(departure, np.arange(THIN_BINS) / THIN_BINS_PER_LEVEL, side="right") - 1
            leave_radius[i] = np.where(fits >= 0, THIN_RADII[np.maximum(fits, 0)], 0.0)
        phase_sigma = phase_sigmas[i]
        p = skip_probability / 2 if phase_sigma > 0 else skip_probability
        shift_a = rounding_a[i]  # (I, Q) shift before the correction
        if readout.noise:
            shift_a += np.sqrt(noise_var[i]) * np.sqrt(2 * np.log(1 / p))
        if slowest[i] <= 0 or widest[i] + shift_a > full_scale_a[i]:
            continue
        shift = shift_a if gains is None else float(gains[i]) * shift_a
        if shift >= smallest[i]:
            continue
        angle_levels = (np.arcsin(shift / smallest[i]) + PHASE_SLACK_RAD) * m / (2 * np.pi) / slowest[i]
        phase_levels = phase_sigma * np.sqrt(2 * np.log(1 / p)) * m / (2 * np.pi)
        departure = angle_levels + phase_levels
        if readout.noise and phase_sigma > 0:  # the two together (module docstring)
            departure = min(departure, float(joint(i, radius)))
        total = departure + fixed
        margin[i] = total if total < 0.5 else np.inf
    # the even form: boundaries at k + 1/2 + offset (circular mean), spread the largest departure
    offset = np.angle(np.mean(np.exp(2j * np.pi * (b - 0.5)), axis=1)) / (2 * np.pi)
    departure = b - 0.5 - offset[:, None]
    spread = np.where(np.isfinite(margin), np.abs(departure - np.rint(departure)).max(1), np.inf)
    probe = ReceiverMap(m, start, inside, below, above, margin, offset, spread, np.zeros(count, np.int64))
    centre = probe.residues(offset, np.arange(count))[0]
    if not readout.noise:
        return dataclasses.replace(probe, centre_residue=centre)
    rin_sigmas = RIN_SIGMAS if rin > 0 else np.inf
    return dataclasses.replace(probe, centre_residue=centre, leave_radius=leave_radius, rin_sigmas=rin_sigmas)


def _joint_levels(
    phase_sigma_rad, sigma_a, rounding_a, gain, smallest_a, slowest, m, radii, headroom_a, directions=JOINT_DIRECTIONS
) -> np.ndarray:
    """Largest departure (levels) of a read over each ball a^2 + b^2 <= radius^2 (``radii``: any shape) of the
    whitened arm phase noise (a) and pair noise (b: the 2-D part's norm): phase_sigma_rad * a in v, plus the
    receiver's angle at a shift of ``rounding_a`` + ``sigma_a`` * b (A, times the I/Q correction's ``gain``)
    against the smallest amplitude, over the slowest dphi/dv. inf where the ball reaches a shift past the smallest
    amplitude or the ADC's ``headroom_a``.

    Both terms grow with their radius, so the largest lies on the quarter circle; it is taken over
    ``directions`` directions and raised by the largest slope in the direction times half a step.
    """
    radii = np.asarray(radii, dtype=float)
    widest_shift = rounding_a + sigma_a * radii
    x_top = gain * widest_shift / smallest_a
    outside = (x_top >= 1) | (widest_shift > headroom_a)
    x_top = np.where(outside, 0.0, x_top)
    theta = np.linspace(0.0, np.pi / 2, directions)
    per_rad = m / (2 * np.pi)
    r = radii[..., None]
    x = np.minimum(gain * (rounding_a + sigma_a * r * np.sin(theta)) / smallest_a, 1.0)
    levels = (np.arcsin(x) + PHASE_SLACK_RAD) * per_rad / slowest + phase_sigma_rad * r * np.cos(theta) * per_rad
    slope = (gain * sigma_a * radii / smallest_a / np.sqrt(1 - x_top**2) / slowest + phase_sigma_rad * radii) * per_rad
    return np.where(outside, np.inf, levels.max(-1) + slope * (theta[1] - theta[0]) / 2)


def signal_phase_sigma_max_rad(row: CompiledMdpu, readout: Readout) -> float:
    """Largest rms signal-arm phase noise of any readout of a row: laser phase noise, drift and drive summed.

    The drive's is the largest over every (x, w) of each MMU (every weight bit set
    at worst), added over the MMUs. 0 with noise off or every source off.
    """
    return float(signal_phase_sigmas_max_rad(row, np.array([row.delay_mismatch_s()]), readout)[0])


def signal_phase_sigmas_max_rad(row: CompiledMdpu, delays_s: np.ndarray, readout: Readout) -> np.ndarray:
    """:func:`signal_phase_sigma_max_rad` of rows built to ``row``'s design with arm delay mismatches ``delays_s``
    (the drive's table is the design's)."""
    delays_s = np.asarray(delays_s, dtype=float)
    if not readout.noise:
        return np.zeros(delays_s.shape)
    laser = readout.laser
    var = 0.0
    if laser.linewidth_khz != 0 or laser.frequency_drift_mhz_rms != 0:  # as laser_phase_variances_rad2
        var = var + phase_noise_variance_rad2(laser, delays_s) + drift_phase_sigma_rad(laser, delays_s) ** 2
    if readout.drive_noise_v_rms > 0:
        var = var + float(row.drive_variance_table.max(axis=(1, 2)).sum()) * readout.drive_noise_v_rms**2
    return np.sqrt(np.broadcast_to(var, delays_s.shape))
