"""The new phase-noise sources reach calibration, the Monte Carlo probes and the link budget's diagnosis."""

import dataclasses

import numpy as np
import pytest

from calibration.calibrate import calibrate
from calibration.chip import nominal_trims, sample_chip
from calibration.montecarlo import residue_error_rate
from calibration.variation import VariationConfig
from circuits.compiled import compile_mdpu
from circuits.link_budget import link_budget
from circuits.mdpu import MdpuDesign
from circuits.readout import Readout
from mvm.config import ChipConfig, NoiseConfig, TileConfig
from photonics.constants import DRIVE_NOISE_NV_RTHZ
from photonics.laser import Laser


def small_chip(**noise) -> ChipConfig:
    """A 2 x 4 tile at the default clock, where DRIVE_NOISE_NV_RTHZ is 1 mV rms of drive noise."""
    config = ChipConfig(tile=TileConfig(rows=2, h=4))
    return dataclasses.replace(config, noise=NoiseConfig(**noise))


def test_calibration_measures_through_the_drive_noise():
    """Same chip, same seeds: drive noise on the measured segments leaves a larger phase error after calibration."""
    after = {}
    # a digital-product segment moves ~0.4 rad/V (2*pi*15/31 over 8 V): 50 mV rms is ~0.02 rad per reading,
    # comparable with the receiver's (the 1 mV default is lost under it)
    for mv in (0.0, 50.0):
        sample = sample_chip(
            small_chip(drive_noise_nv_rthz=mv * DRIVE_NOISE_NV_RTHZ), VariationConfig(), np.random.default_rng(3)
        )
        _, report = calibrate(sample, np.random.default_rng(4))
        after[mv] = report.phase_error_after_rad
        assert report.phase_error_after_rad < report.phase_error_before_rad / 10  # it still calibrates
    assert after[50.0] > 1.2 * after[0.0]


def test_monte_carlo_probes_see_the_drive_noise():
    rates = []
    # 300 mV rms: ~0.1 rad per driven digital-product segment (~0.4 rad/V), several tenths over a dot product
    for mv in (0.0, 300.0):
        sample = sample_chip(
            small_chip(drive_noise_nv_rthz=mv * DRIVE_NOISE_NV_RTHZ), VariationConfig.zero(), np.random.default_rng(5)
        )
        rates.append(residue_error_rate(sample, nominal_trims(sample.config), np.random.default_rng(6)))
    assert rates[0] == 0 and rates[1] > 0.05


@pytest.mark.parametrize(
    "readout, cause",
    [
        (Readout(laser=Laser(linewidth_khz=2000.0)), "laser phase noise"),
        # 20 mV rms: the digital-product row's ~0.4 rad/V segments outweigh the drift (at 5 mV the drift sets it)
        (Readout(drive_noise_mv_rms=20.0), "drive \\(DAC\\) voltage noise"),
    ],
)
def test_an_unreachable_target_names_the_source_that_sets_the_floor(readout, cause):
    compiled = compile_mdpu(MdpuDesign(h=16))
    with pytest.raises(ValueError, match=f"unreachable.*set mostly by {cause}"):
        link_budget(compiled, readout, 1e-6)
