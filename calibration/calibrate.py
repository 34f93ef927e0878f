"""Calibration from what a real chip lets you measure: noisy detector readings for known inputs.

Every measurement drives chosen levels, reads I and Q through the row's own
receiver (shot, TIA and RIN noise, ADCs) ``repeats`` times (more for the I/Q fit
and the gain trim's reference: ``IQ_FIT_REPEATS``, ``REFERENCE_REPEATS``),
averages them and takes the angle; each reading carries the drive noise of the
segments live in its configuration (:func:`_drive_sigma`). Three procedures, per
tile and for all rows at once:

0. Receiver I/Q correction: drive MMU 0 at every product p = x*w (x = 1,
   w = p = 0..m-1; the other MMUs at 0), which puts the phase around the whole
   circle in any encoding, fit an ellipse to the averaged (I, Q) readings and
   map it back to a centred circle: this removes the balanced pairs' offsets
   (responsivity mismatch times the LO's and the arm's mean power) and the hybrid's gain and
   quadrature errors. Every later measurement reads through this correction.
1. Ring-assisted elements (``Trim.RING_LOCK``) are refused (:data:`RING_REFUSAL`,
   with the measured figures): no procedure through their actuators calibrated them.
2. Gain trim (elements whose trim is ``Trim.DRIVE_GAIN``, Pockels segments):
   read each row once at zero input (every segment at level 0, with
   ``REFERENCE_REPEATS`` times the averaging), then drive one segment at a time
   at levels 1, 2, 4, ..., m-1 (only m-1 where the drive is binary) and refine
   its phase-per-level estimate level by level against that reference (each
   step predicts the next phase, so wrapping never aliases). Each declared trim
   DAC ([actuators] drive_trim: none, per-column, per-mmu or per-segment) then
   sets the least-squares gain over the segments it drives, quantised to its
   resolution and clipped to its range.
3. Bias trim: measure every row's phase at zero input and the response of
   every row to every LO bias heater (the crosstalk matrix), and solve for the
   heater powers that null all rows at once (powers stay in [0, lo_heater_max_mw]
   by moving a row's target one turn where needed, else clipped and counted);
   repeat once with fresh measurements (``BIAS_ROUNDS``).

Measurements use the laser at the calibration power
(``[calibration] laser_power_mw``, 1 mW by default), which may differ from the
operating power: the trims are properties of the devices (the I/Q correction
is kept per unit input power). Precision grows with SNR only while the receiver noise still
dithers the ADC (about 0.3 code rms or more, ``DITHER_NOISE_CODES``):
averaging cannot remove quantisation that noise does not dither.

The response to a heater is exactly linear in its power (neff is linear in T,
T in P), so the crosstalk matrix is measured as the model's linear response
plus the noise of a phase-difference measurement at the same averaging.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from calibration.chip import (
    ChipSample,
    Trims,
    build_chip,
    nominal_trims,
    row_params,
    sample_chip,
    tile_rows,
)
from calibration.config import CalibrationSettings, StudyConfig
from circuits.compiled import CompiledMdpu, IqCorrection, compile_row_arrays, correct_iq, iq
from circuits.mdpu import lo_heater_powers_mw
from circuits.mmu_design import Trim
from circuits.readout import (
    Readout,
    Receivers,
    drive_phase_sigma_rad,
    ranged_detector,
    read_arms_mean,
    rows_phase_variances_rad2,
)
from mvm.actuators import ActuatorBudget, actuator_budget, drive_trim_groups, quantise_gain
from mvm.config import ChipConfig
from mvm.gemm import Chip
from photonics.errors import UsageError
from photonics.photodetector import adc_lsb_a, mean_current_a, noise_variance_a2

# The crosstalk matrix is measured with each LO bias heater stepped by this much: the response is linear, so a
# larger step measures it with more signal; 10 mW moves a row by about 1-1.6 rad (P_pi 20 mW, less the share of the
# heat that reaches the signal arm), inside one half-turn so the difference does not wrap.
BIAS_STEP_MW = 10.0
# Below this rms noise (in ADC codes) the receiver noise no longer dithers the ADC: averaging
# cannot remove the quantisation of I and Q, and calibration stalls at the ADC's phase resolution
# (measured: 0.17 code leaves 0.05 rad at 7 bits; 0.34 code reaches 0.012 rad at 8 bits).
DITHER_NOISE_CODES = 0.3
# Readings are spent where their errors reach most readouts. ``repeats`` readings average one drive level of one
# segment; a measurement whose error is common to every readout of a row is read more:
# - the gain trim's zero-input reference (every segment at level 0: one configuration for all of a row's segments)
#   ``REFERENCE_REPEATS`` times as often: its error enters every segment's slope alike and adds coherently over a
#   readout's active segments (read like one segment's level, the calibrated phase error doubles, 0.011 -> 0.021 rad);
# - the I/Q fit's points ``IQ_FIT_REPEATS`` times as often: its residual ellipse error distorts every reading of the
#   row, and it was most of what calibration left (16 default chips at 64 repeats: 0.0114 rad, 0.0097 with the fit's
#   readings x4; the bias trim's x16 changed nothing).
# With 32 repeats, 3x for the fit and 48x for the reference, 32 default chips calibrate to a median 0.0112 rad
# (0.0114 with 64 readings for every measurement and the reference read beside every segment) from 44 % fewer
# calibration readings (355,328 a chip instead of 631,808).
IQ_FIT_REPEATS = 3
REFERENCE_REPEATS = 48
# Rounds of the bias trim (measure the zero-input phases, solve the heater powers, set them). The second corrects the
# first's error from the measured crosstalk matrix's noise; a third gains nothing (16 default chips, 64 readings a
# measurement: median calibrated phase error 0.0141 rad after one round, 0.0114 after two, 0.0116 after three) and
# costs a solve of every tile.
BIAS_ROUNDS = 2


# Measured on a 2 x 2 ring-assisted tile (default moduli, seed 0) with lock and drive-table inversion
# from measured sweeps: see the message.
RING_REFUSAL = (
    "[tile] element: ring-assisted chips cannot be calibrated through their actuators: locking each ring "
    "from a measured drive sweep and inverting its phase curve took the phase error from 1.84 to 1.85 rad "
    "at the default variation, 1.76 to 1.85 rad at a tenth of it, and from 0 to 1.29 rad on a chip without "
    "variation (locking alone: 1.56 rad); the receiver noise is 0.07 ADC codes rms (it does not dither the "
    "ADC) and a sweep step of 0.48 V moves the round-trip phase by 0.019 rad, so no resonance is "
    "located finely enough; use element = straight"
)


@dataclass(frozen=True)
class CalibrationReport:
    phase_error_before_rad: float  # rms read-phase error on a probe set, before
    phase_error_after_rad: float
    gain_trim_rel: float  # rms |gain - 1| applied
    lo_bias_change_mw: float  # rms change of the LO bias powers
    ring_lock_k: float  # rms ring temperature correction
    noise_per_adc_code: float  # median rms noise of I in ADC codes while calibrating (see DITHER_NOISE_CODES)
    trims_clipped: int = 0  # drive trim DACs whose least-squares gain lay outside their range
    lo_heaters_clipped: int = 0  # rows whose LO bias target lay outside [0, lo_heater_max_mw]
    static_power_mw: float = 0.0  # actuators' static power in the calibrated state (calibrated_budget)

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in self.__dict__.items()}


def _drive_sigma(readout: Readout, row: CompiledMdpu, levels: np.ndarray | None = None) -> np.ndarray | float:
    """RMS phase the drive noise gives a measurement: () at zero input (``levels`` None); (h, B, L) driving one
    segment at each of ``levels``, the others at level 0.

    At zero input, the GEMM's own table there (:meth:`~circuits.compiled.CompiledMdpu.drive_phase_variance`): the
    noise of every segment live at level 0, which is all of them on a differential drive (one of the two drivers is
    high in every state) and none where a segment at level 0 is switched off. Driving a segment then adds its
    slope at its level, less its level-0 share where it was live there. 0 without drive noise: the slopes, a
    solve of every segment, are then skipped.
    """
    if readout.drive_noise_v_rms == 0:
        return 0.0
    zero = np.zeros(row.design.h, dtype=np.int64)
    idle = float(row.drive_phase_variance(zero, zero)) * readout.drive_noise_v_rms**2
    if levels is None:
        return np.sqrt(idle)
    variance = row.segment_drive_variance  # (h, B, m): a segment's own term of the GEMM's table
    was = variance[..., :1] * row.design.mmu.active_table[0, 0][:, None]  # (h, B, 1): at level 0, where live there
    return np.sqrt(np.maximum(idle + (variance[..., levels] - was) * readout.drive_noise_v_rms**2, 0.0))


def tile_arms(rows, x, w) -> np.ndarray:
    """Signal-arm transmissions (R, ...) of a tile's compiled rows for residues x, w broadcast against (R, ..., h).

    Each MMU's transmission gathered from its segments' tables at the encoding's
    levels (:attr:`circuits.mmu.MmuDesign.level_table`) and its bias heater, as
    :attr:`~circuits.compiled.CompiledMdpu.mmu_t` tabulates it, for all rows at once.
    """
    mmu = rows[0].design.mmu
    x, w = np.broadcast_arrays(np.asarray(x, dtype=np.intp), np.asarray(w, dtype=np.intp))
    seg = np.stack([row.segment_t for row in rows])  # (R, h, B, m)
    heater = np.stack([row.heater_t for row in rows])  # (R, h)
    r_count, h, b_count, _ = seg.shape
    x = np.broadcast_to(x, (r_count,) + x.shape[1:]) if x.shape[0] == 1 else x
    w = np.broadcast_to(w, x.shape)
    lead = (slice(None),) + (None,) * (x.ndim - 2)  # a row's arrays against the readouts' axes
    m = seg.shape[-1]
    levels = mmu.level_table.reshape(m * m, b_count)[x * m + w]  # (R, ..., h, B)
    start = np.arange(r_count * h * b_count).reshape(r_count, h, b_count) * m  # of each segment's m levels
    t = np.take(seg.reshape(-1), start[lead] + levels)
    mmu_t = np.prod(t, axis=-1) * heater[lead]
    return np.prod(mmu_t, axis=-1)


def _measure(receivers: Receivers, arm: np.ndarray, readout: Readout, rng, repeats: int, drive_sigma_rad) -> np.ndarray:
    """Averaged read phase (R, ...) for signal-arm transmissions ``arm`` (R, ...) of a tile's rows, all read in one
    call (:func:`circuits.readout.read_arms`) through their receivers (``Receivers.of(rows, readout)``).

    ``drive_sigma_rad`` (broadcast to ``arm``): the drive noise of the measured
    configuration (:func:`_drive_sigma`).
    """
    rec = receivers.expand(arm.ndim - 1)
    reps = np.broadcast_to(arm, (repeats,) + arm.shape)
    drive = np.broadcast_to(drive_sigma_rad, reps.shape) if readout.drive_noise_mv_rms > 0 else None
    i, q = read_arms_mean(rec, reps, readout, rng, drive_sigma_rad=drive, drift_hz=0.0)  # the reference frequency
    return np.angle(i + 1j * q)


def _iq_fit(rows, readout: Readout, rng, repeats: int) -> list[IqCorrection]:
    """Each row's ellipse fit of readings with MMU 0 at every product p = x*w (x = 1, w = p), the others at zero,
    each point averaged over ``IQ_FIT_REPEATS`` times ``repeats`` readings; the tile's rows read in one call, without
    their present corrections.

    The products 0..m-1 put the signal arm's phase around the whole circle in any
    encoding (a single segment need not: a digital-product segment only switches on).
    """
    m, h = rows[0].design.modulus, rows[0].design.h
    x, w = np.zeros((m, h), dtype=np.int64), np.zeros((m, h), dtype=np.int64)
    x[:, 0], w[:, 0] = 1, np.arange(m)
    arm = tile_arms(rows, x[None], w[None])  # (R, m)
    raw = replace(Receivers.of(rows, readout), iq_offset=None, iq_matrix=None).expand(1)
    reps = np.broadcast_to(arm, (IQ_FIT_REPEATS * repeats,) + arm.shape)
    drive = drive_phase_sigma_rad(rows[0], x, w, readout)  # the design's drive slopes: the same on every row
    if drive is not None:
        drive = np.broadcast_to(drive, reps.shape)
    i_mean, q_mean = read_arms_mean(raw, reps, readout, rng, drive_sigma_rad=drive, drift_hz=0.0)
    scale = readout.detector.responsivity_a_per_w * readout.laser.power_mw * 1e-3
    return _ellipses(i_mean / scale, q_mean / scale)


def _ellipses(i: np.ndarray, q: np.ndarray) -> list[IqCorrection]:
    """Each row's correction mapping its readings (i, q) (R, n) on an ellipse to a circle about the origin of the
    same area; all rows in one pass of batched linear algebra."""
    if i.shape[-1] < 5:  # a conic needs five points
        return [IqCorrection(offset=(float(a), float(b))) for a, b in zip(i.mean(-1), q.mean(-1), strict=True)]
    # conic a*i^2 + b*i*q + c*q^2 + d*i + e*q = 1, least squares (the pseudo-inverse: lstsq's SVD solution, batched)
    design = np.stack([i * i, i * q, q * q, i, q], -1)  # (R, n, 5)
    a, b, c, d, e = np.moveaxis(np.linalg.pinv(design) @ np.ones(i.shape[-1]), -1, 0)
    shape = np.stack([np.stack([a, b / 2], -1), np.stack([b / 2, c], -1)], -2)  # (R, 2, 2)
    centre = np.linalg.solve(2 * shape, -np.stack([d, e], -1)[..., None])[..., 0]
    w, v = np.linalg.eigh(shape)
    root = (v * np.sqrt(np.clip(w, 1e-30, None))[..., None, :]) @ np.swapaxes(v, -1, -2)  # maps the ellipse to a circle
    root = root / np.sqrt(np.abs(np.linalg.det(root)))[:, None, None]  # keep the scale of the readings
    return [
        IqCorrection(offset=(float(o[0]), float(o[1])), matrix=tuple(map(tuple, r.tolist())))
        for o, r in zip(centre, root, strict=True)
    ]


def noise_per_adc_code(row: CompiledMdpu, readout: Readout) -> float:
    """RMS noise of the I current at zero input, in ADC codes, for the readout's laser power."""
    detector = ranged_detector(row, readout)
    var = noise_variance_a2(mean_current_a(readout.laser.power_mw * np.abs(_zero_fields(row)) ** 2, detector), detector)
    codes = np.sqrt(var[0] + var[1]) / adc_lsb_a(detector)
    return float(np.hypot(codes, detector.adc_noise_lsb_rms) if detector.adc_noise_lsb_rms else codes)


