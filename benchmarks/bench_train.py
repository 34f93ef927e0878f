"""Training speed: a 20-epoch digits MLP with every matmul on the RNS chip, against the same run in float32.

Run: `.venv/bin/python benchmarks/bench_train.py [EPOCHS]` (default 20; target: the RNS run at
most 3x the float32 run on the 2-core machine). Prints each run's wall time (sampling and
calibrating the chip included), the readouts per second and the ratios RNS / fp32, whole run
and training alone.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.config import load_study  # noqa: E402
from training.mlp import TrainSettings  # noqa: E402
from training.run import run  # noqa: E402


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    study, settings = load_study(None), TrainSettings(epochs=epochs)
    fp32 = run(study, "fp32", settings, None, progress=False)
    rns = run(study, "rns", settings, None, progress=False)
    readouts = rns["tally"]["readouts"]
    print(f"Training: MLP 64-128-10 on digits, {epochs} epochs, batch 32, seed 0")
    print(f"  fp32: {fp32['seconds']:.1f} s, test accuracy {100 * fp32['test_accuracy']:.2f} %")
    print(
        f"  rns:  {rns['seconds']:.1f} s, test accuracy {100 * rns['test_accuracy']:.2f} %; "
        f"{readouts:.3g} readouts, {readouts / rns['seconds_training']:.3g} readouts/s, "
        f"{rns['seconds_building_hardware']:.1f} s sampling and calibrating the chip (JIT warm-up included)"
    )
    print(
        f"  ratio rns / fp32: {rns['seconds'] / fp32['seconds']:.1f}x whole run (target <= 3x), "
        f"{rns['seconds_training'] / fp32['seconds']:.1f}x training alone"
    )


if __name__ == "__main__":
    main()
