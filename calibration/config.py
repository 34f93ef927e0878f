"""The calibration layer's sections of the chip file: [variation], [spec], [calibration].

They extend the chip's schema (:class:`StudySections` adds them to
:class:`~mvm.config.ChipConfig`), so one file holds both and is read once
(:func:`load_study`); ``mirage config --default`` prints them documented
(:func:`default_toml`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from calibration.variation import VariationConfig
from mvm import schema
from mvm.config import TITLE, ChipConfig
from mvm.schema import NonNegative, PositiveInt, doc, section
from photonics.errors import UsageError

STUDY_TITLE = (
    f"{TITLE}\n[variation], [spec] and [calibration] are read by the commands that sample, calibrate or "
    "train on a chip\n(montecarlo, calibrate, gemm --variation, train, train-table)."
)


@section
class Spec:
    """What a chip must meet to pass."""

    max_residue_error_rate: Annotated[NonNegative, doc("largest fraction of wrong residues")] = 1e-3
    max_gemm_rel_error: Annotated[
        NonNegative, doc("largest relative GEMM error (the default chip's BFP error alone is about 0.042)")
    ] = 0.05


@section
class CalibrationSettings:
    """How a chip is calibrated."""

    # At 10 mW the default chip's receiver noise is about 0.13 of an 8-bit ADC code rms: too little to dither the
    # quantisation, which averaging then cannot remove (0.05 rad left on an ideal chip). At 1 mW it is about 0.7
    # code (calibration.calibrate.noise_per_adc_code), and 32 readings per drive level (the I/Q fit and the gain
    # trim's reference read more: calibration.calibrate.IQ_FIT_REPEATS, REFERENCE_REPEATS) leave a median 0.011 rad
    # on 32 default chips at the default variation.
    repeats: Annotated[
        PositiveInt,
        doc("readings averaged per measured drive level (the I/Q fit and the gain trim's reference read more)"),
    ] = 32
    laser_power_mw: Annotated[
        NonNegative, doc("the laser during calibration (precision grows with SNR while noise dithers the ADC)")
    ] = 1.0


@section
class StudySections(ChipConfig):
    """The whole file: the chip's sections and the calibration layer's."""

    variation: Annotated[VariationConfig, doc("process and thermal variation (mirage montecarlo, calibrate)")] = Field(
        default_factory=VariationConfig
    )
    spec: Annotated[Spec, doc("what a chip must meet to pass (mirage montecarlo)")] = Field(default_factory=Spec)
    calibration: Annotated[CalibrationSettings, doc("how a chip is calibrated")] = Field(
        default_factory=CalibrationSettings
    )

    @property
    def chip(self) -> ChipConfig:
        return ChipConfig(**{name: getattr(self, name) for name in ChipConfig.__pydantic_fields__})


@dataclass(frozen=True)
class StudyConfig:
    chip: ChipConfig = field(default_factory=ChipConfig)
    variation: VariationConfig = field(default_factory=VariationConfig)
    spec: Spec = field(default_factory=Spec)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    layout: str | None = None  # device positions from a layout's JSON (mirage layout) instead of the default placement


def load_sections(path: str | Path | None) -> StudySections:
    """Every section of the file at ``path`` (read once), checked; the defaults for None."""
    return StudySections() if path is None else schema.load(path, StudySections)


def load_study(path: str | None, sigma_scale: float | None = None, layout: str | None = None) -> StudyConfig:
    """Chip, variation, spec and calibration settings from one file (defaults without one)."""
    sections = load_sections(path)
    study = StudyConfig(
        chip=sections.chip,
        variation=sections.variation,
        spec=sections.spec,
        calibration=sections.calibration,
        layout=None if layout is None else str(layout),
    )
    if sigma_scale is not None:
        if not sigma_scale >= 0:
            raise UsageError(f"--sigma-scale must be >= 0 (got {sigma_scale})")
        study = dataclasses.replace(study, variation=dataclasses.replace(study.variation, scale=sigma_scale))
    return study


def to_toml(sections: StudySections) -> str:
    """The whole file as documented TOML that :func:`load_sections` reads back to an equal value."""
    return schema.to_toml(sections, STUDY_TITLE)


def default_toml() -> str:
    """The default file with every section: what ``mirage config --default`` prints."""
    return to_toml(StudySections())
