"""`mirage arch` and `mirage arch-table`: a DNN's training step on the Mirage accelerator against a systolic array."""

from __future__ import annotations

from pathlib import Path

from photonics.errors import UsageError

TABLE_RATIOS = (("iso-energy", "edp_ratio"), ("iso-energy", "speedup"), ("iso-area", "power_ratio"))


def _setup(config):
    from system.accelerator import chip_figures
    from system.compare import Setup

    return Setup(chip_figures(config))


def run(model: str, batch: int, scenario: str, config_path: str | None, plot: str | None) -> dict:
    """The JSON object of `mirage arch` (and the plot, when asked)."""
    from mirage.sweep import check_plot_path
    from mvm.config import load_config
    from system.compare import check_scenario, compare
    from system.workloads import training_step

    check_scenario(scenario)
    check_plot_path(plot)
    config = load_config(config_path)
    gemms = training_step(model, batch)  # refuses unknown models and bad batches before the chip's report
    result = {"model": model, "batch": batch} | compare(gemms, _setup(config), scenario)
    if plot:
        from system.plots import breakdown_plot

        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        breakdown_plot(plot, result, f"{model}, batch {batch}, {scenario}")
    return result


def text(result: dict) -> str:
    m, s = result["mirage"], result["systolic"]
    rows = [
        ("step time (ms)", "time_s", 1e3, ".4g"),
        ("energy (J)", "energy_j", 1.0, ".4g"),
        ("EDP (J s)", "edp_js", 1.0, ".4g"),
        ("average power (W)", "power_w", 1.0, ".4g"),
        ("area (mm^2)", "area_mm2", 1.0, ".4g"),
        ("utilisation", "utilisation", 1.0, ".3f"),
        ("arrays (tiles)", "units", 1, "d"),
    ]
    lines = [
        f"mirage arch: {result['model']}, batch {result['batch']}, {result['scenario']}, {m['macs']:.4g} MACs",
        f"{'':<22}{'Mirage':>14}{'systolic':>14}",
    ]
    for label, key, scale, spec in rows:
        lines.append(f"{label:<22}{format(m[key] * scale, spec):>14}{format(s[key] * scale, spec):>14}")
    lines.append(
        f"systolic / Mirage: speedup {result['speedup']:.4g}x, EDP {result['edp_ratio']:.4g}x, "
        f"power {result['power_ratio']:.4g}x (above 1: Mirage better)"
    )
    for name, r in (("Mirage", m), ("systolic", s)):
        total = r["energy_j"]
        parts = sorted(r["energy_breakdown_j"].items(), key=lambda kv: -kv[1])
        lines.append(f"{name} energy: " + ", ".join(f"{k} {v / total:.1%}" for k, v in parts if v > 0))
        lines.append(f"{name} area (mm^2): " + ", ".join(f"{k} {v:.4g}" for k, v in r["area_breakdown_mm2"].items()))
    return "\n".join(lines)


def table(batch: int, config_path: str | None, out: str, plot: str | None) -> dict:
    """Write the README table of every built-in model under both scenarios (and the tornado chart)."""
    from mirage.sweep import check_plot_path
    from mvm.config import load_config
    from system.compare import sensitivity
    from system.compare import table as make_table
    from system.models import MODELS
    from system.workloads import training_step

    if batch < 1:
        raise UsageError(f"--batch must be a positive integer (got {batch})")
    check_plot_path(plot)
    config = load_config(config_path)
    workloads = {name: training_step(name, batch) for name in MODELS}
    setup = _setup(config)
    markdown, _ = make_table(workloads, setup, batch)
    analyses = [sensitivity(workloads, setup, scenario, ratio) for scenario, ratio in TABLE_RATIOS]
    lines = [markdown, "", "Sensitivity (one at a time, the five widest swings of each mean ratio):", ""]
    lines += ["| ratio | assumption | low | high | mean at low | mean at high |", "|---|---|---|---|---|---|"]
    for a in analyses:
        for name, lo_label, hi_label, lo, hi in a["rows"]:
            lines.append(
                f"| {a['scenario']} {a['ratio']} (base {a['base']:.3g}x) | {name} | {lo_label} | {hi_label} "
                f"| {lo:.3g}x | {hi:.3g}x |"
            )
    text_out = "\n".join(lines) + "\n"
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_out)
    if plot:
        from system.plots import tornado_plot

        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        tornado_plot(plot, analyses)
    return {"table": text_out, "out": str(path), "plot": plot}
