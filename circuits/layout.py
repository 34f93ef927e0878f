"""Layout of the MMU, the MDPU and the tile (gdsfactory), and the device positions it gives.

The MDPU floorplan (one row of the tile), light flowing east:

```
                                               ▣  ▣   detectors i_p, i_n
                                              [hyb_i]          (light flows north)
   EO meanders above the lane              ╭──╯    ╰──[lo_i]─╮
  o1─[src]─[mmu0]─ ... ─[mmu h-1]─[sig_split]                [lo_split]─╮
        │                                  ╰──╮    ╭──[lo_q]─╯           │
        └─[lo_bias]─╮                         [hyb_q]          (south)   │
                    │                          ▣  ▣   detectors q_n, q_p │
                    ╰───────────── LO route, under everything ───────────╯
```
Devices abut port to port wherever they can: the MMU chain, src -> lo_bias,
lo_split -> lo_i/lo_q, hybrid -> detectors. Two things cannot abut: the LO
must travel the length of the signal arm (``route_lo``), and the two splitters'
outputs reach the two hybrids without a crossing only through bends from
opposite sides (four quarter-circle routes of one length). Those routes are in
the schematic as :class:`circuits.mdpu.MdpuRoutes`; :func:`layout_design`
gives the design with the lengths this layout draws, which is what the layout
is checked against (circuits/lvs.py).

Rows of one modulus are instances of one MDPU cell; the tile stacks R rows per
modulus, each with its own optical input port (the simulator gives every MDPU
its own laser power) and an electrical port for every drive and heater.
:func:`write_tile` writes the GDS and, beside it, a JSON list of every device
with its position and tile coordinates; :func:`load_positions` reads it back
and :func:`tile_positions_um` turns it into arrays per modulus (segments, MMU
heaters, front end) for a variation model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

import gdsfactory as gf
import numpy as np

from circuits.mdpu import (
    DETECTORS,
    FRONT,
    FRONT_DEVICE,
    FRONT_ROLES,
    HYBRIDS,
    LO_BIAS,
    MdpuDesign,
    front_end_netlist,
    front_role,
)
from circuits.mmu import MmuDesign
from photonics import cells, pdk
from photonics.cells.cross_sections import LN_RADIUS_UM, STRIP_RADIUS_UM
from photonics.errors import UsageError
from photonics.heater import Heater
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.ring import RingAllPass
from photonics.waveguide import Straight

pdk.activate()

ROUTE_CELLS = ("straight", "bend_circular")  # cells that only route; every other leaf cell is a device


@dataclass(frozen=True)
class Floorplan:
    """Layout choices that no model sees: routing bend radii, spacings.

    The EO segments' folding (section length, bend radius) is not here: it sets
    their loss and delay, so it is a device parameter of
    :class:`photonics.phase_shifter_eo.PhaseShifterEO` that the cell reads.
    """

    route_radius_um: float = STRIP_RADIUS_UM  # bends of routing waveguides (silicon strip)
    clearance_um: float = 20.0  # between the LO route and anything else
    row_gap_um: float = 50.0  # between tile rows
    # Centre-to-centre pitch of the matched LO's LN delay spiral. A deep-etched TFLN ridge's evanescent field
    # decays within about 1 um, so that directional couplers of these ridges need gaps below ~1 um (Wang et al.,
    # Nature 562, 101 (2018)); at 10 um the turns of the spiral do not couple over the row's length.
    lo_spiral_pitch_um: float = 10.0

    def __post_init__(self):
        for f in fields(self):
            if not getattr(self, f.name) > 0:
                raise UsageError(f"floorplan {f.name} must be > 0 (got {getattr(self, f.name)})")


_FP = Floorplan()  # the defaults of the cells below
_MDPU = MdpuDesign()  # the design defaults of the mdpu cell


# --- designs as serialisable cell arguments ----------------------------------------------


def _pairs(params) -> tuple[tuple[str, float], ...]:
    return tuple(params.settings().items())


def mmu_spec(mmu: MmuDesign) -> tuple:
    """An MmuDesign as a tuple of (name, value) pairs, the form a cell argument takes."""
    return (
        ("modulus", int(mmu.modulus)),
        ("encoding", mmu.encoding),
        ("element", mmu.element),
        ("drive_max_v", float(mmu.drive_max_v)),
        ("drive", mmu.drive),
        ("eo", _pairs(mmu.eo)),
        ("ring", _pairs(mmu.ring)),
        ("heater", _pairs(mmu.heater)),
    )


def mmu_from_spec(spec: tuple) -> MmuDesign:
    d = dict(spec)
    return MmuDesign(
        modulus=d["modulus"],
        encoding=d["encoding"],
        element=d["element"],
        drive_max_v=d["drive_max_v"],
        drive=d["drive"],
        eo=PhaseShifterEO(**dict(d["eo"])),
        ring=RingAllPass(**dict(d["ring"])),
        heater=Heater(**dict(d["heater"])),
    )


def mdpu_spec(design: MdpuDesign, floorplan: Floorplan = Floorplan()) -> tuple:
    """The arguments of :func:`mdpu` for a design, as (name, value) pairs.

    Only what shapes the layout: not the LO bias power or the wavelength (the
    operating point) and not the route lengths (the layout decides them).
    """
    return (
        ("mmu_design", mmu_spec(design.mmu)),
        ("h", int(design.h)),
        ("lo_fraction", float(design.lo_fraction)),
        ("lo_heater", _pairs(design.lo_heater)),
        ("route_waveguide", tuple(p for p in _pairs(design.routes.waveguide) if p[0] != "length_um")),
        ("route_radius_um", floorplan.route_radius_um),
        ("clearance_um", floorplan.clearance_um),
        ("lo_path", design.lo_path),
        ("lo_waveguide", tuple(p for p in _pairs(design.lo_route_waveguide) if p[0] != "length_um")),
        ("lo_spiral_pitch_um", floorplan.lo_spiral_pitch_um),
    )


# --- placement helpers ----------------------------------------------------------------------


def _place(ref, port: str, target, ok=lambda ref: True) -> None:
    """Abut ``ref``'s ``port`` to ``target``, mirrored if needed so that ``ok(ref)`` holds."""
    for mirror in (False, True):
        ref.connect(port, target, mirror=mirror)
        if ok(ref):
            return
    raise RuntimeError(f"cannot place {ref.name} at {target.name} as required")


