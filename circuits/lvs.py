"""Layout versus schematic for the MDPU: extract the layout's netlist, solve it, compare fields.

1. gdsfactory extracts the netlist of the MDPU cell (``get_netlist_recursive``):
   instances, and which optical ports touch (position, width, facing).
   Electrical ports are left out; an optical port that touches nothing fails.
2. Each leaf cell becomes its sax model (``photonics.pdk.model_settings``):
   every setting must be a model argument or a declared layout argument, and
   every model argument must be recorded. Settings are read from the cells
   themselves: gdsfactory's netlist rounds floats (``np.round``, not exact),
   which would shift a 15 cm segment's phase by ~1e-10 rad. Route bends become
   straights of their arc length. Each photodetector (a matched load) becomes a
   circuit port named after it: the field it absorbs is the field leaving there.
3. ``sax.circuit`` solves it with the operating point of the schematic (drive
   voltages from the residues, heater powers) applied by instance name, and the
   detector fields per unit input field are compared with
   :class:`circuits.mdpu.SaxMdpu` of the design with the layout's routes
   (:func:`circuits.layout.layout_design`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from gdsfactory.get_netlist import SmartPortMatcher, get_netlist_recursive

from circuits.layout import Floorplan, layout_design, mdpu_cell
from circuits.mdpu import DETECTORS, MdpuDesign, MdpuRoutes, SaxMdpu, mdpu_netlist, solve_netlist, with_lo_bias
from photonics import pdk
from photonics.layers import LAYER

TOP = "top_level"
_SMART = SmartPortMatcher()


def _optical_match(p1, p2) -> bool:
    return p1.port_type == "optical" and p2.port_type == "optical" and _SMART(p1, p2)


def _instances(cell) -> dict:
    return {inst.name: inst for inst in cell.insts}


def extract_netlist(component) -> dict:
    """The sax netlist of a layout cell: {"top_level": ..., sub-circuit name: ...}, validated.

    Raises ValueError for a cell without a model, a setting no model takes, or
    an optical port of an instance that touches nothing.
    """
    import photonics

    raw = get_netlist_recursive(component, on_dangling_port="ignore", port_matcher=_optical_match)
    top_key = next(iter(raw))
    gf_cells = {top_key: component}
    out = {}
    for key, net in raw.items():
        cell = gf_cells[key]
        by_name = _instances(cell)
        instances, detectors = {}, []
        for name, inst in net["instances"].items():
            comp = inst["component"]
            if comp in raw:
                gf_cells[comp] = by_name[name].cell
                instances[name] = {"component": TOP if comp == top_key else comp}
                continue
            model, settings = pdk.model_settings(comp, by_name[name].cell.settings.model_dump())
            photonics.get_device(model).params.from_settings(f"{key}/{name} ({comp})", settings)  # ranges
            if photonics.get_device(model).kind == "receiver":
                detectors.append(name)
            else:
                instances[name] = {"component": model, "settings": settings}
        connections = {n["p1"]: n["p2"] for n in net["nets"]}
        ports = {p: q for p, q in net["ports"].items() if not q.startswith(tuple(f"{d}," for d in detectors))}
        for det in detectors:
            pairs = [(a, b) for a, b in connections.items() if f"{det},o1" in (a, b)]
            if len(pairs) != 1:
                raise ValueError(f"{key}: detector {det} is not connected to exactly one port")
            a, b = pairs[0]
            del connections[a]
            ports[det] = b if a == f"{det},o1" else a
        _check_connected(key, cell, connections, ports, set(detectors))
        out[TOP if key == top_key else key] = {"instances": instances, "connections": connections, "ports": ports}
    return out


def _check_connected(key: str, cell, connections: dict, ports: dict, detectors: set) -> None:
    used = set(connections) | set(connections.values()) | set(ports.values())
    for inst in cell.insts:
        if inst.name in detectors:
            continue
        for p in inst.ports:
            if p.port_type == "optical" and f"{inst.name},{p.name}" not in used:
                raise ValueError(f"{key}: optical port {inst.name},{p.name} touches nothing")


def operating_point(design: MdpuDesign, x, w, lo_bias_power_mw: float) -> dict:
    """Per-instance settings the circuit runs with: drive voltages for residues x, w and heater powers.

    Heater powers are those of the schematic netlist (mdpu_netlist), by instance
    name; the drives follow ``MmuDesign.segment_levels``, as SaxMdpu does.
    """
    x, w = design.check_residues(x, w)
    schematic = mdpu_netlist(with_lo_bias(design, lo_bias_power_mw), lo_bias_power_mw)
    settings = {}
    for name, inst in schematic["top_level"]["instances"].items():
        if isinstance(inst, dict) and inst["component"] == "heater":
            settings[name] = {"power_mw": inst["settings"]["power_mw"]}
    mmu_heater = schematic["mmu"]["instances"]["heater"]["settings"]["power_mw"]
    volts = design.mmu.level_voltages_v()[design.mmu.segment_levels(x, w)]  # (..., h, B)
    for j in range(design.h):
        settings[f"mmu{j}"] = {"heater": {"power_mw": mmu_heater}}
        settings[f"mmu{j}"].update({f"seg{b}": {"voltage_v": volts[..., j, b]} for b in range(volts.shape[-1])})
    return settings


@lru_cache(maxsize=8)
def _layout_circuit(design: MdpuDesign, floorplan: Floorplan):
    """The extracted netlist of the design's MDPU layout and its jitted sax circuit (built once)."""
    netlist = extract_netlist(mdpu_cell(design, floorplan))
    return netlist, solve_netlist(netlist)


