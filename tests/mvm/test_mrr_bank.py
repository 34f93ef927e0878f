"""The micro-ring weight bank: a ring's Lorentzian, the bank's cascade, exactness to the ADC, crosstalk, energy."""

import dataclasses
import math

import numpy as np
import pytest

from mvm import bfp
from mvm.config import ChipConfig, TileConfig
from mvm.energy import EnergyModel, mrr_bank_breakdown_pj_per_mac
from mvm.mrr_bank import MrrBank, bank_design, mrr_bank_gemm, ring_powers
from photonics.laser import Laser
from photonics.ring import RingAddDrop

IDEAL = MrrBank(channel_crosstalk=False, heater_bits=0)  # no tails, continuous heaters, no heater crosstalk


def ring_loss_product(ring: RingAddDrop, wl_um):
    """x = r1 r2 a: both couplers' self-coupling (dispersive, photonics.coupler) and the round-trip amplitude."""
    grow = (wl_um / ring.wl0_um) ** ring.kappa_dispersion
    r1, r2 = (np.cos(math.asin(math.sqrt(k)) * grow) for k in (ring.kappa_through, ring.kappa_drop))
    return r1 * r2 * 10 ** (-ring.loss_db_cm * 2 * math.pi * ring.radius_um * 1e-4 / 20)


def lorentzian(ring: RingAddDrop, wl_um, phi):
    """(drop, through) power of an add-drop ring detuned by round-trip phase phi, near resonance.

    With x = r1 r2 a and u = phi sqrt(x) / (1 - x): drop = D0 / (1 + u**2), through = (T0 + u**2) / (1 + u**2),
    D0 = k1**2 k2**2 a / (1 - x)**2 and T0 = (r1 - r2 a)**2 / (1 - x)**2 (Yariv 2000; cos phi ~ 1 - phi**2/2).
    The couplers' angles grow as (wl / wl0)**kappa_dispersion (photonics.coupler).
    """
    grow = (wl_um / ring.wl0_um) ** ring.kappa_dispersion
    th1, th2 = (math.asin(math.sqrt(k)) * grow for k in (ring.kappa_through, ring.kappa_drop))
    a = 10 ** (-ring.loss_db_cm * 2 * math.pi * ring.radius_um * 1e-4 / 20)
    r1, r2 = np.cos(th1), np.cos(th2)
    x = r1 * r2 * a
    u = phi * np.sqrt(x) / (1 - x)
    d0 = np.sin(th1) ** 2 * np.sin(th2) ** 2 * a / (1 - x) ** 2
    t0 = (r1 - r2 * a) ** 2 / (1 - x) ** 2
    return d0 / (1 + u**2), (t0 + u**2) / (1 + u**2)


def all_levels(h: int, q: int) -> np.ndarray:
    """(2q + 1, h): every bank with all its rings at one mantissa level, -q .. q."""
    return np.repeat(np.arange(-q, q + 1)[:, None], h, axis=1)


