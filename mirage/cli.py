"""`mirage`: command-line entry point.

Bad input (a :class:`~photonics.errors.UsageError`, or a file that cannot be
read or written) is one line on stderr and exit status 2; any other exception
is a bug and keeps its traceback (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import sys

from circuits.mmu_design import ELEMENTS, ENCODINGS  # names only: loads no device models
from mirage import __version__
from training.backends import backend_names  # the names only: no JAX at import
from training.data import DATASETS  # the names only: no JAX at import
from training.models import DEFAULT_MODEL, MODELS, model_names  # the names and rates only: no JAX at import

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, without the usage block."""

    def error(self, message: str):  # noqa: D401
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _usage(message: str) -> Exception:
    """A UsageError, imported on use: importing photonics loads JAX, which --help does not need."""
    from photonics.errors import UsageError

    return UsageError(message)


def _config(args):
    from mvm.config import load_config

    return load_config(args.config)


def _cmd_config(args) -> None:
    from calibration.config import default_toml, load_sections, to_toml

    if not args.default and args.config is None:
        raise _usage("give --default to print the default chip, or --config FILE to check and print a file")
    print(default_toml() if args.default else to_toml(load_sections(args.config)), end="")


def _cmd_gemm(args) -> None:
    from mirage import gemm
    from mvm.gemm import build_chip, check_operands, prefetch_gemm

    if args.calibrate and not args.variation:
        raise _usage("--calibrate calibrates a sampled chip: give --variation too")
    if args.sigma_scale is not None and not args.variation:
        raise _usage("--sigma-scale scales the variation a chip is sampled with: give --variation too")
    a, b = check_operands(*gemm.operands(args))  # before the chip is built: a bad operand costs no calibration
    if args.variation:
        from calibration.config import load_study

        study = load_study(args.config, args.sigma_scale)
        config = study.chip
    else:
        config = _config(args)
    noise = args.noise if args.noise is not None else config.noise.enabled
    prefetch_gemm(config, (a.shape[0], a.shape[1], b.shape[1]), noise)  # the product's programs load meanwhile
    if args.variation:
        import numpy as np

        from calibration.calibrate import varied_chip

        chip = varied_chip(study, np.random.default_rng(np.random.SeedSequence(args.seed)), args.calibrate)
    else:
        chip = build_chip(config)
    c, result = gemm.run(chip, a, b, noise, args.seed)
    result.update(variation=bool(args.variation), calibrated=bool(args.calibrate))
    if args.out:
        gemm.save(args.out, c)
    print(json.dumps(result) if args.json else gemm.text(result))
    if args.out and not args.json:
        print(f"  wrote {args.out}")


def _cmd_montecarlo(args) -> None:
    from pathlib import Path

    from calibration.config import load_study
    from calibration.distributed import ChipRunner
    from calibration.montecarlo import run_montecarlo, yield_plot
    from mirage.study import montecarlo_text

    if args.sensitivity:
        from calibration.sensitivity import run_sensitivity, sensitivity_text

        if args.scales is not None:
            raise _usage("give --sensitivity or --scales, not both")
        study = load_study(args.config, args.sigma_scale, args.layout)
        rows = run_sensitivity(study, args.chips, args.out, args.workers, args.seed, args.scheduler)
        if args.json:
            print(json.dumps(rows))
        else:
            print(sensitivity_text(rows, args.chips, study.variation.scale), end="")
            print(f"  wrote {Path(args.out) / 'sensitivity.csv'}, sensitivity.md and sensitivity.png")
        return
    scales = [args.sigma_scale] if args.scales is None else _comma_list(args.scales, "--scales", float)
    summaries, dirs = [], []
    with ChipRunner(args.workers, args.scheduler) as runner:
        for scale in scales:
            study = load_study(args.config, scale, args.layout)
            out = Path(args.out) if len(scales) == 1 else Path(args.out) / f"scale_{study.variation.scale:g}"
            summaries.append(run_montecarlo(study, args.chips, out, seed=args.seed, runner=runner))
            dirs.append(str(out))
    yield_plot(Path(args.out) / "yield_vs_scale.png", summaries)
    if args.json:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries))
    else:
        print("\n".join(montecarlo_text(s, d) for s, d in zip(summaries, dirs)))


