"""Calibration from measurements: tenfold lower phase error, error rate restored near the ideal chip's."""

import dataclasses

import numpy as np
import pytest

from calibration.calibrate import _iq_fit, calibrate
from calibration.chip import nominal_trims, sample_chip, tile_rows
from calibration.montecarlo import residue_error_rate
from calibration.variation import VariationConfig
from circuits.compiled import compile_mdpu, iq
from circuits.link_budget import link_budget
from mvm.config import ChipConfig
from photonics.laser import Laser


def per_segment_trims(config: ChipConfig) -> ChipConfig:
    """The chip with a 12-bit trim DAC on every segment: the hardware these tests calibrate through."""
    return dataclasses.replace(
        config, actuators=dataclasses.replace(config.actuators, drive_trim="per-segment", trim_bits=12)
    )


@pytest.fixture(scope="module")
def calibrated():
    config = per_segment_trims(ChipConfig())
    out = []
    for seed in (11, 12):
        sample = sample_chip(config, VariationConfig(), np.random.default_rng(seed))
        trims, report = calibrate(sample, np.random.default_rng(seed + 100))
        out.append((sample, trims, report))
    return out


def test_calibration_lowers_residual_phase_error_tenfold(calibrated):
    for _, _, report in calibrated:
        assert report.phase_error_before_rad > 1.0
        assert report.phase_error_after_rad < report.phase_error_before_rad / 10
        assert report.phase_error_after_rad < 0.03


def test_calibration_restores_error_rate_near_the_ideal_chip_at_the_same_laser_power():
    config = ChipConfig()
    # a laser power at which the ideal chip misreads about 1 % of residues
    power = link_budget(compile_mdpu(config.mdpu_design(31)), config.readout(), 1e-2).laser_power_mw
    config = per_segment_trims(dataclasses.replace(config, laser=Laser(power_mw=power)))
    ideal = sample_chip(config, VariationConfig.zero(), np.random.default_rng(0))
    ideal_rate = residue_error_rate(ideal, nominal_trims(config), np.random.default_rng(1))
    sample = sample_chip(config, VariationConfig(), np.random.default_rng(21))
    trims, _ = calibrate(sample, np.random.default_rng(22))  # calibrated with the laser at 10 mW
    rate = np.mean([residue_error_rate(sample, trims, np.random.default_rng(s)) for s in range(3)])
    uncalibrated = residue_error_rate(sample, nominal_trims(config), np.random.default_rng(1))
    assert 0.002 < ideal_rate < 0.05
    assert ideal_rate / 2 <= rate <= 2 * ideal_rate, (rate, ideal_rate)
    assert uncalibrated > 0.5


def test_iq_fit_turns_the_readings_into_a_centred_circle(calibrated):
    sample = calibrated[0][0]
    readout = sample.config.readout(True)
    for row in tile_rows(sample, 0, nominal_trims(sample.config))[:4]:
        seg = row.segment_t[0, 0]
        arm = np.prod(row.segment_t[..., 0]) * np.prod(row.heater_t) * seg / seg[0]
        fields = row.lo_to_det + (row.arm_to_det * row.src_to_arm) * arm[:, None]
        raw = iq(fields)
        corrected = iq(fields, _iq_fit(row, readout, np.random.default_rng(0), 32))

        def spread(z):
            return np.std(np.abs(z - z.mean())) / np.mean(np.abs(z - z.mean()))

        assert spread(corrected) < spread(raw) / 3
        assert abs(corrected.mean()) < 0.05 * np.abs(corrected).mean()


def test_calibrated_drive_gains_match_the_devices(calibrated):
    sample, trims, _ = calibrated[0]
    rows = tile_rows(sample, 0, trims)
    m = 31
    ideal = 2 * np.pi / m * 2.0 ** np.arange(5)
    for row in rows:
        top = np.angle(row.segment_t[..., -1] / row.segment_t[..., 0] * np.exp(-1j * ideal * (m - 1)))
        assert np.abs(top).max() < 0.03  # phase error at the top level after the gain trim


@pytest.mark.parametrize("adc_bits, power_mw", [(8, 10.0), (6, 10.0), (6, 1.0)])
def test_calibration_noise_in_adc_codes_matches_sampled_currents(adc_bits, power_mw):
    from calibration.calibrate import _zero_fields, noise_per_adc_code
    from circuits.readout import ranged_detector
    from photonics.photodetector import adc_lsb_a, sample_current_a

    config = dataclasses.replace(ChipConfig(), detector=dataclasses.replace(ChipConfig().detector, adc_bits=adc_bits))
    row = compile_mdpu(config.mdpu_design(31))
    readout = config.readout(True).with_laser_power(power_mw)
    detector = ranged_detector(row, readout)
    power = np.broadcast_to(power_mw * np.abs(_zero_fields(row)) ** 2, (40000, 4))  # RIN left out, as in the model
    currents = sample_current_a(power, detector, np.random.default_rng(1))
    sampled = np.std(currents[:, 0] - currents[:, 1]) / adc_lsb_a(detector)
    assert noise_per_adc_code(row, readout) == pytest.approx(sampled, rel=0.03)


def test_calibrate_cli_flags_an_undithered_adc(capsys, tmp_path):
    from tests.mirage.test_cli import run

    path = tmp_path / "adc6.toml"
    path.write_text("[detector]\nadc_bits = 6\n")
    code, out, _ = run(capsys, "calibrate", "--config", str(path))
    assert code == 0 and "does not dither the ADC" in out
    code, out, _ = run(capsys, "calibrate")
    assert code == 0 and "ADC codes rms" in out and "does not dither" not in out
