"""Training speed: a 20-epoch run with every matmul on the RNS chip, against the same run in float32.

Run: `.venv/bin/python benchmarks/bench_train.py [EPOCHS] [--model mlp|cnn] [--dataset digits|mnist1d]`
(default 20 epochs of the CNN on MNIST-1D). The target is the digits MLP's: 20 epochs on a calibrated
RNS chip at most 3x the float32 run (`bench_train.py 20 --model mlp --dataset digits`); the CNN has
none. Prints each run's wall time (sampling and calibrating the chip, and the first JIT compilation,
included), the readouts per second and the ratios RNS / fp32, whole run and training alone, the whole
run's against the 3x target.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photonics.process import set_up_process  # noqa: E402

set_up_process()  # as the CLI does: a machine that has run it before

from calibration.config import load_study  # noqa: E402
from training.data import DATASETS  # noqa: E402
from training.loop import TrainSettings  # noqa: E402
from training.models import DEFAULT_MODEL, MODELS  # noqa: E402
from training.run import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("epochs", nargs="?", type=int, default=20)
    parser.add_argument("--dataset", default="mnist1d", choices=tuple(DATASETS))
    parser.add_argument("--model", choices=tuple(MODELS))
    args = parser.parse_args()
    model = args.model or DEFAULT_MODEL[args.dataset]
    study = load_study(None)
    settings = TrainSettings(epochs=args.epochs, learning_rate=MODELS[model].learning_rate)
    fp32 = run(study, "fp32", settings, None, progress=False, model=model, dataset=args.dataset)
    rns = run(study, "rns", settings, None, progress=False, model=model, dataset=args.dataset)
    readouts = rns["tally"]["readouts"]
    print(f"Training: {rns['model_description']} on {args.dataset}, {args.epochs} epochs, batch 32, seed 0")
    print(f"  fp32: {fp32['seconds']:.1f} s, test accuracy {100 * fp32['test_accuracy']:.2f} %")
    print(
        f"  rns:  {rns['seconds']:.1f} s, test accuracy {100 * rns['test_accuracy']:.2f} %; "
        f"{readouts:.3g} readouts, {readouts / rns['seconds_training']:.3g} readouts/s, "
        f"{rns['seconds_building_hardware']:.1f} s sampling and calibrating the chip (JIT warm-up included; "
        f"on its own thread while the training programs compile, {rns['seconds_compiling_training']:.1f} s; "
        f"the first step waited {rns['seconds_waiting_for_hardware']:.1f} s for it)"
    )
    for name, r in (("fp32", fp32), ("rns", rns)):
        print(
            f"  {name}: {r['products_run']} products of {r['product_shapes']} shapes: "
            f"{r['seconds_in_products']:.1f} s in the products, {r['seconds_first_product_per_shape']:.1f} s of it "
            f"the first of each shape; training {r['seconds_training']:.1f} s, first epoch "
            f"{r['history'][0]['seconds']:.1f} s, then {_per_epoch(r):.2f} s per epoch"
        )
    ratio = rns["seconds"] / fp32["seconds"]
    target_run = model == "mlp" and args.dataset == "digits" and args.epochs == 20
    print(
        f"  ratio rns / fp32: {ratio:.1f}x whole run, "
        f"{rns['seconds_training'] / fp32['seconds_training']:.1f}x training alone; "
        f"target (20 epochs of the digits MLP): at most 3x whole run "
        f"({('met' if ratio <= 3 else 'missed') if target_run else 'not this run'})"
    )


def _per_epoch(r: dict) -> float:
    """Seconds per epoch after the first (the steady state), or nan for a one-epoch run."""
    h = r["history"]
    return (h[-1]["seconds"] - h[0]["seconds"]) / (len(h) - 1) if len(h) > 1 else float("nan")


if __name__ == "__main__":
    main()
