"""The analog baseline GEMM: exactness without noise, the ADC's quantisation bound, noise statistics, repeats."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from mvm import bfp
from mvm.analog import analog_gemm, analog_receiver
from mvm.config import BfpConfig, ChipConfig, NoiseConfig, TileConfig
from photonics import constants as const
from photonics.laser import Laser

Q = const.Q_E_C


def config_of(adc_bits: int = 8, **sections) -> ChipConfig:
    cfg = dataclasses.replace(ChipConfig(), **sections)
    return dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, adc_bits=adc_bits))


def operands(shape, seed):
    rng = np.random.default_rng(seed)
    m, k, n = shape
    return rng.standard_normal((m, k)) * rng.uniform(0.1, 10), rng.standard_normal((k, n))


def quantised(a, b, cfg):
    qa = bfp.quantize(a, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=1)
    qb = bfp.quantize(b, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=0)
    return qa, qb


def chunk_scales(qa, qb, h):
    """Per chunk c: (S_c (M, N) exact mantissa dot products, 2**(ea + eb) (M, N))."""
    am, bm = qa.mantissas.astype(np.int64), qb.mantissas.astype(np.int64)
    out = []
    for c0 in range(0, am.shape[1], h):
        g = c0 // qa.group
        s = am[:, c0 : c0 + h] @ bm[c0 : c0 + h]
        out.append((s.astype(float), np.ldexp(1.0, qa.exponents[:, g][:, None] + qb.exponents[g][None, :])))
    return out


def lsb_products(cfg) -> float:
    """One ADC code in units of the chunk sum: full scale is 1.25 * h * q_max**2 (auto-ranged), 2**bits codes."""
    q_max = 2 ** (cfg.bfp.mantissa_bits - 1) - 1
    return 2 * 1.25 * cfg.tile.h * q_max**2 / 2**cfg.detector.adc_bits


# From the device figures, independent of mvm.analog and of photonics.photodetector's constants: half the laser
# power to the signal, whose path is a modulator and a weight element; detector fields (E_s +/- E_lo)/sqrt(2); each
# photocurrent I_s*tanh(R*P/I_s) + I_dark, I_s put where tanh(u)/u is 1 dB down at the 1-dB compression current.


def limit_current_a(det) -> float:
    u_1db = brentq(lambda u: math.tanh(u) / u - 10 ** (-1 / 20), 1e-3, 3.0)
    return det.saturation_current_ma * 1e-3 / u_1db


def gain_a(cfg) -> float:
    """Small-signal balanced current per unit of the chunk sum: 2 R P t sqrt(1/2 * 1/2) / (h q_max**2)."""
    h, q_max = cfg.tile.h, 2 ** (cfg.bfp.mantissa_bits - 1) - 1
    t = 10 ** (-2 * cfg.phase_shifter_eo.insertion_loss_db / 20)
    return 2 * cfg.detector.responsivity_a_per_w * cfg.laser.power_mw * 1e-3 * t * 0.5 / (h * q_max**2)


def pair_currents_a(cfg, s):
    """(I+, I-) compressed with dark current, and (R P+, R P-) uncompressed, for chunk sums s."""
    las, det = cfg.laser, cfg.detector
    h, q_max = cfg.tile.h, 2 ** (cfg.bfp.mantissa_bits - 1) - 1
    t = 10 ** (-2 * cfg.phase_shifter_eo.insertion_loss_db / 20)  # modulator + weight element
    p_w = las.power_mw * 1e-3
    e_s = math.sqrt(p_w / 2) * t * np.asarray(s, dtype=float) / (h * q_max**2)  # sqrt(W)
    e_lo = math.sqrt(p_w / 2)
    r, limit, dark = det.responsivity_a_per_w, limit_current_a(det), det.dark_current_na * 1e-9
    linear = r * (e_s + e_lo) ** 2 / 2, r * (e_s - e_lo) ** 2 / 2
    return tuple(limit * np.tanh(x / limit) + dark for x in linear), linear


def mean_reading(cfg, s):
    """The noiseless reading of chunk sums s before the ADC (units of s): the compressed pair current over the gain."""
    (i_p, i_n), _ = pair_currents_a(cfg, s)
    return (i_p - i_n) / gain_a(cfg)


def test_the_detectors_compress_the_default_full_scale_reading():
    cfg = config_of()
    full = cfg.tile.h * 31**2
    shortfall = 1 - mean_reading(cfg, full) / full
    assert 0.03 < shortfall < 0.04  # the brightest detector near 11 mA against a 20 mA 1-dB current
    _, report = analog_gemm(np.ones((1, 1)), np.ones((1, 1)), cfg, noise=False)
    assert report.full_scale_compression == pytest.approx(shortfall, rel=1e-9)
    np.testing.assert_allclose(
        analog_receiver(cfg, False).mean_reading_products(np.array([0.0, 961.0, -5000.0, full])),
        mean_reading(cfg, np.array([0.0, 961.0, -5000.0, full])),
        rtol=1e-12,
        atol=1e-9,
    )


@pytest.mark.parametrize(
    "shape, sections",
    [
        ((7, 37, 19), {}),
        ((33, 100, 50), {}),
        ((9, 45, 11), {"bfp": BfpConfig(group=32), "tile": TileConfig(h=8)}),
        ((1, 1, 1), {}),
    ],
)
def test_noiseless_with_fine_adc_equals_bfp_product(shape, sections):
    # At 10 uW the brightest detector carries ~11 uA, compressed by (11 uA / I_s)**2 / 3 ~ 4e-8 (under 1 % of an
    # ADC code of 24 bits): the product is the BFP product. Each chunk is off by half a code and its compression.
    cfg = config_of(adc_bits=24, laser=Laser(power_mw=0.01), **sections)
    a, b = operands(shape, seed=sum(shape))
    c, report = analog_gemm(a, b, cfg, noise=False)
    qa, qb = quantised(a, b, cfg)
    ref = bfp.dequantize(qa) @ bfp.dequantize(qb)
    assert np.linalg.norm(c - ref) <= 1e-5 * np.linalg.norm(ref)  # 24-bit ADC: lsb ~ 2.4e-6 of full scale
    parts = chunk_scales(qa, qb, cfg.tile.h)
    assert max(np.abs(mean_reading(cfg, s) - s).max() for s, _ in parts) < 1e-2 * lsb_products(cfg)
    bound = sum((0.5 * lsb_products(cfg) + np.abs(mean_reading(cfg, s) - s)) * scale for s, scale in parts)
    assert np.all(np.abs(c - ref) <= bound * (1 + 1e-6))
    assert report.readouts == -(-shape[1] // cfg.group) * (cfg.group // cfg.tile.h) * shape[0] * shape[2]
    assert not report.noise


def test_noiseless_default_adc_rounds_each_chunk_to_the_nearest_code():
    """At the default 10 mW: each chunk's compressed reading rounded to the nearest code of the 8-bit ADC."""
    cfg = config_of()
    a, b = operands((20, 80, 24), seed=3)
    c, report = analog_gemm(a, b, cfg, noise=False)
    qa, qb = quantised(a, b, cfg)
    lsb = lsb_products(cfg)
    assert report.adc_lsb_fraction == pytest.approx(lsb / (16 * 31**2), rel=1e-12)
    parts = chunk_scales(qa, qb, cfg.tile.h)
    rounded = sum(np.rint(mean_reading(cfg, s) / lsb) * lsb * scale for s, scale in parts)
    np.testing.assert_allclose(c, rounded, rtol=1e-9, atol=1e-9 * np.abs(rounded).max())
    error = np.abs(c - bfp.dequantize(qa) @ bfp.dequantize(qb))
    bound = sum((0.5 * lsb + np.abs(mean_reading(cfg, s) - s)) * scale for s, scale in parts)
    assert np.all(error <= bound * (1 + 1e-9))
    assert error.max() > 0.1 * sum(0.5 * lsb * scale for _, scale in parts).max()  # the 8-bit ADC costs precision


