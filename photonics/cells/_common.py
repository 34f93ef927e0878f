"""What every cell shares: the grid, the waveguide width, model arguments from a Params dataclass, drawing helpers."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable

import gdsfactory as gf
import numpy as np

from photonics.layers import LAYER
from photonics.parameters import Params

GRID_UM = 0.001  # database unit
MAX_ARC_ERROR_UM = 0.002  # largest sagitta of a drawn arc chord
WIDTH_UM = 0.5  # waveguide width of every cell, so that ports of abutting cells match
OPERATING_POINT = ("voltage_v", "power_mw")  # model arguments set when the circuit runs, never by the layout


def model_arguments(params: type[Params], *, omit: tuple[str, ...] = ()) -> Callable:
    """Give a drawing function the model's arguments: the fields of ``params`` with their defaults.

    The decorated function takes the device's parameters as one ``params``
    instance (built, and so validated, from the cell's arguments) followed by
    its own layout-only keyword arguments. The cell it becomes takes, keyword
    only, every field of ``params`` except the operating point
    (:data:`OPERATING_POINT`) and ``omit`` (model arguments the layout
    computes), with the dataclass's defaults, then the layout arguments.
    """
    names = tuple(n for n in params.names() if n not in OPERATING_POINT + omit)
    fields = {f.name: f for f in dataclasses.fields(params)}
    model = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=fields[n].default, annotation=float) for n in names
    ]

    def wrap(draw: Callable) -> Callable:
        layout = list(inspect.signature(draw).parameters.values())[1:]

        @functools.wraps(draw)
        def cell(**kwargs):
            device = params(**{n: kwargs.pop(n) for n in names if n in kwargs})
            return draw(device, **kwargs)

        cell.__signature__ = inspect.Signature(model + layout, return_annotation=gf.Component)
        return cell

    return wrap


# --- drawing ------------------------------------------------------------------------------


def snap(points) -> np.ndarray:
    return np.round(np.asarray(points, dtype=float) / GRID_UM) * GRID_UM


def box(c: gf.Component, x0: float, y0: float, x1: float, y1: float, layer) -> None:
    c.add_polygon(snap([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), layer=layer)


def arc(radius_um: float, angle_deg: float, start_deg: float = -90.0) -> gf.Path:
    """gdsfactory's circular arc, left for a positive angle, its chords within MAX_ARC_ERROR_UM.

    The circle is centred at (0, radius_um) and the arc starts at the angle
    ``start_deg`` on it: by default at the origin, heading east.
    """
    step = 2 * math.acos(max(-1.0, 1 - MAX_ARC_ERROR_UM / radius_um))
    npoints = max(2, math.ceil(math.radians(abs(angle_deg)) / step) + 1)
    return gf.path.arc(radius=radius_um, angle=angle_deg, start_angle=start_deg, npoints=npoints)


def draw(c: gf.Component, path: gf.Path, cross_section: gf.CrossSection | None = None, at=(0.0, 0.0), **band):
    """Extrude ``path`` (moved by ``at``) into ``c``; returns the reference.

    With a ``cross_section``, or with ``layer`` and ``width`` for a band of
    metal along a path (gdsfactory's :func:`gf.path.extrude` either way).

    The reference keeps its ports for the caller; :func:`flat` then makes the
    cell a leaf (its shapes its own), which the netlist extraction needs.
    """
    ref = c.add_ref(gf.path.extrude(path, cross_section, **band))
    ref.dmove(tuple(at))
    return ref


def flat(c: gf.Component) -> gf.Component:
    """The cell with every reference drawn into it: a device cell is a leaf."""
    c.flatten()
    return c


def optical_port(c, name, x, y, orientation, width) -> None:
    c.add_port(name, center=tuple(snap((x, y))), width=width, orientation=orientation, layer=LAYER.WG)


def electrical_port(c, name, x, y, orientation, width, layer=LAYER.METAL) -> None:
    c.add_port(
        name, center=tuple(snap((x, y))), width=width, orientation=orientation, layer=layer, port_type="electrical"
    )


def pad(c, x0, y0, size, name, orientation) -> None:
    """A square metal pad with its opening and an electrical port on the side it faces."""
    box(c, x0, y0, x0 + size, y0 + size, LAYER.METAL)
    if size > 2:
        box(c, x0 + 1, y0 + 1, x0 + size - 1, y0 + size - 1, LAYER.PAD)
    x, y = {90: (x0 + size / 2, y0 + size), 270: (x0 + size / 2, y0)}[orientation]
    electrical_port(c, name, x, y, orientation, size)


def s_bend(length_um: float, offset_um: float, npoints: int = 99) -> gf.Path:
    """gdsfactory's S-bend centreline (its ``bend_s`` Bezier): east to (length, offset), heading east."""
    from gdsfactory.components.bends.bend_s import bezier_curve

    half = length_um / 2
    points = bezier_curve(np.linspace(0, 1, npoints), ((0, 0), (half, 0), (half, offset_um), (length_um, offset_um)))
    path = gf.Path(points)
    path.start_angle = path.end_angle = 0  # the Bezier's end tangents, exactly (as bend_s's Manhattan facing angles)
    return path