def _comma_list(text: str, flag: str, kind: type) -> list:
    """Comma-separated numbers of one kind (int or float), all >= 0, for flags such as --scales and --seeds."""
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    noun = "integers" if kind is int else "numbers"
    if not values:
        raise _usage(f"{flag} must be a comma-separated list of {noun} (got {text!r})")
    if min(values) < 0:
        raise _usage(f"{flag} must list {noun} >= 0 (got {text!r})")
    return values


def _cmd_calibrate(args) -> None:
    from calibration.config import load_study
    from mirage.study import calibrate_one, calibrate_text

    result = calibrate_one(load_study(args.config, args.sigma_scale, args.layout), args.seed)
    print(json.dumps(result) if args.json else calibrate_text(result))


def _train_settings(args, seed: int = 0, model: str = "mlp"):
    from training.loop import TrainSettings

    rate = MODELS[model].learning_rate if args.learning_rate is None else args.learning_rate
    return TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=rate, seed=seed)


def _cmd_train(args) -> None:
    from calibration.config import load_study
    from mirage.train import train_text
    from training.run import run

    model = args.model or DEFAULT_MODEL[args.dataset]
    settings = _train_settings(args, args.seed, model)  # check the arguments before the data and the chip
    result = run(
        load_study(args.config),
        args.backend,
        settings,
        args.out,
        repeats=args.repeats,
        model=model,
        dataset=args.dataset,
    )
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    else:
        print(train_text(result, args.out))


def _cmd_train_table(args) -> None:
    from calibration.config import load_study
    from training.run import accuracy_table

    seeds = _comma_list(args.seeds, "--seeds", int)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    datasets = tuple(d.strip() for d in args.datasets.split(",") if d.strip())
    rates = None if args.learning_rate is not None else {m: k.learning_rate for m, k in MODELS.items()}
    table, _ = accuracy_table(
        load_study(args.config), seeds, _train_settings(args), args.out, backends, datasets, learning_rates=rates
    )
    print(table)
    print(f"\nwrote {args.out}/table.md and each run's files under {args.out}")


def _cmd_devices(args) -> None:
    import photonics

    _config(args)  # a given chip file is checked even though the listing shows the models' own defaults
    devs = photonics.devices()
    if args.json:
        print(
            json.dumps(
                {n: {"kind": d.kind, "summary": d.summary, "parameters": d.params.describe()} for n, d in devs.items()},
                indent=2,
            )
        )
        return
    for name, d in devs.items():
        print(f"{name} [{d.kind}]: {d.summary}")
        for p in d.params.describe():
            print(f"    {p['name']:<22} {p['default']!s:>10} {p['unit']:<6} {p['range']:<22} {p['doc']}")


def _cmd_sweep(args) -> None:
    from mirage import sweep

    sweep.check_plot_path(args.plot)
    settings = {**sweep.chip_settings(_config(args), args.device), **sweep.parse_settings(args.set)}
    wl = sweep.wavelengths_um(args.wl_start, args.wl_stop, args.points)
    result = sweep.run_sweep(args.device, settings, wl)
    if args.csv:
        sweep.write_csv(result, args.csv)
    if args.plot:
        sweep.write_plot(result, args.plot)
    if args.json:
        print(json.dumps(sweep.to_json(result)))
        return
    print("\n".join(sweep.summary_lines(result)))
    for label, path in (("csv", args.csv), ("plot", args.plot)):
        if path:
            print(f"  wrote {label}: {path}")


