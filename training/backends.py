"""The four matmul backends training can run on, behind one interface: ``engine(a, b, rng) -> a @ b``.

- ``rns``: the RNS-BFP tiles of :mod:`mvm.gemm` on a chip sampled with the
  study's process and thermal variation and then calibrated, noise on.
- ``fp32``: a plain float32 product.
- ``analog``: a conventional analog photonic MVM (:mod:`mvm.analog`) with the
  same DAC and ADC bits, laser and receiver noise as the RNS tile.
- ``analog-repeat``: the analog MVM with every readout repeated K times and
  averaged; K matches the RNS tile's energy per MAC (:mod:`mvm.energy`) unless given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calibration.calibrate import varied_chip
from calibration.config import StudyConfig
from mvm.analog import analog_gemm, validate_repeats
from mvm.energy import analog_energy_per_mac_pj, matched_repeats, rns_energy_per_mac_pj
from mvm.gemm import Chip, rns_gemm
from photonics.errors import UsageError
from training import BACKENDS
from training.autodiff import Engine, float_engine


@dataclass
class RnsEngine:
    """Products through the chip's RNS tiles; keeps a tally of what the hardware did."""

    chip: Chip
    noise: bool | None = None  # None: the chip configuration's [noise] setting
    tally: dict = field(default_factory=lambda: {"products": 0, "readouts": 0, "residue_errors": 0, "chunk_errors": 0})

    def __call__(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c, report = rns_gemm(a, b, self.chip, noise=self.noise, seed=rng)
        self.tally["products"] += 1
        for key in ("readouts", "residue_errors", "chunk_errors"):
            self.tally[key] += getattr(report, key)
        return c


@dataclass
class AnalogEngine:
    """Products through the analog baseline, each readout repeated ``repeats`` times."""

    study: StudyConfig
    repeats: int = 1
    noise: bool | None = None
    tally: dict = field(default_factory=lambda: {"products": 0, "readouts": 0})

    def __call__(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c, report = analog_gemm(a, b, self.study.chip, repeats=self.repeats, noise=self.noise, seed=rng)
        self.tally["products"] += 1
        self.tally["readouts"] += report.readouts
        return c


@dataclass
class Backend:
    name: str
    engine: Engine
    info: dict  # what the hardware is: energy per MAC, repeats, chip variation

    @property
    def tally(self) -> dict:
        return dict(getattr(self.engine, "tally", {}))


def check_backend(name: str, repeats: int | None = None) -> None:
    """Refuse an unknown backend, or repeats given where they do not apply or out of range."""
    if name not in BACKENDS:
        raise UsageError(f"backend must be one of {', '.join(BACKENDS)} (got {name!r})")
    if repeats is not None and name != "analog-repeat":
        raise UsageError(f"repeats applies to the analog-repeat backend only (got backend {name!r})")
    if repeats is not None:
        validate_repeats(repeats)


def make_backend(name: str, study: StudyConfig, rng: np.random.Generator, repeats: int | None = None) -> Backend:
    """The named backend on the study's chip; the RNS chip is sampled and calibrated with ``rng``."""
    check_backend(name, repeats)
    cfg = study.chip
    if name == "fp32":
        return Backend(name, float_engine, {})
    if name == "rns":
        engine = RnsEngine(varied_chip(study, rng))
        return Backend(name, engine, {
            "moduli": list(cfg.all_moduli), "variation_scale": study.variation.scale, "calibrated": True,
            "energy_per_mac_pj": rns_energy_per_mac_pj(cfg),
        })
    k = 1 if name == "analog" else repeats or matched_repeats(cfg)
    return Backend(name, AnalogEngine(study, k), {
        "repeats": k, "energy_per_mac_pj": analog_energy_per_mac_pj(cfg, k),
        "rns_energy_per_mac_pj": rns_energy_per_mac_pj(cfg),
    })
