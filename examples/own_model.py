"""Your own model on the simulated chip: a small Equinox network trained on MNIST-1D, every product on the RNS tiles.

Run: `.venv/bin/python examples/own_model.py [EPOCHS]` (default 5). Write the model the
Equinox way, one example in and logits out, with eqx.nn.Linear and eqx.nn.Conv layers;
`train_model` runs each of their products (forward, and both backward products) on the
chosen backend as one GEMM of the batch, convolutions lowered to GEMMs by im2col.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

from calibration.config import load_study  # noqa: E402
from training.autodiff import differentiable_matmul  # noqa: E402
from training.backends import make_backend  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.loop import TrainSettings, train_model  # noqa: E402


class TinyNet(eqx.Module):
    conv: eqx.nn.Conv1d
    head: eqx.nn.Linear

    def __init__(self, key):
        k1, k2 = jax.random.split(key)
        self.conv = eqx.nn.Conv1d(1, 8, kernel_size=5, stride=4, key=k1)  # length 40 -> 9 positions
        self.head = eqx.nn.Linear(8 * 9, 10, key=k2)

    def __call__(self, x):  # one sequence (40,) -> 10 logits
        return self.head(jax.nn.relu(self.conv(x[None])).ravel())


def main(epochs: int = 5, backend: str = "rns", data=None):
    data = load_dataset("mnist1d") if data is None else data
    hardware = make_backend(backend, load_study(None), np.random.default_rng(0))  # sampled, calibrated chip
    settings = TrainSettings(epochs=epochs, learning_rate=1e-2, seed=0)
    result = train_model(TinyNet(jax.random.key(0)), data, differentiable_matmul(hardware.engine), settings)
    print(f"{backend}: test accuracy {100 * result.test_accuracy:.1f} % after {epochs} epochs; {hardware.tally}")
    return result, hardware


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
