"""The 1-D CNN classifier (Equinox): three strided convolutions and a linear layer.

The architecture is MNIST-1D's convolutional baseline (S. Greydanus and D.
Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024, the ``ConvBase``
model of its code): 25 channels, kernels 5, 3, 3, each of stride 2 and
padding 1, ReLU after each, then a linear layer from the flattened channels
to the classes. On a length-40 sequence the convolutions give 19, 10 and 5
positions (25 x 5 = 125 features); the authors report about 94 % test
accuracy in float32 against about 68 % for an MLP. Weights start from
Equinox's default initialisation (uniform in +-1/sqrt(fan_in), as PyTorch's,
which the authors used). On the chip every convolution is an im2col GEMM
(:class:`training.layers.ChipConv`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from training.data import Dataset
from training.loop import TrainSettings

CHANNELS = 25
KERNELS = (5, 3, 3)
STRIDE = 2
PADDING = 1


class Cnn(eqx.Module):
    """Conv1d layers with ReLU, then a linear layer; one example (length,) in, logits out."""

    convs: tuple[eqx.nn.Conv1d, ...]
    linear: eqx.nn.Linear

    def __init__(self, length: int, classes: int, key, channels: int = CHANNELS):
        keys = jax.random.split(key, len(KERNELS) + 1)
        convs, c_in = [], 1
        for kernel, k in zip(KERNELS, keys):
            convs.append(eqx.nn.Conv1d(c_in, channels, kernel, STRIDE, PADDING, key=k, dtype=jnp.float32))
            c_in = channels
            length = (length + 2 * PADDING - kernel) // STRIDE + 1
        self.convs = tuple(convs)
        self.linear = eqx.nn.Linear(channels * length, classes, key=keys[-1], dtype=jnp.float32)

    def __call__(self, x):
        x = x[None]  # one input channel
        for conv in self.convs:
            x = jax.nn.relu(conv(x))
        return self.linear(x.ravel())


def build_cnn(data: Dataset, settings: TrainSettings, key) -> Cnn:
    return Cnn(data.features, data.classes, key)
