"""Models on the chip: im2col convolutions and linear layers against Equinox's own, one GEMM per product of a batch,
gradients against plain JAX, MNIST-1D's data and its cache, and a user's own model trained through the RNS chip."""

import importlib.util
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from photonics.errors import UsageError
from training import data as data_module
from training.autodiff import differentiable_matmul, example_matmul, float_engine
from training.cnn import Cnn
from training.data import Dataset
from training.layers import on_chip
from training.loop import TrainSettings, train_model


def exact(a, b, rng):
    return a @ b  # float64 on the host: the chip form must reproduce the layer to rounding


class Counting:
    def __init__(self):
        self.shapes = []

    def __call__(self, a, b, rng):
        self.shapes.append((a.shape, b.shape))
        return a @ b


@pytest.mark.parametrize(
    "conv",
    [
        eqx.nn.Conv1d(3, 4, 5, stride=2, padding=1, key=jax.random.key(0)),
        eqx.nn.Conv1d(2, 3, 3, padding="SAME", dilation=2, use_bias=False, key=jax.random.key(1)),
        eqx.nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=((1, 0), (0, 1)), key=jax.random.key(2)),
    ],
)
def test_im2col_convolution_matches_equinox(conv):
    x = jax.random.normal(jax.random.key(9), (conv.in_channels, *(11,) * conv.num_spatial_dims))
    chip = on_chip(conv, example_matmul(differentiable_matmul(exact)), jax.random.key(0))
    np.testing.assert_allclose(chip(x), conv(x), rtol=1e-10, atol=1e-12)


def test_linear_matches_equinox_and_scalar_features():
    for layer in (eqx.nn.Linear(7, 3, key=jax.random.key(0)), eqx.nn.Linear("scalar", "scalar", key=jax.random.key(1))):
        x = jnp.ones(()) * 0.3 if layer.in_features == "scalar" else jnp.linspace(-1, 1, 7)
        chip = on_chip(layer, example_matmul(differentiable_matmul(exact)), jax.random.key(0))
        np.testing.assert_allclose(chip(x), layer(x), rtol=1e-12)


def test_a_batch_step_is_one_gemm_per_product_and_gradients_match_jax():
    model = Cnn(40, 10, jax.random.key(3))
    x = jax.random.normal(jax.random.key(4), (6, 40), jnp.float32)
    y = jnp.arange(6) % 10
    engine = Counting()
    product = example_matmul(differentiable_matmul(engine))

    def loss(m, chip):
        m = on_chip(m, product, jax.random.key(0)) if chip else m
        logits = jax.vmap(m)(x)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    g_chip = eqx.filter_jit(eqx.filter_grad(lambda m: loss(m, True)))(model)
    g_ref = eqx.filter_jit(eqx.filter_grad(lambda m: loss(m, False)))(model)
    for a, b in zip(jax.tree_util.tree_leaves(g_chip), jax.tree_util.tree_leaves(g_ref)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(jnp.max(jnp.abs(b))))  # float32 rounding
    # four layers: four forward products, three input gradients (none for the data), four weight gradients,
    # each one GEMM of the batch of 6: the first convolution's im2col rows are 6 x 19 positions of 1 x 5
    assert len(engine.shapes) == 11
    assert ((6 * 19, 5), (5, 25)) in engine.shapes and ((5, 6 * 19), (6 * 19, 25)) in engine.shapes
    assert ((6, 125), (125, 10)) in engine.shapes


@pytest.mark.parametrize(
    "model, needle",
    [
        (jax.nn.relu, "no eqx.nn.Linear"),
        (eqx.nn.GRUCell(3, 4, key=jax.random.key(0)), "GRUCell"),
        (eqx.nn.Conv1d(4, 4, 3, groups=2, key=jax.random.key(0)), "groups"),
        (eqx.nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular", key=jax.random.key(0)), "padding_mode"),
    ],
)
def test_models_the_chip_cannot_run_are_refused(model, needle):
    with pytest.raises(UsageError, match=needle):
        on_chip(model, example_matmul(differentiable_matmul(exact)), jax.random.key(0))


def test_mnist1d_is_generated_once_then_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(data_module.DATA_CACHE_ENV, str(tmp_path))
    before = np.random.get_state()[1].copy()
    d = data_module.mnist1d()
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # numpy's global generator left alone
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40) and d.x_train.dtype == np.float32
    assert sorted(set(d.y_train.tolist())) == list(range(10)) and d.classes == 10
    assert abs(float(d.x_train.mean())) < 0.05 and 0.9 < float(d.x_train.std()) < 1.1  # standardised by the package
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 1

    import mnist1d.data

    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda *a, **k: pytest.fail("regenerated despite the cache"))
    again = data_module.mnist1d()
    np.testing.assert_array_equal(again.x_test, d.x_test)
    np.testing.assert_array_equal(again.y_train, d.y_train)


def test_unknown_dataset_is_refused():
    with pytest.raises(UsageError, match="dataset must be one of digits, mnist1d"):
        data_module.load_dataset("cifar")


@pytest.fixture(scope="module")
def small_mnist1d():
    d = data_module.mnist1d()
    return Dataset(d.x_train[:640], d.y_train[:640], d.x_test[:200], d.y_test[:200])


def test_cnn_learns_mnist1d_in_float32(small_mnist1d):
    model = Cnn(40, 10, jax.random.key(0))
    result = train_model(
        model, small_mnist1d, differentiable_matmul(float_engine), TrainSettings(epochs=4, learning_rate=1e-2)
    )
    assert result.history[-1].train_loss < 0.8 * result.history[0].train_loss
    assert result.test_accuracy > 0.3  # chance is 0.1; 640 examples and 4 epochs


def own_model_example():
    path = Path(__file__).resolve().parents[2] / "examples" / "own_model.py"
    spec = importlib.util.spec_from_file_location("own_model", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def test_own_model_example_trains_in_float32(small_mnist1d):
    result, hardware = own_model_example().main(epochs=2, backend="fp32", data=small_mnist1d)
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert result.test_accuracy > 0.2  # chance is 0.1


@pytest.mark.slow  # sampling and calibrating the chip
def test_own_model_example_trains_through_the_rns_chip(small_mnist1d):
    result, hardware = own_model_example().main(epochs=2, data=small_mnist1d)
    steps = 640 // 32
    # per step: two forward products, the head's input gradient, two weight gradients; then the test set's forward
    assert hardware.tally["products"] == 2 * (5 * steps + 2)
    assert hardware.tally["readouts"] > 0 and hardware.info["calibrated"]
    assert result.test_accuracy > 0.2  # chance is 0.1
