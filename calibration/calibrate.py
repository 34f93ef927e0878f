"""Calibration from what a real chip lets you measure: noisy detector readings for known inputs.

Every measurement drives chosen levels, reads I and Q through the row's own
receiver (shot, TIA and RIN noise, ADCs) ``repeats`` times, averages them and
takes the angle. Three procedures, per tile and for all rows at once:

0. Receiver I/Q correction: drive segment 0 through all m levels (phases
   around the whole circle), fit an ellipse to the averaged (I, Q) readings and
   map it back to a centred circle: this removes the balanced pairs' offsets
   (responsivity mismatch against the strong LO) and the hybrid's gain and
   quadrature errors. Every later measurement reads through this correction.
1. Ring locking and pre-distortion (elements whose trim is ``Trim.RING_LOCK``,
   the ring-assisted element): sweep each ring's drive, find its resonance
   (the steepest phase), move it back to where the drive table expects it with
   the ring's heater, sweep again and invert the measured phase curve to get
   each level's drive.
2. Gain trim (elements whose trim is ``Trim.DRIVE_GAIN``, Pockels segments):
   drive one segment at levels 0, 1, 2, 4, ..., m-1 and refine its
   phase-per-level estimate level by level (each step predicts the next phase,
   so wrapping never aliases); scale its drive by nominal / measured.
3. Bias trim: measure every row's phase at zero input and the response of
   every row to every LO bias heater (the crosstalk matrix), and solve for the
   heater powers that null all rows at once (powers stay >= 0 by adding 2*pi to
   a row's target where needed); repeat with fresh measurements.

Measurements use the laser at the calibration power (10 mW by default), which
may differ from the operating power: the trims are properties of the devices
(the I/Q correction is kept per unit input power). Precision grows with SNR
only while the receiver noise still dithers the ADC (about 0.4 code rms or
more): averaging cannot remove quantisation that noise does not dither.

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
    stack_params,
    tile_rows,
)
from calibration.config import CalibrationSettings, StudyConfig
from circuits.compiled import CompiledMdpu, IqCorrection, compile_rows, iq
from circuits.mmu_design import Trim
from circuits.readout import Readout, phase_sigma_rad, ranged_detector, read
from mvm.gemm import Chip
from photonics.photodetector import adc_lsb_a, mean_current_a, noise_variance_a2

BIAS_STEP_MW = 2.0
# Below this rms noise (in ADC codes) the receiver noise no longer dithers the ADC: averaging
# cannot remove the quantisation of I and Q, and calibration stalls at the ADC's phase resolution
# (measured: 0.17 code leaves 0.05 rad at 7 bits; 0.34 code reaches 0.012 rad at 8 bits).
DITHER_NOISE_CODES = 0.3


@dataclass(frozen=True)
class CalibrationReport:
    phase_error_before_rad: float  # rms read-phase error on a probe set, before
    phase_error_after_rad: float
    gain_trim_rel: float  # rms |gain - 1| applied
    lo_bias_change_mw: float  # rms change of the LO bias powers
    ring_lock_k: float  # rms ring temperature correction
    noise_per_adc_code: float  # median rms noise of I in ADC codes while calibrating (see DITHER_NOISE_CODES)

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in self.__dict__.items()}


def _drive_sigma(readout: Readout, row: CompiledMdpu, levels: np.ndarray | None = None) -> np.ndarray | float:
    """(h, B, L) rms phase the drive noise gives a measurement driving one segment at each of ``levels``.

    ``levels`` None: each segment's steepest level (a sweep between the levels). 0
    without drive noise: the slopes, a solve of every segment, are then skipped.
    """
    if readout.drive_noise_v_rms == 0:
        return 0.0
    slopes = np.abs(row.segment_phase_slope_rad_per_v)
    return (slopes.max(-1, keepdims=True) if levels is None else slopes[..., levels]) * readout.drive_noise_v_rms


def _measure(
    row: CompiledMdpu, arm: np.ndarray, readout: Readout, rng, repeats: int, drive_sigma_rad=0.0
) -> np.ndarray:
    """Averaged read phase for signal-arm transmissions ``arm`` (any shape) of one row.

    ``drive_sigma_rad`` (broadcast to ``arm``): the drive noise of the measured
    configuration, 0 where no segment is driven (every segment at level 0).
    """
    fields = row.lo_to_det + (row.arm_to_det * row.src_to_arm) * arm[..., None]
    reps = np.broadcast_to(fields, (repeats,) + fields.shape)
    drive = np.broadcast_to(drive_sigma_rad, reps.shape[:-1]) if readout.drive_noise_mv_rms > 0 else None
    r = read(row, reps, readout, rng, drive_sigma_rad=drive)
    return np.angle(r.i_a.mean(0) + 1j * r.q_a.mean(0))


def _iq_fit(row: CompiledMdpu, readout: Readout, rng, repeats: int) -> IqCorrection:
    """Ellipse fit of averaged readings with segment 0 of MMU 0 at every level."""
    m = row.segment_t.shape[-1]
    arm = _arm0(row) * row.segment_t[0, 0] / row.segment_t[0, 0, 0]
    fields = row.lo_to_det + (row.arm_to_det * row.src_to_arm) * arm[:, None]
    raw = replace(row, iq_correction=None)
    reps = np.broadcast_to(fields, (repeats,) + fields.shape)
    drive = None
    if readout.drive_noise_mv_rms > 0:  # segment 0 of MMU 0 driven at each level
        drive = np.broadcast_to(_drive_sigma(readout, row, np.arange(m))[0, 0], reps.shape[:-1])
    r = read(raw, reps, readout, rng, drive_sigma_rad=drive)
    scale = readout.detector.responsivity_a_per_w * readout.laser.power_mw * 1e-3
    i, q = r.i_a.mean(0) / scale, r.q_a.mean(0) / scale
    if m < 5:  # a conic needs five points
        return IqCorrection(offset=(float(i.mean()), float(q.mean())))
    # conic a*i^2 + b*i*q + c*q^2 + d*i + e*q = 1, least squares
    a, b, c, d, e = np.linalg.lstsq(np.stack([i * i, i * q, q * q, i, q], -1), np.ones_like(i), rcond=None)[0]
    shape = np.array([[a, b / 2], [b / 2, c]])
    centre = np.linalg.solve(2 * shape, -np.array([d, e]))
    w, v = np.linalg.eigh(shape)
    root = v @ np.diag(np.sqrt(np.clip(w, 1e-30, None))) @ v.T  # maps the ellipse to a circle
    root = root / np.sqrt(np.abs(np.linalg.det(root)))  # keep the scale of the readings
    return IqCorrection(offset=(float(centre[0]), float(centre[1])), matrix=tuple(map(tuple, root.tolist())))


def noise_per_adc_code(row: CompiledMdpu, readout: Readout) -> float:
    """RMS noise of the I current at zero input, in ADC codes, for the readout's laser power."""
    detector = ranged_detector(row, readout)
    var = noise_variance_a2(mean_current_a(readout.laser.power_mw * np.abs(_zero_fields(row)) ** 2, detector), detector)
    return float(np.sqrt(var[0] + var[1]) / adc_lsb_a(detector))