def layout_fields(design: MdpuDesign, x, w, lo_bias_power_mw: float, floorplan: Floorplan = Floorplan()) -> np.ndarray:
    """Detector fields (i_p, i_n, q_p, q_n) per unit input field of the MDPU's layout, shape (..., 4)."""
    x, w = design.check_residues(x, w)
    _, circuit = _layout_circuit(_layout_key(design), floorplan)
    s = circuit(wl=design.wl_um, **operating_point(design, x, w, lo_bias_power_mw))
    return np.stack([np.broadcast_to(np.asarray(s[(d, "o1")]), x.shape[:-1]) for d in DETECTORS], axis=-1)


def _layout_key(design: MdpuDesign) -> MdpuDesign:
    """The design without what the layout does not depend on (operating point, routes)."""
    return replace(design, lo_bias_power_mw=None, routes=MdpuRoutes(waveguide=design.routes.waveguide))


def schematic_fields(
    design: MdpuDesign, x, w, lo_bias_power_mw: float, floorplan: Floorplan = Floorplan()
) -> np.ndarray:
    """Detector fields of the schematic with the layout's routes (SaxMdpu), shape (..., 4)."""
    routed = layout_design(_layout_key(design), floorplan)
    return SaxMdpu(with_lo_bias(routed, lo_bias_power_mw)).detector_fields(x, w)


def segment_lengths_um(netlist: dict) -> np.ndarray:
    """Electrode lengths of the MMU's segments, read from the extracted netlist (straight element)."""
    (mmu,) = [net for key, net in netlist.items() if key != TOP]
    segs = sorted((int(n[3:]), inst) for n, inst in mmu["instances"].items() if n.startswith("seg"))
    return np.array([inst["settings"]["length_um"] for _, inst in segs])


def electrode_length_um(cell) -> float:
    """Electrode length of an EO segment cell measured on its drawing: half the summed strip lengths.

    Each section has a signal and a ground strip as long as the section.
    """
    import klayout.db as kdb

    layout = cell.kcl.layout
    region = kdb.Region(cell.kdb_cell.begin_shapes_rec(layout.layer(*LAYER.ELECTRODE)))
    return sum(p.bbox().height() for p in region.each()) * layout.dbu / 2


@dataclass(frozen=True)
class LvsReport:
    """What the LVS compared: fields of layout and schematic, and segment lengths."""

    design: MdpuDesign  # the schematic: the design with the layout's routes
    layout_fields: np.ndarray  # (..., 4)
    schematic_fields: np.ndarray  # (..., 4)
    segment_lengths_um: np.ndarray  # from the layout's netlist (empty for rings)
    electrode_lengths_um: np.ndarray  # measured on the drawn electrodes (empty for rings)

    @property
    def max_field_error(self) -> float:
        return float(np.abs(self.layout_fields - self.schematic_fields).max())


def lvs_mdpu(design: MdpuDesign, x, w, lo_bias_power_mw: float = 0.0, floorplan: Floorplan = Floorplan()) -> LvsReport:
    """Compare the MDPU's layout with its schematic for residues x, w (..., h) and one LO bias power."""
    key = _layout_key(design)
    netlist, _ = _layout_circuit(key, floorplan)
    lay = layout_fields(design, x, w, lo_bias_power_mw, floorplan)
    sch = schematic_fields(design, x, w, lo_bias_power_mw, floorplan)
    lengths = electrodes = np.array([])
    if design.mmu.element_rules.sectioned_electrodes:
        lengths = segment_lengths_um(netlist)
        mmu = _instances(mdpu_cell(key, floorplan))["mmu0"].cell
        segs = _instances(mmu)
        electrodes = np.array([electrode_length_um(segs[f"seg{b}"].cell) for b in range(design.mmu.segments)])
    return LvsReport(layout_design(key, floorplan), lay, sch, lengths, electrodes)
