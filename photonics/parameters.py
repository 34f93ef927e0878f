"""Device parameter dataclasses: defaults, units, allowed ranges and validation.

Every device family declares one frozen dataclass of its parameters, built with
:func:`param`. The dataclass is the single place that says what a parameter
means, its unit, its allowed range and its default; constructing it validates
the values (scalars or arrays, so a Monte Carlo batch is checked in one go).
The sax model's signature, defaults and docstring Args are generated from it
(:func:`photonics.registry.register`). Model functions stay jittable and never
validate: validation belongs to the public boundary (:func:`photonics.evaluate`,
the CLI, configuration files).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photonics.errors import UsageError


@dataclass(frozen=True)
class ParamInfo:
    """What a parameter means: unit, description and allowed range."""

    unit: str
    doc: str
    ge: float | None = None  # value >= ge
    gt: float | None = None  # value > gt
    le: float | None = None  # value <= le
    integer: bool = False

    @property
    def dimensioned(self) -> bool:
        """Whether the unit is worth printing ("" and "1" are dimensionless)."""
        return self.unit not in ("", "1")

    def summary(self) -> str:
        """The description with its unit and allowed range, as docstrings and file comments show it."""
        unit = f" [{self.unit}]" if self.dimensioned else ""
        limits = f"; {self.range_text()}" if self.range_text() != "any" else ""
        return f"{self.doc}{unit}{limits}"

    def range_text(self) -> str:
        low = f">= {self.ge:g}" if self.ge is not None else (f"> {self.gt:g}" if self.gt is not None else "")
        high = f"<= {self.le:g}" if self.le is not None else ""
        text = " and ".join(t for t in (low, high) if t)
        if self.integer:
            text = ("integer " + text).strip()
        return text or "any"


def param(default: float, unit: str, doc: str, *, ge=None, gt=None, le=None, integer=False):
    """A dataclass field carrying its unit, description and allowed range."""
    return field(default=default, metadata={"info": ParamInfo(unit, doc, ge, gt, le, integer)})


def info(f: dataclasses.Field) -> ParamInfo:
    return f.metadata["info"]


class ParamError(UsageError):
    """An invalid parameter value; ``detail`` says which and why, without the owner."""

    def __init__(self, owner: str, detail: str):
        super().__init__(f"{owner}: {detail}")
        self.detail = detail


def _check(owner: str, name: str, value: Any, spec: ParamInfo) -> None:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParamError(owner, f"{name} must be a number (got {value!r})") from None
    if arr.size == 0:
        raise ParamError(owner, f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ParamError(owner, f"{name} must be finite (got {value!r})")
    where = f" ({name} is an array; its worst element is shown)" if arr.ndim else ""
    unit = f" {spec.unit}" if spec.dimensioned else ""
    if spec.ge is not None and np.any(arr < spec.ge):
        raise ParamError(owner, f"{name} must be >= {spec.ge:g}{unit} (got {arr.min():g}){where}")
    if spec.gt is not None and np.any(arr <= spec.gt):
        raise ParamError(owner, f"{name} must be > {spec.gt:g}{unit} (got {arr.min():g}){where}")
    if spec.le is not None and np.any(arr > spec.le):
        raise ParamError(owner, f"{name} must be <= {spec.le:g}{unit} (got {arr.max():g}){where}")
    if spec.integer and np.any(arr != np.round(arr)):
        raise ParamError(owner, f"{name} must be an integer (got {value!r})")


@dataclass(frozen=True)
class Params:
    """Base of every device parameter dataclass: validates on construction."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(type(self).__name__, f.name, getattr(self, f.name), info(f))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_settings(cls, owner: str, settings: dict[str, Any]) -> Params:
        """Build from a name -> value mapping, refusing names that are not parameters."""
        unknown = sorted(set(settings) - set(cls.names()))
        if unknown:
            raise UsageError(f"unknown parameter {unknown[0]!r} for {owner}; allowed: {', '.join(cls.names())}")
        try:
            return cls(**settings)
        except ParamError as exc:
            raise ParamError(owner, exc.detail) from None

    @classmethod
    def reuse(cls, name: str, default: Any, doc: str | None = None):
        """Field ``name`` of this dataclass with another default (and optionally description).

        For a variant: ``class Mmi2x2(Coupler)`` redeclares ``kappa_dispersion:
        float = Coupler.reuse("kappa_dispersion", 1.0)``, keeping its unit and range.
        """
        spec = info(next(f for f in dataclasses.fields(cls) if f.name == name))
        if doc is not None:
            spec = dataclasses.replace(spec, doc=doc)
        return field(default=default, metadata={"info": spec})

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One dict per parameter: name, default, unit, allowed range, description."""
        return [
            {
                "name": f.name,
                "default": f.default,
                "unit": info(f).unit,
                "range": info(f).range_text(),
                "doc": info(f).doc,
            }
            for f in dataclasses.fields(cls)
        ]

    def settings(self) -> dict[str, Any]:
        """The values as keyword arguments for the device's model function."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
