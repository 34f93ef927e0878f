"""Each model against an independent closed-form reference."""

import jax
import numpy as np
import pytest
from scipy.optimize import brentq

import photonics
from photonics import constants as k

C_UM_PER_S = 299792458.0e6
WL0, NEFF, NG, DNDT = 1.55, 2.4, 4.0, 1.8e-4


def s21(name, pair=("o1", "o2"), **kw):
    return np.asarray(photonics.evaluate(name, **kw)[pair])


def neff_ref(wl, temperature_k=300.0):
    return NEFF - (NG - NEFF) * (wl - WL0) / WL0 + DNDT * (temperature_k - 300.0)


def resonance_ref(length_um, m, delta_t_k=0.0):
    """Closed-form resonance of order m: neff(wl)*L = m*wl with neff linear in wl."""
    return (NG + DNDT * delta_t_k) * length_um / (m + (NG - NEFF) * length_um / WL0)


def order_near(length_um, wl):
    return int(round(NEFF * length_um / wl))


# --- waveguide -----------------------------------------------------------------------


def test_straight_phase_and_loss():
    wl = np.linspace(1.5, 1.6, 101)
    got = s21("straight", wl=wl, length_um=250.0, loss_db_cm=3.0, temperature_k=315.0)
    amp = 10 ** (-3.0 * 250e-4 / 20)
    want = amp * np.exp(2j * np.pi * neff_ref(wl, 315.0) * 250.0 / wl)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_straight_group_delay_is_ng_length_over_c():
    length = 10_000.0  # 1 cm
    wl = 1.57
    nu = C_UM_PER_S / wl
    dnu = nu * 1e-7
    s_hi = s21("straight", wl=C_UM_PER_S / (nu + dnu), length_um=length)
    s_lo = s21("straight", wl=C_UM_PER_S / (nu - dnu), length_um=length)
    delay = np.angle(s_hi * np.conj(s_lo)) / (2 * np.pi * 2 * dnu)
    assert delay == pytest.approx(NG * length / C_UM_PER_S, rel=1e-6)


# --- couplers -----------------------------------------------------------------------------


@pytest.mark.parametrize("name, exponent", [("coupler", 3.0), ("mmi2x2", 1.0)])
def test_coupler_power_coupling_and_dispersion(name, exponent):
    wl = np.array([1.52, 1.55, 1.58])
    cross = np.abs(s21(name, ("o1", "o3"), wl=wl, kappa=0.3)) ** 2
    theta = np.arcsin(np.sqrt(0.3)) * (wl / WL0) ** exponent
    np.testing.assert_allclose(cross, np.sin(theta) ** 2, rtol=1e-12)
    assert cross[1] == pytest.approx(0.3, rel=1e-12)


# --- phase shifters --------------------------------------------------------------------


def test_eo_phase_is_linear_in_voltage():
    length, vpil = 3000.0, 2.0
    v = np.array([0.5, 1.0, 2.0, 4.0])
    ratio = s21("phase_shifter_eo", length_um=length, voltage_v=v) / s21("phase_shifter_eo", length_um=length)
    # The guide's own phase is ~2e4 rad, so float64 leaves ~1e-12 rad of round-off.
    np.testing.assert_allclose(np.unwrap(np.angle(ratio)), np.pi * v * (length * 1e-4) / vpil, atol=1e-10)
    np.testing.assert_allclose(np.abs(ratio), 1.0, rtol=1e-12)


def test_heater_phase_per_milliwatt_is_pi_over_p_pi():
    p = np.array([0.5, 1.0, 5.0, 10.0])
    ratio = s21("heater", power_mw=p, p_pi_mw=25.0) / s21("heater", p_pi_mw=25.0)
    np.testing.assert_allclose(np.angle(ratio) / p, np.pi / 25.0, rtol=1e-10)


def test_heater_temperature_rise_gives_its_phase():
    from photonics.heater import heater_temperature_rise_k

    dt = heater_temperature_rise_k(power_mw=10.0, p_pi_mw=20.0, length_um=100.0, wl0_um=WL0, dn_dt_per_k=DNDT)
    heated = s21("heater", power_mw=10.0)
    warm = s21("heater", temperature_k=300.0 + dt)
    np.testing.assert_allclose(heated, warm, rtol=1e-12)


# --- MZI -----------------------------------------------------------------------------------


def test_mzi_bar_and_cross_follow_half_phase_difference():
    p = np.linspace(0.0, 40.0, 41)
    s = photonics.evaluate("mzi", heater_power_mw=p, loss_db_cm=0.0)
    dphi = np.pi * p / 20.0
    np.testing.assert_allclose(np.abs(s["o1", "o3"]) ** 2, np.cos(dphi / 2) ** 2, atol=1e-13)
    np.testing.assert_allclose(np.abs(s["o1", "o4"]) ** 2, np.sin(dphi / 2) ** 2, atol=1e-13)


def test_unbalanced_mzi_spectrum():
    wl = np.linspace(1.5, 1.6, 401)
    dl = 40.0
    s = photonics.evaluate("mzi", wl=wl, delta_length_um=dl, loss_db_cm=0.0, kappa_dispersion=0.0)
    dphi = 2 * np.pi * neff_ref(wl) * dl / wl
    np.testing.assert_allclose(np.abs(s["o1", "o3"]) ** 2, np.cos(dphi / 2) ** 2, atol=1e-12)


