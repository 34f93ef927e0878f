"""A differentiable matmul for JAX whose three products run on a host-side engine (the simulated hardware).

``matmul = differentiable_matmul(engine)`` gives ``matmul(x, w, key)`` for
x (M, K) and w (K, N). The forward product x @ w and both backward products,
g @ w.T (for x) and x.T @ g (for w), are each one call of
``engine(a, b, rng) -> a @ b`` on the host, through ``jax.pure_callback``, so
the function works under ``jax.jit`` and ``jax.grad``. The key makes the
engine's randomness (noise, stochastic rounding) explicit: one key, one result;
the three products draw from ``fold_in(key, 0 | 1 | 2)``. A product whose
cotangent is not needed (the gradient for the input layer's data) is not run.

A user routes a JAX model's matmuls through the hardware by calling
``matmul(x, w, key)`` where the model called ``x @ w``.

Networks written per example and batched with ``jax.vmap`` (the Equinox way)
call :func:`example_matmul` instead: ``product(x, w, key)`` for x (..., K), whose
``jax.vmap`` over x is one ``matmul`` of every example's rows stacked, as the
accelerator runs a batch (weights stationary, the batch streamed through), not
one product per example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np

from photonics.errors import UsageError


class Engine(Protocol):
    def __call__(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


def _generator(key_data: np.ndarray) -> np.random.Generator:
    return np.random.default_rng(np.asarray(key_data, dtype=np.uint32).tolist())


SEED_SHIFTS = (0, 8, 16, 24)  # a seed word crosses as its four bytes: small integers, exact in every float type


def _pack(a, b, seed):
    """a, b and the seed as one vector: a product leaves JAX as one array (one host transfer, not three).

    The vector's dtype is a and b's common floating type (float64 for integers),
    into which both convert exactly. The seed's uint32 words go as their bytes,
    converted rather than bit-cast (XLA may rewrite a NaN's bits, as it does
    bfloat16's), so :func:`_unpack` returns the words unchanged.
    """
    dtype = jnp.result_type(a, b)
    dtype = dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.dtype(jnp.float64)
    words = jnp.ravel(seed).astype(jnp.uint32)[:, None]
    seed_bytes = (words >> jnp.asarray(SEED_SHIFTS, jnp.uint32)) & 0xFF
    return jnp.concatenate([jnp.ravel(x).astype(dtype) for x in (a, b, seed_bytes)])


def _unpack(packed: np.ndarray, m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a (m, k), b (k, n), seed words (uint32)) from a vector made by :func:`_pack`."""
    a, b = packed[: m * k].reshape(m, k), packed[m * k : m * k + k * n].reshape(k, n)
    seed_bytes = packed[m * k + k * n :].astype(np.uint32).reshape(-1, len(SEED_SHIFTS))
    return a, b, np.bitwise_or.reduce(seed_bytes << np.asarray(SEED_SHIFTS, np.uint32), axis=1)


def _product(engine: Engine, a, b, key, which: int):
    """a @ b on the engine, as a JAX value of a's dtype, seeded from fold_in(key, which)."""
    seed = jax.random.key_data(jax.random.fold_in(key, which))
    (m, k), n = a.shape, b.shape[1]
    out = jax.ShapeDtypeStruct((m, n), a.dtype)

    def host(packed):
        a, b, seed = _unpack(np.asarray(packed), m, k, n)
        return np.asarray(engine(a.astype(np.float64), b.astype(np.float64), _generator(seed)), dtype=out.dtype)

    return jax.pure_callback(host, out, _pack(a, b, seed), vmap_method="sequential")


def _check(x, w) -> None:
    if jnp.ndim(x) != 2 or jnp.ndim(w) != 2:
        raise UsageError(f"x and w must be 2-D matrices (got shapes {jnp.shape(x)} and {jnp.shape(w)})")
    if x.shape[1] != w.shape[0]:
        raise UsageError(f"shapes do not match: x is {x.shape[0]} x {x.shape[1]}, w is {w.shape[0]} x {w.shape[1]}")


def differentiable_matmul(engine: Engine) -> Callable:
    """``matmul(x, w, key)``: x @ w with forward and backward products on ``engine``."""

    @jax.custom_vjp
    def matmul(x, w, key):
        _check(x, w)
        return _product(engine, x, w, key, 0)

    def fwd(x, w, key):
        _check(x.value, w.value)
        out = _product(engine, x.value, w.value, key.value, 0)
        return out, (x.value, w.value, key.value, x.perturbed, w.perturbed)

    def bwd(res, g):
        x, w, key, need_x, need_w = res
        if isinstance(g, jax.custom_derivatives.SymbolicZero):
            return None, None, None
        dx = _product(engine, g, w.T, key, 1) if need_x else None
        dw = _product(engine, x.T, g, key, 2) if need_w else None
        return dx, dw, None

    matmul.defvjp(fwd, bwd, symbolic_zeros=True)
    return matmul


def example_matmul(matmul: Callable) -> Callable:
    """``product(x, w, key)``: x (..., K) @ w (K, N) through ``matmul`` (from :func:`differentiable_matmul`).

    The leading axes of x are rows of one product. Under ``jax.vmap`` over x
    (w and key shared), the batch joins those rows: still one product, so the
    forward pass and each backward product of a batch are single GEMMs on the
    engine (the weight gradient sums over the batch inside its product). A
    vmap that batches w or the key (per-example weights or noise) runs one
    product per example.
    """

    def flat(x, w, key):
        if jnp.ndim(x) < 1 or jnp.ndim(w) != 2 or jnp.shape(x)[-1] != w.shape[0]:
            raise UsageError(
                f"x must be (..., K) and w (K, N) with matching K (got shapes {jnp.shape(x)} and {jnp.shape(w)})"
            )
        # One dtype for the product and its cotangents (a float32 input with float64 weights, say).
        dtype = jnp.result_type(x, w)
        rows = x.reshape(-1, x.shape[-1]).astype(dtype)
        w = w.astype(dtype)
        return matmul(rows, w, key).reshape(*x.shape[:-1], w.shape[1])

    @jax.custom_batching.custom_vmap
    def product(x, w, key):
        return flat(x, w, key)

    @product.def_vmap
    def _batched(axis_size, in_batched, x, w, key):
        x_batched, w_batched, key_batched = in_batched
        if not (w_batched or key_batched):
            return flat(x, w, key), True  # the vmapped axis of x is one more axis of rows
        x = x if x_batched else jnp.broadcast_to(x, (axis_size, *x.shape))
        w = w if w_batched else jnp.broadcast_to(w, (axis_size, *w.shape))
        key = key if key_batched else jnp.broadcast_to(key, (axis_size, *key.shape))
        return jax.lax.map(lambda args: flat(*args), (x, w, key)), True

    return product


def float_engine(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The fp32 baseline: a plain float32 product (rng unused)."""
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32)