def _cmd_mac(args) -> None:
    import numpy as np

    from mirage import mac
    from mirage.sweep import check_plot_path

    check_plot_path(args.plot)
    if args.modulus < 2:
        raise _usage(f"--modulus must be at least 2 (got {args.modulus})")
    if args.h < 1:
        raise _usage(f"--h must be at least 1 (got {args.h})")
    single = args.x is not None or args.w is not None
    if sum([single, args.exhaustive, args.trials is not None]) != 1:
        raise _usage("choose one of: --x X --w W (one MAC), --exhaustive, or --trials T")
    if single and (args.x is None or args.w is None):
        raise _usage("one MAC needs both --x and --w")
    if (single or args.exhaustive) and args.h != 1:
        raise _usage("--x/--w and --exhaustive run single MACs (h = 1); use --trials for dot products")
    config = _config(args)
    noise = args.noise if args.noise is not None else config.noise.enabled
    compiled, readout = mac.build(config, args.modulus, args.h, args.encoding, args.element, args.laser_power_mw, noise)
    rng = np.random.default_rng(args.seed)
    if single:
        result = mac.single(compiled, readout, args.x, args.w, rng)
    elif args.exhaustive:
        result = mac.exhaustive(compiled, readout, rng)
    else:
        result = mac.trials(compiled, readout, args.trials, rng, args.target_error_rate)
    if args.plot:
        mac.plot(args.plot, compiled, readout, args.trials or 20_000, args.seed)
    print(json.dumps(result) if args.json else mac.text(result))
    if args.plot and not args.json:
        print(f"wrote plot: {args.plot}")


def _cmd_design(args) -> int:
    from mvm.design import design_report, design_space, space_table, text

    if args.space:
        reports = design_space(_config(args))
        table = space_table(reports)
        if args.out:
            from pathlib import Path

            from calibration.files import atomic_path

            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(args.out) as tmp:
                tmp.write_text(table + "\n")
        print(json.dumps(reports) if args.json else table)
        return 1 if args.strict and all(r["violations"] for r in reports) else 0
    report = design_report(_config(args))
    print(json.dumps(report) if args.json else text(report))
    return 1 if args.strict and report["violations"] else 0


def _cmd_layout(args) -> None:
    from mirage import layout

    result = layout.run(_config(args), args.rows, args.h, args.moduli, args.out)
    print(json.dumps(result) if args.json else layout.text(result))


def _cmd_arch(args) -> None:
    from mirage import arch

    result = arch.run(args.model, args.batch, args.scenario, args.config, args.plot)
    print(json.dumps(result) if args.json else arch.text(result))
    if args.plot and not args.json:
        print(f"wrote plot: {args.plot}")


