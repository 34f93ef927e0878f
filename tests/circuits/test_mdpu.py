"""The MDPU: compiled form against the sax solution, LO trim, noiseless exactness."""

import numpy as np
import pytest

from circuits.compiled import compile_mdpu, iq
from circuits.mdpu import MdpuDesign, SaxMdpu
from circuits.mmu import ELEMENTS, ENCODINGS, MmuDesign
from circuits.readout import Readout, read
from tests.circuits.fold_2023 import fold_2023


def random_inputs(m, h, n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, m, (n, h)), rng.integers(0, m, (n, h))


@pytest.mark.parametrize("h", [4, 16])
@pytest.mark.parametrize("element", ELEMENTS)
def test_compiled_form_matches_sax_solution(h, element):
    design = MdpuDesign(mmu=MmuDesign(modulus=31, element=element, encoding="modular-drive"), h=h)
    compiled = compile_mdpu(design)
    x, w = random_inputs(31, h, 1000, seed=h)
    fast = compiled.detector_fields(x, w)
    reference = SaxMdpu(compiled.design).detector_fields(x, w)
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-9)
    assert np.abs(reference).max() > 0.1  # the fields are not trivially small


def test_lo_trim_makes_zero_input_read_phase_zero_and_iq_track_the_arm_phase():
    compiled = compile_mdpu(MdpuDesign(h=3))
    assert abs(np.angle(iq(compiled.zero_input_fields()))) < 1e-9
    x, w = random_inputs(31, 3, 200, seed=1)
    zeros = np.zeros(3, dtype=int)
    arm_phase = np.angle(compiled.arm_transmission(x, w) / compiled.arm_transmission(zeros, zeros))
    np.testing.assert_allclose(
        np.exp(1j * np.angle(iq(compiled.detector_fields(x, w)))), np.exp(1j * arm_phase), atol=1e-9
    )


def assert_all_pairs_exact(encoding, element, moduli):
    for m in moduli:
        compiled = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=m, encoding=encoding, element=element), h=1))
        x, w = (a.reshape(-1, 1) for a in np.meshgrid(np.arange(m), np.arange(m)))
        got = read(compiled, compiled.detector_fields(x, w), Readout(noise=False)).residue
        np.testing.assert_array_equal(got, (x * w).sum(-1) % m, err_msg=f"m={m}")


# Each modulus compiles its own MDPU (about 0.25 s each, the device models traced for its level count). The fast run
# takes the edges: the smallest moduli, both sides of every power of two (where the segment count steps), the chip's
# moduli and the largest; `make test-slow` takes every other modulus up to 64.
EDGE_MODULI = (2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("element", ELEMENTS)
def test_noiseless_all_pairs_edge_moduli(encoding, element):
    assert_all_pairs_exact(encoding, element, EDGE_MODULI)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("element", ELEMENTS)
def test_noiseless_all_pairs_every_other_modulus(encoding, element):
    assert_all_pairs_exact(encoding, element, [m for m in range(2, 65) if m not in EDGE_MODULI])


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("m", [31, 32, 33])
def test_noiseless_random_dot_products_of_length_16(m, encoding, element):
    # binary-length folded as the 2023 chip: in 0.8 mm sections a row of 16 at m = 33 loses over 300 dB, and
    # its signal falls below float64's resolution next to the LO
    mmu = MmuDesign(modulus=m, encoding=encoding, element=element, **fold_2023(encoding))
    compiled = compile_mdpu(MdpuDesign(mmu=mmu, h=16))
    x, w = random_inputs(m, 16, 10_000, seed=m)
    got = read(compiled, compiled.detector_fields(x, w), Readout(noise=False)).residue
    np.testing.assert_array_equal(got, (x * w).sum(-1) % m)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"h": 0}, "h must be an integer >= 1"), ({"lo_fraction": 1.0}, "lo_fraction must be between 0 and 1")],
)
def test_bad_mdpu_designs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MdpuDesign(**kwargs)


def test_residues_are_checked():
    compiled = compile_mdpu(MdpuDesign(h=2))
    with pytest.raises(ValueError, match=r"x residues must lie in \[0, 31\)"):
        compiled.detector_fields([0, 31], [1, 1])
    with pytest.raises(ValueError, match="w must have a last axis of length h = 2"):
        compiled.detector_fields([0, 1], [1, 1, 1])


def test_compiled_form_includes_layout_routes():
    """Routes a layout adds (LO route, hybrid bends) are in both the sax netlist and the compiled form."""
    import dataclasses

    from circuits.mdpu import MdpuRoutes

    design = dataclasses.replace(MdpuDesign(h=3), routes=MdpuRoutes(lo_um=2500.0, hybrid_um=15.7))
    compiled = compile_mdpu(design)
    x, w = random_inputs(31, 3, 50, seed=3)
    np.testing.assert_allclose(
        compiled.detector_fields(x, w), SaxMdpu(compiled.design).detector_fields(x, w), atol=1e-9
    )
    plain = compile_mdpu(MdpuDesign(h=3))
    assert np.abs(plain.lo_to_det - compiled.lo_to_det).max() > 1e-3  # the routes do change the fields


def test_front_end_devices_are_the_netlists():
    """FRONT_END names every front-end instance of the schematic with its component, and the detectors as its ports."""
    from circuits.mdpu import DETECTORS, FRONT, FRONT_END, LO_HEATERS, front_end_netlist
    from photonics.heater import Heater

    netlist = front_end_netlist(0.5, Heater())
    instances = {n: i["component"] for n, i in netlist["instances"].items()}
    declared = {d.name: d.component for d in FRONT_END if d.name not in DETECTORS}
    assert instances == declared
    assert set(DETECTORS) <= set(netlist["ports"]) and len(FRONT) == len(set(FRONT)) == 12
    assert all(instances[n] == "heater" for n in LO_HEATERS) and "lo_bias" in LO_HEATERS


def test_front_end_feeds_form_one_tree_of_existing_ports():
    """Every front-end device hangs on ports of other front-end devices (each used once) or on a circuit port."""
    import photonics
    from circuits.mdpu import FRONT, FRONT_END, MdpuRoutes

    models = photonics.models()
    ports_of = {d.name: {p for pair in models[d.component]() for p in pair} for d in FRONT_END}
    sources = [f.source for d in FRONT_END for f in d.feeds]
    assert len(sources) == len(set(sources))
    assert [d.name for d in FRONT_END if not d.feeds] == [d.name for d in FRONT_END if "o1" in dict(d.ports).values()]
    for d in FRONT_END:
        for f in d.feeds:
            name, port = f.source.split(",")
            assert name in FRONT and name != d.name and port in ports_of[name], (d.name, f)
            assert f.port in ports_of[d.name], (d.name, f)
            assert f.route is None or hasattr(MdpuRoutes(), f.route[1])