def analytic_sigma_products(cfg, s: float, repeats: int = 1) -> float:
    """rms error of a reading of chunk sum s about its mean, from the device figures (independent of mvm.analog).

    The balanced pair feeds one TIA: both detectors' shot noise on their compressed currents, one TIA's thermal
    noise, and RIN through the pair's slope d(I+ - I-)/d(ln P) = sum of +/- R P sech**2(R P / I_s).
    """
    las, det = cfg.laser, cfg.detector
    (i_p, i_n), (lin_p, lin_n) = pair_currents_a(cfg, s)
    limit = limit_current_a(det)
    bw = det.bandwidth_ghz * 1e9
    th = (det.tia_noise_pa_rthz * 1e-12) ** 2 * bw
    rin = 10 ** (las.rin_db_per_hz / 10) * bw
    slope = lin_p / math.cosh(lin_p / limit) ** 2 - lin_n / math.cosh(lin_n / limit) ** 2
    var = 2 * Q * i_p * bw + 2 * Q * i_n * bw + th + rin * slope**2
    gain = gain_a(cfg)  # balanced current per unit of s (small signal): the reading's scale
    lsb_a = lsb_products(cfg) * gain
    return math.sqrt(var / repeats + lsb_a**2 / 12) / gain


def repeated_readings(cfg, signs, samples, repeats=1, seed=0):
    """Readings (in chunk-sum units) of one chunk: x = 31 everywhere, w = 31 * signs, read ``samples`` times."""
    h = cfg.tile.h
    a = np.full((1, h), 31.0)
    b = np.tile((31.0 * np.asarray(signs, dtype=float))[:, None], (1, samples))
    c, report = analog_gemm(a, b, cfg, noise=True, repeats=repeats, seed=seed)
    return c[0], float(31 * 31 * np.sum(signs)), report  # exponents are 0: readings are chunk sums


