"""Chip configuration: one TOML file describes a chip; every command takes it.

Sections: [rns] moduli and redundant moduli, [bfp] mantissa bits, group and
rounding, [tile] h, rows, encoding, element and drive, [laser], [detector],
[noise], and [devices.<name>] overrides of device parameters (heater,
phase_shifter_eo, ring). ``load_config`` refuses unknown keys and bad values
with one line naming the key; ``default_toml`` is what ``mirage config
--default`` prints.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from circuits.mdpu import MdpuDesign
from circuits.mmu import ELEMENTS, ENCODINGS, MmuDesign, default_ring
from circuits.readout import Readout
from photonics.heater import Heater
from photonics.laser import Laser
from photonics.parameters import ParamError
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.photodetector import Photodetector
from photonics.ring import RingAllPass

ROUNDINGS = ("nearest", "stochastic")


@dataclass(frozen=True)
class RnsConfig:
    moduli: tuple[int, ...] = (31, 32, 33)
    redundant_moduli: tuple[int, ...] = ()  # k >= 1 detects a wrong residue, k >= 2 corrects it


@dataclass(frozen=True)
class BfpConfig:
    mantissa_bits: int = 6  # signed: |mantissa| <= 2**(bits-1) - 1
    group: int = 0  # along the reduction axis; 0 means equal to tile.h
    rounding: str = "nearest"


@dataclass(frozen=True)
class TileConfig:
    h: int = 16  # MMUs per MDPU row: the chunk of the reduction axis read out at once
    rows: int = 16  # MDPU rows per modulus (R)
    encoding: str = "binary-length"
    element: str = "straight"
    drive_max_v: float = 4.0


@dataclass(frozen=True)
class NoiseConfig:
    enabled: bool = True
    # Readouts whose error probability is provably below this are read without sampling noise.
    skip_probability: float = 1e-15


@dataclass(frozen=True)
class ChipConfig:
    rns: RnsConfig = field(default_factory=RnsConfig)
    bfp: BfpConfig = field(default_factory=BfpConfig)
    tile: TileConfig = field(default_factory=TileConfig)
    laser: Laser = field(default_factory=Laser)
    detector: Photodetector = field(default_factory=Photodetector)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    phase_shifter_eo: PhaseShifterEO = field(default_factory=PhaseShifterEO)
    heater: Heater = field(default_factory=Heater)
    ring: RingAllPass = field(default_factory=default_ring)

    @property
    def group(self) -> int:
        return self.bfp.group or self.tile.h

    @property
    def all_moduli(self) -> tuple[int, ...]:
        return tuple(self.rns.moduli) + tuple(self.rns.redundant_moduli)

    def mdpu_design(self, modulus: int) -> MdpuDesign:
        mmu = MmuDesign(
            modulus=modulus, encoding=self.tile.encoding, element=self.tile.element,
            drive_max_v=self.tile.drive_max_v, eo=self.phase_shifter_eo, ring=self.ring, heater=self.heater,
            loss_db=self.phase_shifter_eo.loss_db,  # [devices.phase_shifter_eo] loss_db: one MMU's segmented phase shifter
        )
        return MdpuDesign(mmu=mmu, h=self.tile.h, lo_heater=self.heater)

    def readout(self, noise: bool | None = None) -> Readout:
        return Readout(laser=self.laser, detector=self.detector, noise=self.noise.enabled if noise is None else noise)


def validate(config: ChipConfig) -> ChipConfig:
    """Check the values that no dataclass checks on its own; return the config."""
    from mvm.planner import check_plan
    from mvm.rns import RedundantRns, dynamic_range, validate_moduli

    def need(ok: bool, key: str, text: str, value: Any):
        if not ok:
            raise ValueError(f"{key} {text} (got {value!r})")

    t, b = config.tile, config.bfp
    for key, value in (("tile.h", t.h), ("tile.rows", t.rows), ("bfp.mantissa_bits", b.mantissa_bits)):
        need(isinstance(value, int) and not isinstance(value, bool) and value >= 1, key, "must be an integer >= 1", value)
    need(b.mantissa_bits >= 2, "bfp.mantissa_bits", "must be at least 2", b.mantissa_bits)
    need(t.encoding in ENCODINGS, "tile.encoding", f"must be one of {', '.join(ENCODINGS)}", t.encoding)
    need(t.element in ELEMENTS, "tile.element", f"must be one of {', '.join(ELEMENTS)}", t.element)
    need(b.rounding in ROUNDINGS, "bfp.rounding", f"must be one of {', '.join(ROUNDINGS)}", b.rounding)
    need(isinstance(b.group, int) and b.group >= 0 and b.group % t.h == 0, "bfp.group",
         f"must be 0 (equal to tile.h) or a multiple of tile.h = {t.h}", b.group)
    need(0 < config.noise.skip_probability < 1e-6, "noise.skip_probability", "must lie in (0, 1e-6)", config.noise.skip_probability)
    try:
        moduli = validate_moduli(config.rns.moduli)
        dynamic_range(moduli)
        if config.rns.redundant_moduli:
            RedundantRns(tuple(moduli), tuple(config.rns.redundant_moduli))
    except ValueError as exc:
        raise ValueError(f"rns: {exc}") from None
    try:  # each chunk of h is read out and CRT'd on its own; group sums are added digitally
        check_plan(moduli, b.mantissa_bits, t.h)
    except ValueError as exc:
        raise ValueError(f"tile.h: {exc}") from None
    return config


# --- TOML -------------------------------------------------------------------------------

_PARAM_SECTIONS = {"laser": Laser, "detector": Photodetector}
_DEVICE_SECTIONS = {"phase_shifter_eo": PhaseShifterEO, "heater": Heater, "ring": None}
_PLAIN_SECTIONS = {"rns": RnsConfig, "bfp": BfpConfig, "tile": TileConfig, "noise": NoiseConfig}
# Sections that belong to the calibration layer (variation, spec, calibration): it reads them
# from the same file (calibration/config.py); this layer only lets them through.
RESERVED_SECTIONS = ("variation", "spec", "calibration")


def _plain(section: str, cls, table: dict) -> Any:
    allowed = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in table.items():
        if key not in allowed:
            raise ValueError(f"unknown key '{section}.{key}'; allowed: {', '.join(allowed)}")
        default = allowed[key].default if allowed[key].default is not dataclasses.MISSING else None
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise ValueError(f"{section}.{key} must be a list of integers (got {value!r})")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{section}.{key} must be true or false (got {value!r})")
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{section}.{key} must be an integer (got {value!r})")
        elif isinstance(default, float):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{section}.{key} must be a number (got {value!r})")
            value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"{section}.{key} must be a string (got {value!r})")
        kwargs[key] = value
    return cls(**kwargs)


def _params(section: str, base, table: dict):
    names = type(base).names()
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ValueError(f"unknown key '{section}.{unknown[0]}'; allowed: {', '.join(names)}")
    try:
        return type(base)(**{**base.settings(), **table})
    except ParamError as exc:
        raise ValueError(f"{section}.{exc.detail}") from None


def config_from_dict(data: dict) -> ChipConfig:
    config = ChipConfig()
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ValueError(f"'{section}' must be a table ([{section}])")
        if section in _PLAIN_SECTIONS:
            config = replace(config, **{section: _plain(section, _PLAIN_SECTIONS[section], table)})
        elif section in _PARAM_SECTIONS:
            config = replace(config, **{section: _params(section, getattr(config, section), table)})
        elif section in RESERVED_SECTIONS:
            continue
        elif section == "devices":
            for name, sub in table.items():
                if name not in _DEVICE_SECTIONS or not isinstance(sub, dict):
                    raise ValueError(f"unknown key 'devices.{name}'; allowed: {', '.join(_DEVICE_SECTIONS)}")
                config = replace(config, **{name: _params(f"devices.{name}", getattr(config, name), sub)})
        else:
            allowed = [*_PLAIN_SECTIONS, *_PARAM_SECTIONS, "devices", *RESERVED_SECTIONS]
            raise ValueError(f"unknown section '{section}'; allowed: {', '.join(allowed)}")
    return validate(config)


def load_config(path: str | Path | None) -> ChipConfig:
    """The chip in a TOML file (the default chip for None), validated."""
    if path is None:
        return validate(ChipConfig())
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"cannot read config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config {path} is not valid TOML: {exc}") from None
    try:
        return config_from_dict(data)
    except ValueError as exc:
        raise ValueError(f"config {path}: {exc}") from None


def read_toml(path: str | Path) -> dict:
    """The raw tables of a configuration file (for layers that read their own sections)."""
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config {path} is not valid TOML: {exc}") from None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, float):
        return repr(v)
    return str(v)


def to_toml(config: ChipConfig) -> str:
    """The configuration as TOML that ``load_config`` reads back to an equal config."""
    lines = ["# Mirage chip configuration (mirage config --default). Units are in the key names."]

    def table(name: str, obj, described=None):
        lines.append(f"\n[{name}]")
        docs = {p["name"]: p for p in described} if described else {}
        for f in dataclasses.fields(obj):
            note = f"  # {docs[f.name]['doc']}" if f.name in docs else ""
            lines.append(f"{f.name} = {_toml_value(getattr(obj, f.name))}{note}")

    for section in _PLAIN_SECTIONS:
        table(section, getattr(config, section))
    for section in _PARAM_SECTIONS:
        obj = getattr(config, section)
        table(section, obj, type(obj).describe())
    for name in _DEVICE_SECTIONS:
        obj = getattr(config, name)
        table(f"devices.{name}", obj, type(obj).describe())
    return "\n".join(lines) + "\n"


def default_toml() -> str:
    return to_toml(ChipConfig())