def _pads_on(side: int):
    """Predicate: the heater's pads lie on this side (+1 north, -1 south) of its guide."""
    return lambda ref: side * (ref.ports["e1"].center[1] - ref.ports["o1"].center[1]) > 0


def _device(c: gf.Component, name: str, cell: str, settings: dict, **layout) -> gf.ComponentReference:
    """An instance of a device cell from its model settings (the operating point dropped)."""
    return c.add_ref(cells.CELLS[cell](**pdk.cell_kwargs(cell, settings), **layout), name=name)


def _route(c: gf.Component, name: str, port, steps, wg: dict, radius_um: float):
    """Chain route pieces from ``port``: steps ("straight", length) or ("bend", +-90). Returns (end port, length)."""
    length = 0.0
    for i, (kind, value) in enumerate(steps):
        if kind == "straight":
            if value < -1e-9:
                raise RuntimeError(f"{name}: no room for the route (straight of {value:.3f} um)")
            if value < cells.GRID_UM / 2:
                continue
            piece = cells.straight(**{**wg, "length_um": round(value, 3)})
            length += round(value, 3)
        else:
            piece = cells.bend_circular(**wg, radius_um=radius_um, angle_deg=value)
            length += cells.bend_length_um(radius_um, value)
        ref = c.add_ref(piece, name=f"{name}_{i}")
        ref.connect("o1", port)
        port = ref.ports["o2"]
    return port, length


