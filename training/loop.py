"""Training any Equinox classifier with Adam, every Linear and Conv product of every step on a given matmul.

``train_model(model, data, matmul, settings)`` trains a model written per example
(``model(x) -> logits`` for one example; batched with ``jax.vmap``). Each step
puts the model's layers on the chip (:func:`training.layers.on_chip`), so the
forward product and both backward products of every Linear and Conv layer go
through ``matmul(x, w, key)`` (see :mod:`training.autodiff`), each a single
GEMM of the batch. Biases, activations, the loss and the optimiser are digital
(float32). Test accuracy is measured through the same matmul: inference on the
same hardware.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from photonics.errors import UsageError
from training.data import Dataset
from training.models import MLP_LEARNING_RATE


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 20
    batch_size: int = 32
    hidden: tuple[int, ...] = (128,)  # the MLP's hidden layer widths
    learning_rate: float = MLP_LEARNING_RATE  # Adam
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
    seconds_compiling: float = 0.0  # compiling the training step and the evaluation (part of ``seconds``)
    seconds_waiting: float = 0.0  # then waiting for the hardware (``hardware_ready``; not part of ``seconds``)
    model: object = None  # the trained model

    @property
    def test_accuracy(self) -> float:
        return self.history[-1].test_accuracy if self.history else float("nan")


def seed_keys(seed: int) -> dict:
    """The run's keys, all from one seed: the weights' initialisation, the batch order, the hardware, the evaluation."""
    return dict(zip(("init", "data", "hardware", "eval"), jax.random.split(jax.random.key(seed), 4)))


def check_training(model, data: Dataset, settings: TrainSettings) -> None:
    """Refuse, before any work, a batch larger than the training set or a model the chip cannot run."""
    from training.layers import chip_layers

    if data.x_train.shape[0] < settings.batch_size:
        raise UsageError(
            f"batch_size must be at most the {data.x_train.shape[0]} training examples (got {settings.batch_size})"
        )
    chip_layers(model)


def train_model(
    model,
    data: Dataset,
    matmul: Callable,
    settings: TrainSettings = TrainSettings(),
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_step: Callable[[], None] | None = None,
    hardware_ready: Callable[[], None] | None = None,
) -> TrainResult:
    """Train ``model`` (an Equinox module: one example in, logits out) on ``data``; one record per epoch.

    The training step and the evaluation are compiled before any product runs;
    ``hardware_ready``, if given, is called then, before the first step: a
    caller can build the hardware ``matmul`` runs on while JAX compiles, and
    wait for it there. The wait is not counted as training time.
    """
    import equinox as eqx
    import optax

    from training.autodiff import example_matmul
    from training.layers import on_chip

    check_training(model, data, settings)
    product = example_matmul(matmul)
    keys = seed_keys(settings.seed)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    optimiser = optax.adam(settings.learning_rate)
    opt_state = optimiser.init(params)

    def loss_and_correct(params, x, y, key):
        logits = jax.vmap(on_chip(eqx.combine(params, static), product, key))(x)
        loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))
        return loss, jnp.sum(jnp.argmax(logits, axis=1) == y)

    @jax.jit
    def step(params, opt_state, x, y, key):
        (loss, correct), grads = jax.value_and_grad(loss_and_correct, has_aux=True)(params, x, y, key)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, correct

    evaluate = jax.jit(loss_and_correct)
    order_rng = np.random.default_rng(np.asarray(jax.random.key_data(keys["data"])).tolist())
    n, bs = data.x_train.shape[0], settings.batch_size
    steps = n // bs  # the remainder of each shuffled epoch is left out: one batch shape, one compilation
    x_test, y_test = jnp.asarray(data.x_test), jnp.asarray(data.y_test)
    result = TrainResult(settings)
    start = time.perf_counter()
    # compiled ahead of the first step (on the first batch's shapes: every batch has them), so that
    # compiling needs no hardware; run one program each for the whole run
    step = step.lower(params, opt_state, data.x_train[:bs], data.y_train[:bs], keys["hardware"]).compile()
    evaluate = evaluate.lower(params, x_test, y_test, keys["eval"]).compile()
    result.seconds_compiling = time.perf_counter() - start
    if hardware_ready is not None:
        waiting = time.perf_counter()
        hardware_ready()
        result.seconds_waiting = time.perf_counter() - waiting
        start += result.seconds_waiting
    for epoch in range(settings.epochs):
        order = order_rng.permutation(n)
        losses, correct = [], 0
        for s in range(steps):
            idx = order[s * bs : (s + 1) * bs]
            step_key = jax.random.fold_in(keys["hardware"], epoch * steps + s)
            params, opt_state, loss, c = step(params, opt_state, data.x_train[idx], data.y_train[idx], step_key)
            losses.append(float(loss))
            correct += int(c)
            if on_step:
                on_step()
        test_loss, test_correct = evaluate(params, x_test, y_test, jax.random.fold_in(keys["eval"], epoch))
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
    result.model = eqx.combine(params, static)
    return result