def _zero_fields(row: CompiledMdpu) -> np.ndarray:
    return row.lo_to_det + row.arm_to_det * row.src_to_arm * _arm0(row)


def _zero_fields_of(rows) -> np.ndarray:
    """(R, 4) :func:`_zero_fields` of R rows: compiled rows, or :class:`circuits.compiled.RowArrays`."""
    if isinstance(rows, list):
        return (
            np.stack([r.lo_to_det for r in rows])
            + np.stack([r.arm_to_det * r.src_to_arm for r in rows]) * _arm0_of(rows)[:, None]
        )
    return rows.lo_to_det + rows.arm_to_det * rows.src_to_arm[:, None] * _arm0_of(rows)[:, None]


def _arm0_of(rows) -> np.ndarray:
    """(R,) :func:`_arm0` of R rows (compiled rows, or RowArrays), in one pass."""
    if isinstance(rows, list):
        seg0, heater = np.stack([r.segment_t[..., 0] for r in rows]), np.stack([r.heater_t for r in rows])
    else:
        seg0, heater = rows.segment_t[..., 0], rows.heater_t
    return np.prod(seg0, axis=(-2, -1)) * np.prod(heater, axis=-1)


def _arm0(row: CompiledMdpu) -> complex:
    return complex(np.prod(row.segment_t[..., 0]) * np.prod(row.heater_t))


