"""One training run of a model on a dataset and a backend, written to disk (history.csv, curves.png, result.json),
and the table of every backend over several seeds, per dataset."""

from __future__ import annotations

import csv
import dataclasses
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from calibration.config import StudyConfig
from calibration.files import atomic_path
from calibration.montecarlo import workload
from photonics.errors import UsageError
from training.autodiff import differentiable_matmul
from training.backends import KINDS, Backend, backend_names, check_backend, make_backend
from training.data import DATASETS, check_dataset, load_dataset
from training.loop import EpochRecord, TrainSettings, check_training, seed_keys, train_model
from training.models import DEFAULT_MODEL, MODELS, check_model

HISTORY_FIELDS = [f.name for f in dataclasses.fields(EpochRecord)]


def run(
    study: StudyConfig,
    backend: str,
    settings: TrainSettings,
    out_dir: str | Path | None,
    repeats: int | None = None,
    progress: bool = True,
    model: str = "mlp",
    dataset: str = "digits",
) -> dict:
    """Train ``model`` on ``dataset`` on ``backend``; write the run's files into ``out_dir`` (if given); return a dict.

    The output directory is checked before any work; its files appear together at the end.
    """
    from tqdm import tqdm

    check_backend(backend, repeats)
    check_model(model)
    check_dataset(dataset)
    if out_dir is not None:
        check_out_dir(Path(out_dir))
    start = time.perf_counter()
    data = load_dataset(dataset)
    kind = MODELS[model]
    network = kind.build(data, settings, seed_keys(settings.seed)["init"])
    check_training(network, data, settings)  # before the hardware is built
    t_data = time.perf_counter()
    steps = settings.epochs * (len(data.y_train) // settings.batch_size)
    # The hardware (for rns: sampling and calibrating the chip) is built on a thread of its own while JAX compiles
    # the training programs, which need no product; the first step waits for it. Its draws come from its own rng.
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirage-hardware") as pool,
        # tqdm's disable=None: show the bar only on a terminal
        tqdm(
            total=steps,
            desc=f"{model} on {dataset}, {backend} seed {settings.seed}",
            unit="step",
            disable=None if progress else True,
            leave=False,
        ) as bar,
    ):
        building = pool.submit(_built, backend, study, settings.seed, repeats)
        product_seconds: dict[tuple, list[float]] = {}  # (a's shape, b's shape) -> each product's seconds

        def engine(a, b, rng):
            t = time.perf_counter()
            c = building.result()[0].engine(a, b, rng)  # called from the first step on: built by then
            product_seconds.setdefault((a.shape, b.shape), []).append(time.perf_counter() - t)
            return c

        def on_epoch(r: EpochRecord):
            bar.set_postfix(epoch=r.epoch, loss=f"{r.train_loss:.3f}", test_acc=f"{r.test_accuracy:.3f}")

        result = train_model(
            network,
            data,
            differentiable_matmul(engine),
            settings,
            on_epoch=on_epoch,
            on_step=bar.update,
            hardware_ready=building.result,
        )
    hardware, build_s = building.result()
    tally = hardware.tally
    a, b = workload()  # the Monte Carlo's GEMM: the precision the hardware gives a plain product
    c = hardware.engine(a, b, np.random.default_rng(np.random.SeedSequence([settings.seed, 2])))
    out = {
        "backend": backend,
        "model": model,
        "dataset": dataset,
        "model_description": kind.describe(data, settings),
        "train_examples": len(data.y_train),
        "test_examples": len(data.y_test),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "test_accuracy": result.test_accuracy,
        "best_test_accuracy": max(r.test_accuracy for r in result.history),
        "final_train_loss": result.history[-1].train_loss,
        "gemm_rel_error": float(np.linalg.norm(c - a @ b) / np.linalg.norm(a @ b)),
        "seconds": time.perf_counter() - start,
        "seconds_training": result.seconds,
        "seconds_loading_data": t_data - start,
        "seconds_building_hardware": build_s,  # on its own thread, while the training programs compile
        "seconds_compiling_training": result.seconds_compiling,
        "seconds_waiting_for_hardware": result.seconds_waiting,  # after compiling, before the first step
        # in the backend's products (host side): all of them, and the first of each shape (compilation, if any)
        "seconds_in_products": sum(map(sum, product_seconds.values())),
        "seconds_first_product_per_shape": sum(times[0] for times in product_seconds.values()),
        "products_run": sum(map(len, product_seconds.values())),
        "product_shapes": len(product_seconds),
        "settings": {**dataclasses.asdict(settings), "hidden": list(settings.hidden)},
        "hardware": hardware.info,
        "tally": tally,
        "history": [dataclasses.asdict(r) for r in result.history],
    }
    if out_dir is not None:
        save(out, Path(out_dir))
    return out


def _built(backend: str, study: StudyConfig, seed: int, repeats: int | None) -> tuple[Backend, float]:
    """The run's hardware (the RNS chip sampled and calibrated from the seed's generator) and the seconds it took."""
    t = time.perf_counter()
    hardware = make_backend(backend, study, np.random.default_rng(np.random.SeedSequence([seed, 1])), repeats)
    return hardware, time.perf_counter() - t


