"""The matmul backends training can run on, each one definition in :data:`KINDS`: ``engine(a, b, rng) -> a @ b``.

- ``fp32``: a plain float32 product.
- ``rns``: the RNS-BFP tiles of :mod:`mvm.gemm` on a chip sampled with the
  study's process and thermal variation and then calibrated, noise on.
- ``analog``: a conventional analog photonic MVM (:mod:`mvm.analog`) with the
  same DAC and ADC bits, laser and receiver noise as the RNS tile.
- ``analog-repeat``: the analog MVM with every readout repeated K times and
  averaged; K matches the RNS tile's energy per MAC (:mod:`mvm.energy`) unless given.
- ``mrr-bank``: BPLight-CNN's incoherent micro-ring weight bank (:mod:`mvm.mrr_bank`):
  WDM channels weighted by thermally tuned add-drop rings on a balanced
  detector, the same laser, receiver noise and ADC, the chip's heater
  crosstalk (``[variation] crosstalk_at_100um``).

A backend is a builder function registered with :func:`backend_kind`: it
names the backend, says in one line what the hardware is, and builds the
engine with a dict describing the built hardware. The command line lists
:func:`backend_names` without importing JAX: this module imports the simulator only
inside the builders and engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from calibration.config import StudyConfig
    from mvm.gemm import Chip
    from mvm.mrr_bank import MrrBank
    from training.autodiff import Engine


@dataclass(frozen=True)
class BackendKind:
    """One kind of matmul hardware: how to build it and how to say what was built."""

    name: str
    build: Callable[[StudyConfig, np.random.Generator, int | None], tuple[Engine, dict]]
    describe: Callable[[dict], str]  # one line from the built hardware's info dict
    takes_repeats: bool = False  # whether --repeats applies


KINDS: dict[str, BackendKind] = {}


def backend_kind(name: str, describe: Callable[[dict], str], takes_repeats: bool = False):
    """Decorator registering ``build(study, rng, repeats) -> (engine, info)`` as the backend ``name``."""

    def wrap(build):
        if name in KINDS:
            raise ValueError(f"backend {name!r} is registered twice")
        KINDS[name] = BackendKind(name, build, describe, takes_repeats)
        return build

    return wrap


@dataclass
class RnsEngine:
    """Products through the chip's RNS tiles; keeps a tally of what the hardware did."""

    chip: Chip
    noise: bool | None = None  # None: the chip configuration's [noise] setting
    tally: dict = field(default_factory=lambda: {"products": 0, "readouts": 0, "residue_errors": 0, "chunk_errors": 0})

    def __call__(self, a, b, rng):
        from mvm.gemm import rns_gemm

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

    def __call__(self, a, b, rng):
        from mvm.analog import analog_gemm

        c, report = analog_gemm(a, b, self.study.chip, repeats=self.repeats, noise=self.noise, seed=rng)
        self.tally["products"] += 1
        self.tally["readouts"] += report.readouts
        return c


@backend_kind("fp32", lambda hw: "float32 matmul")
def _fp32(study, rng, repeats):
    from training.autodiff import float_engine

    return float_engine, {}


@backend_kind(
    "rns",
    lambda hw: (
        f"RNS tiles, moduli {tuple(hw['moduli'])}, chip sampled at sigma scale {hw['variation_scale']:g} and calibrated"
    ),
)
def _rns(study, rng, repeats):
    from calibration.calibrate import varied_chip
    from mvm.design import chip_energy_pj_per_mac

    info = {
        "moduli": list(study.chip.all_moduli),
        "variation_scale": study.variation.scale,
        "calibrated": True,
        "energy_per_mac_pj": chip_energy_pj_per_mac(study.chip)["total"],
    }
    return RnsEngine(varied_chip(study, rng)), info


def _analog(study, repeats: int) -> tuple[Engine, dict]:
    from mvm.design import chip_energy_pj_per_mac
    from mvm.energy import analog_energy_per_mac_pj

    info = {
        "repeats": repeats,
        "energy_per_mac_pj": analog_energy_per_mac_pj(study.chip, repeats),
        "rns_energy_per_mac_pj": chip_energy_pj_per_mac(study.chip)["total"],
    }
    return AnalogEngine(study, repeats), info


