"""Which variation matters: the Monte Carlo once per variation source, that source alone.

:func:`sources` lists the chip file's variation sources: every spread
(``[variation.width_nm]`` ...) with a nonzero sigma, and the chip's temperature
offset (``ambient_offset_k``), drift (``drift_k``) and thermal crosstalk
(``crosstalk_at_100um``) when nonzero.
:func:`run_sensitivity` runs the study once per source (:func:`alone`: that
source as configured, every other at zero as in
:meth:`~calibration.variation.VariationConfig.zero`; the sigma scale as
configured), each run in ``DIR/sensitivity/SOURCE`` (resumable like any run),
then writes the sources ranked, most harmful first (:func:`rank_key`):

- ``sensitivity.csv``: one row per source, ranked;
- ``sensitivity.md``: the same as a Markdown table;
- ``sensitivity.png``: bar charts of yield (uncalibrated, calibrated) and median
  residual phase error per source (uncalibrated, calibrated, after the drift that
  follows calibration).

Yields are judged on the chip as calibrated; the drift (``drift_k``) acts only
after calibration, so its harm shows in the after-drift column, not in the
ranking.

Every run draws the same chips (the same seed): chip ``i`` of each run sees the
same random numbers, only the sigmas differ, so the sources are compared on
common random numbers.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from calibration.config import StudyConfig
from calibration.distributed import ChipRunner
from calibration.files import atomic_path, write_text_atomic
from calibration.montecarlo import run_montecarlo
from calibration.variation import Spread, VariationConfig

NOT_SPREADS = ("ambient_offset_k", "drift_k", "crosstalk_at_100um")  # the variation's sources that are not spreads
COLUMNS = [
    "rank",
    "source",
    "yield_calibrated",
    "yield_uncalibrated",
    "median_phase_error_uncalibrated_rad",
    "median_phase_error_calibrated_rad",
    "median_phase_error_after_drift_rad",
    "median_residue_error_rate_uncalibrated",
    "median_gemm_rel_error_calibrated",
]


def sources(variation: VariationConfig) -> list[str]:
    """The variation's sources with a nonzero sigma, in the file's order (none at sigma scale 0)."""
    if variation.scale == 0:
        return []
    found = [name for name, s in variation.spreads().items() if s.global_sigma > 0 or s.local_sigma > 0]
    return found + [name for name in NOT_SPREADS if getattr(variation, name) > 0]


def alone(variation: VariationConfig, source: str) -> VariationConfig:
    """``variation`` with every source but ``source`` at zero (distribution, correlation length, scale kept)."""
    zero = {name: Spread(0.0, 0.0) for name in variation.spreads() if name != source}
    zero.update({name: 0.0 for name in NOT_SPREADS if name != source})
    return dataclasses.replace(variation, **zero)


def without(variation: VariationConfig, source: str) -> VariationConfig:
    """``variation`` with ``source`` at zero, every other as configured."""
    return dataclasses.replace(variation, **{source: 0.0 if source in NOT_SPREADS else Spread(0.0, 0.0)})


def rank_key(summary: dict) -> tuple:
    """Most harmful first: lowest calibrated yield, then lowest uncalibrated yield, then the largest median phase
    error before calibration (what calibration has to remove; after it, the receiver's noise dominates)."""
    return (summary["yield_calibrated"], summary["yield_uncalibrated"], -summary["median_phase_error_uncalibrated_rad"])


def run_sensitivity(
    study: StudyConfig,
    chips: int,
    out_dir: str | Path,
    workers: int = 1,
    seed: int = 0,
    scheduler: str | None = None,
) -> list[dict]:
    """One Monte Carlo per source (:func:`sources`), ranked; writes the table and chart; returns the ranked rows."""
    from photonics.errors import UsageError

    names = sources(study.variation)
    if not names:
        raise UsageError("--sensitivity: every variation sigma in the chip file is zero; there is nothing to rank")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries = {}
    with ChipRunner(workers, scheduler) as runner:
        for name in names:
            one = dataclasses.replace(study, variation=alone(study.variation, name))
            summaries[name] = run_montecarlo(one, chips, out / "sensitivity" / name, seed=seed, runner=runner)
    ranked = sorted(names, key=lambda n: (rank_key(summaries[n]), n))
    rows = [
        {"rank": r, "source": n, **{c: summaries[n][c] for c in COLUMNS[2:]}} for r, n in enumerate(ranked, start=1)
    ]
    with atomic_path(out / "sensitivity.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    write_text_atomic(out / "sensitivity.md", sensitivity_text(rows, chips, study.variation.scale))
    _chart(out / "sensitivity.png", rows, chips)
    return rows


def sensitivity_text(rows: list[dict], chips: int, scale: float) -> str:
    """The ranked table as Markdown."""
    lines = [
        f"Variation sources, each alone at its configured sigma (sigma scale {scale:g}, {chips} chips each), "
        "most harmful first.",
        "",
        "| rank | source | yield calibrated | yield uncalibrated | median phase error uncalibrated (rad) "
        "| median phase error calibrated (rad) | median phase error after drift (rad) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rank']} | {r['source']} | {r['yield_calibrated']:.3f} | {r['yield_uncalibrated']:.3f} "
            f"| {r['median_phase_error_uncalibrated_rad']:.4g} | {r['median_phase_error_calibrated_rad']:.4g} "
            f"| {r['median_phase_error_after_drift_rad']:.4g} |"
        )
    return "\n".join(lines) + "\n"


def _chart(path: Path, rows: list[dict], chips: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [r["source"] for r in rows]
    y = np.arange(len(rows))
    fig, (ax_y, ax_p) = plt.subplots(1, 2, figsize=(12, 0.45 * len(rows) + 1.6), sharey=True)
    for offset, state, colour in ((-0.2, "uncalibrated", "tab:red"), (0.2, "calibrated", "tab:blue")):
        ax_y.barh(y + offset, [r[f"yield_{state}"] for r in rows], height=0.4, color=colour, label=state)
    for offset, state, colour in (
        (-0.27, "uncalibrated", "tab:red"),
        (0, "calibrated", "tab:blue"),
        (0.27, "after_drift", "tab:orange"),
    ):
        ax_p.barh(
            y + offset,
            [r[f"median_phase_error_{state}_rad"] for r in rows],
            height=0.27,
            color=colour,
            label=state.replace("_", " "),
        )
    ax_y.set(yticks=y, yticklabels=names, xlabel="yield", xlim=(0, 1.02), title=f"yield ({chips} chips a source)")
    ax_y.invert_yaxis()  # rank 1 on top
    ax_p.set(xlabel="median rms residual phase error (rad)", xscale="log", title="phase error")
    ax_y.legend(fontsize="small")
    ax_p.legend(fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
