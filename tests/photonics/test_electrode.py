"""Electrodes: RC bandwidth, travelling-wave response and its -3 dB point, drive energy, transit, registry."""

import dataclasses
import math

import numpy as np
import pytest

import photonics
from photonics import electrode as el
from photonics.electrode import Electrode
from photonics.errors import UsageError

C_CM_PER_S = 2.99792458e10


def response_by_hand(f_ghz, length_cm, dn, loss_db_cm_rtghz):
    """|(1 - exp(-gL)) / (gL)|, written out independently of the module (complex arithmetic)."""
    alpha = loss_db_cm_rtghz * math.sqrt(f_ghz) * math.log(10) / 20  # dB -> Np (field)
    beta = 2 * math.pi * f_ghz * 1e9 * dn / C_CM_PER_S
    gl = complex(alpha, beta) * length_cm
    return abs((1 - np.exp(-gl)) / gl)


def first_crossing_by_hand(length_cm, dn, loss, f_max_ghz):
    """The first frequency where the response falls to 1/sqrt(2), by a fine grid and linear interpolation."""
    f = np.linspace(1e-6, f_max_ghz, 200001)
    m = np.array([response_by_hand(x, length_cm, dn, loss) for x in f]) - 2**-0.5
    i = int(np.argmax(m <= 0))
    return f[i - 1] + (f[i] - f[i - 1]) * m[i - 1] / (m[i - 1] - m[i])


def test_rc_bandwidth_by_hand():
    # 10 pF through 50 ohm: 1 / (2 pi 50 * 10e-12) = 318.31 MHz
    assert el.rc_bandwidth_ghz(10.0, 50.0) == pytest.approx(1 / (2 * math.pi * 50 * 10e-12) / 1e9, rel=1e-12)
    assert el.rc_bandwidth_ghz(10.0, 50.0) == pytest.approx(0.31831, rel=1e-5)


def test_capacitance_and_impedance_by_hand():
    e = Electrode(capacitance_pf_per_cm=1.5, rf_index=2.2)
    assert el.capacitance_pf(e, 20000.0) == pytest.approx(3.0)  # 2 cm at 1.5 pF/cm
    assert e.impedance_ohm == pytest.approx(2.2 / (C_CM_PER_S * 1.5e-12), rel=1e-12)  # 48.9 ohm
    assert 40 < Electrode().impedance_ohm < 60  # the defaults describe a near-50-ohm line


def test_lumped_energy_is_the_mean_supply_energy_of_random_nrz():
    """C*V**2/4 by hand, and as the supply energy C*V**2 of each rising edge of a random bit stream."""
    c_pf, v = 3.0, 4.0
    assert el.lumped_energy_pj(c_pf, v) == pytest.approx(12.0)
    bits = np.random.default_rng(0).integers(0, 2, 400001)
    rising = np.count_nonzero((bits[1:] == 1) & (bits[:-1] == 0))
    assert el.lumped_energy_pj(c_pf, v) == pytest.approx(rising * c_pf * v**2 / (bits.size - 1), rel=0.01)


def test_travelling_wave_energy_by_hand():
    e = Electrode()
    # unipolar NRZ: the line holds V half the time, V**2/Z0 for T = 0.1 ns
    want = 4.0**2 / e.impedance_ohm / 2 * 0.1e-9 * 1e12
    assert el.travelling_wave_energy_pj(e, 4.0, 10.0) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("length_um, n_rf", [(10000.0, 2.2), (154800.0, 2.2), (5000.0, 2.8)])
def test_lossless_bandwidth_is_the_velocity_mismatch_limit(length_um, n_rf):
    e = Electrode(rf_loss_db_cm_rtghz=0.0, rf_index=n_rf)
    dn = abs(n_rf - 2.3)
    closed_form = 1.39156 * C_CM_PER_S / (math.pi * length_um * 1e-4 * dn) / 1e9
    f3 = el.travelling_wave_bandwidth_ghz(e, length_um, 2.3)
    assert f3 == pytest.approx(closed_form, rel=1e-5)
    assert response_by_hand(f3, length_um * 1e-4, dn, 0.0) == pytest.approx(2**-0.5, abs=1e-9)
    assert f3 == pytest.approx(first_crossing_by_hand(length_um * 1e-4, dn, 0.0, 2 * closed_form), rel=1e-5)


def test_velocity_matched_lossless_line_is_unlimited():
    e = Electrode(rf_loss_db_cm_rtghz=0.0, rf_index=2.3)
    assert el.travelling_wave_bandwidth_ghz(e, 10000.0, 2.3) == math.inf


def test_loss_limited_bandwidth_is_the_6p4_db_rule():
    """Velocity matched: the response (1 - e^-x)/x hits 1/sqrt(2) at x = 0.738 Np = 6.41 dB of RF loss."""
    e = Electrode(rf_index=2.3, rf_loss_db_cm_rtghz=0.7)
    f3 = el.travelling_wave_bandwidth_ghz(e, 20000.0, 2.3)
    loss_db = 0.7 * math.sqrt(f3) * 2.0
    assert loss_db == pytest.approx(6.41, abs=0.01)
    assert f3 == pytest.approx(first_crossing_by_hand(2.0, 0.0, 0.7, 40.0), rel=1e-5)


@pytest.mark.parametrize("length_um, n_rf, loss", [(20000.0, 2.2, 0.7), (5000.0, 2.0, 0.3), (154800.0, 2.2, 0.7)])
def test_lossy_mismatched_bandwidth_against_a_numeric_solve(length_um, n_rf, loss):
    e = Electrode(rf_index=n_rf, rf_loss_db_cm_rtghz=loss)
    f3 = el.travelling_wave_bandwidth_ghz(e, length_um, 2.3)
    both_limits = min(
        el.velocity_mismatch_bandwidth_ghz(length_um, n_rf, 2.3),
        el.travelling_wave_bandwidth_ghz(dataclasses.replace(e, rf_index=2.3), length_um, 2.3),
    )
    assert f3 <= both_limits  # loss and walk-off each only lower the response
    want = first_crossing_by_hand(length_um * 1e-4, abs(n_rf - 2.3), loss, 1.2 * both_limits)
    assert f3 == pytest.approx(want, rel=1e-5)


def test_transit_time_by_hand():
    # 15.48 cm of ng = 2.3 guide: 15.48 * 2.3 / 2.998e10 s = 1.188 ns
    assert el.transit_time_ns(154800.0, 2.3) == pytest.approx(15.48 * 2.3 / C_CM_PER_S * 1e9, rel=1e-12)


def test_symbol_rate_from_bandwidth():
    assert el.max_symbol_rate_gbaud(7.0) == pytest.approx(10.0)


def test_electrode_is_listed_as_an_electrical_device():
    device = photonics.get_device("electrode")
    assert device.kind == "electrical" and device.params is Electrode and device.model is None
    assert "electrode" not in photonics.models()
    with pytest.raises(UsageError, match="not an optical"):
        photonics.evaluate("electrode")


def test_bad_parameters_and_lengths_are_refused():
    with pytest.raises(UsageError, match="capacitance_pf_per_cm must be > 0"):
        Electrode(capacitance_pf_per_cm=-1.0)
    with pytest.raises(UsageError, match="length_um must be > 0"):
        el.travelling_wave_bandwidth_ghz(Electrode(), 0.0, 2.3)