def _manhattan(start, heading: tuple[int, int], corners: list, end, radius: float) -> list:
    """Steps of a Manhattan route from ``start`` (leaving along ``heading``) through corners to ``end``."""
    points = [np.asarray(start, float), *(np.asarray(p, float) for p in corners), np.asarray(end, float)]
    steps, direction, pending = [], np.asarray(heading, float), 0.0
    for a, b, nxt in zip(points, points[1:], [*points[2:], None]):
        run = float(np.linalg.norm(b - a))
        if nxt is None:
            steps.append(("straight", run - pending))
            break
        out = (nxt - b) / np.linalg.norm(nxt - b)
        turn = direction[0] * out[1] - direction[1] * out[0]  # +1 left, -1 right
        steps += [("straight", run - pending - radius), ("bend", 90.0 * round(turn))]
        direction, pending = out, radius
    return steps


def _path_um(points: list, radius: float) -> float:
    """Length of a Manhattan polyline drawn with quarter bends of ``radius`` at its inner points."""
    pts = np.asarray(points, float)
    return float(np.abs(np.diff(pts, axis=0)).sum() - (len(pts) - 2) * (2 - np.pi / 2) * radius)


def _spiral_corners(cx: float, top: float, half_width: float, loops: int, pitch: float, radius: float) -> list:
    """Corners of a rectangular double spiral entered heading east along y = ``top`` and left heading east along its
    bottom edge, centred on x = ``cx``.

    ```
        ──────────────────────╮       in: along the top, inward clockwise (A);
        ╭──────────────────╮  │       at the centre an S (right, then left turn);
        │ ╭──────────────╮ │  │       out: anticlockwise (B = A turned by 180 degrees),
        │ │  ────────╮   │ │  │       interleaved with A at ``pitch``;
        │ │  ╰───────┼── ╯ │  │       left along the bottom edge, heading east.
        │ ╰────────────────╯  │
        ╰─────────────────────┼────
    ```
    Its height is 2*(radius + 2*pitch*loops): the S needs 2*radius. Every corner is a quarter bend of ``radius``,
    so neighbouring corners (a pitch apart diagonally) come within 0.94 pitch of each other near their ends.
    """
    X, p = half_width, pitch
    Y = radius + 2 * p * loops
    cy = top - Y
    a = []
    for k in range(loops):
        a += [
            (X - 2 * p * k, Y - 2 * p * k),
            (X - 2 * p * k, -Y + p + 2 * p * k),
            (-X + p + 2 * p * k, -Y + p + 2 * p * k),
            (-X + p + 2 * p * k, Y - 2 * p * (k + 1)),
        ]
    a.append((0.0, Y - 2 * p * loops))
    path = a + [(-x, -y) for x, y in reversed(a)]
    return [(cx + x, cy + y) for x, y in path]


def _same_port(p, q) -> bool:
    return abs(p.center[0] - q.center[0]) < 2e-3 and abs(p.center[1] - q.center[1]) < 2e-3


def _expose_electrical(c: gf.Component, ref, prefix: str) -> None:
    for p in ref.ports:
        if p.port_type == "electrical":
            c.add_port(f"{prefix}{p.name}", port=p)


# --- cells --------------------------------------------------------------------------------


@gf.cell
def mmu(mmu_design: tuple = mmu_spec(MmuDesign())) -> gf.Component:
    """Modular multiplier unit: bias heater, then the B segments of the design, abutting.

    ```
        o1 ─[heater]─[seg0]─[seg1]─ ... ─[seg B-1]─ o2
    ```
    Straight element: EO segments whose electrode lengths are
    ``MmuDesign.segment_lengths_um()`` (binary-weighted or equal), folded into
    serpentines of sections <= the segment's ``section_max_um``. Ring-assisted element: B
    all-pass rings. Electrical ports: ``heater_e1``, ``seg{b}_e1`` (drive), ...
    """
    design = mmu_from_spec(mmu_design)
    c = gf.Component()
    first = _device(c, "heater", "heater", design.heater.settings())
    port, refs = first.ports["o2"], [first]
    for b, settings in enumerate(design.segment_settings()):
        ref = _device(c, f"seg{b}", design.segment_model, settings)
        ref.connect("o1", port)
        port = ref.ports["o2"]
        refs.append(ref)
    c.add_port("o1", port=first.ports["o1"])
    c.add_port("o2", port=port)
    for ref in refs:
        _expose_electrical(c, ref, f"{ref.name}_")
    c.info["segments"] = design.segments
    return c