@pytest.mark.parametrize(
    "signs, sections",
    [
        ([1] * 12 + [-1] * 4, {}),  # s = 8 * 961: shot noise of LO and signal, RIN
        ([1, -1] * 8, {}),  # s = 0: LO shot noise and TIA
        ([1] * 16, {"laser": Laser(rin_db_per_hz=-125.0)}),  # full scale, RIN dominated
        ([1, -1] * 8, {"laser": Laser(power_mw=0.2)}),  # TIA dominated
    ],
)
def test_noise_rms_matches_the_analytic_sigma(signs, sections):
    cfg = config_of(adc_bits=16, **sections)
    readings, s, _ = repeated_readings(cfg, signs, samples=4000, seed=5)
    expected = analytic_sigma_products(cfg, s)
    mean = float(mean_reading(cfg, s))  # s less the detectors' compression
    assert float(analog_receiver(cfg).noise_sigma_products(s)) == pytest.approx(expected, rel=1e-9)
    assert np.sqrt(np.mean((readings - mean) ** 2)) == pytest.approx(expected, rel=0.1)
    assert abs(np.mean(readings) - mean) < 5 * expected / np.sqrt(len(readings))  # centred on the mean reading


def test_repeats_reduce_the_noise_by_sqrt_k():
    cfg = config_of(adc_bits=16)
    signs = [1] * 10 + [-1] * 6
    one, s, r1 = repeated_readings(cfg, signs, samples=3000, repeats=1, seed=1)
    four, _, r4 = repeated_readings(cfg, signs, samples=3000, repeats=4, seed=2)
    mean = float(mean_reading(cfg, s))  # the detectors' compression is systematic: repeats keep it
    rms1, rms4 = (np.sqrt(np.mean((x - mean) ** 2)) for x in (one, four))
    assert rms1 / rms4 == pytest.approx(2.0, rel=0.1)
    assert rms4 == pytest.approx(analytic_sigma_products(cfg, s, repeats=4), rel=0.1)
    assert r4.readouts == 4 * r1.readouts == 4 * 3000
    assert r4.noise_sigma_products < r1.noise_sigma_products


def test_noise_none_follows_the_config():
    cfg = config_of(noise=NoiseConfig(enabled=False))
    a, b = operands((4, 32, 5), seed=1)
    c, report = analog_gemm(a, b, cfg, seed=1)
    np.testing.assert_array_equal(c, analog_gemm(a, b, cfg, noise=False)[0])
    assert not report.noise
    assert analog_gemm(a, b, config_of(), seed=1)[1].noise


def test_same_seed_same_result_and_other_seed_differs():
    cfg = config_of(laser=Laser(power_mw=0.05), bfp=BfpConfig(rounding="stochastic"))
    a, b = operands((8, 48, 8), seed=2)
    c1, _ = analog_gemm(a, b, cfg, seed=11, repeats=2)
    c2, _ = analog_gemm(a, b, cfg, seed=np.random.default_rng(11), repeats=2)
    c3, _ = analog_gemm(a, b, cfg, seed=12, repeats=2)
    np.testing.assert_array_equal(c1, c2)
    assert not np.array_equal(c1, c3)


@pytest.mark.parametrize("repeats", [0, -1, 1.5, True, "2", None])
def test_bad_repeats_raise(repeats):
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        analog_gemm(np.ones((2, 3)), np.ones((3, 2)), config_of(), repeats=repeats)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.ones((2, 3)), np.ones((4, 2)), "shapes do not match: A is 2 x 3, B is 4 x 2"),
        (np.ones(3), np.ones((3, 2)), "A and B must be 2-D"),
        (np.ones((2, 0)), np.ones((0, 2)), "must not be empty"),
        (np.array([[np.nan]]), np.ones((1, 1)), "A must be finite"),
    ],
)
def test_bad_operands_raise(a, b, message):
    with pytest.raises(ValueError, match=message):
        analog_gemm(a, b, config_of())


def test_zero_laser_power_is_refused():
    with pytest.raises(ValueError, match="laser.power_mw must be > 0"):
        analog_gemm(np.ones((2, 3)), np.ones((3, 2)), config_of(laser=Laser(power_mw=0.0)))
