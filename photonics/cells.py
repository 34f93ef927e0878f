"""gdsfactory cells of the devices, one ``@gf.cell`` per device, and the project's PDK.

Every cell is named after the sax model it stands for (``photonics.models()``)
and takes that model's arguments under the same names and defaults, so an
extracted netlist solves with the models as it is. The operating point
(``voltage_v`` of a drive, ``power_mw`` of a heater) is not a property of the
layout: it is set when the circuit runs. Other arguments are layout-only
(widths, gaps, bend radii); :data:`CELL_SPECS` lists them and
:func:`model_settings` turns a cell's settings into its model's, refusing any
setting it does not know, so none is dropped silently.

Optical ports are ``o1, o2, ...`` in gdsfactory's order (o1 at the west,
bottom first for 2x2 devices); electrical ports are ``e1, e2, ...``.
Reference planes are the ports: access guides and fan-outs inside a multiport
are symmetric, so they add one common phase to all its paths, which its model
leaves out (it cancels in detected powers, or is trimmed with the LO bias).
Geometry is drawn on a 1 nm grid. Importing this module imports gdsfactory
(slow), which is why the model modules never import it.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import gdsfactory as gf
import numpy as np

import photonics
from photonics import constants as k
from photonics import layers
from photonics.coupler import Coupler, Mmi2x2, Splitter
from photonics.heater import Heater
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.ring import RingAllPass
from photonics.waveguide import Straight

GRID_UM = 0.001  # database unit
MAX_ARC_ERROR_UM = 0.002  # largest sagitta of a drawn arc chord
WIDTH_UM = 0.5  # waveguide width of every cell, so that ports of abutting cells match


class LAYER(gf.LayerEnum):
    """The layer map of :mod:`photonics.layers` as gdsfactory layers."""

    layout = gf.constant(gf.kcl.layout)
    WG = layers.WG
    DETECTOR = layers.DETECTOR
    ELECTRODE = layers.ELECTRODE
    VIA = layers.VIA
    METAL = layers.METAL
    PAD = layers.PAD
    HEATER = layers.HEATER
    TEXT = layers.TEXT


# --- geometry helpers -------------------------------------------------------------------


def _snap(points) -> np.ndarray:
    return np.round(np.asarray(points, dtype=float) / GRID_UM) * GRID_UM


def _polygon(c: gf.Component, points, layer) -> None:
    c.add_polygon(_snap(points), layer=layer)


def _box(c: gf.Component, x0: float, y0: float, x1: float, y1: float, layer) -> None:
    _polygon(c, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], layer)


def _ribbon(points: np.ndarray, normals: np.ndarray, width: float) -> np.ndarray:
    """Polygon of a guide of ``width`` along a centreline with unit normals."""
    return np.concatenate([points + normals * width / 2, (points - normals * width / 2)[::-1]])


def _arc(cx: float, cy: float, radius: float, a0_deg: float, a1_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Centreline points and outward normals of an arc, chords within MAX_ARC_ERROR_UM."""
    step = 2 * math.acos(max(-1.0, 1 - MAX_ARC_ERROR_UM / radius))
    n = max(2, math.ceil(math.radians(abs(a1_deg - a0_deg)) / step) + 1)
    t = np.radians(np.linspace(a0_deg, a1_deg, n))
    u = np.stack([np.cos(t), np.sin(t)], axis=-1)
    return np.array([cx, cy]) + radius * u, u


def _arc_guide(c, cx, cy, radius, a0_deg, a1_deg, width, layer=layers.WG) -> None:
    points, normals = _arc(cx, cy, radius, a0_deg, a1_deg)
    _polygon(c, _ribbon(points, normals, width), layer)


def _annular_sector(c, cx, cy, r_in, r_out, a0_deg, a1_deg, layer) -> None:
    """A sector of an annulus; a full circle is drawn as two halves."""
    if a1_deg - a0_deg >= 360 - 1e-9:
        for a in (a0_deg, a0_deg + 180):
            _annular_sector(c, cx, cy, r_in, r_out, a, a + 180, layer)
        return
    mid = (r_in + r_out) / 2
    points, normals = _arc(cx, cy, mid, a0_deg, a1_deg)
    _polygon(c, _ribbon(points, normals, r_out - r_in), layer)


