"""Ring cells: the all-pass ring with an electro-optic section and a heater."""

from __future__ import annotations

import math

import gdsfactory as gf

from photonics.cells._common import WIDTH_UM, arc, draw, electrical_port, flat, model_arguments, snap
from photonics.cells.cross_sections import strip
from photonics.errors import UsageError
from photonics.layers import LAYER
from photonics.ring import RingAllPass


def _sector(c, cx: float, cy: float, radius: float, a0_deg: float, a1_deg: float, **band) -> None:
    """An arc of the circle (cx, cy, radius) from a0 to a1 degrees (counter-clockwise), extruded."""
    draw(c, arc(radius, a1_deg - a0_deg, start_deg=a0_deg), at=(cx, cy - radius), **band)


def _annulus(c, cx, cy, r_in, r_out, a0_deg, a1_deg, layer) -> None:
    _sector(c, cx, cy, (r_in + r_out) / 2, a0_deg, a1_deg, layer=layer, width=r_out - r_in)


@gf.cell
@model_arguments(RingAllPass)
def ring_allpass(
    p: RingAllPass,
    *,
    width_um: float = WIDTH_UM,
    gap_um: float = 0.3,
    electrode_gap_um: float = 2.0,
    electrode_width_um: float = 5.0,
    heater_width_um: float = 1.0,
    bus_margin_um: float = 5.0,
) -> gf.Component:
    """All-pass ring with an electro-optic section and a heater.

    ```
              e2 (ground electrode, outside)
            .─────.
           (  e1   )   signal electrode inside the ring; both span
           (       )   eo_fraction of the circumference, centred on the top;
            '─e3 e4'   the heater runs on top of the guide, ending near the bus
        o1 ═══════════ o2
    ```
    ``gap_um`` is the bus-ring gap that gives ``kappa`` in the process's coupling
    calibration: the layout records kappa, it does not derive it. The outer
    electrode and the heater stop 2 um short of the bus. The ring is drawn as
    two half circles of the strip cross-section.
    """
    R, w, xs = p.radius_um, width_um, strip(width_um)
    eg, ew, hw = electrode_gap_um, electrode_width_um, heater_width_um
    if not R > w / 2 + eg + ew + 1:
        raise UsageError(f"ring_allpass cell: radius_um = {R} is too small for the inner electrode")
    c = gf.Component()
    cx, cy = R + w / 2 + eg + ew + bus_margin_um, w + gap_um + R  # the bus spans the outer electrode
    c.add_ports(draw(c, gf.path.straight(2 * cx), xs).ports)
    for a0 in (-90, 90):
        _sector(c, cx, cy, R, a0, a0 + 180, cross_section=xs)

    def clear_of_bus(radius: float) -> float:  # lowest angle (deg) at which a shape of this outer radius clears the bus
        return math.degrees(math.asin(max(-1.0, (w / 2 + 2.0 - cy) / radius)))

    if p.eo_fraction > 0:
        half = 180 * p.eo_fraction
        r_in, r_out = (R - w / 2 - eg - ew, R - w / 2 - eg), (R + w / 2 + eg, R + w / 2 + eg + ew)
        _annulus(c, cx, cy, *r_in, 90 - half, 90 + half, LAYER.ELECTRODE)
        low = clear_of_bus(r_out[1])
        _annulus(c, cx, cy, *r_out, max(90 - half, low), min(90 + half, 180 - low), LAYER.ELECTRODE)
        electrical_port(c, "e1", cx, cy + r_in[0], 270, ew)
        electrical_port(c, "e2", cx, cy + r_out[1], 90, ew)
    low = clear_of_bus(R + hw / 2)
    _annulus(c, cx, cy, R - hw / 2, R + hw / 2, low, 180 - low, LAYER.HEATER)
    for name, a, o in (("e3", low, low - 90), ("e4", 180 - low, 270 - low)):
        t = math.radians(a)
        x, y = snap((cx + R * math.cos(t), cy + R * math.sin(t)))
        electrical_port(c, name, x, y, o % 360, hw, layer=LAYER.HEATER)
    return flat(c)
