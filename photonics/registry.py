"""The device registry: every model by the name layout cells and netlists use.

``register`` ties a model function to its parameter dataclass and checks, at
import time, that the model's keyword arguments are exactly ``wl`` plus the
dataclass fields with the same defaults, so the dataclass (units, ranges) and
the model signature can never drift apart.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from photonics.parameters import Params

KINDS = ("optical", "receiver", "source")


@dataclass(frozen=True)
class Device:
    """One registered device family member.

    ``kind`` is "optical" for S-parameter devices, "receiver" for the
    photodetector (its sax model is a matched absorbing load; its physics is in
    :mod:`photonics.photodetector`) and "source" for the laser (no S-matrix).
    """

    name: str
    params: type[Params]
    model: Callable[..., dict] | None
    kind: str

    @property
    def summary(self) -> str:
        doc = self.model.__doc__ if self.kind == "optical" else self.params.__doc__
        return doc.strip().splitlines()[0]


_DEVICES: dict[str, Device] = {}


def _check_signature(name: str, model: Callable, params: type[Params]) -> None:
    sig = inspect.signature(model)
    for p in sig.parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
            raise TypeError(f"model {name!r}: argument {p.name!r} must be keyword-only with a default")
    args = {k: p.default for k, p in sig.parameters.items() if k != "wl"}
    defaults = {f: getattr(params, f) for f in params.names()}
    if "wl" not in sig.parameters or args != defaults:
        raise TypeError(
            f"model {name!r}: keyword arguments {sorted(args)} with defaults must equal "
            f"'wl' plus the fields of {params.__name__} {sorted(defaults)}"
        )


def register(name: str, params: type[Params], kind: str = "optical"):
    """Decorator registering a sax model function under ``name``."""

    def wrap(model: Callable) -> Callable:
        if kind == "optical":
            _check_signature(name, model, params)
        _add(Device(name, params, model, kind))
        return model

    return wrap


def register_source(name: str, params: type[Params]) -> None:
    """Register a device without an S-matrix (the laser)."""
    _add(Device(name, params, None, "source"))


def _add(device: Device) -> None:
    if device.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {device.kind!r}")
    if device.name in _DEVICES:
        raise ValueError(f"device {device.name!r} is registered twice")
    _DEVICES[device.name] = device


def devices() -> dict[str, Device]:
    """All registered devices, by name."""
    return dict(_DEVICES)


def models() -> dict[str, Callable[..., dict]]:
    """The sax models by name, ready for ``sax.circuit(netlist, models=...)``."""
    return {n: d.model for n, d in _DEVICES.items() if d.model is not None}


def get_device(name: str) -> Device:
    try:
        return _DEVICES[name]
    except KeyError:
        raise ValueError(f"unknown device {name!r}; choose one of: {', '.join(_DEVICES)}") from None


def evaluate(name: str, *, wl: Any = 1.55, **settings: Any) -> dict:
    """Validate ``settings`` against the device's dataclass, then evaluate its model."""
    device = get_device(name)
    if device.kind != "optical":
        raise ValueError(
            f"device {name!r} is a {device.kind}, not an optical S-parameter device; "
            f"choose one of: {', '.join(n for n, d in _DEVICES.items() if d.kind == 'optical')}"
        )
    params = device.params.from_settings(name, settings)
    return device.model(wl=wl, **params.settings())