def test_a_single_rings_weight_is_its_lorentzian_drop_minus_through():
    cfg = ChipConfig()
    ring, h, q = IDEAL.ring, cfg.tile.h, 31
    design = bank_design(cfg, IDEAL)
    fsr_nm = ring.wl0_um**2 / (ring.ng * 2 * math.pi * ring.radius_um) * 1e3
    spacing_nm = fsr_nm / h  # the default plan: h channels over one free spectral range
    length_um = 2 * math.pi * ring.radius_um
    shift_nm_per_k = ring.wl0_um * ring.dn_dt_per_k / ring.ng * 1e3  # 70 pm/K at wl0
    # the heater's P_pi (20 mW) over the ring's circumference: pi of round-trip phase per P_pi
    rise_k_per_mw = math.pi / cfg.heater.p_pi_mw / (2 * math.pi * length_um * ring.dn_dt_per_k / ring.wl0_um)
    levels = all_levels(h, q)
    power = design.heater_powers_mw(levels)
    detuning_k = spacing_nm / 2 / shift_nm_per_k - power * rise_k_per_mw  # rest: half a spacing blue (at wl0)
    assert np.all((detuning_k > -1e-9) & (detuning_k < spacing_nm / 2 / shift_nm_per_k + 1e-9))  # rest .. resonance
    wl = ring.wl0_um + (np.arange(h) - (h - 1) / 2) * spacing_nm * 1e-3
    drop, through = design.transmissions(levels)
    phi = 2 * np.pi * length_um * ring.dn_dt_per_k * detuning_k / wl[None, :]  # round-trip phase off resonance
    ref_drop, ref_through = lorentzian(ring, wl[None, :], phi)
    # The Lorentzian keeps phi**2 of 2 (1 - cos phi) = phi**2 - phi**4 / 12: it is off by x phi**4 / 12 over the
    # denominator (1 - x)**2 + x phi**2, relative to drop and to 1 - through (3e-3 at phi = 0.2, half a spacing;
    # 1e-7 on resonance); the bank's tables add ~3e-6.
    x = ring_loss_product(ring, wl[None, :])
    relative = x * phi**4 / 12 / ((1 - x) ** 2 + x * phi**2)
    assert np.all(np.abs(drop - ref_drop) <= 1.05 * relative * ref_drop + 1e-5)
    assert np.all(np.abs(through - ref_through) <= 1.05 * relative * (1 - ref_through) + 1e-5)
    assert np.abs(drop - ref_drop).max() > 1e-4  # the bound is not loose: the ring model is Airy, not Lorentzian
    s = design.weight_scale
    np.testing.assert_allclose(drop - through, s * levels / q, atol=1e-12)  # each level's weight, exactly
    on = lorentzian(ring, wl, 0.0)
    assert s == pytest.approx(min((on[0] - on[1]).min(), -(drop - through)[0].max()), rel=1e-9)
    assert 0.85 < s < 0.95  # the ring's loss and its neighbour's half spacing cap the weight range


def test_the_bank_cascades_its_rings_as_incoherent_power_flow():
    """Each channel's drop and through against the bus equations solved as one linear system per channel."""
    cfg = dataclasses.replace(ChipConfig(), tile=TileConfig(h=8))
    bank = MrrBank(heater_crosstalk_at_100um=0.035)
    design = bank_design(cfg, bank)
    h = 8
    levels = np.random.default_rng(3).integers(-31, 32, size=(5, h))
    drop, through = design.transmissions(levels)
    temperature = design.rest_k + design.rise_k_per_mw * design.heater_powers_mw(levels) @ design.coupling.T
    t, d, back = ring_powers(bank.ring, design.wl_um[None, None, :], temperature[:, :, None])  # (B, ring, chan)
    for b in range(len(levels)):
        for j in range(h):
            # unknowns: a_0..a_h on the input bus (a_i enters ring i), e_0..e_{h-1} leaving ring i on the drop bus
            n = 2 * h + 1
            m, rhs = np.zeros((n, n)), np.zeros(n)
            m[0, 0], rhs[0] = 1.0, 1.0
            for i in range(h):
                c_in = h + 1 + i + 1 if i + 1 < h else None  # drop-bus power entering ring i from ring i + 1
                m[1 + i, i + 1] = 1.0  # a_{i+1} = T a_i + D c_i
                m[1 + i, i] = -t[b, i, j]
                if c_in is not None:
                    m[1 + i, c_in] = -d[b, i, j]
                row = h + 1 + i  # e_i = D a_i + B c_i
                m[row, row] = 1.0
                m[row, i] = -d[b, i, j]
                if c_in is not None:
                    m[row, c_in] = -back[b, i, j]
            flow = np.linalg.solve(m, rhs)
            # the bank interpolates its tables (1024 points over the weight range): ~3e-6 of a ring's own peak
            assert drop[b, j] == pytest.approx(flow[h + 1], abs=2e-5)  # e_0 reaches the + detector
            assert through[b, j] == pytest.approx(flow[h], abs=2e-5)  # a_h reaches the - detector
    assert np.abs(drop - through - design.weight_scale * levels / 31).max() > 0.01  # the tails do move weights


def lsb_products(cfg) -> float:
    """One ADC code in units of the chunk sum: full scale 1.25 * h * q_max**2 (auto-ranged), 2**bits codes."""
    q_max = 2 ** (cfg.bfp.mantissa_bits - 1) - 1
    return 2 * 1.25 * cfg.tile.h * q_max**2 / 2**cfg.detector.adc_bits