def _corrected_phase(z: np.ndarray, corrections) -> np.ndarray:
    """Angle of I + jQ (R, ...) of R rows through their I/Q corrections (R of IqCorrection or None)."""
    offset, matrix = IqCorrection.stacked(corrections)
    if offset is not None:
        lead = (slice(None),) + (None,) * (z.ndim - 1)
        z = correct_iq(z, offset[lead], matrix[lead])
    return np.angle(z)


def readout_arms(rows, x, w, engine=None) -> np.ndarray:
    """Signal-arm transmissions (R, ...) of a tile's rows for residues x, w broadcast against (R, ..., h).

    From the tile's engine (:class:`mvm.engine.TileEngine`, the GEMM's device
    tables) where one is given, else from the rows' segment tables
    (:func:`tile_arms`): the same devices, and cheaper than building the
    engine's tables for a few hundred readouts.
    """
    if engine is None:
        return tile_arms(rows, x, w)
    index = np.arange(len(rows)).reshape((-1,) + (1,) * (np.ndim(x) - 2))
    return engine.tables.arm_transmission(index, np.asarray(x), np.asarray(w))


def readout_fields(rows, x, w, engine=None) -> np.ndarray:
    """Detector fields (R, ..., 4) of a tile's rows for residues x, w: lo + s * :func:`readout_arms`."""
    arm = readout_arms(rows, x, w, engine)
    lead = (slice(None),) + (None,) * (arm.ndim - 1)
    lo = np.stack([row.lo_to_det for row in rows])[lead]
    s = np.stack([row.arm_to_det * row.src_to_arm for row in rows])[lead]
    return lo + s * arm[..., None]


