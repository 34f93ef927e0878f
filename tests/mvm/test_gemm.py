"""The RNS-BFP GEMM through the tiles: exactness, fast path against the full simulation, noise."""

import dataclasses

import numpy as np
import pytest

from circuits.link_budget import link_budget
from mvm import bfp
from mvm.config import BfpConfig, ChipConfig, RnsConfig, TileConfig
from mvm.gemm import READ_PATHS, Chip, build_chip, rns_gemm
from mvm.reference import bfp_matmul_reference
from mvm.tile import ModulusTile
from photonics.laser import Laser

SHAPES = [(1, 1, 1), (7, 37, 19), (33, 100, 50), (17, 16, 16), (5, 250, 40)]


def chip_of(**sections) -> Chip:
    return build_chip(dataclasses.replace(ChipConfig(), **sections))  # checked like a file


@pytest.fixture(scope="module")
def default_chip():
    return chip_of()


def reference(a, b, cfg):
    qa = bfp.quantize(a, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=1)
    qb = bfp.quantize(b, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=0)
    return bfp_matmul_reference(qa, qb)


def operands(shape, seed):
    rng = np.random.default_rng(seed)
    m, k, n = shape
    return rng.standard_normal((m, k)) * rng.uniform(0.1, 10), rng.standard_normal((k, n))