def _describe_analog(hw: dict) -> str:
    return f"analog photonic MVM, same DAC/ADC bits and receiver noise, every readout averaged over K = {hw['repeats']}"


@backend_kind("analog", _describe_analog)
def _analog_once(study, rng, repeats):
    return _analog(study, 1)


@backend_kind("analog-repeat", _describe_analog, takes_repeats=True)
def _analog_repeat(study, rng, repeats):
    from mvm.design import chip_energy_pj_per_mac
    from mvm.energy import matched_repeats

    return _analog(study, repeats or matched_repeats(study.chip, rns_pj=chip_energy_pj_per_mac(study.chip)["total"]))


@dataclass
class MrrBankEngine:
    """Products through the micro-ring weight bank; keeps a tally of what the hardware did."""

    study: StudyConfig
    bank: MrrBank
    noise: bool | None = None
    tally: dict = field(default_factory=lambda: {"products": 0, "readouts": 0})

    def __call__(self, a, b, rng):
        from mvm.mrr_bank import mrr_bank_gemm

        c, report = mrr_bank_gemm(a, b, self.study.chip, self.bank, noise=self.noise, seed=rng)
        self.tally["products"] += 1
        self.tally["readouts"] += report.readouts
        return c


@backend_kind(
    "mrr-bank",
    lambda hw: (
        f"micro-ring weight bank, {hw['channel_spacing_nm']:.2f} nm WDM channels, rings of "
        f"{hw['linewidth_nm']:.2f} nm linewidth, {hw['heater_bits']}-bit heaters, same ADC bits and receiver noise"
    ),
)
def _mrr_bank(study, rng, repeats):
    from mvm.energy import mrr_bank_energy_per_mac_pj
    from mvm.mrr_bank import MrrBank, bank_design, linewidth_nm

    bank = MrrBank(heater_crosstalk_at_100um=study.variation.crosstalk_at_100um)
    design = bank_design(study.chip, bank)
    info = {
        "channel_spacing_nm": design.channel_spacing_nm,
        "linewidth_nm": linewidth_nm(design),
        "heater_bits": study.chip.actuators.trim_bits if bank.heater_bits is None else bank.heater_bits,
        "weight_scale": design.weight_scale,
        "energy_per_mac_pj": mrr_bank_energy_per_mac_pj(study.chip, bank),
    }
    return MrrBankEngine(study, bank), info


def backend_names() -> tuple[str, ...]:
    """Every registered backend's name, in registration order."""
    return tuple(KINDS)


@dataclass
class Backend:
    name: str
    engine: Engine
    info: dict  # what the hardware is: energy per MAC, repeats, chip variation

    @property
    def tally(self) -> dict:
        return dict(getattr(self.engine, "tally", {}))

    @property
    def description(self) -> str:
        return KINDS[self.name].describe(self.info)


def check_backend(name: str, repeats: int | None = None) -> None:
    """Refuse an unknown backend, or repeats given where they do not apply or out of range."""
    from mvm.analog import validate_repeats
    from photonics.errors import UsageError

    if name not in KINDS:
        raise UsageError(f"backend must be one of {', '.join(KINDS)} (got {name!r})")
    if repeats is not None and not KINDS[name].takes_repeats:
        takers = ", ".join(n for n, k in KINDS.items() if k.takes_repeats)
        raise UsageError(f"repeats applies to the {takers} backend only (got backend {name!r})")
    if repeats is not None:
        validate_repeats(repeats)


def make_backend(name: str, study: StudyConfig, rng: np.random.Generator, repeats: int | None = None) -> Backend:
    """The named backend on the study's chip; the RNS chip is sampled and calibrated with ``rng``."""
    check_backend(name, repeats)
    engine, info = KINDS[name].build(study, rng, repeats)
    return Backend(name, engine, info)