def probe_phase_error(rows: list[CompiledMdpu], rng: np.random.Generator, probes: int = 64, engine=None) -> np.ndarray:
    """Noiseless read-phase error (wrapped) of random dot products on every row: (R, probes).

    ``engine``: the tile's :class:`mvm.engine.TileEngine`, if built (see :func:`readout_fields`).
    """
    m, h = rows[0].design.modulus, rows[0].design.h
    x, w = rng.integers(0, m, (probes, h)), rng.integers(0, m, (probes, h))
    ideal = 2 * np.pi * ((x * w).sum(-1) % m) / m
    phase = _corrected_phase(iq(readout_fields(rows, x[None], w[None], engine)), [row.iq_correction for row in rows])
    return np.angle(np.exp(1j * (phase - ideal)))


def measured_levels(mmu) -> np.ndarray:
    """Drive levels a segment can be measured at: 0, 1, 2, 4, ..., m-1; with a binary drive, only the levels its
    drivers reach (``MmuDesign.driven_levels``: 0 and the on-levels, m-1 on straight segments).

    A binary-drive segment (``MmuDesign.binary_drive``: the digital-product encoding) is
    switched between 0 V and its on-level by a digital driver, so it sits at no other level.
    """
    m = mmu.modulus
    if mmu.binary_drive:
        return np.asarray(mmu.driven_levels)
    levels = np.unique(np.concatenate([[0], 2 ** np.arange(int(np.log2(m - 1)) + 1 if m > 2 else 1), [m - 1]]))
    return levels[levels < m]


