"""The differentiable photonic matmul: gradients against float gradients and the integer BFP reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mvm import bfp
from mvm.config import BfpConfig, ChipConfig
from mvm.gemm import build_chip
from mvm.reference import bfp_matmul_reference
from training.autodiff import _pack, _unpack, differentiable_matmul, float_engine
from training.backends import RnsEngine


@pytest.fixture(scope="module")
def chip():
    return build_chip(ChipConfig())


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((9, 40)).astype(np.float32)
    w = (rng.standard_normal((40, 11)) * 0.3).astype(np.float32)
    g = rng.standard_normal((9, 11)).astype(np.float32)  # upstream gradient: loss = sum(g * (x @ w))
    return x, w, g


def bfp_product(a, b, cfg):
    qa = bfp.quantize(a, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=1)
    qb = bfp.quantize(b, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=0)
    return qa, qb, bfp_matmul_reference(qa, qb)


def bfp_error_bound(a, b, cfg):
    """|a @ b - Q(a) @ Q(b)| elementwise, from |a - Q(a)| <= half a step of each element's group (nearest rounding)."""
    qa, qb, _ = bfp_product(a, b, cfg)
    da = np.ldexp(0.5, bfp.group_exponents_full(qa))
    db = np.ldexp(0.5, bfp.group_exponents_full(qb))
    a, b = np.abs(a.astype(float)), np.abs(b.astype(float))
    return a @ db + da @ b + da @ db


def grads(matmul, x, w, g, key):
    loss = lambda x, w: jnp.sum(jnp.asarray(g) * matmul(x, w, key))  # noqa: E731
    return jax.grad(loss, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(w))


def test_noiseless_gradients_equal_the_integer_bfp_products_and_lie_within_the_bfp_error(chip, problem):
    x, w, g = problem
    cfg = chip.config
    dx, dw = grads(differentiable_matmul(RnsEngine(chip, noise=False)), x, w, g, jax.random.key(0))
    fx, fw = grads(lambda a, b, k: a @ b, x, w, g, None)
    # dL/dx = g @ w.T and dL/dw = x.T @ g, each through the tiles: bit for bit the integer BFP product (as float32).
    np.testing.assert_array_equal(np.asarray(dx), bfp_product(g, w.T, cfg)[2].astype(np.float32))
    np.testing.assert_array_equal(np.asarray(dw), bfp_product(x.T, g, cfg)[2].astype(np.float32))
    for got, exact, bound in ((dx, fx, bfp_error_bound(g, w.T, cfg)), (dw, fw, bfp_error_bound(x.T, g, cfg))):
        err = np.abs(np.asarray(got, float) - np.asarray(exact, float))
        assert np.all(err <= bound * (1 + 1e-5) + 1e-5)
        assert 0 < np.linalg.norm(err) / np.linalg.norm(exact) < 0.1


def test_random_products_are_a_function_of_the_key(problem):
    x, w, _ = problem
    chip = build_chip(ChipConfig(bfp=BfpConfig(rounding="stochastic")))  # the rounding draws from the key's generator
    mm = differentiable_matmul(RnsEngine(chip))
    k0, k1 = jax.random.key(0), jax.random.key(1)
    a, b, c = (np.asarray(mm(jnp.asarray(x), jnp.asarray(w), k)) for k in (k0, k0, k1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_allclose(a, x.astype(float) @ w, rtol=0, atol=0.1 * np.abs(x @ w).max())


def test_only_needed_products_run_and_jit_agrees(problem):
    x, w, g = problem
    calls = []

    def engine(a, b, rng):
        calls.append((a.shape, b.shape))
        return float_engine(a, b, rng)

    mm = differentiable_matmul(engine)
    key = jax.random.key(3)
    dw = jax.grad(lambda w: jnp.sum(jnp.asarray(g) * mm(jnp.asarray(x), w, key)))(jnp.asarray(w))
    assert calls == [((9, 40), (40, 11)), ((40, 9), (9, 11))]  # forward and x.T @ g; no g @ w.T for the data
    np.testing.assert_allclose(np.asarray(dw), x.T @ g, rtol=1e-5, atol=1e-5)
    jdx, jdw = jax.jit(lambda x, w: grads(mm, x, w, g, key))(jnp.asarray(x), jnp.asarray(w))
    np.testing.assert_allclose(np.asarray(jdx), g @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(jdw), np.asarray(dw), rtol=1e-6)


@pytest.mark.parametrize("x_shape, w_shape, needle", [((3,), (3, 2), "2-D"), ((2, 3), (4, 2), "do not match")])
def test_bad_shapes_name_the_problem(x_shape, w_shape, needle):
    mm = differentiable_matmul(float_engine)
    with pytest.raises(ValueError, match=needle):
        mm(jnp.ones(x_shape), jnp.ones(w_shape), jax.random.key(0))


# seed words that would be NaN patterns if bit-cast (signalling and quiet NaNs of float32, halves of float64 ones)
NAN_WORDS = [0x7F800001, 0xFFC00001, 0x00000001, 0x7FF00000, 0xFFFFFFFF, 0x7FC00000, 0, 0x80000000]


@pytest.mark.parametrize(
    "dtype_a, dtype_b, packed",
    [
        (jnp.float32, jnp.float32, jnp.float32),
        (jnp.float32, jnp.float64, jnp.float64),
        (jnp.float16, jnp.float16, jnp.float16),
        (jnp.bfloat16, jnp.bfloat16, jnp.bfloat16),
        (jnp.int32, jnp.int32, jnp.float64),
    ],
)
def test_a_products_operands_and_seed_cross_to_the_host_in_one_array_bit_for_bit(dtype_a, dtype_b, packed):
    rng = np.random.default_rng(5)
    a = jnp.asarray(rng.integers(-50, 50, (3, 4)) * 0.25, dtype_a)
    b = jnp.asarray(rng.integers(-50, 50, (4, 5)) * 0.125, dtype_b)
    for words in (NAN_WORDS[:2], NAN_WORDS[2:4], NAN_WORDS[4:6], NAN_WORDS[6:], NAN_WORDS[::2] + NAN_WORDS[1::2]):
        seed = jnp.asarray(words, jnp.uint32)
        vector = np.asarray(jax.jit(_pack)(a, b, seed))
        assert vector.dtype == packed and vector.ndim == 1
        got_a, got_b, got_seed = _unpack(vector, 3, 4, 5)
        # operands convert exactly (as to float64 on the host); the seed's bits come back unchanged
        np.testing.assert_array_equal(got_a.astype(np.float64), np.asarray(a, np.float64))
        np.testing.assert_array_equal(got_b.astype(np.float64), np.asarray(b, np.float64))
        np.testing.assert_array_equal(got_seed, np.asarray(words, np.uint32))