@gf.cell
def mdpu(
    mmu_design: tuple = mmu_spec(MmuDesign()),
    h: int = _MDPU.h,
    lo_fraction: float = _MDPU.lo_fraction,
    lo_heater: tuple = _pairs(_MDPU.lo_heater),
    route_waveguide: tuple = tuple(p for p in _pairs(Straight()) if p[0] != "length_um"),
    route_radius_um: float = _FP.route_radius_um,
    clearance_um: float = _FP.clearance_um,
    lo_path: str = _MDPU.lo_path,
    lo_waveguide: tuple = tuple(p for p in _pairs(Straight()) if p[0] != "length_um"),
    lo_spiral_pitch_um: float = _FP.lo_spiral_pitch_um,
    lo_route_um: float = 0.0,
) -> gf.Component:
    """Modular dot-product unit: source splitter, h MMUs, LO arm, 90-degree hybrid, four detectors.

    Floorplan in the module docstring. Instance names are those of
    ``circuits.mdpu.mdpu_netlist`` (src, mmu0.., sig_split, lo_bias, lo_split,
    lo_i, lo_q, hyb_i, hyb_q), detectors are named i_p, i_n, q_p, q_n, and
    route pieces route_<name>_<k>. Port o1 is the laser input.
    ``info`` holds the drawn route lengths (lo_route_um, hybrid_route_um).

    The LO route is ``lo_waveguide``: the routing strip for ``lo_path`` "direct"; for "matched" the LN ridge
    (its model parameters, bends of its radius ``LN_RADIUS_UM``; drawn on the guide layer as every guide) and, where ``lo_route_um`` > 0, a double spiral under the
    lane (:func:`_spiral_corners`, turns ``lo_spiral_pitch_um`` apart) that makes the route exactly that long.
    """
    devices = front_end_netlist(lo_fraction, Heater(**dict(lo_heater)))["instances"]  # the schematic's settings
    placed = {}

    def device(name: str):
        placed[name] = _device(c, name, devices[name]["component"], devices[name]["settings"])
        return placed[name]

    def at(source: str):  # "device,port" of a placed device
        name, port = source.split(",")
        return placed[name].ports[port]

    wg = dict(route_waveguide)
    radius = route_radius_um
    c = gf.Component()
    src_d, sig_d = front_role("source_splitter"), front_role("signal_splitter")
    src = device(src_d.name)
    port = src.ports[dict(src_d.ports)["arm_out"]]
    arm = mmu(mmu_design)
    for j in range(h):
        ref = c.add_ref(arm, name=f"mmu{j}")
        ref.connect("o1", port)
        port = ref.ports["o2"]
    device(sig_d.name).connect(dict(sig_d.ports)["arm_in"], port)
    bias_d = FRONT_DEVICE[LO_BIAS]
    (feed,) = bias_d.feeds
    lo_bias = device(bias_d.name)
    _place(lo_bias, feed.port, at(feed.source), _pads_on(-1))  # pads away from the signal lane

    hybrid_um, lo_feeds = [], []
    for (side, turn), name in zip(((1, 90.0), (-1, -90.0)), HYBRIDS, strict=True):  # first hybrid north
        sig_feed, lo_feed = FRONT_DEVICE[name].feeds
        end, length = _route(c, sig_feed.route[0], at(sig_feed.source), [("bend", turn)], wg, radius)
        hyb = device(name)
        _place(
            hyb,
            sig_feed.port,
            end,
            lambda r, lo=lo_feed.port, sg=sig_feed.port: r.ports[lo].center[0] > r.ports[sg].center[0],
        )  # LO enters east of the signal
        end, length_lo = _route(c, lo_feed.route[0], hyb.ports[lo_feed.port], [("bend", turn)], wg, radius)
        heater, heater_port = lo_feed.source.split(",")
        _place(device(heater), heater_port, end, _pads_on(side))
        (feed,) = FRONT_DEVICE[heater].feeds  # the LO splitter's output this heater hangs on
        lo_feeds.append((placed[heater].ports[feed.port], feed.source.split(",")))
        hybrid_um += [length, length_lo]
    (north, (split_name, p_north)), (south, (_, p_south)) = lo_feeds
    lo_split = device(split_name)
    _place(lo_split, p_north, north, lambda r: r.ports[p_south].center[1] < r.ports[p_north].center[1])
    if not _same_port(lo_split.ports[p_south], south):
        raise RuntimeError("mdpu: the hybrid's two halves do not close on lo_split")
    if max(hybrid_um) - min(hybrid_um) > 1e-9:
        raise RuntimeError(f"mdpu: the four hybrid routes differ in length: {hybrid_um}")
    for name in DETECTORS:
        (feed,) = FRONT_DEVICE[name].feeds
        c.add_ref(cells.photodetector(), name=name).connect(feed.port, at(feed.source))

    box = c.dbbox()
    matched = lo_path == "matched"
    r_lo = LN_RADIUS_UM if matched else radius
    x_end = box.right + clearance_um + r_lo
    y_lane = box.bottom - clearance_um - r_lo
    (lo_route_feed,) = FRONT_DEVICE[split_name].feeds
    start, finish = at(lo_route_feed.source), lo_split.ports[lo_route_feed.port]
    (xs, ys), (xf, yf) = start.center, finish.center
    corners = _lo_corners((xs, ys), (xf, yf), x_end, y_lane, r_lo, lo_spiral_pitch_um, lo_route_um if matched else 0.0)
    steps = _manhattan((xs, ys), (1, 0), corners, (xf, yf), r_lo)
    end, lo_route = _route(c, lo_route_feed.route[0], start, steps, dict(lo_waveguide), r_lo)
    if not _same_port(end, finish):
        raise RuntimeError("mdpu: the LO route does not end at lo_split")

    c.add_port("o1", port=src.ports[dict(src_d.ports)["in"]])
    for ref in c.insts:
        _expose_electrical(c, ref, f"{ref.name}_")
    c.info["lo_route_um"] = lo_route
    c.info["hybrid_route_um"] = hybrid_um[0]
    return c


