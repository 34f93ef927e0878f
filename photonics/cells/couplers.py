"""Coupler cells: the directional coupler, the 2x2 MMI and the 1x2 splitter.

Access guides and fan-outs are symmetric, so they add one common phase to all
paths, which the models leave out (it cancels in detected powers, or is
trimmed with the LO bias). Fan-outs are gdsfactory's S-bends.
"""

from __future__ import annotations

import math

import gdsfactory as gf

from photonics import constants as k
from photonics.cells._common import WIDTH_UM, box, draw, flat, model_arguments, optical_port, s_bend
from photonics.cells.cross_sections import strip
from photonics.coupler import Coupler, Mmi2x2, Splitter
from photonics.errors import UsageError
from photonics.layers import LAYER

PORT_PITCH_UM = 20.0  # spacing of a coupler's, MMI's or splitter's ports on each side
FANOUT_LENGTH_UM = 40.0  # length of the S-bends that fan the ports out to that pitch


def _mmi_length_um(width_um: float, fraction: float) -> float:
    """fraction * L_pi, the self-imaging beat length L_pi = 4*n*W**2/(3*wl) (Soldano and Pennings).

    n is the project's silicon effective index at the design wavelength, a
    first-order estimate of the multimode section's index.
    """
    return round(fraction * 4 * k.SI_NEFF * width_um**2 / (3 * k.WL_UM), 3)


def _check_half(cell: str, name: str, value: float) -> None:
    if abs(value - 0.5) > 1e-12:
        raise UsageError(f"{cell} cell: only the 50:50 design is drawn ({name} must be 0.5, got {value})")


def _ports_2x2(c: gf.Component, length_um: float, port_pitch_um: float, width_um: float) -> None:
    for name, x, side, orientation in (
        ("o1", 0, -1, 180),
        ("o2", 0, 1, 180),
        ("o3", length_um, 1, 0),
        ("o4", length_um, -1, 0),
    ):
        optical_port(c, name, x, side * port_pitch_um / 2, orientation, width_um)


@gf.cell
@model_arguments(Coupler)
def coupler(
    p: Coupler,
    *,
    width_um: float = WIDTH_UM,
    gap_um: float = 0.2,
    crossover_length_um: float = 40.0,
    port_pitch_um: float = PORT_PITCH_UM,
    fanout_length_um: float = FANOUT_LENGTH_UM,
) -> gf.Component:
    """2x2 directional coupler; the coupling length gives ``kappa`` by coupled-mode theory.

    ```
        o2 ──┐                 ┌── o3
              ═════ L_c ══════
        o1 ──┘                 └── o4
    ```
    kappa = sin**2(pi*L_c/(2*L_x)), so L_c = (2*L_x/pi)*asin(sqrt(kappa)), with
    L_x the cross-over length (full transfer) of two guides ``gap_um`` apart, a
    calibration of the process. The S-bends' own coupling is left out.
    """
    coupling_um = round(2 * crossover_length_um / math.pi * math.asin(math.sqrt(p.kappa)), 3)
    half, f, xs = (gap_um + width_um) / 2, fanout_length_um, strip(width_um)
    c = gf.Component()
    for sign in (-1, 1):
        inner = sign * (half - port_pitch_um / 2)
        draw(c, s_bend(f, inner), xs, at=(0, sign * port_pitch_um / 2))
        if coupling_um > 0:
            draw(c, gf.path.straight(coupling_um), xs, at=(f, sign * half))
        draw(c, s_bend(f, -inner), xs, at=(f + coupling_um, sign * half))
    _ports_2x2(c, 2 * f + coupling_um, port_pitch_um, width_um)
    c.info["coupling_length_um"] = coupling_um
    return flat(c)


@gf.cell
@model_arguments(Mmi2x2)
def mmi2x2(
    p: Mmi2x2,
    *,
    width_um: float = WIDTH_UM,
    mmi_width_um: float = 6.0,
    access_length_um: float = 2.0,
    port_pitch_um: float = PORT_PITCH_UM,
    fanout_length_um: float = FANOUT_LENGTH_UM,
) -> gf.Component:
    """2x2 MMI, 50:50 by paired interference: access guides at +-W/6, length L_pi/2.

    ```
        o2 ──┐ ┌────────┐ ┌── o3
             └─┤  MMI   ├─┘
             ┌─┤        ├─┐
        o1 ──┘ └────────┘ └── o4
    ```
    Only kappa = 0.5 is drawn: another ratio needs another MMI design.
    """
    _check_half("mmi2x2", "kappa", p.kappa)
    length = _mmi_length_um(mmi_width_um, 0.5)
    d, f, a, xs = mmi_width_um / 6, fanout_length_um, access_length_um, strip(width_um)
    c = gf.Component()
    for sign in (-1, 1):
        draw(c, s_bend(f, sign * (d - port_pitch_um / 2)), xs, at=(0, sign * port_pitch_um / 2))
        draw(c, gf.path.straight(a), xs, at=(f, sign * d))
        draw(c, gf.path.straight(a), xs, at=(f + a + length, sign * d))
        draw(c, s_bend(f, sign * (port_pitch_um / 2 - d)), xs, at=(f + 2 * a + length, sign * d))
    box(c, f + a, -mmi_width_um / 2, f + a + length, mmi_width_um / 2, LAYER.WG)
    _ports_2x2(c, 2 * (f + a) + length, port_pitch_um, width_um)
    c.info["mmi_length_um"] = length
    return flat(c)


@gf.cell
@model_arguments(Splitter)
def splitter(
    p: Splitter,
    *,
    width_um: float = WIDTH_UM,
    mmi_width_um: float = 3.0,
    access_length_um: float = 2.0,
    port_pitch_um: float = PORT_PITCH_UM,
    fanout_length_um: float = FANOUT_LENGTH_UM,
) -> gf.Component:
    """1x2 splitter: a symmetric 1x2 MMI (outputs at +-W/4, length 3*L_pi/8) and a fan-out.

    ```
                 ┌─────┐ ┌── o2
        o1 ──────┤ MMI ├─┤
                 └─────┘ └── o3
    ```
    Only split_ratio = 0.5 is drawn: another ratio needs another design.
    """
    _check_half("splitter", "split_ratio", p.split_ratio)
    length = _mmi_length_um(mmi_width_um, 3 / 8)
    d, a, f, xs = mmi_width_um / 4, access_length_um, fanout_length_um, strip(width_um)
    c = gf.Component()
    draw(c, gf.path.straight(a), xs)
    box(c, a, -mmi_width_um / 2, a + length, mmi_width_um / 2, LAYER.WG)
    for sign in (-1, 1):
        draw(c, gf.path.straight(a), xs, at=(a + length, sign * d))
        draw(c, s_bend(f, sign * (port_pitch_um / 2 - d)), xs, at=(2 * a + length, sign * d))
    x = 2 * a + length + f
    optical_port(c, "o1", 0, 0, 180, width_um)
    optical_port(c, "o2", x, port_pitch_um / 2, 0, width_um)
    optical_port(c, "o3", x, -port_pitch_um / 2, 0, width_um)
    c.info["mmi_length_um"] = length
    return flat(c)
