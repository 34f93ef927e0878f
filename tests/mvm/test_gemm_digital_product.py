"""GEMMs on digital-product tiles: exact on the ideal chip, the gather path, and the fast path's error bound."""

import dataclasses

import numpy as np
import pytest

from circuits.compiled import iq
from mvm.config import ChipConfig, TileConfig, config_from_dict
from mvm.fastpath import deviations, tile_error_bound, x_terms
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


def test_the_gather_path_is_exact_on_an_ideal_digital_product_chip(chip):
    """The tiles forced off the fast-path structure are read through their compiled tables, every readout."""
    gathered = dataclasses.replace(chip, tiles=tuple(dataclasses.replace(t, linear=False) for t in chip.tiles))
    a, b = operands((9, 45, 11), seed=4)
    c, report = rns_gemm(a, b, gathered, noise=False)
    np.testing.assert_array_equal(c, reference(a, b, chip.config))
    assert report.simulated_readouts == report.readouts > 0


def test_an_unproven_digital_product_tile_takes_the_gather_path():
    """A skewed chip is not provably exact; its readouts are simulated in full, as on the forced gather path."""
    chip = build_chip(dataclasses.replace(ChipConfig(), tile=TileConfig(encoding="digital-product", rows=4)))
    fast, full = skewed(chip, 0.004)
    assert all(t.linear and t.ideal_hybrid and not t.mmu.factorises for t in fast.tiles)
    a, b = operands((12, 48, 10), seed=9)
    c_fast, r_fast = rns_gemm(a, b, fast, noise=False)
    c_full, r_full = rns_gemm(a, b, full, noise=False)
    np.testing.assert_array_equal(c_fast, c_full)
    assert r_fast.residue_errors == r_full.residue_errors > 0  # 0.004 rad per level, up to m-1 levels a segment
    assert r_fast.simulated_readouts == r_fast.readouts
    with pytest.raises(ValueError, match="does not factorise"):
        x_terms(np.zeros((2, 16), dtype=np.int64), fast.tiles[0].mmu)


def test_tile_error_bound_holds_and_is_reached_on_digital_product():
    """|E| <= |delta0| + (m-1) * sum |delta|: every level is 0 or m-1; x*w = m-1 turns every segment on."""
    tile = build_chip(dataclasses.replace(ChipConfig(), tile=TileConfig(encoding="digital-product", rows=3))).tiles[0]
    m, h = tile.modulus, tile.h
    rng = np.random.default_rng(1)
    rows = []
    for row in tile.rows:  # every device off by its own small phase per level, and an offset
        dev = rng.uniform(0, 2e-5, row.segment_t.shape[:2])[..., None]
        seg = row.segment_t * np.exp(1j * dev * np.arange(m))
        rows.append(dataclasses.replace(row, segment_t=seg, heater_t=row.heater_t * np.exp(1j * 1e-3)))
    varied = ModulusTile.from_rows(rows)
    assert varied.linear and varied.ideal_hybrid
    bound = tile_error_bound(varied)
    delta, delta0 = deviations(varied)
    assert np.all(delta > 0) and np.all(bound < 0.5)
    x, w = rng.integers(0, m, (4000, h)), rng.integers(0, m, (4000, h))
    x[0], w[0] = 1, m - 1  # every segment of every MMU at full swing
    for r, row in enumerate(varied.rows):
        # The bound holds in exact arithmetic; the compiled tables carry float64 round-off of their large
        # propagation phases (~1e-10 rad a segment), which the bound cannot see. Measure it from the tables
        # (each segment's largest departure from a straight line in the level) and allow exactly that.
        turns = np.unwrap(np.angle(row.segment_t / row.segment_t[..., :1]), axis=-1)
        roundoff = np.abs(turns - turns[..., 1:2] * np.arange(m)).max(-1).sum() * m / (2 * np.pi)
        assert roundoff < 1e-6  # round-off, not a non-linear element
        t = np.angle(iq(row.detector_fields(x, w), row.iq_correction)) * m / (2 * np.pi)
        error = t - (x * w).sum(-1)
        error = error - m * np.rint(error / m)
        assert np.all(np.abs(error) <= bound[r] + roundoff + 1e-12)
        assert abs(error[0]) == pytest.approx(bound[r], rel=1e-6)