def _lo_corners(start, finish, x_end: float, y_lane: float, radius: float, pitch: float, length_um: float) -> list:
    """Corners of the LO route: down to the lane under the row, east, up to lo_split; with a spiral in the lane
    where ``length_um`` > 0, sized so that the route is that long (to the drawing grid). A row too short to hold
    the spiral (a few compact MMUs) has its lane extended east until the spiral fits."""
    (xs, ys), (_, yf) = start, finish
    direct = [(xs + radius, ys), (xs + radius, y_lane), (x_end, y_lane), (x_end, yf)]
    if length_um <= 0:
        return direct
    spiral_height = 2 * (radius + 2 * pitch) * 8  # extend the lane rather than stack more than ~8 loops
    while True:
        found = _spiral_route(start, finish, x_end, y_lane, radius, pitch, length_um, max_height=spiral_height)
        if found is not None:
            return found
        x_end += length_um / (4 * 8)  # a longer lane: each loop of the spiral gains about four times this


def _spiral_route(start, finish, x_end, y_lane, radius, pitch, length_um, max_height) -> list | None:
    """:func:`_lo_corners` for one lane length; None where no spiral of at most ``max_height`` fits it."""
    (xs, ys), (_, yf) = start, finish
    direct = [(xs + radius, ys), (xs + radius, y_lane), (x_end, y_lane), (x_end, yf)]
    x0, x1 = xs + 3 * radius, x_end - 2 * radius  # room for the spiral along the lane
    cx, room = (x0 + x1) / 2, (x1 - x0) / 2

    def corners(loops: int, half_width: float) -> list:
        spiral = _spiral_corners(cx, y_lane, half_width, loops, pitch, radius)
        # on the drawing grid, so that the pieces' rounded lengths add up to the corners exactly
        return [(round(x, 3), round(y, 3)) for x, y in (*direct[:2], *spiral, (x_end, spiral[-1][1]), (x_end, yf))]

    def length(loops: int, half_width: float) -> float:
        return _path_um([start, *corners(loops, half_width), finish], radius)

    def smallest_of(loops: int) -> float:
        return 2 * pitch * loops + 2 * radius  # the innermost line of the spiral needs two bends' room

    loops = 1
    while 2 * (radius + 2 * pitch * loops) <= max(max_height, 2 * (radius + 2 * pitch)):
        if smallest_of(loops) <= room and length(loops, smallest_of(loops)) <= length_um <= length(loops, room):
            smallest = smallest_of(loops)
            a, b = length(loops, smallest), length(loops, room)
            half_width = smallest + (length_um - a) * (room - smallest) / (b - a)  # the length is linear in it
            return corners(loops, half_width)
        loops += 1
    return None