def _measured_slopes(rows, readout: Readout, rng, repeats: int) -> np.ndarray:
    """(R, h, B) measured phase per drive level of every segment at its present drive.

    Each segment is driven alone at the levels of :func:`measured_levels` above 0,
    against one reading of the row at zero input (every segment at level 0, the
    same configuration for every segment), averaged over ``REFERENCE_REPEATS``
    times ``repeats`` readings; the estimate is refined level by level (each step
    predicts the next phase, so wrapping never aliases).
    """
    mmu = rows[0].design.mmu
    ideal = 2 * np.pi / mmu.modulus * mmu.ideal_level_slopes()
    levels = measured_levels(mmu)[1:]
    seg = np.stack([row.segment_t for row in rows])  # (R, h, B, m)
    arm0 = _arm0_of(rows)
    receivers = Receivers.of(rows, readout)
    zero_drive = _drive_sigma(readout, rows[0])  # the design's slopes: the same on every row
    reference = _measure(receivers, arm0, readout, rng, REFERENCE_REPEATS * repeats, zero_drive)[:, None, None]
    arm = arm0[:, None, None, None] * seg[..., levels] / seg[..., :1]  # one segment driven, the rest at level 0
    phase = _measure(receivers, arm, readout, rng, repeats, _drive_sigma(readout, rows[0], levels))  # (R, h, B, L)
    slope = np.broadcast_to(ideal, seg.shape[:3]).copy()
    for i, k in enumerate(levels):
        error = np.angle(np.exp(1j * (phase[..., i] - reference - slope * k)))
        slope += error / k
    return slope


