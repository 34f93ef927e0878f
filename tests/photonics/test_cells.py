"""gdsfactory cells and the PDK: names and ports match the models, settings map to model arguments, clean geometry."""

import inspect
import math

import gdsfactory as gf
import klayout.db as kdb
import pytest

import photonics
from circuits.mmu import MmuDesign, default_ring
from photonics import cells, layers, pdk
from photonics.layers import LAYER
from photonics.phase_shifter_eo import PhaseShifterEO

pdk.activate()

DEVICES = ("straight", "coupler", "mmi2x2", "splitter", "phase_shifter_eo", "heater", "ring_allpass", "photodetector")


def optical_ports(component):
    return [p.name for p in component.ports if p.port_type == "optical"]


def model_ports(model: str) -> list[str]:
    s = photonics.models()[model]()
    return sorted({p for pair in s for p in pair}, key=lambda n: int(n[1:]))


@pytest.mark.parametrize("name", DEVICES)
def test_each_device_cell_is_named_after_its_model_with_the_models_ports(name):
    component = cells.CELLS[name]()
    assert component.function_name == name == pdk.CELL_SPECS[name].model
    assert component.name.startswith(name)
    assert sorted(optical_ports(component), key=lambda n: int(n[1:])) == model_ports(name)
    electrical = [p.name for p in component.ports if p.port_type == "electrical"]
    assert electrical == [f"e{i + 1}" for i in range(len(electrical))]


OPERATING = {"phase_shifter_eo": ("voltage_v",), "heater": ("power_mw",), "ring_allpass": ("voltage_v",)}
COMPUTED = {"bend_circular": {"length_um"}}  # a bend's length is its arc length


@pytest.mark.parametrize("name", list(cells.CELLS))
def test_cell_arguments_are_the_model_arguments_plus_layout_arguments_with_the_models_defaults(name):
    spec = pdk.CELL_SPECS[name]
    cell_args = inspect.signature(cells.CELLS[name]).parameters
    model_args = inspect.signature(photonics.models()[spec.model]).parameters
    assert spec.operating == OPERATING.get(name, ())
    assert set(cell_args) & set(model_args) == set(model_args) - {"wl", *spec.operating, *COMPUTED.get(name, ())}
    assert set(spec.layout_args) == set(cell_args) - set(model_args)
    assert all(a.endswith(("_um", "_deg")) for a in spec.layout_args), spec.layout_args  # geometry, in units
    for arg in set(cell_args) & set(model_args):
        assert cell_args[arg].default == model_args[arg].default, arg


def test_model_settings_maps_a_bend_to_a_straight_of_its_arc_length():
    settings = cells.bend_circular(radius_um=12.0, angle_deg=-90.0).settings.model_dump()
    model, out = pdk.model_settings("bend_circular", settings)
    assert model == "straight"
    assert out["length_um"] == pytest.approx(12.0 * math.pi / 2, rel=1e-15)
    assert "radius_um" not in out and "width_um" not in out


def test_model_settings_refuses_unknown_settings_unknown_cells_and_unrecorded_model_arguments():
    settings = cells.heater().settings.model_dump()
    with pytest.raises(ValueError, match="'bogus' is neither a heater argument nor a layout argument"):
        pdk.model_settings("heater", {**settings, "bogus": 1.0})
    with pytest.raises(ValueError, match="not recorded in the cell"):
        pdk.model_settings("heater", {k: v for k, v in settings.items() if k != "p_pi_mw"})
    with pytest.raises(ValueError, match="has no model"):
        pdk.model_settings("taper", {})


def waveguide_region(component) -> tuple[kdb.Region, list[kdb.Polygon]]:
    layout = component.kcl.layout
    region = kdb.Region(component.kdb_cell.begin_shapes_rec(layout.layer(*LAYER.WG)))
    return region, list(region.each())


GEOMETRY_CASES = {
    **{name: cells.CELLS[name]() for name in (*DEVICES, "bend_circular")},
    "eo_longest_default": cells.phase_shifter_eo(length_um=float(MmuDesign().segment_lengths_um()[-1])),
    "ring_default_chip": cells.ring_allpass(**pdk.cell_kwargs("ring_allpass", default_ring().settings())),
    "coupler_weak": cells.coupler(kappa=0.05),
    "bend_right": cells.bend_circular(angle_deg=-90.0),
}


@pytest.mark.parametrize("case", list(GEOMETRY_CASES))
def test_waveguide_layer_has_no_zero_width_no_overlap_and_no_near_touching(case):
    component = GEOMETRY_CASES[case]
    region, polygons = waveguide_region(component)
    assert polygons, "no waveguide drawn"
    assert all(p.area() > 0 for p in polygons)
    merged = sum(p.area2() for p in region.each_merged())  # twice the areas: exact integers
    assert sum(p.area2() for p in polygons) == merged  # an overlap would count twice
    dbu = component.kcl.layout.dbu
    # Edges meeting at 80 degrees or more are not compared: a guide's open end at a port meets its
    # sides at about 90 degrees (a little less on a curve, where the first chord bends inwards).
    assert region.width_check(round(0.45 / dbu), False, kdb.Region.Projection, 80).is_empty()  # guides are 0.5 um
    assert region.space_check(round(0.15 / dbu), False, kdb.Region.Projection, 80).is_empty()  # narrowest gap 0.2 um


