"""The regression cases and the script that stores their S-parameters.

Run ``.venv/bin/python -m tests.photonics.regression_cases`` only after a
deliberate change of physics, and say why in the commit: the stored arrays exist
so that an accidental change is caught by ``test_regression.py``.
"""

import json
from pathlib import Path

import numpy as np

import photonics

WAVELENGTHS_UM = [1.53, 1.55, 1.57]
DATA = Path(__file__).parent / "data" / "regression.json"

# For each model: its defaults, and settings that exercise every term.
CASES = {
    "straight": {"length_um": 321.0, "temperature_k": 330.0, "loss_db_cm": 4.0},
    "coupler": {"kappa": 0.27, "loss_db": 0.1},
    "mmi2x2": {"kappa": 0.48, "loss_db": 0.2},
    "splitter": {"split_ratio": 0.4, "loss_db": 0.1},
    "phase_shifter_eo": {"voltage_v": 2.5, "length_um": 1500.0, "temperature_k": 310.0},
    "heater": {"power_mw": 6.0, "temperature_k": 305.0},
    "mzi": {"delta_length_um": 25.0, "heater_power_mw": 3.0, "kappa1": 0.45, "coupler_loss_db": 0.05},
    "ring_allpass": {"voltage_v": 1.2, "radius_um": 12.0, "temperature_k": 302.0},
    "ring_add_drop": {"kappa_through": 0.08, "kappa_drop": 0.06, "temperature_k": 298.0, "voltage_v": -0.5},
}


def compute() -> dict:
    out = {}
    for name, exercised in CASES.items():
        for label, settings in (("default", {}), ("exercised", exercised)):
            s = photonics.evaluate(name, wl=np.array(WAVELENGTHS_UM), **settings)
            out[f"{name}/{label}"] = {
                "settings": settings,
                "s": {f"{p1},{p2}": [[z.real, z.imag] for z in np.asarray(v)] for (p1, p2), v in sorted(s.items())},
            }
    return out


if __name__ == "__main__":
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps({"wavelengths_um": WAVELENGTHS_UM, "cases": compute()}, indent=1) + "\n")
    print(f"wrote {DATA}")