# --- rings ---------------------------------------------------------------------------------


def ring_power(name, pair, wl, **kw):
    return float(np.abs(s21(name, pair, wl=wl, kappa_dispersion=0.0, **kw)) ** 2)


def find_extremum(name, pair, guess, half_width=2e-4, **kw):
    """Wavelength where |S_pair|^2 is stationary, as the root of its derivative (jax.grad)."""
    model = photonics.models()[name]
    slope = jax.grad(lambda wl: jax.numpy.abs(model(wl=wl, kappa_dispersion=0.0, **kw)[pair]) ** 2)
    return brentq(lambda wl: float(slope(wl)), guess - half_width, guess + half_width, xtol=1e-15, rtol=1e-15)


def round_trip_amplitude(radius_um, loss_db_cm):
    return 10 ** (-loss_db_cm * 2 * np.pi * radius_um * 1e-4 / 20)


def test_allpass_through_minimum_and_fsr():
    radius, kappa = 10.0, 0.2
    length = 2 * np.pi * radius
    m = order_near(length, WL0)
    wl_m, wl_m1 = resonance_ref(length, m), resonance_ref(length, m + 1)
    a, r = round_trip_amplitude(radius, k.SI_LOSS_DB_CM), np.sqrt(1 - kappa)
    want = (a - r) ** 2 / (1 - r * a) ** 2
    assert ring_power("ring_allpass", ("o1", "o2"), wl_m, kappa=kappa) == pytest.approx(want, rel=1e-9)
    # Resonances located numerically from the model; FSR against lambda^2/(ng L).
    found = [find_extremum("ring_allpass", ("o1", "o2"), w, kappa=kappa) for w in (wl_m, wl_m1)]
    np.testing.assert_allclose(found, [wl_m, wl_m1], rtol=1e-9)
    fsr = found[0] - found[1]
    assert fsr == pytest.approx(found[0] * found[1] / (NG * length), rel=1e-7)
    assert fsr == pytest.approx(WL0**2 / (NG * length), rel=1e-2)


def test_allpass_critical_coupling_extinguishes_through_port():
    radius, loss = 20.0, 4.0
    a = round_trip_amplitude(radius, loss)
    length = 2 * np.pi * radius
    wl_m = resonance_ref(length, order_near(length, WL0))
    kw = dict(radius_um=radius, loss_db_cm=loss, kappa=1 - a**2)
    assert ring_power("ring_allpass", ("o1", "o2"), wl_m, **kw) < 1e-20
    off = ring_power("ring_allpass", ("o1", "o2"), wl_m + 0.002, **kw)
    assert off > 0.9


def test_add_drop_drop_peak():
    radius, k1, k2, loss = 10.0, 0.05, 0.08, 3.0
    a = round_trip_amplitude(radius, loss)
    length = 2 * np.pi * radius
    wl_m = resonance_ref(length, order_near(length, WL0))
    r1, r2 = np.sqrt(1 - k1), np.sqrt(1 - k2)
    kw = dict(radius_um=radius, kappa_through=k1, kappa_drop=k2, loss_db_cm=loss)
    peak = ring_power("ring_add_drop", ("o1", "o4"), wl_m, **kw)
    assert peak == pytest.approx(k1 * k2 * a / (1 - r1 * r2 * a) ** 2, rel=1e-9)
    thru = ring_power("ring_add_drop", ("o1", "o2"), wl_m, **kw)
    assert thru == pytest.approx((r1 - r2 * a) ** 2 / (1 - r1 * r2 * a) ** 2, rel=1e-9)


@pytest.mark.parametrize("name, pair", [("ring_allpass", ("o1", "o2")), ("ring_add_drop", ("o1", "o4"))])
def test_ring_resonance_shift_per_kelvin(name, pair):
    length = 2 * np.pi * 10.0
    wl_m = resonance_ref(length, order_near(length, WL0))
    kw = {"kappa": 0.05} if name == "ring_allpass" else {}

    def dip(temperature):
        return find_extremum(name, pair, wl_m + 0.07e-3 * (temperature - 300), temperature_k=temperature, **kw)

    shift_pm = (dip(301.0) - dip(300.0)) * 1e6
    assert shift_pm == pytest.approx(wl_m * DNDT / NG * 1e6, rel=1e-7)
    assert 65 < shift_pm < 80  # silicon's 70-80 pm/K class


def test_ring_eo_detuning_moves_resonance_by_eo_phase():
    length = 2 * np.pi * 10.0
    wl_m = resonance_ref(length, order_near(length, WL0))
    v, vpil, frac = 2.0, 2.0, 0.5
    # The EO section adds phase pi*V*(frac*L)/VpiL*(wl0/wl): the resonance moves to
    # where the guide phase is short by that much; solve that condition directly.
    from scipy.optimize import brentq

    def condition(wl):
        guide = 2 * np.pi * neff_ref(wl) * length / wl
        eo = np.pi * v * frac * length * 1e-4 / vpil * WL0 / wl
        return guide + eo - 2 * np.pi * order_near(length, WL0)

    want = brentq(condition, wl_m - 5e-3, wl_m + 5e-3, xtol=1e-15)
    got = find_extremum("ring_allpass", ("o1", "o2"), want, kappa=0.05, voltage_v=v)
    assert got == pytest.approx(want, abs=1e-12)
