"""The MLP trainer: it learns the digits in float32, is reproducible, and refuses bad settings."""

import numpy as np
import pytest

from training.autodiff import differentiable_matmul, float_engine
from training.data import digits
from training.mlp import TrainSettings, train


@pytest.fixture(scope="module")
def data():
    return digits()


def test_split_is_fixed_stratified_and_scaled(data):
    assert data.x_train.shape == (1437, 64) and data.x_test.shape == (360, 64)
    assert data.x_train.min() >= 0 and data.x_train.max() <= 1
    counts = np.bincount(data.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # about 36 of each class
    np.testing.assert_array_equal(digits().y_test, data.y_test)


def test_float32_training_learns_and_is_reproducible(data):
    settings = TrainSettings(epochs=4, seed=5)
    a = train(data, differentiable_matmul(float_engine), settings)
    b = train(data, differentiable_matmul(float_engine), settings)
    assert [r.test_accuracy for r in a.history] == [r.test_accuracy for r in b.history]
    assert a.history[-1].train_loss < 0.5 * a.history[0].train_loss
    assert a.test_accuracy > 0.9  # chance is 0.1


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"learning_rate": 2.0}, "learning_rate"),
        ({"hidden": (0,)}, "hidden"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainSettings(**kwargs)


def test_batch_larger_than_the_data_is_refused(data):
    with pytest.raises(ValueError, match="batch_size"):
        train(data, differentiable_matmul(float_engine), TrainSettings(batch_size=5000))


def test_the_hardware_is_awaited_once_after_compiling_and_before_the_first_product(data):
    calls, ready_at = [], []

    def engine(a, b, rng):
        calls.append(a.shape)
        return float_engine(a, b, rng)

    result = train(
        data, differentiable_matmul(engine), TrainSettings(epochs=1), hardware_ready=lambda: ready_at.append(len(calls))
    )
    assert ready_at == [0]  # compiled without running a product, then waited for once
    steps = 1437 // 32
    # per step two forward products, the output layer's dx and dw, the hidden layer's dw; two to evaluate
    assert len(calls) == 5 * steps + 2
    assert result.history[0].test_accuracy > 0.5
