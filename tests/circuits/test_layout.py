"""Layout of the tile: GDS read back by KLayout, device list and positions, routes in the schematic."""

import collections
import json
import math

import klayout.db as kdb
import numpy as np
import pytest

from circuits.layout import (
    Floorplan,
    layout_design,
    load_positions,
    mdpu_cell,
    positions_by_key,
    tile_positions_um,
    write_tile,
)
from circuits.mdpu import FRONT, MdpuDesign, mdpu_netlist
from circuits.mmu import MmuDesign
from photonics.layers import LAYER

FRONT_END = {"splitter": 3, "mmi2x2": 2, "photodetector": 4, "heater": 3}  # per row, besides the MMUs


def designs(moduli, h, **mmu):
    return [MdpuDesign(mmu=MmuDesign(modulus=m, **mmu), h=h) for m in moduli]


def read_gds(path):
    layout = kdb.Layout()
    layout.read(str(path))
    return layout


def leaf_instances(layout):
    """(family, bbox centre in top coordinates) of every leaf instance, family = cell name up to its settings."""
    out = []
    it = layout.top_cell().begin_instances_rec()
    while not it.at_end():
        cell = layout.cell(it.inst_cell().cell_index())
        if cell.child_cells() == 0:
            family = next(f for f in FAMILIES if cell.name.startswith(f + "_"))
            box = cell.dbbox().transformed(it.dtrans() * it.inst_dtrans())
            out.append((family, (round(box.center().x, 3), round(box.center().y, 3))))
        it.next()
    return out


FAMILIES = (
    "phase_shifter_eo",
    "ring_allpass",
    "heater",
    "splitter",
    "mmi2x2",
    "photodetector",
    "straight",
    "bend_circular",
)


@pytest.mark.parametrize(
    "rows, h, moduli", [(1, 1, (31,)), (2, 3, (31,)), (3, 4, (31,)), (1, 1, (31, 32, 33)), (3, 4, (31, 32, 33))]
)
def test_gds_reads_back_with_the_expected_cells_and_instances(tmp_path, rows, h, moduli):
    summary = write_tile(tmp_path / "tile.gds", designs(moduli, h, encoding="digital-product"), rows)
    layout = read_gds(tmp_path / "tile.gds")
    assert layout.cells() == summary["cells"]
    assert len(list(layout.each_top_cell())) == 1
    segments = {m: math.ceil(math.log2(m)) for m in moduli}
    names = [c.name for c in layout.each_cell()]
    assert sum(n.startswith("mdpu_") for n in names) == sum(n.startswith("mmu_") for n in names) == len(moduli)
    # one cell per distinct segment length: the digital-product digits 1, 2, .., 2**(B-2) and m - 2**(B-1)
    # units (m = 33: 1, 2, 4, 8, 16 and 1, so two segments share a cell)
    digits = {m: {*(2**b for b in range(segments[m] - 1)), m - 2 ** (segments[m] - 1)} for m in moduli}
    assert sum(n.startswith("phase_shifter_eo_") for n in names) == sum(len(d) for d in digits.values())
    counts = collections.Counter(family for family, _ in leaf_instances(layout))
    assert counts["phase_shifter_eo"] == rows * h * sum(segments.values())
    assert counts["heater"] == rows * len(moduli) * (h + FRONT_END["heater"])
    for family in ("splitter", "mmi2x2", "photodetector"):
        assert counts[family] == rows * len(moduli) * FRONT_END[family]
    assert counts["bend_circular"] == rows * len(moduli) * (4 + 4)  # hybrid quarter bends, LO route corners
    devices = sum(v for k, v in counts.items() if k not in ("straight", "bend_circular"))
    assert devices == summary["instances"] == rows * sum(h * (1 + b) + 12 for b in segments.values())
    assert counts["straight"] + counts["bend_circular"] == summary["route_pieces"]


def test_json_sidecar_lists_every_device_where_the_gds_has_it(tmp_path):
    summary = write_tile(tmp_path / "t.gds", designs((31, 32, 33), 3), 2)
    data = json.loads((tmp_path / "t.json").read_text())
    devices = data["devices"]
    assert len(devices) == summary["instances"] and data["moduli"] == [31, 32, 33]
    gds = collections.Counter(
        leaf for leaf in leaf_instances(read_gds(tmp_path / "t.gds")) if leaf[0] not in ("straight", "bend_circular")
    )
    listed = collections.Counter((d["cell"], (d["x_um"], d["y_um"])) for d in devices)
    assert listed == gds  # same cells at the same places
    for d in devices:
        assert {"name", "cell", "x_um", "y_um", "modulus", "row", "j", "b", "role"} <= set(d)
    segs = positions_by_key(devices, "segment")
    assert len(segs) == 2 * 3 * (5 + 5 + 6)
    assert set(d["role"] for d in devices) == {
        "segment",
        "mmu_heater",
        "source_splitter",
        "lo_bias",
        "lo_splitter",
        "hybrid_heater",
        "signal_splitter",
        "hybrid",
        "detector",
    }
    assert [(i["modulus"], i["row"]) for i in data["inputs"]] == [(m, r) for m in (31, 32, 33) for r in range(2)]
    assert {r["name"].rsplit("/", 1)[1] for r in data["routes"]} == {
        "route_lo",
        "route_sig_i",
        "route_sig_q",
        "route_lo_i",
        "route_lo_q",
    }


