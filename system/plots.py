"""Charts of the comparison: one step's breakdowns and ratios (`mirage arch --plot`), the tornado (`mirage arch-table`)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _stacked(ax, result: dict, key: str, unit: str, scale: float) -> None:
    names = ("mirage", "systolic")
    parts = sorted(
        {p for n in names for p in result[n][key]}, key=lambda p: -max(result[n][key].get(p, 0) for n in names)
    )
    bottom = [0.0, 0.0]
    cmap = _pyplot().get_cmap("tab20")
    for i, part in enumerate(parts):
        values = [result[n][key].get(part, 0.0) * scale for n in names]
        ax.bar(names, values, bottom=bottom, label=part, color=cmap(i % 20))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel(unit)
    ax.legend(fontsize="x-small", ncol=2)


def breakdown_plot(path: str | Path, result: dict, title: str) -> None:
    """Energy and area by part for both accelerators, and the three ratios (log scale)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
    _stacked(axes[0], result, "energy_breakdown_j", "energy per step (J)", 1.0)
    axes[0].set_title("energy")
    _stacked(axes[1], result, "area_breakdown_mm2", "area (mm^2)", 1.0)
    axes[1].set_title("area")
    ratios = {"speedup": result["speedup"], "EDP ratio": result["edp_ratio"], "power ratio": result["power_ratio"]}
    axes[2].bar(list(ratios), list(ratios.values()), color=["tab:blue", "tab:orange", "tab:green"])
    axes[2].axhline(1.0, color="k", lw=0.8)
    axes[2].set_yscale("log")
    axes[2].set_title(f"systolic / Mirage ({result['scenario']})")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tornado_plot(path: str | Path, analyses: list[dict]) -> None:
    """One panel per sensitivity analysis (:func:`system.compare.sensitivity`): low and high bars about the base."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(analyses), figsize=(6.5 * len(analyses), 3.8), squeeze=False)
    for ax, a in zip(axes[0], analyses):
        rows = a["rows"][::-1]  # widest at the top
        base = a["base"]
        for y, (_name, lo_label, hi_label, lo, hi) in enumerate(rows):
            ax.barh(y, lo - base, left=base, color="tab:blue", label="low" if y == 0 else None)
            ax.barh(y, hi - base, left=base, color="tab:red", label="high" if y == 0 else None)
            ax.text(lo, y, f" {lo_label} ", va="center", ha="right" if lo < hi else "left", fontsize="x-small")
            ax.text(hi, y, f" {hi_label} ", va="center", ha="left" if hi >= lo else "right", fontsize="x-small")
        ax.axvline(base, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize="small")
        ax.set_xlabel(f"mean {a['ratio'].replace('_', ' ')}, {a['scenario']} (systolic / Mirage)")
        ax.legend(fontsize="x-small", loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
