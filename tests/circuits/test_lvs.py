"""Layout versus schematic: the extracted MDPU netlist, solved with the models, gives the schematic's fields."""

import gdsfactory as gf
import numpy as np
import pytest

from circuits.layout import layout_design, mdpu_cell
from circuits.lvs import extract_netlist, layout_fields, lvs_mdpu
from circuits.mdpu import MdpuDesign, SaxMdpu, with_lo_bias
from circuits.mmu import MmuDesign
from photonics import cells
from tests.circuits.fold_2023 import fold_2023


def random_inputs(m, h, n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, m, (n, h)), rng.integers(0, m, (n, h)), float(rng.uniform(0, 20))


@pytest.mark.parametrize(
    "encoding, element, h",
    [
        # the same folded binary-length row as the h = 16 case below, with fewer MMUs: make test-slow runs it
        pytest.param("binary-length", "straight", 4, marks=pytest.mark.slow),
        ("binary-length", "straight", 16),
        ("modular-drive", "straight", 4),
        ("binary-length", "ring-assisted", 4),
        ("digital-product", "straight", 16),
    ],
)
def test_layout_fields_match_the_schematic_and_segment_lengths_read_back(encoding, element, h):
    # binary-length straight MMUs (30 cm of electrode each) folded as the 2023 chip folds them
    design = MdpuDesign(mmu=MmuDesign(modulus=31, encoding=encoding, element=element, **fold_2023(encoding)), h=h)
    x, w, lo_bias_mw = random_inputs(31, h, 300, seed=h)
    report = lvs_mdpu(design, x, w, lo_bias_power_mw=lo_bias_mw)
    assert report.max_field_error < 1e-9
    assert np.abs(report.schematic_fields).max() > 0.05  # not trivially small
    assert report.design.routes.lo_um > 0 and report.design.routes.hybrid_um > 0
    if element == "straight":
        np.testing.assert_array_equal(report.segment_lengths_um, design.mmu.segment_lengths_um())
        np.testing.assert_allclose(report.electrode_lengths_um, design.mmu.segment_lengths_um(), rtol=0, atol=1.5e-3)


def test_lvs_fails_against_a_schematic_without_the_routes():
    design = MdpuDesign(h=2)
    x, w, lo_bias_mw = random_inputs(31, 2, 50, seed=5)
    layout = layout_fields(design, x, w, lo_bias_mw)
    plain = SaxMdpu(with_lo_bias(design, lo_bias_mw)).detector_fields(x, w)
    routed = SaxMdpu(with_lo_bias(layout_design(design), lo_bias_mw)).detector_fields(x, w)
    assert np.abs(layout - routed).max() < 1e-9
    assert np.abs(layout - plain).max() > 1e-2  # the routes matter: leaving them out is caught


def test_extracted_netlist_wires_the_detectors_to_the_schematics_hybrid_ports():
    netlist = extract_netlist(mdpu_cell(MdpuDesign(h=3)))
    top = netlist["top_level"]
    assert top["ports"] == {"o1": "src,o1", "i_p": "hyb_i,o3", "i_n": "hyb_i,o4", "q_p": "hyb_q,o4", "q_n": "hyb_q,o3"}
    assert [n for n in top["instances"] if n.startswith("mmu")] == ["mmu0", "mmu1", "mmu2"]
    (mmu_key,) = [k for k in netlist if k != "top_level"]
    assert {i["component"] for n, i in top["instances"].items() if n.startswith("mmu")} == {mmu_key}
    assert set(netlist[mmu_key]["instances"]) == {"heater", *(f"seg{b}" for b in range(5))}
    for inst in netlist[mmu_key]["instances"].values():
        assert "voltage_v" not in inst["settings"] and "power_mw" not in inst["settings"]  # operating point


def test_extraction_refuses_an_optical_port_that_touches_nothing():
    c = gf.Component()
    a = c.add_ref(cells.straight(length_um=5.0), name="a")
    b = c.add_ref(cells.straight(length_um=5.0), name="b")
    b.dmove((5.5, 0))  # a 0.5 um gap: a.o2 and b.o1 do not touch
    c.add_port("o1", port=a.ports["o1"])
    c.add_port("o2", port=b.ports["o2"])
    with pytest.raises(ValueError, match="optical port a,o2 touches nothing"):
        extract_netlist(c)
