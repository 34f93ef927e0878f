"""Waveguide cells: the straight and the circular bend (both modelled by ``straight``)."""

from __future__ import annotations

import math

import gdsfactory as gf

from photonics.cells._common import WIDTH_UM, arc, draw, flat, model_arguments
from photonics.cells.cross_sections import STRIP_RADIUS_UM, strip
from photonics.errors import UsageError
from photonics.waveguide import Straight


@gf.cell
@model_arguments(Straight)
def straight(p: Straight, *, width_um: float = WIDTH_UM) -> gf.Component:
    """Straight waveguide of ``length_um``.

    ```
        o1 =========== o2
    ```
    """
    if not p.length_um > 0:
        raise UsageError(f"straight cell: length_um must be > 0 (got {p.length_um})")
    c = gf.Component()
    c.add_ports(draw(c, gf.path.straight(p.length_um), strip(width_um)).ports)
    c.info["length_um"] = p.length_um
    return flat(c)


@gf.cell
@model_arguments(Straight, omit=("length_um",))
def bend_circular(
    p: Straight, *, radius_um: float = STRIP_RADIUS_UM, angle_deg: float = 90.0, width_um: float = WIDTH_UM
) -> gf.Component:
    """Circular bend, left for a positive angle; modelled as a ``straight`` of its arc length.

    ```
               o2
               ║
        o1 ═══╝      (angle_deg = 90: a left turn of radius radius_um)
    ```
    The straight model leaves out bend loss and mode mismatch, small at the radii used here.
    """
    if not radius_um > 0 or not 0 < abs(angle_deg) <= 180:
        raise UsageError(
            f"bend_circular cell: needs radius_um > 0 and 0 < |angle_deg| <= 180 (got {radius_um}, {angle_deg})"
        )
    c = gf.Component()
    c.add_ports(draw(c, arc(radius_um, angle_deg), strip(width_um)).ports)
    c.info["length_um"] = bend_length_um(radius_um, angle_deg)
    return flat(c)


def bend_length_um(radius_um: float, angle_deg: float) -> float:
    """Arc length of a circular bend."""
    return radius_um * math.radians(abs(angle_deg))