def shared_gains(slope: np.ndarray, ideal: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(R, h, B) least-squares gain of each trim DAC over the segments it drives, spread back to them.

    A trim scales the drive of every segment in its group by one gain g; the phase
    error of segment b at level L is (g * slope_b - ideal_b) * L, so the gain that
    minimises the summed squared error of the group is sum(slope * ideal) / sum(slope**2).
    """
    ideal = np.broadcast_to(ideal, slope.shape)
    num = np.bincount(groups.ravel(), (slope * ideal).ravel())
    den = np.bincount(groups.ravel(), (slope * slope).ravel())
    return (num / np.where(den > 0, den, 1.0))[groups]


def _gain_trim(rows, volts: np.ndarray, readout: Readout, rng, repeats: int, actuators) -> tuple[np.ndarray, int]:
    """(R, h, B, m) drive voltages through the declared drive trims, and how many trims hit their range.

    Each trim DAC ([actuators] drive_trim) sets the least-squares gain over the
    segments it drives, quantised to its resolution and clipped to its range.
    """
    mmu = rows[0].design.mmu
    groups = drive_trim_groups(actuators, volts.shape[:3], mmu.shared_drive)
    if groups is None:
        return volts, 0
    slope = _measured_slopes(rows, readout, rng, repeats)
    gain, clipped = quantise_gain(
        shared_gains(slope, 2 * np.pi / mmu.modulus * mmu.ideal_level_slopes(), groups), actuators
    )
    return volts * gain[..., None], int(len(np.unique(groups[clipped])))


def _row_sensitivity(sample: ChipSample, index: int, trims: Trims) -> tuple[np.ndarray, list[CompiledMdpu]]:
    """(R, R) read-phase change of each row per mW at each row's LO bias heater (the model's linear response),
    and the tile's rows as they are (level 0 only, with their I/Q corrections).

    The tile as it is and with each LO bias heater stepped in turn are solved as
    one batch of rows (one vectorised compile).
    """
    lo = trims.lo_bias_power_mw[index]
    rows = len(lo)
    settings = np.concatenate([lo[None], lo + BIAS_STEP_MW * np.eye(rows)])  # as it is, then each heater stepped
    compiled = compile_row_arrays(*row_params(sample, index, trims, level_zero_only=True, lo_bias_power_mw=settings))
    corrections = trims.iq_correction[index] if trims.iq_correction is not None else (None,) * rows
    phases = _read_phase0(compiled, corrections * (rows + 1)).reshape(rows + 1, rows)
    present = [replace(r, iq_correction=c) for r, c in zip(compiled.rows(rows), corrections, strict=True)]
    return np.angle(np.exp(1j * (phases[1:].T - phases[0][:, None]))) / BIAS_STEP_MW, present


def _read_phase0(rows, corrections) -> np.ndarray:
    """Noiseless read phase of each row at zero input (every segment at level 0), through ``corrections``."""
    return _corrected_phase(iq(_zero_fields_of(rows)), corrections)


def _reach(power, target, x, turn, max_mw) -> tuple[np.ndarray, int]:
    """Heater powers in [0, max_mw] that move each row's phase by ``target`` (mod 2*pi) through ``x`` (rad/mW).

    A row whose power would leave the range takes its target one turn the other way
    (once); a row that still cannot be reached is held at the nearer bound, and the
    others are solved with it held, so its miss does not spread through ``x``.
    Returns the powers and the number of rows held.
    """
    target = np.array(target, dtype=float)
    moved = np.zeros(len(target), dtype=bool)
    held = np.zeros(len(target), dtype=bool)
    new = power.copy()
    for _ in range(2 * len(target) + 1):
        free = ~held
        if not free.any():
            break
        fixed_shift = new[held] - power[held]
        rhs = target[free] - x[np.ix_(free, held)] @ fixed_shift
        new[free] = power[free] + np.linalg.solve(x[np.ix_(free, free)], rhs)
        out = free & ((new < 0) | (new > max_mw))
        if not out.any():
            break
        first = out & ~moved  # take the target one turn towards the range
        target[first] += turn[first] * np.where(new[first] < 0, 1.0, -1.0)
        moved |= first
        again = out & ~first  # already moved once: hold at the nearer bound
        new[again] = np.clip(new[again], 0, max_mw)
        held |= again
    return np.clip(new, 0, max_mw), int(held.sum())


def _bias_trim(
    sample, index, trims, readout, rng, repeats, max_mw: float, rounds: int = BIAS_ROUNDS
) -> tuple[np.ndarray, int]:
    """LO bias powers (R,) nulling every row's zero-input phase through the measured crosstalk matrix.

    Powers stay in [0, ``max_mw``] ([actuators] lo_heater_max_mw; a heater only
    heats), as :func:`_reach` finds them. Returns the powers and the number of
    rows that could not be reached.
    """
    x_true, rows = _row_sensitivity(sample, index, trims)
    steady = replace(readout, laser=replace(readout.laser, frequency_drift_mhz_rms=0.0))  # calibration: no drift
    receivers = Receivers.of(rows, readout)  # the laser's drift does not enter the receivers: steady's are these
    zero_drive = _drive_sigma(readout, rows[0])  # every reading here is at zero input
    variances = rows_phase_variances_rad2(receivers, rows[0], _zero_fields_of(rows), steady, zero_drive)
    sigma = np.sqrt(sum(variances.values())) / np.sqrt(repeats)
    x_meas = x_true + rng.standard_normal(x_true.shape) * np.sqrt(2) * sigma[:, None] / BIAS_STEP_MW
    power = np.clip(trims.lo_bias_power_mw[index], 0, max_mw)
    turn = 2 * np.pi * np.sign(np.diag(x_meas))
    for round_ in range(rounds):
        phi0 = _measure(receivers, _arm0_of(rows), readout, rng, repeats, zero_drive)
        power, clipped = _reach(power, -phi0, x_meas, turn, max_mw)
        if round_ < rounds - 1:  # the next round measures the tile at the new powers
            t = replace(
                trims, lo_bias_power_mw=tuple(power if i == index else p for i, p in enumerate(trims.lo_bias_power_mw))
            )
            rows = tile_rows(sample, index, t, level_zero_only=True)
            receivers = Receivers.of(rows, readout)
    return power, clipped


def calibrate(
    sample: ChipSample,
    rng: np.random.Generator,
    repeats: int = CalibrationSettings.repeats,
    laser_power_mw: float = CalibrationSettings.laser_power_mw,
    report: bool = True,
) -> tuple[Trims, CalibrationReport | None]:
    """Trim a fabricated chip from measurements; return the trims and a report (None if ``report`` is False).

    Measurements run with the laser at ``laser_power_mw``; every trim holds at
    any operating power (the I/Q correction is kept per unit input power). The
    trims do not depend on ``report``: the report's probes draw from a seed taken
    from ``rng`` either way.
    """
    cfg = sample.config
    trim = cfg.mdpu_design(cfg.all_moduli[0]).mmu.element_rules.trim  # the element's, the same for every modulus
    if trim is Trim.RING_LOCK:
        raise UsageError(RING_REFUSAL)
    readout = cfg.readout(True).with_laser_power(laser_power_mw)
    trims = nominal_trims(cfg)
    before = [tile_rows(sample, i, trims) for i in range(len(sample.tiles))]
    probe_seed = int(rng.integers(2**31))
    volts, bias, rings = list(trims.level_voltages_v), list(trims.lo_bias_power_mw), list(trims.ring_offset_k)
    iqc = [tuple(_iq_fit(rows, readout, rng, repeats)) for rows in before]
    act = cfg.actuators
    gains_clipped = bias_clipped = 0
    for i in range(len(sample.tiles)):
        t = Trims(tuple(volts), tuple(bias), tuple(rings), tuple(iqc))
        if trim is Trim.DRIVE_GAIN:
            volts[i], n = _gain_trim(tile_rows(sample, i, t), volts[i], readout, rng, repeats, act)
            gains_clipped += n
        t = Trims(tuple(volts), tuple(bias), tuple(rings), tuple(iqc))
        bias[i], n = _bias_trim(sample, i, t, readout, rng, repeats, act.lo_heater_max_mw)
        bias_clipped += n
    trimmed = Trims(tuple(volts), tuple(bias), tuple(rings), tuple(iqc))
    if not report:
        return trimmed, None
    after = [tile_rows(sample, i, trimmed) for i in range(len(sample.tiles))]
    err_before, err_after = (
        np.concatenate([probe_phase_error(rows, np.random.default_rng(probe_seed)).ravel() for rows in state])
        for state in (before, after)
    )
    nominal = nominal_trims(cfg)
    gain = np.zeros(1)
    if trim is Trim.DRIVE_GAIN:
        gain = np.concatenate(  # each segment's swing (top level minus level 0) against the drawing's
            [
                ((v[..., -1] - v[..., 0]) / (n[..., -1] - n[..., 0])).ravel() - 1
                for v, n in zip(volts, nominal.level_voltages_v, strict=True)
            ]
        )
    return trimmed, CalibrationReport(
        phase_error_before_rad=float(np.sqrt(np.mean(err_before**2))),
        phase_error_after_rad=float(np.sqrt(np.mean(err_after**2))),
        gain_trim_rel=float(np.sqrt(np.mean(gain**2))),
        lo_bias_change_mw=float(
            np.sqrt(np.mean(np.concatenate([b - n for b, n in zip(bias, nominal.lo_bias_power_mw)]) ** 2))
        ),
        ring_lock_k=float(np.sqrt(np.mean(np.concatenate([r.ravel() for r in rings]) ** 2))),
        noise_per_adc_code=float(np.median([noise_per_adc_code(row, readout) for rows in before for row in rows])),
        trims_clipped=gains_clipped,
        lo_heaters_clipped=bias_clipped,
        static_power_mw=calibrated_budget(cfg, trimmed).static_power_mw,
    )


def calibrated_budget(config: ChipConfig, trims: Trims) -> ActuatorBudget:
    """Static power (mW) and area (mm^2) of the chip's actuators at ``trims`` (every tile).

    Heater powers: every LO-arm heater of every row (the bias heater as trimmed, the
    quarter-wave heater as drawn); no ring heaters (ring-assisted chips are refused).
    """
    lo = sum(
        float(np.sum(list(lo_heater_powers_mw(config.heater.p_pi_mw, b).values()))) for b in trims.lo_bias_power_mw
    )
    return actuator_budget(config, lo_heater_power_mw=lo, ring_heater_power_mw=0.0)


def varied_chip(study: StudyConfig, rng: np.random.Generator, calibrated: bool = True) -> Chip:
    """A chip fabricated with the study's variation (drawn from rng), calibrated with its settings unless told not to."""
    sample = sample_chip(study.chip, study.variation, rng, study.layout)
    if not calibrated:
        return build_chip(sample, nominal_trims(study.chip))
    trims, _ = calibrate(
        sample, rng, repeats=study.calibration.repeats, laser_power_mw=study.calibration.laser_power_mw, report=False
    )
    return build_chip(sample, trims)
