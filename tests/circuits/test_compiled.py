"""The compiled front end (a sum over the netlist's paths) against sax's solution of the same netlist."""

from dataclasses import replace

import numpy as np
import pytest

from circuits.compiled import (
    _FRONT_END_PORTS,
    _packed_front_end,
    front_end_form,
    front_end_paths,
    front_end_solver,
    solve_front_end,
)
from circuits.mdpu import (
    DETECTORS,
    HYBRIDS,
    LO_HEATERS,
    ROUTES,
    SPLITTERS,
    MdpuDesign,
    MdpuRoutes,
    front_end_circuit,
    front_end_netlist,
)
from photonics.heater import Heater
from photonics.waveguide import Straight


def _varied_settings(rng: np.random.Generator, n: int, design: MdpuDesign) -> dict:
    """Every instance setting a fabricated row varies, drawn well away from the drawing (the routes' temperature
    on the routes the design draws), and the routes' lengths and indices, which the drawing fixes: the program
    takes every setting at run time (one program per topology), so these must reach it too."""
    drawn = front_end_netlist(design.lo_fraction, design.lo_heater, routes=design.routes)["instances"]
    settings = {
        name: {
            "temperature_k": rng.uniform(295, 320, n),
            "length_um": drawn[name]["settings"]["length_um"] * rng.uniform(0.9, 1.1, n),
            "neff": drawn[name]["settings"]["neff"] + 0.01 * rng.standard_normal(n),
        }
        for name in ROUTES
        if name in drawn
    }
    settings.update({name: {"split_ratio": rng.uniform(0.2, 0.8, n)} for name in SPLITTERS})
    settings.update({name: {"kappa": rng.uniform(0.3, 0.7, n)} for name in HYBRIDS})
    for name in LO_HEATERS:
        settings[name] = {
            "neff": 2.4 + 0.02 * rng.standard_normal(n),
            "p_pi_mw": rng.uniform(15, 25, n),
            "temperature_k": rng.uniform(295, 320, n),
            "power_mw": rng.uniform(0, 60, n),
        }
    return settings


DESIGNS = {
    "no routes": MdpuDesign(lo_fraction=0.3),
    "routed, matched LO guide": MdpuDesign(
        lo_heater=Heater(length_um=150.0),
        routes=MdpuRoutes(lo_um=5000.0, hybrid_um=20.0, lo_waveguide=Straight(neff=1.85, ng=2.3, loss_db_cm=0.25)),
    ),
}


@pytest.mark.parametrize("name", DESIGNS)
def test_front_end_solver_matches_sax(name):
    design = DESIGNS[name]
    rng = np.random.default_rng(3)
    settings = _varied_settings(rng, 16, design)
    reference = front_end_circuit(design.lo_fraction, design.lo_heater, design.routes)
    for wl in (1.55, 1.5501):
        want = reference(wl=wl, **settings)
        got = front_end_solver(design.lo_fraction, design.lo_heater, design.routes)(wl, settings)
        for key in _FRONT_END_PORTS:
            w, g = np.asarray(want[key]), np.asarray(got[key])
            assert np.abs(w).min() > 0.05  # every port is lit: the comparison is not of zeros
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-9 * np.abs(w).max(), err_msg=str(key))


def test_solve_front_end_batches_rows_like_one_solve():
    """Rows beyond one batch (padded with the last row) give, to the bit, what each row solved on its own gives,
    and that is sax's solution of the row's netlist to float64 rounding (the 5 mm LO route's phase, about 4e4 rad,
    carries about 1e-11 rad of it, however it is summed)."""
    design = DESIGNS["routed, matched LO guide"]
    settings = _varied_settings(np.random.default_rng(5), 21, design)
    batched = solve_front_end(design, design.wl_um, settings, 21)
    reference = front_end_circuit(design.lo_fraction, design.lo_heater, design.routes)
    for r in (0, 15, 16, 20):
        row = {n: {k: v[r] for k, v in f.items()} for n, f in settings.items()}
        alone = solve_front_end(design, design.wl_um, row, 1)
        sax = reference(wl=design.wl_um, **row)
        for key in _FRONT_END_PORTS:
            assert batched[key].shape == (21,)
            assert batched[key][r] == alone[key][0]
            assert abs(batched[key][r] - complex(np.asarray(sax[key]))) < 1e-10


def test_front_end_paths_refuses_a_loop():
    """The hybrid's i_p output fed back into the source splitter: light from the LO heater comes round again."""
    netlist = front_end_netlist(0.5, Heater())
    ports = {k: v for k, v in netlist["ports"].items() if v not in ("src,o1", "hyb_i,o3")}
    loop = {**netlist, "connections": {**netlist["connections"], "hyb_i,o3": "src,o1"}, "ports": ports}
    assert front_end_paths(netlist, sources=("in",))  # the netlist as drawn has paths
    with pytest.raises(ValueError, match="not a feed-forward"):
        front_end_paths({**loop, "ports": {**ports, "start": "lo_split,o1"}}, sources=("start",))


def test_designs_that_differ_only_in_numbers_share_one_front_end_program():
    """Each modulus's matched LO has its own length, and a chip file may change any number of the front end: one
    compiled program serves them all (a program per design cost 0.8 s of compilation each). A design that draws
    other routes is another topology, so another program; the numbers themselves reach the solve (the sax tests)."""
    base = DESIGNS["routed, matched LO guide"]
    others = [
        replace(base, routes=replace(base.routes, lo_um=7321.0)),
        replace(base, lo_fraction=0.4, lo_heater=Heater(length_um=120.0, p_pi_mw=25.0)),
    ]
    forms = [front_end_form(d.lo_fraction, d.lo_heater, d.routes) for d in (base, *others)]
    assert all(f[0] == forms[0][0] for f in forms) and len({f[1] for f in forms}) == 3
    assert front_end_form(0.5, Heater())[0] != forms[0][0]  # no routes drawn
    before = _packed_front_end.jitted._cache_size()
    solved = [solve_front_end(d, d.wl_um, {}, 1)[(DETECTORS[0], "in")][0] for d in (base, *others)]  # via the LO
    assert _packed_front_end.jitted._cache_size() - before <= 1  # at most one compilation (none if already seen)
    assert solved[0] != solved[1] != solved[2]
    with pytest.raises(ValueError, match=r"lo_bias has no setting \['power_w'\]"):
        solve_front_end(base, base.wl_um, {"lo_bias": {"power_w": 1.0}}, 1)
