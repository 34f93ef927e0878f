"""The models `mirage train` can train, each one definition in :data:`MODELS`, and each dataset's default model.

A model kind names a builder ``build(data, settings, key) -> eqx.Module`` (one
example in, logits out), a one-line description and its default Adam learning
rate. The command line lists :func:`model_names` without importing JAX: the
builders import their modules on use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.data import Dataset
    from training.loop import TrainSettings

MLP_LEARNING_RATE = 3e-3  # the digits MLP's Adam rate since its first table
# Adam at 1e-2: MNIST-1D's training recipe for its CNN (S. Greydanus and D. Kobak, ICML 2024); at 3e-3 the
# CNN ends 20 epochs near 87 % in float32, at 1e-2 near 91.5 %.
CNN_LEARNING_RATE = 1e-2


@dataclass(frozen=True)
class ModelKind:
    name: str
    build: Callable  # (data, settings, key) -> eqx.Module
    describe: Callable  # (data, settings) -> one line
    learning_rate: float  # the default Adam learning rate


def _build_mlp(data: Dataset, settings: TrainSettings, key):
    from training.mlp import build_mlp

    return build_mlp(data, settings, key)


def _build_cnn(data: Dataset, settings: TrainSettings, key):
    from training.cnn import build_cnn

    return build_cnn(data, settings, key)


def _describe_cnn(data: Dataset, settings: TrainSettings) -> str:
    from training.cnn import CHANNELS, KERNELS, STRIDE

    convs = ", ".join(f"{CHANNELS}x{k}/{STRIDE}" for k in KERNELS)
    return f"CNN (conv {convs}, linear to {data.classes}; im2col GEMMs)"


MODELS: dict[str, ModelKind] = {
    "mlp": ModelKind(
        "mlp",
        _build_mlp,
        lambda data, s: f"MLP {'-'.join(map(str, [data.features, *s.hidden, data.classes]))}",
        MLP_LEARNING_RATE,
    ),
    "cnn": ModelKind("cnn", _build_cnn, _describe_cnn, CNN_LEARNING_RATE),
}

# The model each dataset is trained with unless one is named: the quick MLP case and the CNN benchmark.
DEFAULT_MODEL = {"digits": "mlp", "mnist1d": "cnn"}


def model_names() -> tuple[str, ...]:
    return tuple(MODELS)


def check_model(name: str) -> None:
    if name not in MODELS:
        from photonics.errors import UsageError

        raise UsageError(f"model must be one of {', '.join(MODELS)} (got {name!r})")