@gf.cell
def tile(mdpus: tuple = (mdpu_spec(MdpuDesign()),), rows: int = 1, row_gap_um: float = _FP.row_gap_um) -> gf.Component:
    """R rows of MDPUs per modulus, stacked; one optical input per row, every drive and heater a port.

    ```
        o1 ─[ MDPU, modulus m1, row 0 ]      rows are instances m{m}_r{r}; optical
        o2 ─[ MDPU, modulus m1, row 1 ]      inputs o1, o2, ... in that order;
        ...                                  electrical ports m{m}_r{r}_<device>_e<k>
        oN ─[ MDPU, modulus mK, row R-1 ]
    ```
    ``mdpus`` holds one :func:`mdpu_spec` per modulus.
    """
    c = gf.Component()
    y, inputs = 0.0, []
    for spec in mdpus:
        cell = mdpu(**dict(spec))
        modulus = dict(dict(spec)["mmu_design"])["modulus"]
        box, o1 = cell.dbbox(), cell.ports["o1"]
        for r in range(rows):
            ref = c.add_ref(cell, name=f"m{modulus}_r{r}")
            ref.dmove((-o1.center[0], round(y - box.bottom, 3)))
            inputs.append([f"o{len(inputs) + 1}", modulus, r])
            c.add_port(inputs[-1][0], port=ref.ports["o1"])
            _expose_electrical(c, ref, f"m{modulus}_r{r}_")
            y += box.height() + row_gap_um
    c.info["inputs"] = inputs  # [port, modulus, row] of every optical input
    return c


# --- from designs to cells ------------------------------------------------------------------


def mdpu_cell(design: MdpuDesign, floorplan: Floorplan = Floorplan()) -> gf.Component:
    return mdpu(**dict(_placed_spec(design, floorplan)))


def _placed_spec(design: MdpuDesign, floorplan: Floorplan) -> tuple:
    """:func:`mdpu_spec` with the LO route's length where the layout sets it (a matched LO)."""
    return (*mdpu_spec(design, floorplan), ("lo_route_um", matched_lo_route_um(design, floorplan)))


def tile_cell(designs, rows: int, floorplan: Floorplan = Floorplan()) -> gf.Component:
    """The tile of R rows per design (one design per modulus)."""
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise UsageError(f"rows must be an integer >= 1 (got {rows!r})")
    return tile(tuple(_placed_spec(d, floorplan) for d in designs), int(rows), floorplan.row_gap_um)


def _routed(design: MdpuDesign, info) -> MdpuDesign:
    lo_waveguide = None if design.lo_path == "direct" else design.lo_route_waveguide
    routes = replace(
        design.routes,
        lo_um=float(info["lo_route_um"]),
        hybrid_um=float(info["hybrid_route_um"]),
        lo_waveguide=lo_waveguide,
    )
    return replace(design, routes=routes)


def layout_design(design: MdpuDesign, floorplan: Floorplan = Floorplan()) -> MdpuDesign:
    """The design with the routes this layout draws: the schematic the layout must match."""
    return _routed(design, mdpu_cell(design, floorplan).info)