def _s_bend(c, x0: float, y0: float, length: float, offset: float, width: float) -> None:
    """Cosine S-bend from (x0, y0) heading east to (x0 + length, y0 + offset), heading east."""
    s = np.linspace(0, 1, 65)
    points = np.stack([x0 + length * s, y0 + offset * (1 - np.cos(np.pi * s)) / 2], axis=-1)
    tangent = np.stack([np.full_like(s, length), offset * np.pi / 2 * np.sin(np.pi * s)], axis=-1)
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    normals = np.stack([-tangent[:, 1], tangent[:, 0]], axis=-1)
    _polygon(c, _ribbon(points, normals, width), layers.WG)


def _guide_x(c, x0: float, x1: float, y: float, width: float) -> None:
    """Straight guide along x from x0 to x1 at height y."""
    _box(c, x0, y - width / 2, x1, y + width / 2, layers.WG)


def _optical_port(c, name, x, y, orientation, width) -> None:
    c.add_port(name, center=tuple(_snap((x, y))), width=width, orientation=orientation, layer=layers.WG)


def _electrical_port(c, name, x, y, orientation, width) -> None:
    c.add_port(
        name, center=tuple(_snap((x, y))), width=width, orientation=orientation, layer=layers.METAL, port_type="electrical"
    )


def _pad(c, x0, y0, size, name, orientation) -> None:
    """A square metal pad with its opening and an electrical port on the side it faces."""
    _box(c, x0, y0, x0 + size, y0 + size, layers.METAL)
    if size > 2:
        _box(c, x0 + 1, y0 + 1, x0 + size - 1, y0 + size - 1, layers.PAD)
    x, y = {90: (x0 + size / 2, y0 + size), 270: (x0 + size / 2, y0)}[orientation]
    _electrical_port(c, name, x, y, orientation, size)


def _mmi_length_um(width_um: float, fraction: float) -> float:
    """fraction * L_pi, the self-imaging beat length L_pi = 4*n*W**2/(3*wl) (Soldano and Pennings).

    n is the project's silicon effective index at the design wavelength, a
    first-order estimate of the multimode section's index.
    """
    return round(fraction * 4 * k.SI_NEFF * width_um**2 / (3 * k.WL_UM), 3)


# --- waveguides -------------------------------------------------------------------------

_S = Straight()


@gf.cell
def straight(
    length_um: float = _S.length_um,
    wl0_um: float = _S.wl0_um,
    neff: float = _S.neff,
    ng: float = _S.ng,
    loss_db_cm: float = _S.loss_db_cm,
    temperature_k: float = _S.temperature_k,
    dn_dt_per_k: float = _S.dn_dt_per_k,
    width_um: float = WIDTH_UM,
) -> gf.Component:
    """Straight waveguide of ``length_um``.

    ```
        o1 =========== o2
    ```
    """
    if not length_um > 0:
        raise ValueError(f"straight cell: length_um must be > 0 (got {length_um})")
    c = gf.Component()
    _guide_x(c, 0, length_um, 0, width_um)
    _optical_port(c, "o1", 0, 0, 180, width_um)
    _optical_port(c, "o2", length_um, 0, 0, width_um)
    c.info["length_um"] = length_um
    return c


