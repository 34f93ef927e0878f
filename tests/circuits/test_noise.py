"""Noisy readout against the analytic phase-noise model; link budget (the receiver alone: the laser's phase
noise, its drift and the drive noise are off here and tested in test_phase_noise)."""

from dataclasses import replace

import numpy as np
import pytest

from circuits.compiled import compile_mdpu
from circuits.link_budget import link_budget
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign
from circuits.readout import phase_sigma_rad, predicted_error_rate, read
from photonics.photodetector import Photodetector, adc_noise_lsb_rms_for_enob
from tests.circuits.noise_cases import receiver_only


def measure(compiled, power_mw, n_inputs=100_000, repeats=1, seed=0):
    """(measured, predicted) residue error rates over n_inputs*repeats noisy reads."""
    rng = np.random.default_rng(seed)
    m, h = compiled.design.modulus, compiled.design.h
    x, w = rng.integers(0, m, (n_inputs, h)), rng.integers(0, m, (n_inputs, h))
    fields = compiled.detector_fields(x, w)
    exact = (x * w).sum(-1) % m
    readout = receiver_only(power_mw)
    errors = sum(int((read(compiled, fields, readout, rng).residue != exact).sum()) for _ in range(repeats))
    predicted = predicted_error_rate(m, phase_sigma_rad(compiled, fields, readout)).mean()
    return errors / (n_inputs * repeats), predicted


@pytest.fixture(scope="module")
def mdpu16():
    return compile_mdpu(MdpuDesign(h=16))


@pytest.mark.parametrize("target", [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1.5e-4])
def test_error_rate_follows_erfc_prediction(mdpu16, target):
    power = link_budget(mdpu16, receiver_only(), target).laser_power_mw
    measured, predicted = measure(mdpu16, power, repeats=5)
    assert predicted == pytest.approx(target, rel=0.1)
    assert predicted / 2 <= measured <= 2 * predicted


def test_ring_assisted_error_rate_follows_prediction():
    compiled = compile_mdpu(MdpuDesign(mmu=MmuDesign(element="ring-assisted"), h=16))
    power = link_budget(compiled, receiver_only(), 3e-3).laser_power_mw
    measured, predicted = measure(compiled, power, repeats=2)
    assert predicted == pytest.approx(3e-3, rel=0.1)
    assert predicted / 2 <= measured <= 2 * predicted


def test_error_rate_falls_with_laser_power_and_rises_with_h(mdpu16):
    # The default row (about 1 cm of TFLN per MMU) reads at 1e-1 near 0.07 mW and 1e-3 near 0.15 mW at h = 16
    # (link_budget): powers across that range give rates from about 0.25 down to a few 1e-3, all measurable.
    rates = [measure(mdpu16, p, n_inputs=50_000)[0] for p in (0.05, 0.075, 0.1, 0.13)]
    assert all(a > b for a, b in zip(rates, rates[1:])), rates
    assert rates[-1] > 0, rates  # still errors to count at the highest power
    by_h = [measure(compile_mdpu(MdpuDesign(h=h)), 0.06, n_inputs=50_000)[0] for h in (2, 8, 16)]
    assert all(a < b for a, b in zip(by_h, by_h[1:])), by_h


def test_sigma_scales_as_shot_and_thermal_noise_predict(mdpu16):
    # Thermal-limited (no shot noise, no quantisation): sigma falls as 1/P.
    ideal = replace(receiver_only(), detector=Photodetector(adc_bits=24, dark_current_na=0.0))
    fields = mdpu16.zero_input_fields()
    s1 = phase_sigma_rad(mdpu16, fields, ideal.with_laser_power(0.01))
    s2 = phase_sigma_rad(mdpu16, fields, ideal.with_laser_power(0.02))
    assert s1 / s2 == pytest.approx(2.0, rel=0.02)


def test_link_budget_power_gives_its_target(mdpu16):
    budget = link_budget(mdpu16, receiver_only(), 1e-3)
    measured, _ = measure(mdpu16, budget.laser_power_mw, n_inputs=100_000, repeats=2, seed=3)
    assert 0.5e-3 <= measured <= 2e-3
    assert budget.laser_electrical_power_mw == pytest.approx(budget.laser_power_mw / 0.2)


def test_link_budget_needs_more_power_for_longer_chunks_and_lower_rates():
    powers = [link_budget(compile_mdpu(MdpuDesign(h=h)), receiver_only(), 1e-6).laser_power_mw for h in (1, 4, 16)]
    assert powers[0] < powers[1] < powers[2]
    c = compile_mdpu(MdpuDesign(h=4))
    assert link_budget(c, receiver_only(), 1e-9).laser_power_mw > link_budget(c, receiver_only(), 1e-3).laser_power_mw


def test_link_budget_reports_unreachable_targets():
    c = compile_mdpu(MdpuDesign(h=16, mmu=MmuDesign(modulus=64)))
    with pytest.raises(ValueError, match="unreachable.*ADC's quantisation; use more ADC bits or a smaller"):
        link_budget(c, replace(receiver_only(), detector=Photodetector(adc_bits=4)), 1e-6)


def test_a_noisy_adc_is_blamed_for_its_floor_not_the_photodiodes():
    """The ADC's own noise scales with the signal (the full scale follows it), so at the top of the power range it
    joins the quantisation, not the shot and TIA noise that more light would cut: an 8-bit ADC of ENOB 4 (3.7 LSB)
    on h = 16, m = 31 cannot reach 1e-6, and the message says why."""
    c = compile_mdpu(MdpuDesign(h=16, mmu=MmuDesign(modulus=31)))
    noisy = Photodetector(adc_noise_lsb_rms=adc_noise_lsb_rms_for_enob(4.0, 8))
    with pytest.raises(ValueError, match="unreachable.*ADC's quantisation and its own noise; .*quieter ADC"):
        link_budget(c, replace(receiver_only(), detector=noisy), 1e-6)
    assert link_budget(c, receiver_only(), 1e-6).laser_power_mw < 1  # the same row with an ideal ADC