def matched_lo_route_um(design: MdpuDesign, floorplan: Floorplan = Floorplan()) -> float:
    """Length of the LO route whose group delay equals the signal arm's (0 for a direct LO: the layout decides).

    The LO route drawn direct in the LN ridge gives both arms' group delays
    (:func:`circuits.compiled.arm_group_delays_s`, the signal arm at the drive levels furthest from the LO); the
    route then grows by the mismatch times c/n_g. What remains is the signal arm's level-dependent delay
    (phase/omega of its Pockels phases, below 0.1 ps), which no fixed length matches for every input.
    """
    if design.lo_path == "direct":
        return 0.0
    key = replace(design, lo_bias_power_mw=None, routes=replace(design.routes, lo_um=0.0, hybrid_um=0.0))
    return _matched_lo_route_um(key, floorplan)


@lru_cache(maxsize=32)
def _matched_lo_route_um(design: MdpuDesign, floorplan: Floorplan) -> float:
    from circuits.compiled import arm_group_delays_s
    from circuits.mdpu import with_lo_bias
    from photonics.constants import C_UM_PER_S

    direct = _routed(design, mdpu(**dict(mdpu_spec(design, floorplan))).info)
    signal_s, lo_s = arm_group_delays_s(with_lo_bias(direct, 0.0))
    return direct.routes.lo_um + (signal_s - lo_s) * C_UM_PER_S / design.lo_route_waveguide.ng


# --- the device list --------------------------------------------------------------------------


def _record(inst, trans, **where) -> dict:
    box = inst.cell.dbbox().transformed(trans)
    return {
        "cell": inst.cell.function_name,
        "gds_cell": inst.cell.name,
        "x_um": round(box.center().x, 3),
        "y_um": round(box.center().y, 3),
        "bbox_um": [round(v, 3) for v in (box.left, box.bottom, box.right, box.top)],
        "rotation_deg": round(trans.angle, 6),
        "mirror": bool(trans.is_mirror()),
        **where,
    }


def device_records(tile_component: gf.Component) -> tuple[list[dict], list[dict]]:
    """(devices, routes) of a tile: every device with position and tile coordinates; each route's length.

    A device's (x_um, y_um) is the centre of its bounding box in tile coordinates;
    ``j`` is the MMU's place along the arm and ``b`` the segment, None where they do not apply.
    """
    devices, routes = [], []
    for row in tile_component.insts:
        modulus, r = (int(v[1:]) for v in row.name.split("_"))
        t_row = row.dcplx_trans
        route_len: dict[str, float] = {}
        for inst in row.cell.insts:
            base = {"modulus": modulus, "row": r, "j": None, "b": None}
            if inst.name.startswith("mmu"):
                j = int(inst.name[3:])
                t_mmu = t_row * inst.dcplx_trans
                for dev in inst.cell.insts:
                    b = int(dev.name[3:]) if dev.name.startswith("seg") else None
                    role = "segment" if b is not None else "mmu_heater"
                    name = f"m{modulus}/r{r}/mmu{j}/{dev.name}"
                    devices.append(
                        {
                            "name": name,
                            **_record(dev, t_mmu * dev.dcplx_trans, **{**base, "j": j, "b": b, "role": role}),
                        }
                    )
            elif inst.cell.function_name in ROUTE_CELLS:
                key = inst.name.rsplit("_", 1)[0]
                route_len[key] = route_len.get(key, 0.0) + float(
                    pdk.model_settings(inst.cell.function_name, inst.cell.settings.model_dump())[1]["length_um"]
                )
            else:
                devices.append(
                    {
                        "name": f"m{modulus}/r{r}/{inst.name}",
                        **_record(inst, t_row * inst.dcplx_trans, **base, role=FRONT_ROLES[inst.name]),
                    }
                )
        routes += [
            {"name": f"m{modulus}/r{r}/{k}", "modulus": modulus, "row": r, "length_um": round(v, 6)}
            for k, v in route_len.items()
        ]
    return devices, routes


def _leaf_count(tile_component: gf.Component) -> tuple[int, int]:
    """(device instances, route pieces) in the whole hierarchy."""
    counts = {"device": 0, "route": 0}

    def walk(cell, n):
        for inst in cell.insts:
            if inst.cell.insts:
                walk(inst.cell, n)
            else:
                counts["route" if inst.cell.function_name in ROUTE_CELLS else "device"] += n

    walk(tile_component, 1)
    return counts["device"], counts["route"]


