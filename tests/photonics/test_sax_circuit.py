"""The models inside ordinary sax netlists agree with the composite models."""

import jax
import numpy as np
import pytest
import sax

import photonics

MZI_NETLIST = {
    "instances": {
        "lft": "coupler",
        "top": "heater",
        "btm": "straight",
        "rgt": "coupler",
    },
    "connections": {
        "lft,o3": "top,o1",
        "top,o2": "rgt,o2",
        "lft,o4": "btm,o1",
        "btm,o2": "rgt,o1",
    },
    "ports": {"o1": "lft,o1", "o2": "lft,o2", "o3": "rgt,o3", "o4": "rgt,o4"},
}


@pytest.fixture(scope="module")
def mzi_circuit():
    circuit, _ = sax.circuit(MZI_NETLIST, models=photonics.models())
    return jax.jit(circuit)


@pytest.mark.parametrize("power_mw, delta_um, kappa", [(0.0, 0.0, 0.5), (7.5, 0.0, 0.5), (3.0, 30.0, 0.4)])
def test_mzi_netlist_equals_mzi_model(mzi_circuit, power_mw, delta_um, kappa):
    wl = np.linspace(1.5, 1.6, 301)
    got = mzi_circuit(
        wl=wl,
        lft={"kappa": kappa},
        rgt={"kappa": kappa},
        top={"length_um": 100.0 + delta_um, "power_mw": power_mw},
        btm={"length_um": 100.0},
    )
    want = photonics.evaluate(
        "mzi", wl=wl, kappa1=kappa, kappa2=kappa, heater_power_mw=power_mw, delta_length_um=delta_um
    )
    for pair in [("o1", "o3"), ("o1", "o4"), ("o2", "o3"), ("o2", "o4")]:
        np.testing.assert_allclose(got[pair], want[pair], atol=1e-12, err_msg=str(pair))


def test_ring_feedback_netlist_equals_ring_model():
    """An all-pass ring built from a coupler closed on a straight loop (lossless)."""
    netlist = {
        "instances": {"cpl": "coupler", "loop": "straight"},
        "connections": {"cpl,o3": "loop,o1", "loop,o2": "cpl,o2"},
        "ports": {"o1": "cpl,o1", "o2": "cpl,o4"},
    }
    circuit, _ = sax.circuit(netlist, models=photonics.models())
    wl = np.linspace(1.54, 1.56, 501)
    radius, loss = 10.0, 2.0
    got = jax.jit(circuit)(wl=wl, cpl={"kappa": 0.2}, loop={"length_um": 2 * np.pi * radius, "loss_db_cm": loss})
    want = photonics.evaluate("ring_allpass", wl=wl, radius_um=radius, kappa=0.2, loss_db_cm=loss)
    np.testing.assert_allclose(got["o1", "o2"], want["o1", "o2"], atol=1e-12)