@pytest.mark.parametrize("adc_bits", [8, 24])
def test_ideal_bank_computes_the_bfp_product_to_the_adcs_quantisation(adc_bits):
    # At 10 uW the detectors' compression is ~1e-8 of a reading; each chunk is read in two passes (positive and
    # negative inputs), each off by at most half an ADC code: |C - C_bfp| <= sum_chunks 2 * lsb / 2 * 2**(ea + eb).
    cfg = dataclasses.replace(ChipConfig(), laser=Laser(power_mw=0.01))
    cfg = dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, adc_bits=adc_bits))
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((9, 70)) * 3, rng.standard_normal((70, 11))
    c, report = mrr_bank_gemm(a, b, cfg, IDEAL, noise=False)
    qa = bfp.quantize(a, bits=6, group=16, axis=1)
    qb = bfp.quantize(b, bits=6, group=16, axis=0)
    ref = bfp.dequantize(qa) @ bfp.dequantize(qb)
    scales = sum(np.ldexp(1.0, qa.exponents[:, g][:, None] + qb.exponents[g][None, :]) for g in range(5))
    bound = 2 * 0.5 * lsb_products(cfg) * scales
    assert np.all(np.abs(c - ref) <= bound * (1 + 1e-6))
    if adc_bits == 8:
        assert np.abs(c - ref).max() > 0.1 * bound.max()  # the 8-bit ADC does cost precision
    else:
        assert np.linalg.norm(c - ref) <= 1e-5 * np.linalg.norm(ref)
    assert report.readouts == 2 * 5 * 9 * 11 and report.weight_rms_error < 1e-12 and not report.noise
    assert report.adc_lsb_fraction == pytest.approx(lsb_products(cfg) / (16 * 31**2), rel=1e-12)


def test_raising_channel_crosstalk_raises_the_gemm_error():
    """Channels packed closer (the same rings) leak more through each other's tails: weight and GEMM errors rise."""
    cfg = ChipConfig()
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((24, 96)), rng.standard_normal((96, 20))
    ref = a @ b
    fsr_nm = bank_design(cfg, MrrBank()).channel_spacing_nm * cfg.tile.h
    errors, weights = [], []
    for spacing in (1.0, 0.8, 0.65):
        bank = MrrBank(channel_spacing_nm=spacing * fsr_nm / cfg.tile.h)
        c, report = mrr_bank_gemm(a, b, cfg, bank, seed=7)
        errors.append(np.linalg.norm(c - ref) / np.linalg.norm(ref))
        weights.append(report.weight_rms_error)
    c, report = mrr_bank_gemm(a, b, cfg, MrrBank(channel_crosstalk=False), seed=7)
    assert np.linalg.norm(c - ref) / np.linalg.norm(ref) < errors[0]
    assert errors == sorted(errors) and errors[-1] > 1.3 * errors[0], errors
    assert weights == sorted(weights), weights


def test_energy_per_mac_counts_two_passes_and_the_heaters():
    cfg = ChipConfig()
    model = EnergyModel()
    h, clock = cfg.tile.h, cfg.tile.clock_ghz
    parts = mrr_bank_breakdown_pj_per_mac(cfg)
    design = bank_design(cfg, MrrBank())
    heater_mw = cfg.heater.p_pi_mw + design.weight_range_mw / 2  # half an FSR of lock (2 P_pi) and half the range
    assert parts["adc"] == pytest.approx(2 * model.adc_power_mw / clock / h)
    assert parts["input_dac"] == pytest.approx(2 * model.tx_power_mw / clock / cfg.tile.rows)
    assert parts["laser"] == pytest.approx(2 * cfg.laser.power_mw / cfg.edge_coupler.transmission / 0.2 / clock / h)
    assert parts["heaters"] == pytest.approx(2 * heater_mw / clock)
    assert parts["heater_dacs"] == pytest.approx(2 * cfg.actuators.trim_dac_power_uw * 1e-3 / clock)
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"channel_spacing_nm": 0.0}, "channel_spacing_nm must be None or a number > 0"),
        ({"heater_bits": 30}, "heater_bits must be None or an integer in 0..24"),
        ({"heater_crosstalk_at_100um": 1.0}, r"heater_crosstalk_at_100um must be a number in \[0, 1\)"),
        ({"channel_crosstalk": 1}, "channel_crosstalk must be true or false"),
    ],
)
def test_bad_bank_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MrrBank(**kwargs)