def write_tile(path, designs, rows: int, floorplan: Floorplan = Floorplan()) -> dict:
    """Write the tile's GDS to ``path`` and its device list beside it (same path, .json); return a summary."""
    path = Path(path)
    if path.suffix.lower() != ".gds":
        raise UsageError(f"the layout file must end in .gds (got {str(path)!r})")
    t0 = time.perf_counter()
    component = tile_cell(designs, rows, floorplan)
    path.parent.mkdir(parents=True, exist_ok=True)
    component.write_gds(path)
    devices, routes = device_records(component)
    box = component.dbbox()
    summary = {
        "gds": str(path),
        "json": str(path.with_suffix(".json")),
        "moduli": [d.modulus for d in designs],
        "rows": int(rows),
        "h": designs[0].h if len({d.h for d in designs}) == 1 else [d.h for d in designs],
        "cells": len(component.called_cells()) + 1,
        "instances": len(devices),
        "route_pieces": _leaf_count(component)[1],
        "width_um": round(box.width(), 3),
        "height_um": round(box.height(), 3),
        "gds_bytes": path.stat().st_size,
    }
    inputs = []
    for port, modulus, row in component.info["inputs"]:
        x, y = component.ports[port].center
        inputs.append({"port": port, "modulus": modulus, "row": row, "x_um": round(x, 3), "y_um": round(y, 3)})
    sidecar = {**summary, "inputs": inputs, "routes": routes, "devices": devices}
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary


# --- reading the positions back -----------------------------------------------------------


def load_positions(path) -> list[dict]:
    """Every device of a tile's JSON sidecar (or of the .gds beside it): name, cell, role, position, tile coordinates."""
    path = Path(path)
    if path.suffix.lower() == ".gds":
        path = path.with_suffix(".json")
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read layout positions {path}: {exc.strerror}") from None
    return data["devices"]


def positions_by_key(devices: list[dict], role: str = "segment") -> dict[tuple, tuple[float, float]]:
    """(modulus, row, j, b) -> (x_um, y_um) of the devices with this role (j, b None where they do not apply)."""
    return {(d["modulus"], d["row"], d["j"], d["b"]): (d["x_um"], d["y_um"]) for d in devices if d["role"] == role}


@dataclass(frozen=True)
class TilePositions:
    """Device centres (um, tile coordinates) of one modulus, as arrays a variation model can use."""

    segment_xy: np.ndarray  # (R, h, B, 2): segment b of MMU j of row r (EO segment or ring)
    heater_xy: np.ndarray  # (R, h, 2): each MMU's bias heater
    front_xy: np.ndarray  # (R, len(FRONT), 2): circuits.mdpu's front-end devices, in FRONT order


def tile_positions_um(devices: list[dict], modulus: int) -> TilePositions:
    """The positions of one modulus's devices from a device list (:func:`load_positions`)."""
    mine = [d for d in devices if d["modulus"] == modulus]
    segs = [d for d in mine if d["role"] == "segment"]
    if not segs:
        raise UsageError(f"no segments of modulus {modulus} in the layout")
    rows, h, b = (max(d[k] for d in segs) + 1 for k in ("row", "j", "b"))
    out = TilePositions(
        np.full((rows, h, b, 2), np.nan), np.full((rows, h, 2), np.nan), np.full((rows, len(FRONT), 2), np.nan)
    )
    for d in mine:
        xy, name = (d["x_um"], d["y_um"]), d["name"].rsplit("/", 1)[1]
        if d["role"] == "segment":
            out.segment_xy[d["row"], d["j"], d["b"]] = xy
        elif d["role"] == "mmu_heater":
            out.heater_xy[d["row"], d["j"]] = xy
        else:
            out.front_xy[d["row"], FRONT.index(name)] = xy
    if any(np.isnan(a).any() for a in (out.segment_xy, out.heater_xy, out.front_xy)):
        raise UsageError(f"the layout's device list is incomplete for modulus {modulus}")
    return out
