"""The MLP classifier (Equinox), and :func:`train`, training it with every matmul through a differentiable matmul.

Layers ``features - hidden... - classes``, ReLU between them, He-initialised
weights and zero biases in float32. Training and evaluation are those of every
model (:func:`training.loop.train_model`): the products x @ W of the forward pass
and both products of each layer's backward pass go through ``matmul(x, w, key)``.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from training.data import Dataset
from training.loop import EpochRecord, TrainResult, TrainSettings, seed_keys, train_model

__all__ = ["Mlp", "TrainSettings", "EpochRecord", "TrainResult", "train"]


class Mlp(eqx.Module):
    """Fully connected layers with ReLU between them; one example (features,) in, logits out."""

    layers: tuple[eqx.nn.Linear, ...]

    def __init__(self, sizes: list[int], key):
        """He-initialised weights (K. He et al., "Delving deep into rectifiers", ICCV 2015) and zero biases."""
        layers = []
        for fan_in, fan_out, k in zip(sizes[:-1], sizes[1:], jax.random.split(key, len(sizes) - 1)):
            layer = eqx.nn.Linear(fan_in, fan_out, key=k, dtype=jnp.float32)
            w = jax.random.normal(k, (fan_in, fan_out), jnp.float32) * jnp.sqrt(2.0 / fan_in)
            layers.append(
                eqx.tree_at(lambda lin: (lin.weight, lin.bias), layer, (w.T, jnp.zeros(fan_out, jnp.float32)))
            )
        self.layers = tuple(layers)

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        return self.layers[-1](x)


def build_mlp(data: Dataset, settings: TrainSettings, key) -> Mlp:
    return Mlp([data.features, *settings.hidden, data.classes], key)


def train(
    data: Dataset,
    matmul: Callable,
    settings: TrainSettings | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_step: Callable[[], None] | None = None,
    hardware_ready: Callable[[], None] | None = None,
) -> TrainResult:
    """Train an MLP (features - hidden... - classes) on ``data``; one record per epoch (see :func:`train_model`)."""
    settings = TrainSettings() if settings is None else settings
    model = build_mlp(data, settings, seed_keys(settings.seed)["init"])
    return train_model(model, data, matmul, settings, on_epoch, on_step, hardware_ready)
