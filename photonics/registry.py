"""The device registry: every model by the name layout cells and netlists use.

A device is declared once, as a :class:`~photonics.parameters.Params`
dataclass (each parameter's default, unit, range and meaning). Its physics is
one function of the wavelength and those parameters, none defaulted;
``@register(name, Params)`` turns it into the public sax model: keyword-only,
``wl`` plus every dataclass field with the dataclass default, and a docstring
whose Args section is written from the dataclass. Nothing is repeated, so
nothing can drift.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from photonics.constants import WL_UM
from photonics.errors import UsageError
from photonics.parameters import Params, info

KINDS = ("optical", "receiver", "source", "electrical")


@dataclass(frozen=True)
class Device:
    """One registered device family member.

    ``kind`` is "optical" for S-parameter devices, "receiver" for the
    photodetector (its sax model is a matched absorbing load; its physics is in
    :mod:`photonics.photodetector`), "source" for the laser and "electrical" for
    the electrodes (:mod:`photonics.electrode`); neither has an S-matrix.
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

_KW = inspect.Parameter.KEYWORD_ONLY


def _args_section(params: type[Params], settings: tuple[str, ...]) -> str:
    lines = ["Args:", f"    wl: wavelength in um (default {WL_UM:g})."]
    for f in dataclasses.fields(params):
        if f.name in settings:
            lines.append(f"    {f.name}: {info(f).summary()} (default {f.default!s}).")
    return "\n".join(lines)


def sax_model(
    name: str, params: type[Params], physics: Callable[..., dict], *, kind: str = "optical", summary: str | None = None
) -> Callable[..., dict]:
    """The public sax model of ``physics`` with the settings, defaults and Args of ``params``.

    ``physics(wl, *, <every field of params>)`` takes no defaults (a receiver's
    takes ``wl`` alone: its parameters are not S-parameter settings). The model
    is ``model(*, wl=WL_UM, **settings)`` whose ``__signature__`` lists ``wl``
    and each setting with its dataclass default, which is what ``sax.circuit``
    and ``inspect.signature`` read. ``summary`` replaces the first docstring
    line (for a variant sharing another device's physics).
    """
    settings = params.names() if kind == "optical" else ()
    args = inspect.signature(physics).parameters.values()
    first, rest = (list(args)[:1], list(args)[1:])
    if (
        [p.name for p in first] != ["wl"]
        or sorted(p.name for p in rest) != sorted(settings)
        or any(p.kind is not _KW for p in rest)
        or any(p.default is not inspect.Parameter.empty for p in args)
    ):
        raise TypeError(
            f"physics of {name!r} must be def {physics.__name__}(wl, *, {', '.join(settings)}) with no "
            f"defaults (the fields of {params.__name__}); got ({', '.join(str(p) for p in args)})"
        )
    defaults = {f.name: f.default for f in dataclasses.fields(params) if f.name in settings}

    def model(*, wl=WL_UM, **kwargs):
        return physics(wl, **{**defaults, **kwargs})  # physics is keyword-only: an unknown setting is a TypeError

    doc = inspect.cleandoc(physics.__doc__ or "")
    if summary is not None:
        doc = "\n".join([summary, *doc.splitlines()[1:]])
    model.__doc__ = f"{doc}\n\n{_args_section(params, settings)}\n"
    model.__name__ = model.__qualname__ = name
    model.__module__ = physics.__module__
    model.__signature__ = inspect.Signature(
        [inspect.Parameter("wl", _KW, default=WL_UM)]
        + [inspect.Parameter(n, _KW, default=d) for n, d in defaults.items()]
    )
    model.physics = physics
    return model


def register(name: str, params: type[Params], kind: str = "optical", *, summary: str | None = None):
    """Decorator: build the sax model of a physics function (:func:`sax_model`) and register it."""

    def wrap(physics: Callable) -> Callable:
        model = sax_model(name, params, physics, kind=kind, summary=summary)
        _add(Device(name, params, model, kind))
        return model

    return wrap


def variant(name: str, params: type[Params], of: Callable[..., dict], *, summary: str) -> Callable[..., dict]:
    """Register ``of``'s physics again under ``name`` with the defaults of ``params``.

    The functools.partial of devices: ``params`` is ``of``'s dataclass with
    other defaults (see :meth:`~photonics.parameters.Params.reuse`).
    """
    return register(name, params, summary=summary)(of.physics)


def register_parameters(name: str, params: type[Params], kind: str) -> None:
    """Register a device without an S-matrix: a "source" (the laser) or an "electrical" part (the electrodes)."""
    _add(Device(name, params, None, kind))


def unregister(name: str) -> None:
    """Remove a registered device (a test's throw-away device, for one)."""
    get_device(name)
    del _DEVICES[name]


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
        raise UsageError(f"unknown device {name!r}; choose one of: {', '.join(_DEVICES)}") from None


def evaluate(name: str, *, wl: Any = 1.55, **settings: Any) -> dict:
    """Validate ``settings`` against the device's dataclass, then evaluate its model."""
    device = get_device(name)
    if device.kind != "optical":
        raise UsageError(
            f"device {name!r} is a {device.kind}, not an optical S-parameter device; "
            f"choose one of: {', '.join(n for n, d in _DEVICES.items() if d.kind == 'optical')}"
        )
    params = device.params.from_settings(name, settings)
    return device.model(wl=wl, **params.settings())