@gf.cell
def bend_circular(
    radius_um: float = 10.0,
    angle_deg: float = 90.0,
    wl0_um: float = _S.wl0_um,
    neff: float = _S.neff,
    ng: float = _S.ng,
    loss_db_cm: float = _S.loss_db_cm,
    temperature_k: float = _S.temperature_k,
    dn_dt_per_k: float = _S.dn_dt_per_k,
    width_um: float = WIDTH_UM,
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
        raise ValueError(f"bend_circular cell: needs radius_um > 0 and 0 < |angle_deg| <= 180 (got {radius_um}, {angle_deg})")
    c = gf.Component()
    sign = 1 if angle_deg > 0 else -1
    start = -90 * sign
    _arc_guide(c, 0, sign * radius_um, radius_um, start, start + angle_deg, width_um)
    a = math.radians(angle_deg)
    _optical_port(c, "o1", 0, 0, 180, width_um)
    _optical_port(c, "o2", radius_um * math.sin(abs(a)), sign * radius_um * (1 - math.cos(a)), angle_deg % 360, width_um)
    c.info["length_um"] = bend_length_um(radius_um, angle_deg)
    return c


def bend_length_um(radius_um: float, angle_deg: float) -> float:
    """Arc length of a circular bend."""
    return radius_um * math.radians(abs(angle_deg))


# --- couplers and splitters ------------------------------------------------------------

_C, _M, _SP = Coupler(), Mmi2x2(), Splitter()


@gf.cell
def coupler(
    kappa: float = _C.kappa,
    wl0_um: float = _C.wl0_um,
    kappa_dispersion: float = _C.kappa_dispersion,
    loss_db: float = _C.loss_db,
    width_um: float = WIDTH_UM,
    gap_um: float = 0.2,
    crossover_length_um: float = 40.0,
    port_pitch_um: float = 20.0,
    fanout_length_um: float = 40.0,
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
    coupling_um = round(2 * crossover_length_um / math.pi * math.asin(math.sqrt(kappa)), 3)
    half = (gap_um + width_um) / 2
    c = gf.Component()
    for sign in (-1, 1):
        _s_bend(c, 0, sign * port_pitch_um / 2, fanout_length_um, sign * (half - port_pitch_um / 2), width_um)
        if coupling_um > 0:
            _guide_x(c, fanout_length_um, fanout_length_um + coupling_um, sign * half, width_um)
        _s_bend(c, fanout_length_um + coupling_um, sign * half, fanout_length_um, sign * (port_pitch_um / 2 - half), width_um)
    x = 2 * fanout_length_um + coupling_um
    for name, px, py, o in (("o1", 0, -1, 180), ("o2", 0, 1, 180), ("o3", x, 1, 0), ("o4", x, -1, 0)):
        _optical_port(c, name, px, py * port_pitch_um / 2, o, width_um)
    c.info["coupling_length_um"] = coupling_um
    return c


def _check_half(cell: str, name: str, value: float) -> None:
    if abs(value - 0.5) > 1e-12:
        raise ValueError(f"{cell} cell: only the 50:50 design is drawn ({name} must be 0.5, got {value})")


@gf.cell
def mmi2x2(
    kappa: float = _M.kappa,
    wl0_um: float = _M.wl0_um,
    kappa_dispersion: float = _M.kappa_dispersion,
    loss_db: float = _M.loss_db,
    width_um: float = WIDTH_UM,
    mmi_width_um: float = 6.0,
    access_length_um: float = 2.0,
    port_pitch_um: float = 20.0,
    fanout_length_um: float = 40.0,
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
    _check_half("mmi2x2", "kappa", kappa)
    length = _mmi_length_um(mmi_width_um, 0.5)
    d, f, a = mmi_width_um / 6, fanout_length_um, access_length_um
    c = gf.Component()
    for sign in (-1, 1):
        _s_bend(c, 0, sign * port_pitch_um / 2, f, sign * (d - port_pitch_um / 2), width_um)
        _guide_x(c, f, f + a, sign * d, width_um)
        _guide_x(c, f + a + length, f + 2 * a + length, sign * d, width_um)
        _s_bend(c, f + 2 * a + length, sign * d, f, sign * (port_pitch_um / 2 - d), width_um)
    _box(c, f + a, -mmi_width_um / 2, f + a + length, mmi_width_um / 2, layers.WG)
    x = 2 * (f + a) + length
    for name, px, py, o in (("o1", 0, -1, 180), ("o2", 0, 1, 180), ("o3", x, 1, 0), ("o4", x, -1, 0)):
        _optical_port(c, name, px, py * port_pitch_um / 2, o, width_um)
    c.info["mmi_length_um"] = length
    return c


@gf.cell
def splitter(
    split_ratio: float = _SP.split_ratio,
    loss_db: float = _SP.loss_db,
    width_um: float = WIDTH_UM,
    mmi_width_um: float = 3.0,
    access_length_um: float = 2.0,
    port_pitch_um: float = 20.0,
    fanout_length_um: float = 40.0,
) -> gf.Component:
    """1x2 splitter: a symmetric 1x2 MMI (outputs at +-W/4, length 3*L_pi/8) and a fan-out.

    ```
                 ┌─────┐ ┌── o2
        o1 ──────┤ MMI ├─┤
                 └─────┘ └── o3
    ```
    Only split_ratio = 0.5 is drawn: another ratio needs another design.
    """
    _check_half("splitter", "split_ratio", split_ratio)
    length = _mmi_length_um(mmi_width_um, 3 / 8)
    d, a, f = mmi_width_um / 4, access_length_um, fanout_length_um
    c = gf.Component()
    _guide_x(c, 0, a, 0, width_um)
    _box(c, a, -mmi_width_um / 2, a + length, mmi_width_um / 2, layers.WG)
    for sign in (-1, 1):
        _guide_x(c, a + length, 2 * a + length, sign * d, width_um)
        _s_bend(c, 2 * a + length, sign * d, f, sign * (port_pitch_um / 2 - d), width_um)
    x = 2 * a + length + f
    _optical_port(c, "o1", 0, 0, 180, width_um)
    _optical_port(c, "o2", x, port_pitch_um / 2, 0, width_um)
    _optical_port(c, "o3", x, -port_pitch_um / 2, 0, width_um)
    c.info["mmi_length_um"] = length
    return c


# --- phase shifters ----------------------------------------------------------------------

_EO, _H = PhaseShifterEO(), Heater()


def eo_sections_um(length_um: float, section_max_um: float) -> list[float]:
    """Lengths of the straight electrode sections a segment of ``length_um`` folds into.

    An even number n of sections (so the segment leaves where it enters, on the
    same axis), each at most ``section_max_um``, on the 1 nm grid. The two
    sections joined by a top bend share a length; pairs differ by at most 1 nm,
    and the sum is within 1.5 nm of ``length_um`` (pairs make the step 2 nm).
    """
    if not length_um > 0 or not section_max_um > 0:
        raise ValueError(f"phase_shifter_eo cell: length_um and section_max_um must be > 0 (got {length_um}, {section_max_um})")
    pairs = max(1, math.ceil(length_um / (2 * section_max_um)))
    total_nm = round(length_um / GRID_UM)
    base, extra = divmod(total_nm // 2, pairs)  # nm per section, pairs that get one nm more
    return [(base + (i < extra)) * GRID_UM for i in range(pairs) for _ in range(2)]


@gf.cell
def phase_shifter_eo(
    length_um: float = _EO.length_um,
    vpil_v_cm: float = _EO.vpil_v_cm,
    loss_db: float = _EO.loss_db,
    wl0_um: float = _EO.wl0_um,
    neff: float = _EO.neff,
    ng: float = _EO.ng,
    temperature_k: float = _EO.temperature_k,
    dn_dt_per_k: float = _EO.dn_dt_per_k,
    width_um: float = WIDTH_UM,
    section_max_um: float = 5000.0,
    bend_radius_um: float = 50.0,
    electrode_gap_um: float = 4.0,
    electrode_width_um: float = 15.0,
    bus_width_um: float = 20.0,
) -> gf.Component:
    """Electro-optic segment: ``length_um`` of electrode folded into a serpentine.

    ```
            e1 (drive bus, M2, over the top)
          ┌─┐  ┌─┐  ┌─┐
          │ │  │ │  │ │      n vertical sections, each <= section_max_um,
          │ │  │ │  │ │      signal electrode east of every section and
          │ └──┘ └──┘ │      ground west, so the field has one sign in all
        o1┘           └o2    e2 (ground bus, M2, below)
    ```
    A long segment (the longest default one is 15.5 cm) cannot be drawn straight:
    GDS coordinates are int32 nm (2.1 m), and a row holds h of them. The
    sections carry the electrode; the 180-degree bends of radius
    ``bend_radius_um`` between them carry none. The model (``length_um``,
    ``loss_db``) treats the bends as part of the segment: their passive phase
    is a fixed offset that the MMU's bias heater trims, and their loss is inside
    the segment's ``loss_db``. ``info["electrode_length_um"]`` is the drawn
    electrode length, within 1.5 nm of ``length_um``.
    """
    sections = eo_sections_um(length_um, section_max_um)
    r, w, g, ew = bend_radius_um, width_um, electrode_gap_um, electrode_width_um
    if not 2 * r > w + 2 * (g + ew):
        raise ValueError(f"phase_shifter_eo cell: bend_radius_um = {r} leaves no room for the electrodes")
    c = gf.Component()
    n = len(sections)
    xs = [r + 2 * r * i for i in range(n)]
    _arc_guide(c, 0, r, r, 270, 360, w)  # in: east -> north
    for i, (x, s) in enumerate(zip(xs, sections)):
        _box(c, x - w / 2, r, x + w / 2, r + s, layers.WG)
        if i % 2 == 0:
            _arc_guide(c, x + r, r + s, r, 180, 0, w)  # over the top
        elif i < n - 1:
            _arc_guide(c, x + r, r, r, 180, 360, w)  # under the bottom
    _arc_guide(c, xs[-1] + r, r, r, 180, 270, w)  # out: south -> east
    _eo_electrodes(c, xs, sections, r, w, g, ew, bus_width_um)
    _optical_port(c, "o1", 0, 0, 180, w)
    _optical_port(c, "o2", 2 * r * n, 0, 0, w)
    c.info["sections"] = n
    c.info["electrode_length_um"] = round(sum(sections), 6)
    return c


def _eo_electrodes(c, xs, sections, r, w, g, ew, bus_w) -> None:
    """Signal strips east and ground strips west of each section, joined by M2 buses."""
    via = 5.0
    top = r + max(sections) + r + 10.0  # bottom edge of the signal bus, above the top bends
    bottom = -w / 2 - 10.0  # top edge of the ground bus, below the bottom bends
    for x, s in zip(xs, sections):
        sx0, gx1 = x + w / 2 + g, x - w / 2 - g
        _box(c, sx0, r, sx0 + ew, r + s, layers.ELECTRODE)
        _box(c, gx1 - ew, r, gx1, r + s, layers.ELECTRODE)
        _box(c, sx0, r + s - via, sx0 + ew, r + s, layers.VIA)
        _box(c, gx1 - ew, r, gx1, r + via, layers.VIA)
        _box(c, sx0, r + s - via, sx0 + ew, top, layers.METAL)
        _box(c, gx1 - ew, bottom, gx1, r + via, layers.METAL)
    sig0, sig1 = xs[0] + w / 2 + g, xs[-1] + w / 2 + g + ew
    gnd0, gnd1 = xs[0] - w / 2 - g - ew, xs[-1] - w / 2 - g
    _box(c, sig0, top, sig1, top + bus_w, layers.METAL)
    _box(c, gnd0, bottom - bus_w, gnd1, bottom, layers.METAL)
    _electrical_port(c, "e1", (sig0 + sig1) / 2, top + bus_w, 90, bus_w)
    _electrical_port(c, "e2", (gnd0 + gnd1) / 2, bottom - bus_w, 270, bus_w)


@gf.cell
def heater(
    length_um: float = _H.length_um,
    p_pi_mw: float = _H.p_pi_mw,
    loss_db_cm: float = _H.loss_db_cm,
    wl0_um: float = _H.wl0_um,
    neff: float = _H.neff,
    ng: float = _H.ng,
    temperature_k: float = _H.temperature_k,
    dn_dt_per_k: float = _H.dn_dt_per_k,
    width_um: float = WIDTH_UM,
    heater_width_um: float = 2.0,
    pad_size_um: float = 20.0,
) -> gf.Component:
    """Thermo-optic heater: a TiN strip over ``length_um`` of waveguide, pads on the north side.

    ```
        e1 ▣           ▣ e2
           ▓▓▓▓▓▓▓▓▓▓▓▓▓     (heater metal over the guide)
        o1 ═════════════ o2
    ```
    """
    if not length_um >= 10:
        raise ValueError(f"heater cell: length_um must be >= 10 um to fit its contacts (got {length_um})")
    L, hw = length_um, heater_width_um
    lead_w, lead_l = min(4.0, L / 4), 10.0
    pad = min(pad_size_um, L / 2 - 1)
    c = gf.Component()
    _guide_x(c, 0, L, 0, width_um)
    _box(c, 0, -hw / 2, L, hw / 2, layers.HEATER)
    for x0 in (0, L - lead_w):
        _box(c, x0, hw / 2, x0 + lead_w, hw / 2 + lead_l, layers.HEATER)
        _box(c, x0, hw / 2 + lead_l - 2, x0 + lead_w, hw / 2 + lead_l, layers.VIA)
    _pad(c, 0, hw / 2 + lead_l - 2, pad, "e1", 90)
    _pad(c, L - pad, hw / 2 + lead_l - 2, pad, "e2", 90)
    _optical_port(c, "o1", 0, 0, 180, width_um)
    _optical_port(c, "o2", L, 0, 0, width_um)
    return c


# --- ring ----------------------------------------------------------------------------------

_R = RingAllPass()


@gf.cell
def ring_allpass(
    radius_um: float = _R.radius_um,
    kappa: float = _R.kappa,
    kappa_dispersion: float = _R.kappa_dispersion,
    loss_db_cm: float = _R.loss_db_cm,
    wl0_um: float = _R.wl0_um,
    neff: float = _R.neff,
    ng: float = _R.ng,
    temperature_k: float = _R.temperature_k,
    dn_dt_per_k: float = _R.dn_dt_per_k,
    vpil_v_cm: float = _R.vpil_v_cm,
    eo_fraction: float = _R.eo_fraction,
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
    electrode and the heater stop 2 um short of the bus.
    """
    R, w = radius_um, width_um
    eg, ew, hw = electrode_gap_um, electrode_width_um, heater_width_um
    if not R > w / 2 + eg + ew + 1:
        raise ValueError(f"ring_allpass cell: radius_um = {R} is too small for the inner electrode")
    c = gf.Component()
    cx, cy = R + w / 2 + eg + ew + bus_margin_um, w + gap_um + R  # the bus spans the outer electrode
    _guide_x(c, 0, 2 * cx, 0, w)
    _annular_sector(c, cx, cy, R - w / 2, R + w / 2, 0, 360, layers.WG)

    def clear_of_bus(radius: float) -> float:  # lowest angle (deg) at which a shape of this outer radius clears the bus
        return math.degrees(math.asin(max(-1.0, (w / 2 + 2.0 - cy) / radius)))

    if eo_fraction > 0:
        half = 180 * eo_fraction
        r_in, r_out = (R - w / 2 - eg - ew, R - w / 2 - eg), (R + w / 2 + eg, R + w / 2 + eg + ew)
        _annular_sector(c, cx, cy, *r_in, 90 - half, 90 + half, layers.ELECTRODE)
        low = clear_of_bus(r_out[1])
        _annular_sector(c, cx, cy, *r_out, max(90 - half, low), min(90 + half, 180 - low), layers.ELECTRODE)
        _electrical_port(c, "e1", cx, cy + r_in[0], 270, ew)
        _electrical_port(c, "e2", cx, cy + r_out[1], 90, ew)
    low = clear_of_bus(R + hw / 2)
    _annular_sector(c, cx, cy, R - hw / 2, R + hw / 2, low, 180 - low, layers.HEATER)
    for name, a, o in (("e3", low, low - 90), ("e4", 180 - low, 270 - low)):
        t = math.radians(a)
        c.add_port(name, center=tuple(_snap((cx + R * math.cos(t), cy + R * math.sin(t)))), width=hw,
                   orientation=o % 360, layer=layers.HEATER, port_type="electrical")
    _optical_port(c, "o1", 0, 0, 180, w)
    _optical_port(c, "o2", 2 * cx, 0, 0, w)
    return c


# --- detector ----------------------------------------------------------------------------


@gf.cell
def photodetector(
    width_um: float = WIDTH_UM,
    absorber_length_um: float = 15.0,
    absorber_width_um: float = 4.0,
    taper_length_um: float = 5.0,
    contact_width_um: float = 4.0,
) -> gf.Component:
    """Germanium photodetector: a taper into an absorber between two contacts.

    ```
              ▬▬▬▬▬▬▬ e1
        o1 ══<███████      (germanium on the widened guide)
              ▬▬▬▬▬▬▬ e2
    ```
    Its model is a matched load; the current and noise are in photonics.photodetector.
    """
    t, la, aw, cw = taper_length_um, absorber_length_um, absorber_width_um, contact_width_um
    c = gf.Component()
    w = width_um
    _polygon(c, [(0, -w / 2), (t, -aw / 2), (t + la, -aw / 2), (t + la, aw / 2), (t, aw / 2), (0, w / 2)], layers.WG)
    _box(c, t, -aw / 2, t + la, aw / 2, layers.DETECTOR)
    for sign, name, o in ((1, "e1", 90), (-1, "e2", 270)):
        y0, y1 = sign * (aw / 2 + 1), sign * (aw / 2 + 1 + cw)
        _box(c, t, min(y0, y1), t + la, max(y0, y1), layers.METAL)
        _electrical_port(c, name, t + la / 2, y1, o, la)
    _optical_port(c, "o1", 0, 0, 180, w)
    return c


# --- what the LVS needs to know ------------------------------------------------------------


@dataclass(frozen=True)
class CellSpec:
    """How a cell stands for a sax model in an extracted netlist."""

    model: str  # registry name of the model (photonics.models())
    layout_args: tuple[str, ...]  # settings that no model sees
    operating: tuple[str, ...] = ()  # model arguments set when the circuit runs, not by the layout


_WG = ("width_um",)
CELL_SPECS: dict[str, CellSpec] = {
    "straight": CellSpec("straight", _WG),
    "bend_circular": CellSpec("straight", (*_WG, "radius_um", "angle_deg")),
    "coupler": CellSpec("coupler", (*_WG, "gap_um", "crossover_length_um", "port_pitch_um", "fanout_length_um")),
    "mmi2x2": CellSpec("mmi2x2", (*_WG, "mmi_width_um", "access_length_um", "port_pitch_um", "fanout_length_um")),
    "splitter": CellSpec("splitter", (*_WG, "mmi_width_um", "access_length_um", "port_pitch_um", "fanout_length_um")),
    "phase_shifter_eo": CellSpec(
        "phase_shifter_eo",
        (*_WG, "section_max_um", "bend_radius_um", "electrode_gap_um", "electrode_width_um", "bus_width_um"),
        ("voltage_v",),
    ),
    "heater": CellSpec("heater", (*_WG, "heater_width_um", "pad_size_um"), ("power_mw",)),
    "ring_allpass": CellSpec(
        "ring_allpass",
        (*_WG, "gap_um", "electrode_gap_um", "electrode_width_um", "heater_width_um", "bus_margin_um"),
        ("voltage_v",),
    ),
    "photodetector": CellSpec(
        "photodetector", (*_WG, "absorber_length_um", "absorber_width_um", "taper_length_um", "contact_width_um")
    ),
}

CELLS = {
    "straight": straight,
    "bend_circular": bend_circular,
    "coupler": coupler,
    "mmi2x2": mmi2x2,
    "splitter": splitter,
    "phase_shifter_eo": phase_shifter_eo,
    "heater": heater,
    "ring_allpass": ring_allpass,
    "photodetector": photodetector,
}


def model_settings(cell: str, settings: dict) -> tuple[str, dict]:
    """(model name, model settings) of a cell instance with these cell settings.

    Refuses a cell it does not know, a setting that is neither a model argument
    nor a layout argument (it would be dropped silently), and a model argument
    the cell does not record (the model's default would be used silently).
    A bend's ``length_um`` is its arc length.
    """
    if cell not in CELL_SPECS:
        raise ValueError(f"cell {cell!r} has no model; known cells: {', '.join(CELL_SPECS)}")
    spec = CELL_SPECS[cell]
    model_args = set(inspect.signature(photonics.models()[spec.model]).parameters) - {"wl"}
    unknown = sorted(set(settings) - model_args - set(spec.layout_args))
    if unknown:
        raise ValueError(f"cell {cell!r}: setting {unknown[0]!r} is neither a {spec.model} argument nor a layout argument")
    out = {name: value for name, value in settings.items() if name in model_args}
    if cell == "bend_circular":
        out["length_um"] = bend_length_um(settings["radius_um"], settings["angle_deg"])
    missing = sorted(model_args - set(out) - set(spec.operating))
    if missing:
        raise ValueError(f"cell {cell!r}: model argument {missing[0]!r} of {spec.model} is not recorded in the cell")
    return spec.model, out


def cell_kwargs(cell: str, model_settings: dict) -> dict:
    """The model settings without the operating point: what a cell of ``cell`` takes from them."""
    return {name: value for name, value in model_settings.items() if name not in CELL_SPECS[cell].operating}


PDK = gf.Pdk(name="mirage", layers=LAYER, cells=dict(CELLS))


def activate() -> None:
    """Make the project's PDK the active one (gdsfactory 9 needs one to build cells)."""
    if gf.get_active_pdk().name != PDK.name:
        PDK.activate()


PDK.activate()
