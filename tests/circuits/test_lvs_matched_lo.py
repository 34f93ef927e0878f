"""The path-matched LO: an LN delay line in the LO arm, drawn as a spiral, whose group delay equals the signal arm's."""

import dataclasses

import klayout.db as kdb
import numpy as np
import pytest

from circuits.compiled import compile_mdpu
from circuits.layout import Floorplan, device_records, layout_design, matched_lo_route_um, mdpu_cell, tile_cell
from circuits.lvs import lvs_mdpu
from circuits.mdpu import LO_ROUTE, MdpuDesign
from circuits.mmu import MmuDesign
from photonics.cells.cross_sections import LN_RADIUS_UM
from photonics.constants import C_UM_PER_S
from photonics.errors import UsageError
from photonics.layers import LAYER

MATCHED = MdpuDesign(mmu=MmuDesign(modulus=31, encoding="digital-product"), h=4, lo_path="matched")


def _eo_phase_bound_s(design: MdpuDesign) -> float:
    """Largest delay no fixed LO length matches: every segment's Pockels phase at full swing over omega (the drive
    levels' own delay) plus the LO bias heater's trim, at most 2*pi, over omega."""
    eo, mmu = design.mmu.eo, design.mmu
    swing = np.ptp(mmu.level_voltages_v())
    phase = np.pi * swing * mmu.segment_lengths_um() * 1e-4 / eo.vpil_v_cm
    omega = 2 * np.pi * C_UM_PER_S / design.wl_um
    return (design.h * float(phase.sum()) + 2 * np.pi) / omega


def test_a_matched_lo_leaves_only_the_level_dependent_delay():
    routed = layout_design(MATCHED)
    mismatch = compile_mdpu(routed).delay_mismatch_s()
    direct = compile_mdpu(layout_design(dataclasses.replace(MATCHED, lo_path="direct"))).delay_mismatch_s()
    assert abs(direct) > 100e-12  # the direct LO is far off: the signal arm is centimetres of LN
    assert abs(mismatch) <= _eo_phase_bound_s(MATCHED) + 1e-15
    assert abs(mismatch) > 0  # the drive levels' own delay remains
    assert routed.routes.lo_um == pytest.approx(matched_lo_route_um(MATCHED), abs=0.05)


def test_the_delay_line_is_the_signal_arms_ln_guide_and_its_length_is_drawn():
    routed = layout_design(MATCHED)
    eo, lo = MATCHED.mmu.eo, routed.routes.waveguide_of(LO_ROUTE)
    assert (lo.ng, lo.neff, lo.loss_db_cm, lo.dn_dt_per_k) == (eo.ng, eo.neff, eo.loss_db_cm, eo.dn_dt_per_k)
    assert routed.routes.waveguide_of("route_sig_i") == MATCHED.routes.waveguide  # the hybrid routes stay strip
    # the delay line holds the extra path: the signal arm's delay over n_g, less the LO's other parts
    assert routed.routes.lo_um > MATCHED.h * np.sum(MATCHED.mmu.segment_lengths_um()) * 0.5
    _, routes = device_records(tile_cell([MATCHED], 1))
    (drawn,) = [r["length_um"] for r in routes if r["name"].endswith("/" + LO_ROUTE)]
    assert drawn == pytest.approx(routed.routes.lo_um, abs=1e-5)
    cell = mdpu_cell(MATCHED)
    radii = {
        i.cell.settings["radius_um"]
        for i in cell.insts
        if i.name.rsplit("_", 1)[0] == LO_ROUTE and "radius_um" in i.cell.settings
    }
    assert radii == {LN_RADIUS_UM}


def test_the_spiral_does_not_overlap_itself_and_keeps_its_pitch():
    cell = mdpu_cell(MATCHED)
    layout = cell.kcl.layout
    layer = layout.layer(*LAYER.WG)
    pieces = [i for i in cell.insts if i.name.rsplit("_", 1)[0] == LO_ROUTE]
    region = kdb.Region()
    area = 0.0
    for inst in pieces:
        r = kdb.Region(inst.cell.kdb_cell.begin_shapes_rec(layer)).transformed(inst.trans)
        area += r.area()
        region += r
    merged = region.merged()
    assert merged.area() == pytest.approx(area, rel=1e-4)  # no piece overlaps another: no crossing
    # Facing edges (projection metric: the S at the centre faces nothing) keep the pitch less the guide's width;
    # two corners of one radius, a pitch apart diagonally, come within 0.94 of it near their ends.
    gap_um = 0.9 * Floorplan().lo_spiral_pitch_um - 0.5
    assert merged.space_check(round(gap_um / layout.dbu), False, kdb.Metrics.Projection).count() == 0
    assert (
        merged.space_check(
            round(1.05 * Floorplan().lo_spiral_pitch_um / layout.dbu), False, kdb.Metrics.Projection
        ).count()
        > 0
    )


def test_lvs_passes_with_the_matched_lo():
    rng = np.random.default_rng(3)
    x, w = rng.integers(0, 31, (100, MATCHED.h)), rng.integers(0, 31, (100, MATCHED.h))
    report = lvs_mdpu(MATCHED, x, w, lo_bias_power_mw=4.0)
    assert report.max_field_error < 1e-9
    assert report.design.routes.lo_waveguide is not None


def test_a_direct_lo_is_unchanged_and_lo_path_is_checked():
    direct = layout_design(MdpuDesign(h=2))
    assert direct.routes.lo_waveguide is None and matched_lo_route_um(MdpuDesign(h=2)) == 0.0
    with pytest.raises(UsageError, match="lo_path"):
        MdpuDesign(lo_path="spiral")
