"""`mirage train`: the text report of a training run."""

from __future__ import annotations


def train_text(r: dict, out: str) -> str:
    from training.backends import KINDS

    hw = r["hardware"]
    what = KINDS[r["backend"]].describe(hw)
    lines = [
        f"{r['model_description']} on {r['dataset']}, {r['epochs']} epochs, seed {r['seed']}, "
        f"backend {r['backend']}: {what}",
        f"  test accuracy {100 * r['test_accuracy']:.2f} % (best epoch {100 * r['best_test_accuracy']:.2f} %), "
        f"final train loss {r['final_train_loss']:.4f}",
    ]
    if "energy_per_mac_pj" in hw:
        lines.append(f"  energy per MAC {hw['energy_per_mac_pj']:.3g} pJ")
    tally = r["tally"]
    if "residue_errors" in tally:
        lines.append(
            f"  {tally['products']} products, {tally['readouts']} photonic readouts, {tally['residue_errors']} residue errors, "
            f"{tally['chunk_errors']} wrong chunk sums"
        )
    elif tally:
        lines.append(f"  {tally['products']} products, {tally['readouts']} photonic readouts")
    lines.append(
        f"  {r['seconds']:.1f} s ({r['seconds_building_hardware']:.1f} s building the hardware, JIT warm-up included); wrote {out}/history.csv, curves.png, result.json"
    )
    return "\n".join(lines)
