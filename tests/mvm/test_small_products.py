"""Small products (as every product of a training step is) run as one program
(:func:`mvm.engine.read_small`) where no readout is flagged, and through the block path otherwise. Both ways must
give the same product, report and draws: the block path (``SMALL_BLOCK`` = 0) is the reference."""

import dataclasses

import numpy as np
import pytest

from calibration.chip import build_chip, nominal_trims, sample_chip
from calibration.variation import VariationConfig
from mvm import engine as engine_module
from mvm import gemm as gemm_module
from mvm.config import ChipConfig, TileConfig
from mvm.gemm import rns_gemm
from photonics.laser import Laser

SMALL = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=4))
# (M, K, N): an MLP step's products (forward, input and weight gradients), K not a multiple of h, one readout
SHAPES = [(32, 64, 24), (32, 24, 10), (10, 32, 24), (5, 7, 3), (1, 1, 1)]


def chip(name: str):
    if name == "varied":  # uncalibrated: every tile's lookup-sum is read, and noise flags readouts
        return build_chip(sample_chip(SMALL, VariationConfig(), np.random.default_rng(1)), nominal_trims(SMALL))
    power = {"weak laser": 0.2, "ideal": SMALL.laser.power_mw}[name]  # the weak laser's readouts near boundaries
    return gemm_module.build_chip(dataclasses.replace(SMALL, laser=Laser(power_mw=power)))


def product(chip, shape, seed, noise, monkeypatch, small_block):
    monkeypatch.setattr(gemm_module, "SMALL_BLOCK", small_block)
    rng = np.random.default_rng(seed)
    m, k, n = shape
    a, b = rng.standard_normal((m, k)) * 10.0 ** rng.integers(-3, 4), rng.standard_normal((k, n))
    draws = np.random.default_rng(seed + 1)
    c, report = rns_gemm(a, b, chip, noise=noise, seed=draws)
    counts = {k: v for k, v in report.as_dict().items() if "second" not in k}
    return c, counts, draws.random()


@pytest.mark.parametrize(
    "name,noise",
    [
        ("ideal", False),
        ("weak laser", False),
        pytest.param("ideal", True, marks=pytest.mark.slow),
        # compiling the noisy paths' programs (10-15 s), sampling a chip (8 s)
        pytest.param("weak laser", True, marks=pytest.mark.slow),
        pytest.param("varied", True, marks=pytest.mark.slow),
        pytest.param("varied", False, marks=pytest.mark.slow),
    ],
)
def test_a_small_product_in_one_program_equals_the_block_path(name, noise, monkeypatch):
    """The same C (bit for bit), report counts and generator state with the one-program path as without it; the
    one-program path is taken, and on the weak laser's chip it hands flagged products to the block path."""
    built, results = chip(name), []
    read_small = engine_module.read_small
    monkeypatch.setattr(gemm_module, "read_small", lambda *a, **k: results.append(read_small(*a, **k)) or results[-1])
    shapes = SHAPES if name == "varied" or noise else SHAPES[1:2] + SHAPES[-1:]  # fewer programs to compile
    for seed, shape in enumerate(shapes):
        want = product(built, shape, seed, noise, monkeypatch, small_block=0)  # never one program
        assert len(results) == seed
        got = product(built, shape, seed, noise, monkeypatch, small_block=engine_module.SMALL_BLOCK)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1:] == want[1:]
        assert len(results) == seed + 1  # taken
        assert (results[-1] is None) >= (want[1]["simulated_readouts"] > 0)
    if name == "weak laser" and noise:  # every readout near a boundary: each product read by the block path
        assert all(r is None for r in results)
    elif name != "varied":  # nothing flagged (the varied chip is uncalibrated: it may read wrong residues)
        assert all(r is not None for r in results)