def test_eo_segment_folds_a_long_electrode_into_sections_and_keeps_its_length():
    # a long electrode to fold: the longest segment of a binary-length MMU (15.5 cm), in 5 mm sections
    length = float(MmuDesign(encoding="binary-length").segment_lengths_um()[-1])
    sections = cells.eo_sections_um(length, 5000.0)
    assert len(sections) % 2 == 0 and max(sections) <= 5000.0
    assert abs(sum(sections) - length) <= 1.5e-3
    component = cells.phase_shifter_eo(length_um=length, section_max_um=5000.0)
    assert component.settings.model_dump()["length_um"] == length  # the model's length, exactly
    assert component.info["sections"] == len(sections) == 32
    layout = component.kcl.layout
    strips = kdb.Region(component.kdb_cell.begin_shapes_rec(layout.layer(*LAYER.ELECTRODE)))
    assert sum(p.bbox().height() for p in strips.each()) * layout.dbu / 2 == pytest.approx(length, abs=1.5e-3)
    o1, o2 = component.ports["o1"], component.ports["o2"]
    radius = PhaseShifterEO().bend_radius_um
    assert o1.center[1] == o2.center[1] == 0 and o2.center[0] == pytest.approx(2 * radius * len(sections))
    # the drawn guide is the path the model propagates over: the sections plus one half-turn per section
    path_um = length + len(sections) * math.pi * radius
    assert component.info["path_um"] == pytest.approx(path_um, rel=1e-6)  # arcs drawn as chords (2 nm sagitta)
    assert PhaseShifterEO(length_um=length, section_max_um=5000.0).optical_path_um == pytest.approx(path_um, rel=1e-12)
    assert component.dbbox().height() < 5300  # folded: no longer than a section plus bends and buses


def test_directional_coupler_length_follows_kappa():
    for kappa in (0.1, 0.5, 0.9):
        c = cells.coupler(kappa=kappa, crossover_length_um=40.0)
        assert math.sin(math.pi * c.info["coupling_length_um"] / 80.0) ** 2 == pytest.approx(kappa, abs=1e-4)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: cells.mmi2x2(kappa=0.3), "only the 50:50 design is drawn"),
        (lambda: cells.splitter(split_ratio=0.7), "only the 50:50 design is drawn"),
        (lambda: cells.heater(length_um=5.0), "length_um must be >= 10"),
        (lambda: cells.phase_shifter_eo(length_um=100.0, bend_radius_um=10.0), "no room for the electrodes"),
        (lambda: cells.straight(length_um=0.0), "length_um must be > 0"),
    ],
)
def test_cells_refuse_what_they_cannot_draw(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_layer_map_is_documented_and_is_the_active_pdks():
    members = list(LAYER)
    assert len(members) == 8
    for member in members:
        assert f"| `{member.name}` " in layers.__doc__
    assert len({(m.layer, m.datatype) for m in members}) == len(members)  # no two names for one layer
    assert (LAYER.WG.layer, LAYER.WG.datatype) == (1, 0)  # gdsfactory's generic waveguide layer
    assert pdk.activate() is pdk.activate() is gf.get_active_pdk() is pdk.PDK
    assert pdk.PDK.name == "mirage" and pdk.PDK.layers is LAYER


def test_pdk_registers_the_cells_cross_sections_and_models():
    assert set(pdk.PDK.cells) == set(cells.CELLS) == set(pdk.CELL_MODELS)
    assert set(pdk.PDK.cross_sections) == {"strip", "ridge_ln"}
    assert pdk.PDK.models == photonics.models()
    assert gf.get_cross_section("ridge_ln").layer == gf.get_cross_section("strip").layer == LAYER.WG


@pytest.mark.parametrize("radius, angle", [(10.0, 90.0), (12.0, -90.0), (50.0, 180.0)])
def test_bend_is_its_cross_section_swept_along_the_arc(radius, angle):
    """Area of the guide: width times arc length, to the chords' error; ports where the arc ends."""
    component = cells.bend_circular(radius_um=radius, angle_deg=angle)
    region, _ = waveguide_region(component)
    area_um2 = region.area() * component.kcl.layout.dbu**2
    assert area_um2 == pytest.approx(cells.WIDTH_UM * radius * math.radians(abs(angle)), rel=2e-4)
    end = component.ports["o2"]
    t = math.radians(angle)
    expected = (radius * abs(math.sin(t)), math.copysign(radius, angle) * (1 - math.cos(t)))
    assert end.center == pytest.approx(expected, abs=1e-3)
    assert end.orientation == pytest.approx(angle % 360)
