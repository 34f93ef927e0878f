"""Device-model throughput on a Monte Carlo batch, and the MZI model against sax.circuit.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_models.py`). Prints, for
each optical model, the median time to evaluate a batch of N parameter samples
(jitted), and the ratio of the same MZI solved by sax.circuit (klu backend) from
a netlist of couplers, a straight and a heater to the closed-form `mzi` model,
both measured in this run.
"""

import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import photonics  # noqa: E402
from benchmarks._timing import median_seconds  # noqa: E402

N = 100_000


def block(sdict):
    jax.block_until_ready(list(sdict.values()))


def main() -> None:
    rng = np.random.default_rng(0)
    wl = rng.uniform(1.5, 1.6, N)
    print(f"device models, batch of {N} (wavelength and one parameter sampled per point), median of 7")
    print(f"{'model':<18} {'ms':>9} {'points/s':>12}")
    batch_param = {
        "straight": "length_um",
        "coupler": "kappa",
        "mmi2x2": "kappa",
        "splitter": "split_ratio",
        "phase_shifter_eo": "voltage_v",
        "heater": "power_mw",
        "mzi": "heater_power_mw",
        "ring_allpass": "voltage_v",
        "ring_add_drop": "voltage_v",
    }
    for name, model in photonics.models().items():
        if name not in batch_param:
            continue
        values = {batch_param[name]: rng.uniform(0.1, 0.9, N)}
        fn = jax.jit(model)
        t = median_seconds(lambda fn=fn, values=values: block(fn(wl=wl, **values)))
        print(f"{name:<18} {t * 1e3:9.2f} {N / t:12.3g}")

    import sax

    netlist = {
        "instances": {"lft": "coupler", "top": "heater", "btm": "straight", "rgt": "coupler"},
        "connections": {"lft,o3": "top,o1", "top,o2": "rgt,o2", "lft,o4": "btm,o1", "btm,o2": "rgt,o1"},
        "ports": {"o1": "lft,o1", "o2": "lft,o2", "o3": "rgt,o3", "o4": "rgt,o4"},
    }
    circuit = jax.jit(sax.circuit(netlist, models=photonics.models())[0])
    power = rng.uniform(0, 20, N)
    arms = {"top": {"length_um": 100.0, "power_mw": power}, "btm": {"length_um": 100.0}}
    t_circuit = median_seconds(lambda: block(circuit(wl=wl, **arms)), 3)
    mzi = jax.jit(photonics.models()["mzi"])
    t_model = median_seconds(lambda: block(mzi(wl=wl, heater_power_mw=power)))
    print(
        f"\nMZI, {N} points: sax.circuit (klu) {t_circuit * 1e3:.1f} ms, mzi model {t_model * 1e3:.2f} ms, "
        f"ratio {t_circuit / t_model:.0f}x"
    )


if __name__ == "__main__":
    main()
