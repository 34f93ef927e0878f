"""A new device is one declaration: the registry, the CLI and sax netlists all see it.

This is exactly what docs/howto-add-device.md asks of a newcomer: one module
holding a Params dataclass and the physics function under ``@register``, and
nothing else edited.
"""

import importlib
import json
import sys
import textwrap

import jax
import numpy as np
import pytest
import sax

import photonics
from mirage.cli import main
from photonics.errors import UsageError
from photonics.registry import unregister

NAME = "toy_attenuator"

MODULE = '''
"""A broadband attenuator: a throw-away device for the how-to's test."""

from dataclasses import dataclass

import jax.numpy as jnp

from photonics.parameters import Params, param
from photonics.registry import register
from photonics.sdict import amplitude_from_loss_db, reciprocal


@dataclass(frozen=True)
class ToyAttenuator(Params):
    """Broadband optical attenuator."""

    loss_db: float = param(3.0, "dB", "insertion loss", ge=0)
    phase_rad: float = param(0.0, "rad", "transmission phase")


@register("toy_attenuator", ToyAttenuator)
def toy_attenuator(wl, *, loss_db, phase_rad):
    """Attenuator: S21 = 10**(-loss_db/20) * exp(1j*phase_rad) at every wavelength.

    ```
        o1 ──▷── o2
    ```
    """
    amp = amplitude_from_loss_db(loss_db) * jnp.ones_like(jnp.asarray(wl, dtype=float))
    return reciprocal({("o1", "o2"): amp * jnp.exp(1j * phase_rad)})
'''


@pytest.fixture
def toy_device(tmp_path, monkeypatch):
    """Import the one-file device from a temporary module; unregister it afterwards."""
    (tmp_path / "toy_attenuator_device.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert NAME not in photonics.devices()
    module = importlib.import_module("toy_attenuator_device")
    try:
        yield module
    finally:
        unregister(NAME)
        sys.modules.pop("toy_attenuator_device", None)
        assert NAME not in photonics.devices() and NAME not in photonics.models()


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_registry_sees_the_new_device(toy_device):
    device = photonics.devices()[NAME]
    assert device.params is toy_device.ToyAttenuator and device.kind == "optical"
    assert photonics.get_device(NAME) is device
    model = photonics.models()[NAME]
    assert model is toy_device.toy_attenuator
    assert device.summary == "Attenuator: S21 = 10**(-loss_db/20) * exp(1j*phase_rad) at every wavelength."
    assert "loss_db: insertion loss [dB]; >= 0 (default 3.0)." in model.__doc__ and "o1 ──▷── o2" in model.__doc__

    wl = np.linspace(1.5, 1.6, 5)
    s = jax.jit(model)(wl=wl)  # the dataclass default: 3 dB
    np.testing.assert_allclose(np.abs(s["o1", "o2"]) ** 2, 10**-0.3, rtol=1e-12)
    s = photonics.evaluate(NAME, wl=wl, loss_db=10.0, phase_rad=0.5)
    np.testing.assert_allclose(s["o2", "o1"], np.sqrt(0.1) * np.exp(0.5j), rtol=1e-12)
    with pytest.raises(UsageError, match="toy_attenuator: loss_db must be >= 0 dB"):
        photonics.evaluate(NAME, loss_db=-1.0)


def test_sax_netlist_uses_the_new_device(toy_device):
    netlist = {
        "instances": {"a": NAME, "b": NAME},
        "connections": {"a,o2": "b,o1"},
        "ports": {"in": "a,o1", "out": "b,o2"},
    }
    circuit, _ = sax.circuit(netlist, models=photonics.models())
    s = jax.jit(circuit)(wl=1.55, a={"loss_db": 1.0}, b={"loss_db": 2.5, "phase_rad": 0.25})
    np.testing.assert_allclose(s["in", "out"], 10 ** (-3.5 / 20) * np.exp(0.25j), rtol=1e-12)


def test_mirage_devices_lists_the_new_device(toy_device, capsys):
    code, out, _ = cli(capsys, "devices")
    assert code == 0
    assert f"{NAME} [optical]: Attenuator: S21" in out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{NAME} ["))
    assert [line.split() for line in lines[start + 1 : start + 3]] == [
        ["loss_db", "3.0", "dB", ">=", "0", "insertion", "loss"],
        ["phase_rad", "0.0", "rad", "any", "transmission", "phase"],
    ]
    code, out, _ = cli(capsys, "devices", "--json")
    assert json.loads(out)[NAME]["parameters"][1] == {
        "name": "phase_rad",
        "default": 0.0,
        "unit": "rad",
        "range": "any",
        "doc": "transmission phase",
    }


def test_mirage_sweep_sets_the_new_devices_parameters(toy_device, capsys):
    code, out, _ = cli(capsys, "sweep", NAME, "--set", "loss_db=10", "--points", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["settings"] == {"loss_db": 10.0}
    np.testing.assert_allclose(data["transmission"]["o1->o2"]["db"], [-10.0] * 3, atol=1e-9)
    code, _, err = cli(capsys, "sweep", NAME, "--set", "gain_db=3")
    assert code == 2
    assert "unknown parameter 'gain_db' for toy_attenuator; allowed: loss_db, phase_rad" in err
    code, _, err = cli(capsys, "sweep", NAME, "--set", "loss_db=-3")
    assert code == 2 and "toy_attenuator: loss_db must be >= 0 dB (got -3)" in err
