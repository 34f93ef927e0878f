"""An Equinox model's layers on the simulated chip: :func:`on_chip` swaps every Linear and Conv for its chip form.

A model is written per example, the Equinox way, with ``eqx.nn.Linear`` and
``eqx.nn.Conv1d``/``Conv2d``/``Conv3d`` layers, and batched with ``jax.vmap``.
``on_chip(model, product, key)`` returns the same model with each of those
layers replaced by :class:`ChipLinear` or :class:`ChipConv`, which compute the
layer's product with ``product(x, w, key)`` (:func:`training.autodiff.example_matmul`),
so under ``jax.vmap`` a layer's forward product, and each of its two backward
products, is one GEMM of the whole batch on the chosen backend.

A convolution is lowered to a GEMM by im2col, as a weight-stationary
accelerator runs it: each output position's receptive field (in_channels x
kernel values, with the layer's stride, padding and dilation) is one row of
the patch matrix, the kernels are the columns of the weight matrix
(in_channels x kernel, out_channels), and their product is the output, one
row per position. Biases and everything else the model computes
(activations, pooling, normalisation, the loss) stay digital, as beside a
photonic tensor core.

Each layer draws the hardware's noise from its own key: ``fold_in(key, i)``
for the i-th layer in the model's pytree order.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from photonics.errors import UsageError

# Layers whose products this module cannot put on the chip: a model holding one is refused, not half-simulated.
UNSUPPORTED = (eqx.nn.ConvTranspose, eqx.nn.GRUCell, eqx.nn.LSTMCell)


class ChipLinear(eqx.Module):
    """``eqx.nn.Linear`` with its product x @ weightᵀ on the chip; the bias added digitally."""

    layer: eqx.nn.Linear
    product: Callable = eqx.field(static=True)
    key: jax.Array

    def __call__(self, x, *, key=None):
        layer = self.layer
        x = jnp.reshape(x, (1,)) if layer.in_features == "scalar" else x
        y = self.product(x, layer.weight.T, self.key)
        if layer.bias is not None:
            y = y + layer.bias
        return jnp.squeeze(y, -1) if layer.out_features == "scalar" else y


class ChipConv(eqx.Module):
    """``eqx.nn.Conv`` (any number of spatial dimensions) as im2col and one product on the chip."""

    layer: eqx.nn.Conv
    product: Callable = eqx.field(static=True)
    key: jax.Array

    def __call__(self, x, *, key=None):
        conv = self.layer
        if x.ndim != conv.num_spatial_dims + 1:
            raise UsageError(
                f"x must be (in_channels, {conv.num_spatial_dims} spatial dims) for this convolution (got shape {x.shape})"
            )
        # (1, in_channels x kernel, *out_spatial): feature index = channel-major, then kernel positions,
        # the order of weight.reshape(out_channels, -1)
        patches = jax.lax.conv_general_dilated_patches(
            x[None],
            filter_shape=conv.kernel_size,
            window_strides=conv.stride,
            padding=conv.padding,
            rhs_dilation=conv.dilation,
        )[0]
        rows = jnp.moveaxis(patches, 0, -1)  # (*out_spatial, in_channels x kernel)
        y = self.product(rows, conv.weight.reshape(conv.out_channels, -1).T, self.key)  # (*out_spatial, out)
        y = jnp.moveaxis(y, -1, 0)
        if conv.use_bias:
            y = y + conv.bias
        return y


def _is_layer(node) -> bool:
    return isinstance(node, (eqx.nn.Linear, eqx.nn.Conv, *UNSUPPORTED))


def _check_layer(layer) -> None:
    if isinstance(layer, UNSUPPORTED):
        raise UsageError(
            f"the model holds an {type(layer).__name__}, whose products cannot run on the chip "
            "(supported: eqx.nn.Linear and eqx.nn.Conv1d/2d/3d)"
        )
    if isinstance(layer, eqx.nn.Conv):
        if layer.groups != 1:
            raise UsageError(f"a convolution on the chip must have groups=1 (got groups={layer.groups})")
        if layer.padding_mode != "ZEROS":
            raise UsageError(
                f"a convolution on the chip must have padding_mode='ZEROS' (got {layer.padding_mode!r}); "
                "pad the input in the model instead"
            )


def chip_layers(model) -> int:
    """How many of the model's layers run on the chip; refuses a model with none, or one the chip cannot run."""
    layers = [leaf for leaf in jax.tree_util.tree_leaves(model, is_leaf=_is_layer) if _is_layer(leaf)]
    for layer in layers:
        _check_layer(layer)
    if not layers:
        raise UsageError(
            "the model has no eqx.nn.Linear or eqx.nn.Conv layer: none of its products would run on the chip"
        )
    return len(layers)


def on_chip(model, product: Callable, key):
    """``model`` with each Linear and Conv layer computing on ``product`` with key ``fold_in(key, i)``."""
    counter = iter(range(chip_layers(model)))

    def swap(node):
        if not _is_layer(node):
            return node
        layer_key = jax.random.fold_in(key, next(counter))
        return (ChipLinear if isinstance(node, eqx.nn.Linear) else ChipConv)(node, product, layer_key)

    return jax.tree_util.tree_map(swap, model, is_leaf=_is_layer)
