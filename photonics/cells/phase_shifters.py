"""Phase-shifter cells: the electro-optic segment (thin-film LN, folded) and the thermo-optic heater."""

from __future__ import annotations

import gdsfactory as gf

from photonics.cells._common import GRID_UM, WIDTH_UM, arc, box, draw, electrical_port, flat, model_arguments, pad
from photonics.cells.cross_sections import ridge_ln, strip
from photonics.errors import UsageError
from photonics.heater import Heater
from photonics.layers import LAYER
from photonics.phase_shifter_eo import PhaseShifterEO, section_count


def eo_sections_um(length_um: float, section_max_um: float) -> list[float]:
    """Lengths of the straight electrode sections a segment of ``length_um`` folds into.

    An even number n of sections (so the segment leaves where it enters, on the
    same axis), each at most ``section_max_um``
    (:func:`photonics.phase_shifter_eo.section_count`, as the model counts them), on the 1 nm grid. The two
    sections joined by a top bend share a length; pairs differ by at most 1 nm,
    and the sum is within 1.5 nm of ``length_um`` (pairs make the step 2 nm).
    """
    if not length_um > 0 or not section_max_um > 0:
        raise UsageError(
            f"phase_shifter_eo cell: length_um and section_max_um must be > 0 (got {length_um}, {section_max_um})"
        )
    pairs = int(section_count(length_um, section_max_um)) // 2
    total_nm = round(length_um / GRID_UM)
    base, extra = divmod(total_nm // 2, pairs)  # nm per section, pairs that get one nm more
    return [(base + (i < extra)) * GRID_UM for i in range(pairs) for _ in range(2)]


@gf.cell
@model_arguments(PhaseShifterEO)
def phase_shifter_eo(
    p: PhaseShifterEO,
    *,
    width_um: float = WIDTH_UM,
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
    ``bend_radius_um`` between them carry none. The guide is one path of the
    LN ridge cross-section. The model counts the same sections and bends
    (:func:`photonics.phase_shifter_eo.optical_path_um`): the voltage acts on
    the electrode length, loss, passive phase and delay follow the whole path.
    ``info["electrode_length_um"]`` is the drawn electrode length, within
    1.5 nm of ``length_um``; ``info["path_um"]`` the drawn guide's length.
    """
    sections = eo_sections_um(p.length_um, p.section_max_um)
    r, w, g, ew = p.bend_radius_um, width_um, electrode_gap_um, electrode_width_um
    if not 2 * r > w + 2 * (g + ew):
        raise UsageError(f"phase_shifter_eo cell: bend_radius_um = {r} leaves no room for the electrodes")
    n = len(sections)
    path = arc(r, 90)  # in: east -> north
    for i, s in enumerate(sections):
        path.append(gf.path.straight(s))
        if i < n - 1:
            path.append(arc(r, -180 if i % 2 == 0 else 180))  # over the top, under the bottom
    path.append(arc(r, 90))  # out: south -> east
    c = gf.Component()
    c.add_ports(draw(c, path, ridge_ln(w)).ports)
    _eo_electrodes(c, [r + 2 * r * i for i in range(n)], sections, r, w, g, ew, bus_width_um)
    c.info["sections"] = n
    c.info["electrode_length_um"] = round(sum(sections), 6)
    c.info["path_um"] = round(float(path.length()), 6)
    return flat(c)


def _eo_electrodes(c, xs, sections, r, w, g, ew, bus_w) -> None:
    """Signal strips east and ground strips west of each section, joined by M2 buses."""
    via = 5.0
    top = r + max(sections) + r + 10.0  # bottom edge of the signal bus, above the top bends
    bottom = -w / 2 - 10.0  # top edge of the ground bus, below the bottom bends
    for x, s in zip(xs, sections, strict=True):
        sx0, gx1 = x + w / 2 + g, x - w / 2 - g
        box(c, sx0, r, sx0 + ew, r + s, LAYER.ELECTRODE)
        box(c, gx1 - ew, r, gx1, r + s, LAYER.ELECTRODE)
        box(c, sx0, r + s - via, sx0 + ew, r + s, LAYER.VIA)
        box(c, gx1 - ew, r, gx1, r + via, LAYER.VIA)
        box(c, sx0, r + s - via, sx0 + ew, top, LAYER.METAL)
        box(c, gx1 - ew, bottom, gx1, r + via, LAYER.METAL)
    sig0, sig1 = xs[0] + w / 2 + g, xs[-1] + w / 2 + g + ew
    gnd0, gnd1 = xs[0] - w / 2 - g - ew, xs[-1] - w / 2 - g
    box(c, sig0, top, sig1, top + bus_w, LAYER.METAL)
    box(c, gnd0, bottom - bus_w, gnd1, bottom, LAYER.METAL)
    electrical_port(c, "e1", (sig0 + sig1) / 2, top + bus_w, 90, bus_w)
    electrical_port(c, "e2", (gnd0 + gnd1) / 2, bottom - bus_w, 270, bus_w)


@gf.cell
@model_arguments(Heater)
def heater(
    p: Heater, *, width_um: float = WIDTH_UM, heater_width_um: float = 2.0, pad_size_um: float = 20.0
) -> gf.Component:
    """Thermo-optic heater: a TiN strip over ``length_um`` of waveguide, pads on the north side.

    ```
        e1 ▣           ▣ e2
           ▓▓▓▓▓▓▓▓▓▓▓▓▓     (heater metal over the guide)
        o1 ═════════════ o2
    ```
    """
    if not p.length_um >= 10:
        raise UsageError(f"heater cell: length_um must be >= 10 um to fit its contacts (got {p.length_um})")
    L, hw = p.length_um, heater_width_um
    lead_w, lead_l = min(4.0, L / 4), 10.0
    size = min(pad_size_um, L / 2 - 1)
    c = gf.Component()
    c.add_ports(draw(c, gf.path.straight(L), strip(width_um)).ports)
    box(c, 0, -hw / 2, L, hw / 2, LAYER.HEATER)
    for x0 in (0, L - lead_w):
        box(c, x0, hw / 2, x0 + lead_w, hw / 2 + lead_l, LAYER.HEATER)
        box(c, x0, hw / 2 + lead_l - 2, x0 + lead_w, hw / 2 + lead_l, LAYER.VIA)
    pad(c, 0, hw / 2 + lead_l - 2, size, "e1", 90)
    pad(c, L - size, hw / 2 + lead_l - 2, size, "e2", 90)
    return flat(c)
