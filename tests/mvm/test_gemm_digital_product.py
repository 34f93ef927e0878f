"""GEMMs on digital-product tiles: exact on the ideal chip, the reference path, and the engine's tables."""

import dataclasses

import numpy as np
import pytest

from mvm.config import ChipConfig, TileConfig, config_from_dict
from mvm.engine import TileTables, residue_dtype
from mvm.gemm import build_chip, rns_gemm
from mvm.tile import ModulusTile
from tests.mvm.test_gemm import operands, reference, skewed


@pytest.fixture(scope="module")
def chip():
    config = config_from_dict({"tile": {"encoding": "digital-product", "rows": 4}})  # as a chip file says it
    assert config.tile.encoding == "digital-product"
    return build_chip(config)


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 37, 19), (17, 64, 9)])
def test_ideal_digital_product_chip_gives_the_exact_integer_product(chip, shape):
    a, b = operands(shape, seed=sum(shape))
    c, report = rns_gemm(a, b, chip, noise=False)
    np.testing.assert_array_equal(c, reference(a, b, chip.config))
    assert report.residue_errors == report.chunk_errors == 0


def test_the_reference_path_is_exact_on_an_ideal_digital_product_chip(chip):
    """Every readout read through the compiled tables, in full."""
    a, b = operands((9, 45, 11), seed=4)
    c, report = rns_gemm(a, b, chip, noise=False, path="reference")
    np.testing.assert_array_equal(c, reference(a, b, chip.config))
    assert report.simulated_readouts == report.readouts > 0


def test_engine_matches_the_reference_on_a_skewed_digital_product_chip():
    """The engine reads a skewed digital-product chip as the reference does, simulating only near-boundary readouts."""
    chip = skewed(
        build_chip(dataclasses.replace(ChipConfig(), tile=TileConfig(encoding="digital-product", rows=4))), 0.004
    )
    a, b = operands((12, 48, 10), seed=9)
    c_fast, r_fast = rns_gemm(a, b, chip, noise=False)
    c_full, r_full = rns_gemm(a, b, chip, noise=False, path="reference")
    np.testing.assert_array_equal(c_fast, c_full)
    assert r_fast.residue_errors == r_full.residue_errors > 0  # 0.004 rad per level, up to m-1 levels a segment
    assert 0 < r_fast.simulated_readouts < r_fast.readouts


def test_engine_arms_are_the_same_in_every_residue_dtype_and_broadcast():
    """The index arithmetic runs in the narrowest type that holds it (int32 here); residues given as uint8 (which
    x * m + w would overflow in their own type), uint64 (which promotes with int32 to float), int32 or int64, and
    rows broadcast against the residues, give the same bits, and the compiled rows' products of MMU tables."""
    config = dataclasses.replace(ChipConfig(), tile=TileConfig(encoding="digital-product", rows=3))
    tile = skewed(build_chip(config), 0.004).tiles[0]
    m, h = tile.modulus, tile.h
    assert residue_dtype(h, m) == np.int32 and residue_dtype(16, 50_000) == np.int64
    assert residue_dtype(h, m, np.uint64) == np.intp  # no signed type holds uint64: the index type
    tables = TileTables.from_tile(tile)
    rng = np.random.default_rng(3)
    x, w = rng.integers(0, m, (5, 1, h)), rng.integers(0, m, (1, 7, h))
    rows = np.arange(3)[:, None, None]  # (3, 1, 1) against (5, 7): (3, 5, 7) readouts
    expected = tables.arm_transmission(rows, x, w)
    for r, row in enumerate(tile.rows):
        np.testing.assert_allclose(expected[r], row.arm_transmission(x, w), rtol=1e-9, atol=0)
    for dtype in (np.uint8, np.uint64, np.int32):
        np.testing.assert_array_equal(tables.arm_transmission(rows, x.astype(dtype), w.astype(dtype)), expected)


def test_the_engine_tables_are_an_identity_on_a_varied_digital_product_tile():
    """T_arm from the deviation tables equals the compiled row's product of MMU tables; |E| stays within its bound."""
    tile = build_chip(dataclasses.replace(ChipConfig(), tile=TileConfig(encoding="digital-product", rows=3))).tiles[0]
    m, h = tile.modulus, tile.h
    rng = np.random.default_rng(1)
    rows = []
    for row in tile.rows:  # every device off by its own phase per level, and an offset
        dev = rng.uniform(0, 2e-3, row.segment_t.shape[:2])[..., None]
        seg = row.segment_t * np.exp(1j * dev * np.arange(m))
        rows.append(dataclasses.replace(row, segment_t=seg, heater_t=row.heater_t * np.exp(1j * 1e-3)))
    varied = ModulusTile.from_rows(rows)
    tables = TileTables.from_tile(varied)
    assert not tables.uniform and tables.constant_amplitude
    x, w = rng.integers(0, m, (4000, h)), rng.integers(0, m, (4000, h))
    for r, row in enumerate(varied.rows):
        got = tables.arm_transmission(np.full(len(x), r), x, w)
        np.testing.assert_allclose(got, row.arm_transmission(x, w), rtol=1e-9, atol=0)
        e = tables.eps_levels[r, np.arange(h), x, w].sum(-1)
        assert np.all(np.abs(e) <= tables.term_bound()[r]) and np.abs(e).max() > 0.1 * tables.term_bound()[r]
