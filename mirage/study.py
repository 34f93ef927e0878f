"""`mirage montecarlo` and `mirage calibrate`: variation, calibration and yield from the command line."""

from __future__ import annotations

import numpy as np


def calibrate_one(study, seed: int) -> dict:
    """One sampled chip, before and after calibration."""
    from calibration.calibrate import calibrate
    from calibration.chip import nominal_trims, sample_chip
    from calibration.montecarlo import phase_error, residue_error_rate

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    sample = sample_chip(study.chip, study.variation, rng, study.layout)
    trims, report = calibrate(
        sample, rng, repeats=study.calibration.repeats, laser_power_mw=study.calibration.laser_power_mw
    )
    nominal = nominal_trims(study.chip)
    return {
        "seed": seed,
        "sigma_scale": study.variation.scale,
        "ambient_offset_k": sample.ambient_offset_k,
        "drift_k": sample.drift_k,
        "phase_error_before_rad": report.phase_error_before_rad,
        "phase_error_after_rad": report.phase_error_after_rad,
        "improvement": report.phase_error_before_rad / max(report.phase_error_after_rad, 1e-12),
        "residue_error_rate_before": residue_error_rate(sample, nominal, rng),
        "residue_error_rate_after": residue_error_rate(sample, trims, rng),
        "phase_error_after_drift_rad": phase_error(sample, trims, with_drift=True),
        "gain_trim_rel_rms": report.gain_trim_rel,
        "lo_bias_change_mw_rms": report.lo_bias_change_mw,
        "ring_lock_k_rms": report.ring_lock_k,
        "calibration_noise_adc_codes_rms": report.noise_per_adc_code,
        "calibration_laser_power_mw": study.calibration.laser_power_mw,
    }


def calibrate_text(r: dict) -> str:
    from calibration.calibrate import DITHER_NOISE_CODES

    noise = r["calibration_noise_adc_codes_rms"]
    lines = [
        f"chip seed {r['seed']}, sigma scale {r['sigma_scale']:g}, ambient offset {r['ambient_offset_k']:+.2f} K",
        f"  residual phase error: {r['phase_error_before_rad']:.4f} rad before, {r['phase_error_after_rad']:.4f} rad after "
        f"({r['improvement']:.0f}x lower); {r['phase_error_after_drift_rad']:.4f} rad after the drift that follows "
        f"({r['drift_k']:+.3f} K)",
        f"  residue error rate: {r['residue_error_rate_before']:.3g} before, {r['residue_error_rate_after']:.3g} after",
        f"  trims: drive gains {r['gain_trim_rel_rms'] * 100:.2f} % rms, LO bias {r['lo_bias_change_mw_rms']:.2f} mW rms, "
        f"rings {r['ring_lock_k_rms']:.3f} K rms",
        f"  receiver noise while calibrating at {r['calibration_laser_power_mw']:g} mW: {noise:.2f} ADC codes rms",
    ]
    if noise < DITHER_NOISE_CODES:
        lines.append(
            f"  note: below {DITHER_NOISE_CODES} codes the noise does not dither the ADC and averaging cannot remove its "
            "quantisation; lower [calibration] laser_power_mw and raise repeats"
        )
    return "\n".join(lines)


def montecarlo_text(s: dict, out: str) -> str:
    lo_u, hi_u = s["yield_uncalibrated_ci95"]
    lo_c, hi_c = s["yield_calibrated_ci95"]
    return "\n".join(
        [
            f"{s['chips']} chips at sigma scale {s['sigma_scale']:g}: results in {out}",
            f"  yield uncalibrated {s['yield_uncalibrated']:.3f} (95 % CI {lo_u:.3f}-{hi_u:.3f}), "
            f"calibrated {s['yield_calibrated']:.3f} (95 % CI {lo_c:.3f}-{hi_c:.3f})",
            f"  median residue error rate: {s['median_residue_error_rate_uncalibrated']:.3g} uncalibrated, "
            f"{s['median_residue_error_rate_calibrated']:.3g} calibrated",
            f"  median residual phase error: {s['median_phase_error_uncalibrated_rad']:.4f} rad uncalibrated, "
            f"{s['median_phase_error_calibrated_rad']:.4f} rad calibrated",
        ]
    )