def _zero_fields(row: CompiledMdpu) -> np.ndarray:
    return row.lo_to_det + row.arm_to_det * row.src_to_arm * _arm0(row)


def _arm0(row: CompiledMdpu) -> complex:
    return complex(np.prod(row.segment_t[..., 0]) * np.prod(row.heater_t))


def probe_phase_error(rows: list[CompiledMdpu], rng: np.random.Generator, probes: int = 64) -> np.ndarray:
    """Noiseless read-phase error (wrapped) of random dot products on every row: (R, probes)."""
    m, h = rows[0].design.modulus, rows[0].design.h
    x, w = rng.integers(0, m, (probes, h)), rng.integers(0, m, (probes, h))
    ideal = 2 * np.pi * ((x * w).sum(-1) % m) / m
    return np.stack([np.angle(iq(row.detector_fields(x, w), row.iq_correction) * np.exp(-1j * ideal)) for row in rows])


def _gain_trim(rows, volts: np.ndarray, readout: Readout, rng, repeats: int) -> np.ndarray:
    """(R, h, B, m) drive voltages after trimming each segment's phase per level."""
    mmu = rows[0].design.mmu
    m = mmu.modulus
    ideal = 2 * np.pi / m * mmu.ideal_level_slopes()
    levels = np.unique(np.concatenate([[0], 2 ** np.arange(int(np.log2(m - 1)) + 1 if m > 2 else 1), [m - 1]]))
    levels = levels[levels < m]
    out = volts.copy()
    for r, row in enumerate(rows):
        seg = row.segment_t  # (h, B, m)
        arm = _arm0(row) * seg[..., levels] / seg[..., :1]  # one segment driven, the rest at level 0
        drive = _drive_sigma(readout, row, levels)
        phase = _measure(row, arm, readout, rng, repeats, drive)  # (h, B, L)
        slope = np.broadcast_to(ideal, seg.shape[:2]).copy()
        for i, k in enumerate(levels[1:], start=1):
            error = np.angle(np.exp(1j * (phase[..., i] - phase[..., 0] - slope * k)))
            slope += error / k
        out[r] = volts[r] * (ideal / slope)[..., None]
    return out


