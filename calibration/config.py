"""The calibration layer's sections of the chip file: [variation], [spec], [calibration].

    [variation]
    scale = 1.0
    distribution = "normal"            # normal | uniform | truncnormal
    correlation_length_um = 2000.0
    crosstalk_at_100um = 0.035
    [variation.width_nm]
    global_sigma = 4.0
    local_sigma = 2.0
    [spec]
    max_residue_error_rate = 1e-3
    max_gemm_rel_error = 0.05
    [calibration]
    repeats = 16
    laser_power_mw = 10.0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from calibration.variation import Spread, VariationConfig
from mvm.config import ChipConfig, load_config, read_toml


@dataclass(frozen=True)
class Spec:
    """What a chip must meet to pass."""

    max_residue_error_rate: float = 1e-3
    max_gemm_rel_error: float = 0.05  # the default chip's BFP error alone is about 0.042


@dataclass(frozen=True)
class CalibrationSettings:
    repeats: int = 16  # readings averaged per measurement
    laser_power_mw: float = 10.0  # the laser during calibration (precision grows with SNR while noise dithers the ADC)


@dataclass(frozen=True)
class StudyConfig:
    chip: ChipConfig = field(default_factory=ChipConfig)
    variation: VariationConfig = field(default_factory=VariationConfig)
    spec: Spec = field(default_factory=Spec)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    layout: str | None = None  # device positions from a layout's JSON (mirage layout) instead of the default placement


def _build(section: str, cls, table: dict):
    if not isinstance(table, dict):
        raise ValueError(f"'{section}' must be a table")
    allowed = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in table.items():
        if key not in allowed:
            raise ValueError(f"unknown key '{section}.{key}'; allowed: {', '.join(allowed)}")
        default = getattr(cls(), key)
        if isinstance(default, Spread):
            value = _build(f"{section}.{key}", Spread, value)
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise ValueError(f"{section}.{key} must be a string (got {value!r})")
        elif isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{section}.{key} must be a positive integer (got {value!r})")
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{section}.{key} must be a number >= 0 (got {value!r})")
        else:
            value = float(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def load_study(path: str | None, sigma_scale: float | None = None, layout: str | None = None) -> StudyConfig:
    """Chip, variation, spec and calibration settings from one file (defaults without one)."""
    study = StudyConfig(chip=load_config(path), layout=None if layout is None else str(layout))
    if path is not None:
        data = read_toml(path)
        try:
            for section, cls in (("variation", VariationConfig), ("spec", Spec), ("calibration", CalibrationSettings)):
                if section in data:
                    study = dataclasses.replace(study, **{section: _build(section, cls, data[section])})
        except ValueError as exc:
            raise ValueError(f"config {path}: {exc}") from None
    if sigma_scale is not None:
        if not sigma_scale >= 0:
            raise ValueError(f"--sigma-scale must be >= 0 (got {sigma_scale})")
        study = dataclasses.replace(study, variation=dataclasses.replace(study.variation, scale=sigma_scale))
    return study
