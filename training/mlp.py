"""An MLP classifier trained with Adam, every matmul of every step through a given differentiable matmul.

Biases, activations, the loss and the optimiser are digital (float32), as they
are beside a photonic tensor core; the products x @ W of the forward pass and
both products of each layer's backward pass go through ``matmul(x, w, key)``
(see :mod:`training.autodiff`). Test accuracy is measured through the same
matmul: inference on the same hardware.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import optax

from photonics.errors import UsageError
from training.data import Dataset


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 20
    batch_size: int = 32
    hidden: tuple[int, ...] = (128,)
    learning_rate: float = 3e-3  # Adam
    seed: int = 0  # weights, batch order and the hardware's noise

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"{name} must be an integer >= 1 (got {value!r})")
        if not all(isinstance(h, int) and h >= 1 for h in self.hidden):
            raise UsageError(f"hidden must be layer widths >= 1 (got {self.hidden!r})")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**32:
            raise UsageError(f"seed must be an integer in [0, 2**32) (got {self.seed!r})")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise UsageError(f"learning_rate must lie in (0, 1) (got {self.learning_rate!r})")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float  # mean over the epoch's steps, as computed through the hardware
    train_accuracy: float  # of the epoch's batches, through the hardware
    test_loss: float
    test_accuracy: float
    seconds: float  # since training began


@dataclass
class TrainResult:
    settings: TrainSettings
    history: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def test_accuracy(self) -> float:
        return self.history[-1].test_accuracy if self.history else float("nan")


def init_params(sizes: list[int], key) -> list[dict]:
    """He-initialised weights (fan_in, fan_out) and zero biases, float32."""
    params = []
    for fan_in, fan_out, k in zip(sizes[:-1], sizes[1:], jax.random.split(key, len(sizes) - 1)):
        w = jax.random.normal(k, (fan_in, fan_out), jnp.float32) * jnp.sqrt(2.0 / fan_in)
        params.append({"w": w, "b": jnp.zeros(fan_out, jnp.float32)})
    return params


def forward(params: list[dict], x, matmul: Callable, key):
    """Logits; ReLU between layers."""
    for i, layer in enumerate(params):
        x = matmul(x, layer["w"], jax.random.fold_in(key, i)) + layer["b"]
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def _loss_and_correct(params, x, y, matmul, key):
    logits = forward(params, x, matmul, key)
    loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))
    return loss, jnp.sum(jnp.argmax(logits, axis=1) == y)


def train(
    data: Dataset,
    matmul: Callable,
    settings: TrainSettings = TrainSettings(),
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> TrainResult:
    """Train an MLP (features - hidden... - classes) on ``data``; one record per epoch."""
    if data.x_train.shape[0] < settings.batch_size:
        raise UsageError(
            f"batch_size must be at most the {data.x_train.shape[0]} training examples (got {settings.batch_size})"
        )
    key = jax.random.key(settings.seed)
    init_key, data_key, hw_key, eval_key = jax.random.split(key, 4)
    params = init_params([data.features, *settings.hidden, data.classes], init_key)
    optimiser = optax.adam(settings.learning_rate)
    opt_state = optimiser.init(params)

    @jax.jit
    def step(params, opt_state, x, y, key):
        (loss, correct), grads = jax.value_and_grad(_loss_and_correct, has_aux=True)(params, x, y, matmul, key)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, correct

    evaluate = jax.jit(lambda params, x, y, key: _loss_and_correct(params, x, y, matmul, key))
    order_rng = np.random.default_rng(np.asarray(jax.random.key_data(data_key)).tolist())
    n, bs = data.x_train.shape[0], settings.batch_size
    steps = n // bs  # the remainder of each shuffled epoch is left out: one batch shape, one compilation
    x_test, y_test = jnp.asarray(data.x_test), jnp.asarray(data.y_test)
    result = TrainResult(settings)
    start = time.perf_counter()
    for epoch in range(settings.epochs):
        order = order_rng.permutation(n)
        losses, correct = [], 0
        for s in range(steps):
            idx = order[s * bs : (s + 1) * bs]
            step_key = jax.random.fold_in(hw_key, epoch * steps + s)
            params, opt_state, loss, c = step(params, opt_state, data.x_train[idx], data.y_train[idx], step_key)
            losses.append(float(loss))
            correct += int(c)
            if on_step:
                on_step()
        test_loss, test_correct = evaluate(params, x_test, y_test, jax.random.fold_in(eval_key, epoch))
        record = EpochRecord(
            epoch + 1,
            float(np.mean(losses)),
            correct / (steps * bs),
            float(test_loss),
            int(test_correct) / len(data.y_test),
            time.perf_counter() - start,
        )
        result.history.append(record)
        if on_epoch:
            on_epoch(record)
    result.seconds = time.perf_counter() - start
    return result