@pytest.mark.parametrize("shape", SHAPES)
def test_noiseless_ideal_chip_equals_integer_reference_bit_for_bit(default_chip, shape):
    a, b = operands(shape, seed=sum(shape))
    c, report = rns_gemm(a, b, default_chip, noise=False)
    np.testing.assert_array_equal(c, reference(a, b, default_chip.config))
    assert report.residue_errors == report.chunk_errors == 0
    assert report.readouts == 3 * -(-shape[1] // 16) * shape[0] * shape[2]


@pytest.mark.parametrize(
    "sections",
    [
        {"tile": TileConfig(encoding="modular-drive", rows=5)},
        {"tile": TileConfig(element="ring-assisted", rows=3)},
        {"rns": RnsConfig(redundant_moduli=(37, 41))},
        {"bfp": BfpConfig(group=32), "tile": TileConfig(h=8)},
        {"rns": RnsConfig(moduli=(63, 64, 65)), "bfp": BfpConfig(mantissa_bits=7), "tile": TileConfig(h=16)},
    ],
)
def test_other_chips_are_exact_too(sections):
    chip = chip_of(**sections)
    a, b = operands((9, 45, 11), seed=4)
    c, report = rns_gemm(a, b, chip, noise=False)
    np.testing.assert_array_equal(c, reference(a, b, chip.config))
    assert report.chunk_errors == 0


def test_noise_off_error_equals_bfp_error(default_chip):
    a, b = operands((40, 64, 30), seed=2)
    c, _ = rns_gemm(a, b, default_chip, noise=False)
    cfg = default_chip.config
    bfp_only = bfp.dequantize(bfp.quantize(a, bits=6, group=cfg.group, axis=1)) @ bfp.dequantize(
        bfp.quantize(b, bits=6, group=cfg.group, axis=0)
    )
    exact = a @ b
    assert np.linalg.norm(c - exact) == pytest.approx(np.linalg.norm(bfp_only - exact), rel=1e-12)


def test_default_noise_stays_within_10_percent_of_bfp_error(default_chip):
    a, b = operands((256, 256, 256), seed=7)
    exact = a @ b
    c, report = rns_gemm(a, b, default_chip, noise=True, seed=1)
    c0, _ = rns_gemm(a, b, default_chip, noise=False)
    bfp_error = np.linalg.norm(c0 - exact)
    assert np.linalg.norm(c - exact) <= 1.1 * bfp_error
    assert report.readouts == 3 * 16 * 256 * 256


def skewed(chip: Chip, error_per_level_rad: float) -> Chip:
    """The chip with every segment's phase off by a fixed amount per level (as a VpiL error would make it)."""
    tiles = []
    for tile in chip.tiles:
        rows = []
        for row in tile.rows:
            levels = np.arange(row.segment_t.shape[-1])
            seg = row.segment_t * np.exp(1j * error_per_level_rad * levels)
            rows.append(dataclasses.replace(row, segment_t=seg))
        tiles.append(ModulusTile.from_rows(rows))
    return dataclasses.replace(chip, tiles=tuple(tiles), prepared={})


def test_engine_matches_the_reference_on_an_imperfect_chip():
    # The engine computes every readout's arm from the device tables and simulates in full only those near a
    # decision boundary; the reference simulates every readout through the compiled tables.
    # Modular-drive, not binary-length: the latter's 15 cm arm loses ~80-170 dB with loss from the geometry.
    chip = skewed(chip_of(tile=TileConfig(rows=4, encoding="modular-drive"), laser=Laser(power_mw=2.0)), 0.004)
    a, b = operands((24, 64, 20), seed=9)
    c_fast, r_fast = rns_gemm(a, b, chip, noise=False)
    c_full, r_full = rns_gemm(a, b, chip, noise=False, path="reference")
    np.testing.assert_array_equal(c_fast, c_full)
    assert r_fast.residue_errors == r_full.residue_errors > 0  # the skew makes systematic errors
    assert 0 < r_fast.simulated_readouts < r_fast.readouts  # near-boundary readouts were simulated
    assert r_fast.deterministic_readouts == r_fast.readouts == len(chip.tiles) * -(-64 // chip.config.tile.h) * 24 * 20
    assert r_full.simulated_readouts == r_full.readouts
    rates = [rns_gemm(a, b, chip, noise=True, seed=s, path=p)[1].residue_error_rate for p in READ_PATHS for s in (1, 2)]
    assert np.mean(rates[:2]) == pytest.approx(np.mean(rates[2:]), rel=0.15)


def test_an_unknown_read_path_is_refused(default_chip):
    with pytest.raises(ValueError, match="path must be one of engine, full, reference"):
        rns_gemm(np.ones((2, 2)), np.ones((2, 2)), default_chip, path="fast")


def test_low_laser_power_gives_errors_that_redundant_rns_corrects(default_chip):
    # The power at which the link budget predicts a 3e-3 residue error rate for modulus 31 (the others, larger,
    # err a little less there): about 75 wrong residues in the GEMM's 24,576 readouts.
    target = 3e-3
    budget = link_budget(default_chip.tiles[0].rows[0], default_chip.config.readout(True), target)
    laser = Laser(power_mw=budget.laser_power_mw)
    plain = chip_of(laser=laser)
    guarded = chip_of(laser=laser, rns=RnsConfig(redundant_moduli=(37, 41)))
    a, b = operands((32, 128, 32), seed=5)
    _, r_plain = rns_gemm(a, b, plain, noise=True, seed=3)
    _, r_guarded = rns_gemm(a, b, guarded, noise=True, seed=3)
    assert r_plain.residue_errors > 0 and r_plain.chunk_errors > 0
    # at least the budget's receiver errors (the larger moduli err a little less; the run's one laser-drift draw,
    # 2 sigma at this seed, only adds errors, so no upper bound)
    assert r_plain.residue_error_rate > target / 4
    assert r_guarded.corrected > 0
    assert r_guarded.chunk_errors < r_plain.chunk_errors / 3
    assert r_guarded.detected == r_guarded.corrected + r_guarded.uncorrected


def test_same_seed_same_result():
    chip = chip_of(laser=Laser(power_mw=0.5), bfp=BfpConfig(rounding="stochastic"))
    a, b = operands((16, 64, 16), seed=1)
    c1, r1 = rns_gemm(a, b, chip, seed=11)
    c2, r2 = rns_gemm(a, b, chip, seed=11)
    np.testing.assert_array_equal(c1, c2)
    assert r1.residue_errors == r2.residue_errors


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.ones((2, 3)), np.ones((4, 2)), "shapes do not match: A is 2 x 3, B is 4 x 2"),
        (np.array([[1.0, np.nan]]), np.ones((2, 2)), "A must be finite"),
        (np.ones((2, 2)), np.array([[np.inf], [1.0]]), "B must be finite"),
        (np.ones(3), np.ones((3, 1)), "must be 2-D"),
    ],
)
def test_bad_operands_are_refused(default_chip, a, b, message):
    with pytest.raises(ValueError, match=message):
        rns_gemm(a, b, default_chip)