def test_positions_read_back_as_arrays_for_a_variation_model(tmp_path):
    write_tile(tmp_path / "t.gds", designs((31, 32), 4), 3)
    devices = load_positions(tmp_path / "t.gds")
    assert devices == load_positions(tmp_path / "t.json")
    p = tile_positions_um(devices, 31)
    assert p.segment_xy.shape == (3, 4, 5, 2) and p.heater_xy.shape == (3, 4, 2) and p.front_xy.shape == (3, 12, 2)
    along = np.concatenate([p.heater_xy[:, :, None, 0], p.segment_xy[..., 0]], axis=2).reshape(3, -1)
    assert np.all(np.diff(along, axis=1) > 0)  # heater then segments, MMU after MMU, along the arm
    assert np.all(np.diff(p.heater_xy[:, 0, 1]) > 0)  # rows stacked
    front = dict(zip(FRONT, p.front_xy[0]))
    assert (
        front["src"][0]
        < p.heater_xy[0, 0, 0]
        < p.segment_xy[0, -1, -1, 0]
        < front["sig_split"][0]
        < front["lo_split"][0]
    )
    assert front["i_p"][1] > front["sig_split"][1] > front["q_p"][1]  # I above the signal lane, Q below
    assert np.all(tile_positions_um(devices, 32).segment_xy[..., 1] > p.segment_xy[..., 1].max())  # next modulus above
    with pytest.raises(ValueError, match="no segments of modulus 33"):
        tile_positions_um(devices, 33)


def test_default_chip_fits_gds_coordinates_and_folds_its_segments(tmp_path):
    summary = write_tile(tmp_path / "chip.gds", designs((31, 32, 33), 16), 16)
    layout = read_gds(tmp_path / "chip.gds")
    box = layout.top_cell().bbox()
    assert max(abs(box.left), abs(box.right), abs(box.top), abs(box.bottom)) < 2**31 - 1  # int32 nm
    assert summary["width_um"] < 0.3e6 and summary["height_um"] < 0.3e6
    assert summary["instances"] == 16 * (2 * (16 * 6 + 12) + 16 * 7 + 12)


def test_flattened_mdpu_has_no_waveguides_overlapping_between_devices():
    for mmu in (MmuDesign(), MmuDesign(element="ring-assisted")):
        cell = mdpu_cell(MdpuDesign(mmu=mmu, h=2))
        layout = cell.kcl.layout
        region = kdb.Region(cell.kdb_cell.begin_shapes_rec(layout.layer(*LAYER.WG)))
        assert sum(p.area2() for p in region.each()) == sum(p.area2() for p in region.each_merged())
        assert region.space_check(150, False, kdb.Region.Projection, 80).is_empty()


def test_default_schematic_has_no_routes_and_the_layout_design_has_them():
    plain = mdpu_netlist(MdpuDesign(h=2), 0.0)["top_level"]
    assert not any(name.startswith("route") for name in plain["instances"])
    assert plain["connections"]["lo_bias,o2"] == "lo_split,o1"
    routed = layout_design(MdpuDesign(h=2))
    radius = Floorplan().route_radius_um
    assert routed.routes.hybrid_um == pytest.approx(math.pi * radius / 2)
    width = mdpu_cell(MdpuDesign(h=2)).dbbox().width()
    assert width < routed.routes.lo_um < 1.2 * width  # the LO runs the length of the row
    net = mdpu_netlist(routed, 0.0)["top_level"]
    routes = {n: i["settings"]["length_um"] for n, i in net["instances"].items() if n.startswith("route")}
    assert routes == {
        "route_lo": routed.routes.lo_um,
        **{f"route_{a}_{b}": routed.routes.hybrid_um for a in ("sig", "lo") for b in "iq"},
    }
    assert net["connections"]["lo_bias,o2"] == "route_lo,o1" and net["connections"]["route_lo,o2"] == "lo_split,o1"


def test_write_tile_refuses_a_file_that_is_not_gds(tmp_path):
    with pytest.raises(ValueError, match="must end in .gds"):
        write_tile(tmp_path / "t.json", designs((31,), 1), 1)
    with pytest.raises(ValueError, match="rows must be an integer >= 1"):
        write_tile(tmp_path / "t.gds", designs((31,), 1), 0)