def _row_sensitivity(sample: ChipSample, index: int, trims: Trims) -> np.ndarray:
    """(R, R) read-phase change of each row per mW at each row's LO bias heater (the model's linear response).

    The tile as it is and with each LO bias heater stepped in turn are solved as
    one batch of rows (one vectorised compile).
    """
    lo = trims.lo_bias_power_mw[index]
    rows = len(lo)
    variants = []
    for j in range(-1, rows):
        step = lo.copy()
        if j >= 0:
            step[j] += BIAS_STEP_MW
        t = replace(
            trims, lo_bias_power_mw=tuple(step if i == index else p for i, p in enumerate(trims.lo_bias_power_mw))
        )
        design, params = row_params(sample, index, t, level_zero_only=True)
        variants.append(params)
    compiled = compile_rows(design, stack_params(variants))
    corrections = trims.iq_correction[index] if trims.iq_correction is not None else (None,) * rows
    phases = np.array([_read_phase0(replace(r, iq_correction=corrections[k % rows])) for k, r in enumerate(compiled)])
    phases = phases.reshape(rows + 1, rows)
    return np.angle(np.exp(1j * (phases[1:].T - phases[0][:, None]))) / BIAS_STEP_MW


def _read_phase0(row: CompiledMdpu) -> float:
    """Noiseless read phase at zero input (every segment at level 0)."""
    return float(np.angle(iq(_zero_fields(row), row.iq_correction)))


def _bias_trim(sample, index, trims, readout, rng, repeats, rounds: int = 3) -> np.ndarray:
    """LO bias powers (R,) nulling every row's zero-input phase through the measured crosstalk matrix."""
    rows = tile_rows(sample, index, trims, level_zero_only=True)
    x_true = _row_sensitivity(sample, index, trims)
    sigma = np.array([float(phase_sigma_rad(r, _zero_fields(r), readout)) for r in rows]) / np.sqrt(repeats)
    x_meas = x_true + rng.standard_normal(x_true.shape) * np.sqrt(2) * sigma[:, None] / BIAS_STEP_MW
    power = trims.lo_bias_power_mw[index].copy()
    for _ in range(rounds):
        phi0 = np.array([_measure(r, np.array([_arm0(r)]), readout, rng, repeats)[0] for r in rows])
        target = -phi0  # the read phase must move by -phi0 (mod 2*pi)
        for _ in range(16):  # a row whose power would go negative takes the target one turn further
            new = power + np.linalg.solve(x_meas, target)
            low = new < 0
            if not low.any():
                break
            target = target + 2 * np.pi * low * np.sign(np.diag(x_meas))
        power = np.clip(new, 0, None)
        t = replace(
            trims, lo_bias_power_mw=tuple(power if i == index else p for i, p in enumerate(trims.lo_bias_power_mw))
        )
        rows = tile_rows(sample, index, t, level_zero_only=True)
    return power