def check_out_dir(out: Path) -> None:
    """Refuse an --out that is not, and cannot become, a directory we can write."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"--out {out} cannot be written ({exc.strerror or exc})") from None


def save(result: dict, out: Path) -> None:
    """history.csv, result.json and curves.png, written beside and then moved in together (no half-written run)."""
    out.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(out / "history.csv") as history,
        atomic_path(out / "result.json") as result_json,
        atomic_path(out / "curves.png") as curves,
    ):
        with open(history, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
            writer.writeheader()
            writer.writerows(result["history"])
        result_json.write_text(json.dumps(result, indent=1))
        plot(result, curves)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = result["history"]
    epochs = [r["epoch"] for r in h]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [r["train_loss"] for r in h], label="train")
    ax_loss.plot(epochs, [r["test_loss"] for r in h], label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log")
    ax_acc.plot(epochs, [100 * r["train_accuracy"] for r in h], label="train")
    ax_acc.plot(epochs, [100 * r["test_accuracy"] for r in h], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(
        f"{result['model_description']} on {result['dataset']}, backend {result['backend']}, seed {result['seed']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def accuracy_table(
    study: StudyConfig,
    seeds: list[int],
    settings: TrainSettings,
    out_dir: str | Path,
    backends: tuple[str, ...] | None = None,
    datasets: tuple[str, ...] | None = None,
    learning_rates: dict[str, float] | None = None,
) -> tuple[str, list[dict]]:
    """Train every backend with every seed on every dataset, each with its default model (:data:`DEFAULT_MODEL`).

    Files go under out_dir/DATASET/BACKEND-seedS; the markdown table, one per
    dataset, into out_dir/table.md. ``learning_rates``: a model's Adam rate in
    place of ``settings``'s (by model name).
    """
    if not seeds or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be distinct (got {seeds})")
    names = backend_names()
    backends = names if backends is None else backends
    if not backends or len(set(backends)) != len(backends) or not set(backends) <= set(names):
        raise UsageError(f"--backends must be distinct names from {', '.join(names)} (got {', '.join(backends)})")
    datasets = tuple(DATASETS) if datasets is None else datasets
    if not datasets or len(set(datasets)) != len(datasets) or not set(datasets) <= set(DATASETS):
        raise UsageError(f"--datasets must be distinct names from {', '.join(DATASETS)} (got {', '.join(datasets)})")
    rates = learning_rates or {}
    cases = [(d, DEFAULT_MODEL[d]) for d in datasets]
    for s in seeds:
        for _, model in cases:
            # every seed and rate checked before the first run
            dataclasses.replace(settings, seed=s, learning_rate=rates.get(model, settings.learning_rate))
    out = Path(out_dir)
    check_out_dir(out)
    results = [
        run(
            study,
            b,
            dataclasses.replace(settings, seed=s, learning_rate=rates.get(model, settings.learning_rate)),
            out / dataset / f"{b}-seed{s}",
            model=model,
            dataset=dataset,
        )
        for dataset, model in cases
        for b in backends
        for s in seeds
    ]
    table = markdown_table(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table + "\n")
    return table, results


def markdown_table(results: list[dict]) -> str:
    """Per dataset (and model): mean and spread (sample std, min-max) of final test accuracy per backend."""

    def case(r: dict) -> tuple[str, str]:
        return r.get("dataset", "digits"), r.get("model", "mlp")

    cases = list(dict.fromkeys(case(r) for r in results))
    return "\n\n".join(_case_table([r for r in results if case(r) == c], len(cases) > 1) for c in cases)


def _case_table(results: list[dict], heading: bool) -> str:
    backends = list(dict.fromkeys(r["backend"] for r in results))
    fp32 = [100 * r["test_accuracy"] for r in results if r["backend"] == "fp32"]
    lines = []
    if heading:
        lines += [f"**{results[0]['model_description']} on {results[0]['dataset']}**", ""]
    lines += [
        "| backend | test accuracy (%) mean ± std | min-max | vs fp32 (pp) | GEMM rel. error | energy per MAC (pJ) | seconds per run |",
        "|---|---|---|---|---|---|---|",
    ]
    seeds = sorted({r["seed"] for r in results})
    for b in backends:
        rs = [r for r in results if r["backend"] == b]
        ran = sorted(r["seed"] for r in rs)
        acc = [100 * r["test_accuracy"] for r in rs]
        std = statistics.stdev(acc) if len(acc) > 1 else 0.0
        delta = f"{statistics.mean(acc) - statistics.mean(fp32):+.2f}" if fp32 else "-"
        energy = rs[0]["hardware"].get("energy_per_mac_pj")
        repeats = rs[0]["hardware"].get("repeats")  # a backend that averages K readouts says so (takes_repeats)
        name = b + (f" (K = {repeats})" if KINDS[b].takes_repeats and repeats is not None else "")
        if ran != seeds:  # a backend run on fewer seeds than the others says which
            name += f" (seed{'s' if len(ran) > 1 else ''} {', '.join(map(str, ran))} only)"
        lines.append(
            f"| {name} | {statistics.mean(acc):.2f} ± {std:.2f} | {min(acc):.2f}-{max(acc):.2f} | {delta} | "
            f"{statistics.median(r['gemm_rel_error'] for r in rs):.3g} | "
            f"{'-' if energy is None else f'{energy:.3g}'} | {statistics.median(r['seconds'] for r in rs):.0f} |"
        )
    test = results[0].get("test_examples", 360)
    what = {"digits": "digits", "mnist1d": "MNIST-1D sequences"}.get(results[0].get("dataset", "digits"), "examples")
    lines.append("")
    lines.append(
        f"Seeds {', '.join(map(str, seeds))}; {results[0]['epochs']} epochs; final-epoch test accuracy on the "
        f"{test} held-out {what} (one example is {100 / test:.2g} pp). GEMM rel. error: median over the seeds of "
        f"|C - AB| / |AB| for a 32 x 64 x 32 standard-normal product on the trained-on hardware."
    )
    return "\n".join(lines)