def _cmd_arch_table(args) -> None:
    from mirage import arch

    result = arch.table(args.batch, args.config, args.out, args.plot)
    print(result["table"], end="")
    print(f"wrote {result['out']}" + (f" and {result['plot']}" if result["plot"] else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mirage", description="Simulator of the Mirage RNS photonic DNN accelerator.")
    parser.add_argument("--version", action="version", version=f"mirage {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="chip configuration (TOML; see `mirage config --default`)")

    p = sub.add_parser(
        "devices", parents=[common], help="list every device model with its parameters, defaults and units"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_devices)

    p = sub.add_parser("sweep", parents=[common], help="transmission of every port pair of a device over wavelength")
    p.add_argument("device", help="device name (see `mirage devices`)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    p.add_argument("--wl-start", type=float, default=1.5, metavar="UM", help="first wavelength (um)")
    p.add_argument("--wl-stop", type=float, default=1.6, metavar="UM", help="last wavelength (um)")
    p.add_argument("--points", type=int, default=501, metavar="N", help="number of wavelengths")
    p.add_argument("--csv", metavar="FILE", help="write dB and phase of every port pair as CSV")
    p.add_argument("--plot", metavar="FILE.png", help="write a plot of dB and phase")
    p.add_argument("--json", action="store_true", help="print one JSON object with the arrays")
    p.set_defaults(run=_cmd_sweep)

    p = sub.add_parser("mac", parents=[common], help="modulo multiply-accumulate through the MDPU circuit")
    p.add_argument("--modulus", type=int, required=True, metavar="M", help="modulus m >= 2")
    p.add_argument("--x", type=int, metavar="X", help="input residue (one MAC)")
    p.add_argument("--w", type=int, metavar="W", help="weight residue (one MAC)")
    p.add_argument("--exhaustive", action="store_true", help="all m*m (x, w) pairs")
    p.add_argument("--trials", type=int, metavar="T", help="T random dot products of length h")
    p.add_argument("--h", type=int, default=1, metavar="H", help="dot-product length (MMUs per MDPU), default 1")
    p.add_argument(
        "--noise", action=argparse.BooleanOptionalAction, default=None, help="receiver and laser noise (default on)"
    )
    p.add_argument("--laser-power-mw", type=float, metavar="P", help="laser power per MDPU (mW); default: the chip's")
    p.add_argument("--encoding", choices=ENCODINGS, help="default: the chip's")
    p.add_argument("--element", choices=ELEMENTS, help="default: the chip's")
    p.add_argument(
        "--target-error-rate", type=float, default=1e-6, metavar="R", help="link-budget target (with --trials)"
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the noise and the random inputs")
    p.add_argument(
        "--plot", metavar="FILE.png", help="plot the phase transfer and, with noise, error rate against power"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_mac)

    p = sub.add_parser("gemm", parents=[common], help="a matrix product through the simulated photonic tiles")
    p.add_argument("--m", type=int, metavar="M", help="rows of A (random operands)")
    p.add_argument("--k", type=int, metavar="K", help="columns of A, rows of B")
    p.add_argument("--n", type=int, metavar="N", help="columns of B")
    p.add_argument("--a", metavar="FILE.npy", help="A from a .npy file (with --b)")
    p.add_argument("--b", metavar="FILE.npy", help="B from a .npy file (with --a)")
    p.add_argument("--out", metavar="FILE.npy", help="write C")
    p.add_argument(
        "--noise", action=argparse.BooleanOptionalAction, default=None, help="default: the chip's [noise] enabled (on)"
    )
    p.add_argument("--variation", action="store_true", help="run on a chip sampled from the [variation] settings")
    p.add_argument("--calibrate", action="store_true", help="calibrate the sampled chip first (with --variation)")
    p.add_argument(
        "--sigma-scale",
        type=float,
        metavar="S",
        help="scale every variation sigma (with --variation; default: the file's)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the operands, rounding, noise and chip")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_gemm)

    p = sub.add_parser("montecarlo", parents=[common], help="sample chips, calibrate them, and report yield")
    p.add_argument("--chips", type=int, required=True, metavar="N", help="number of chips")
    p.add_argument("--out", required=True, metavar="DIR", help="results directory (a run there is resumed)")
    p.add_argument("--sigma-scale", type=float, metavar="S", help="scale every variation sigma (default: the file's)")
    p.add_argument(
        "--scales",
        metavar="S1,S2,...",
        help="run at each sigma scale (into DIR/scale_S, one scale into DIR) for yield_vs_scale.png",
    )
    p.add_argument(
        "--workers", type=int, default=1, metavar="W", help="processes of an embedded Dask cluster (same results)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead of --workers",
    )
    p.add_argument(
        "--sensitivity",
        action="store_true",
        help="run once per variation source (that source alone); rank them in DIR/sensitivity.csv, .md and .png",
    )
    p.add_argument(
        "--layout", metavar="FILE.json", help="device positions from `mirage layout` (default placement otherwise)"
    )
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(run=_cmd_montecarlo)

    p = sub.add_parser(
        "calibrate", parents=[common], help="calibrate one sampled chip; residual phase errors before and after"
    )
    p.add_argument("--sigma-scale", type=float, metavar="S", help="scale every variation sigma (default: the file's)")
    p.add_argument(
        "--layout", metavar="FILE.json", help="device positions from `mirage layout` (default placement otherwise)"
    )
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_calibrate)

    p = sub.add_parser("layout", parents=[common], help="write the tile's GDS layout and a JSON list of its devices")
    p.add_argument("--rows", type=int, required=True, metavar="R", help="MDPU rows per modulus")
    p.add_argument("--h", type=int, required=True, metavar="H", help="MMUs per MDPU row")
    p.add_argument(
        "--moduli", metavar="M1,M2,...", help="pairwise-coprime moduli; default: the chip's, redundant ones included"
    )
    p.add_argument(
        "--out", required=True, metavar="FILE.gds", help="the GDS file; the device list goes beside it (FILE.json)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_layout)

    p = sub.add_parser(
        "design", parents=[common], help="the chip's design figures (speed, area, noise, energy) and violated limits"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--strict", action="store_true", help="exit 1 when the design violates a constraint of its file")
    p.add_argument(
        "--space",
        action="store_true",
        help="every encoding x element x electrode on the file's chip: a markdown table (--strict: exit 1 if none passes)",
    )
    p.add_argument("--out", metavar="FILE.md", help="with --space: also write the table here")
    p.set_defaults(run=_cmd_design)

    training = _Parser(add_help=False)
    training.add_argument("--epochs", type=int, default=20, metavar="E", help="epochs (default 20)")
    training.add_argument("--batch-size", type=int, default=32, metavar="B", help="examples per step (default 32)")
    training.add_argument(
        "--learning-rate",
        type=float,
        metavar="LR",
        help="Adam learning rate (default: the model's, "
        + ", ".join(f"{k.learning_rate:g} for the {m}" for m, k in MODELS.items())
        + ")",
    )

    p = sub.add_parser(
        "train",
        parents=[common, training],
        help="train an MLP or a CNN on the digits or MNIST-1D with every matmul on a backend",
    )
    p.add_argument("--backend", required=True, choices=backend_names(), help="the matmul hardware")
    p.add_argument("--dataset", default="digits", choices=tuple(DATASETS), help="the data (default digits)")
    p.add_argument(
        "--model",
        choices=model_names(),
        help="the network (default: the dataset's, " + ", ".join(f"{m} on {d}" for d, m in DEFAULT_MODEL.items()) + ")",
    )
    p.add_argument(
        "--repeats",
        type=int,
        metavar="K",
        help="analog-repeat: readouts averaged (default: matched to the RNS tile's energy per MAC)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the weights, batches, chip and noise")
    p.add_argument(
        "--out", default="out/train", metavar="DIR", help="history.csv, curves.png and result.json (default out/train)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_train)

    p = sub.add_parser(
        "train-table",
        parents=[common, training],
        help="train every backend with several seeds on each dataset; a markdown table of accuracy",
    )
    p.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        metavar="D1,D2,...",
        help="datasets, each with its model: "
        + ", ".join(f"{m} on {d}" for d, m in DEFAULT_MODEL.items())
        + " (default: all)",
    )
    p.add_argument("--seeds", default="0,1,2", metavar="S1,S2,...", help="seeds (default 0,1,2)")
    p.add_argument("--backends", default=",".join(backend_names()), metavar="B1,B2,...", help="backends (default: all)")
    p.add_argument(
        "--out", default="out/accuracy", metavar="DIR", help="table.md and each run's files (default out/accuracy)"
    )
    p.set_defaults(run=_cmd_train_table)

    p = sub.add_parser(
        "arch", parents=[common], help="a DNN's training step on the Mirage accelerator against a systolic array"
    )
    p.add_argument("--model", required=True, metavar="NAME", help="a built-in model or package.module:function")
    p.add_argument("--batch", type=int, default=32, metavar="B", help="examples per step (default 32)")
    p.add_argument(
        "--scenario",
        default="iso-energy",
        metavar="S",
        help="how the baseline is sized: iso-energy (default) | iso-area",
    )
    p.add_argument("--plot", metavar="FILE.png", help="plot the energy and area breakdowns and the ratios")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_arch)

    p = sub.add_parser(
        "arch-table", parents=[common], help="every built-in model under both scenarios: the README table"
    )
    p.add_argument("--batch", type=int, default=32, metavar="B", help="examples per step (default 32)")
    p.add_argument("--out", default="out/arch/table.md", metavar="FILE.md", help="default out/arch/table.md")
    p.add_argument(
        "--plot",
        default="out/arch/tornado.png",
        metavar="FILE.png",
        help="the tornado chart (default out/arch/tornado.png)",
    )
    p.set_defaults(run=_cmd_arch_table)

    p = sub.add_parser("config", parents=[common], help="print the default chip configuration, or check one")
    p.add_argument("--default", action="store_true", help="print the default configuration as TOML")
    p.set_defaults(run=_cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from photonics.errors import UsageError
    from photonics.process import set_up_process

    set_up_process()  # compiled programs kept across runs (MIRAGE_JAX_CACHE=off: not); temporaries from the heap

    try:
        code = args.run(args)  # None or 0: success; a command may return another exit status
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        sys.stdout = None
        return 0
    except UsageError as exc:
        print(f"mirage: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a path the user named: missing, unreadable or unwritable
        if exc.filename is None:
            raise
        print(f"mirage: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