def _ring_trim(sample, index, trims, readout, rng, repeats, points: int = 96):
    """Ring temperature offsets (R, h, B) and drive tables (R, h, B, m) from measured phase sweeps."""
    from circuits.ring_predistortion import tuning_rad_per_v

    cfg = sample.config
    mmu = cfg.mdpu_design(sample.tiles[index].modulus).mmu
    m, ring = mmu.modulus, mmu.ring
    nominal = mmu.level_voltages_v()
    span = 1.5 * np.abs(nominal).max()
    grid = np.linspace(-span, span, points)
    g = tuning_rad_per_v(ring)
    phase_per_k = 2 * np.pi * ring.dn_dt_per_k * ring.circumference_um / ring.wl0_um

    def sweep(t: Trims):
        rows = tile_rows(
            sample,
            index,
            replace(
                t,
                level_voltages_v=tuple(
                    np.broadcast_to(grid, v.shape[:3] + (points,)) if i == index else v
                    for i, v in enumerate(t.level_voltages_v)
                ),
            ),
        )
        # Each ring swept alone: the others sit at their level-0 drive of the current table.
        out = []
        for r, row in enumerate(tile_rows(sample, index, t)):
            swept = rows[r].segment_t  # (h, B, points)
            arm = _arm0(row) * swept / row.segment_t[..., :1]
            # the sweep's voltages lie between the levels: each ring's steepest level slope stands for its drive noise
            drive = _drive_sigma(readout, row)
            out.append(np.unwrap(_measure(row, arm, readout, rng, repeats, drive), axis=-1))
        return np.array(out)  # (R, h, B, points)

    phase = sweep(trims)
    steepest = grid[np.argmax(np.abs(np.diff(phase, axis=-1)), axis=-1)]  # resonance voltage of each ring
    v_res_nominal = nominal[(m - 1) // 2] if m % 2 else 0.5 * (nominal[m // 2 - 1] + nominal[m // 2])
    offset = trims.ring_offset_k[index] - (steepest - v_res_nominal) * g / phase_per_k
    locked = replace(trims, ring_offset_k=tuple(offset if i == index else o for i, o in enumerate(trims.ring_offset_k)))
    phase = sweep(locked)
    centre = np.argmax(np.abs(np.diff(phase, axis=-1)), axis=-1)
    rho = 2 * np.pi * (np.arange(m) - (m - 1) / 2) / m
    volts = np.empty(phase.shape[:3] + (m,))
    for idx in np.ndindex(phase.shape[:3]):
        p = phase[idx] - 0.5 * (phase[idx][centre[idx]] + phase[idx][centre[idx] + 1])
        p = p if p[-1] > p[0] else -p
        volts[idx] = np.interp(rho, p, grid)
    return offset, volts


def calibrate(
    sample: ChipSample,
    rng: np.random.Generator,
    repeats: int = CalibrationSettings.repeats,
    laser_power_mw: float = CalibrationSettings.laser_power_mw,
) -> tuple[Trims, CalibrationReport]:
    """Trim a fabricated chip from measurements; return the trims and a report.

    Measurements run with the laser at ``laser_power_mw``; every trim holds at
    any operating power (the I/Q correction is kept per unit input power).
    """
    cfg = sample.config
    trim = cfg.mdpu_design(cfg.all_moduli[0]).mmu.element_rules.trim  # the element's, the same for every modulus
    readout = cfg.readout(True).with_laser_power(laser_power_mw)
    trims = nominal_trims(cfg)
    before = [tile_rows(sample, i, trims) for i in range(len(sample.tiles))]
    probe_seed = int(rng.integers(2**31))
    err_before = np.concatenate([probe_phase_error(rows, np.random.default_rng(probe_seed)).ravel() for rows in before])
    volts, bias, rings = list(trims.level_voltages_v), list(trims.lo_bias_power_mw), list(trims.ring_offset_k)
    iqc = [tuple(_iq_fit(row, readout, rng, repeats) for row in rows) for rows in before]
    for i in range(len(sample.tiles)):
        t = Trims(tuple(volts), tuple(bias), tuple(rings), tuple(iqc))
        if trim is Trim.RING_LOCK:
            rings[i], volts[i] = _ring_trim(sample, i, t, readout, rng, repeats)
        elif trim is Trim.DRIVE_GAIN:
            volts[i] = _gain_trim(tile_rows(sample, i, t), volts[i], readout, rng, repeats)
        t = Trims(tuple(volts), tuple(bias), tuple(rings), tuple(iqc))
        bias[i] = _bias_trim(sample, i, t, readout, rng, repeats)
    trimmed = Trims(tuple(volts), tuple(bias), tuple(rings), tuple(iqc))
    after = [tile_rows(sample, i, trimmed) for i in range(len(sample.tiles))]
    err_after = np.concatenate([probe_phase_error(rows, np.random.default_rng(probe_seed)).ravel() for rows in after])
    nominal = nominal_trims(cfg)
    gain = np.zeros(1)
    if trim is Trim.DRIVE_GAIN:
        gain = np.concatenate(
            [
                (v / np.where(n == 0, 1, n))[..., 1:].ravel() - 1
                for v, n in zip(volts, nominal.level_voltages_v, strict=True)
            ]
        )
    report = CalibrationReport(
        phase_error_before_rad=float(np.sqrt(np.mean(err_before**2))),
        phase_error_after_rad=float(np.sqrt(np.mean(err_after**2))),
        gain_trim_rel=float(np.sqrt(np.mean(gain**2))),
        lo_bias_change_mw=float(
            np.sqrt(np.mean(np.concatenate([b - n for b, n in zip(bias, nominal.lo_bias_power_mw)]) ** 2))
        ),
        ring_lock_k=float(np.sqrt(np.mean(np.concatenate([r.ravel() for r in rings]) ** 2))),
        noise_per_adc_code=float(np.median([noise_per_adc_code(row, readout) for rows in before for row in rows])),
    )
    return trimmed, report


def varied_chip(study: StudyConfig, rng: np.random.Generator, calibrated: bool = True) -> Chip:
    """A chip fabricated with the study's variation (drawn from rng), calibrated with its settings unless told not to."""
    sample = sample_chip(study.chip, study.variation, rng, study.layout)
    if not calibrated:
        return build_chip(sample, nominal_trims(study.chip))
    trims, _ = calibrate(
        sample, rng, repeats=study.calibration.repeats, laser_power_mw=study.calibration.laser_power_mw
    )
    return build_chip(sample, trims)
