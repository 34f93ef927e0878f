"""The registry: names, parameter descriptions, validation, models generated from the dataclasses."""

import dataclasses
import inspect
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import photonics
from photonics import constants as k
from photonics.coupler import Coupler, Mmi2x2
from photonics.parameters import Params, param
from photonics.registry import register, unregister

NETLIST_NAMES = [
    "straight",
    "coupler",
    "mmi2x2",
    "splitter",
    "phase_shifter_eo",
    "heater",
    "mzi",
    "ring_allpass",
    "ring_add_drop",
    "photodetector",
]


def test_models_are_keyed_by_layout_names():
    assert set(NETLIST_NAMES) <= set(photonics.models())
    assert "laser" in photonics.devices() and "laser" not in photonics.models()


def test_every_parameter_has_unit_doc_and_valid_default():
    for name, device in photonics.devices().items():
        device.params()  # defaults validate
        for p in device.params.describe():
            assert p["unit"] and p["doc"], (name, p["name"])


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("straight", {"length_um": -1.0}, "straight: length_um must be >= 0 um"),
        ("coupler", {"kappa": 1.2}, "coupler: kappa must be <= 1"),
        ("coupler", {"kappa": -0.1}, "coupler: kappa must be >= 0"),
        ("ring_allpass", {"loss_db_cm": -2.0}, "ring_allpass: loss_db_cm must be >= 0 dB/cm"),
        ("heater", {"p_pi_mw": 0.0}, "heater: p_pi_mw must be > 0 mW"),
        ("mzi", {"kappa1": float("nan")}, "mzi: kappa1 must be finite"),
        ("coupler", {"gap_um": 0.2}, "unknown parameter 'gap_um' for coupler; allowed: kappa"),
    ],
)
def test_bad_settings_are_refused_by_name(name, settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        photonics.evaluate(name, **settings)


def test_array_settings_are_validated_elementwise():
    with pytest.raises(ValueError, match="kappa must be <= 1 .*array"):
        photonics.evaluate("coupler", kappa=[0.2, 0.5, 1.5])


def test_unknown_device_lists_choices():
    with pytest.raises(ValueError, match="unknown device 'ring'; choose one of: straight"):
        photonics.get_device("ring")


@pytest.mark.parametrize("name", [n for n, d in photonics.devices().items() if d.model is not None])
def test_model_signature_defaults_and_args_come_from_the_dataclass(name):
    device = photonics.get_device(name)
    model, fields = device.model, dataclasses.fields(device.params)
    settings = [f for f in fields if device.kind == "optical"]
    sig = inspect.signature(model)
    assert list(sig.parameters) == ["wl"] + [f.name for f in settings]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in sig.parameters.values())
    assert sig.parameters["wl"].default == k.WL_UM
    assert {f.name: f.default for f in settings} == {n: p.default for n, p in sig.parameters.items() if n != "wl"}
    args = model.__doc__.split("Args:")[1]
    for p in device.params.describe() if settings else []:
        line = next(row for row in args.splitlines() if row.strip().startswith(p["name"] + ":"))
        assert p["doc"] in line and f"default {p['default']}" in line, line
        assert p["unit"] in ("1", "") or f"[{p['unit']}]" in line, line
        assert p["range"] == "any" or p["range"] in line, line
    assert "```" in model.__doc__ and "o1" in model.__doc__  # the port diagram stays
    with pytest.raises(TypeError):
        model(1.55)  # keyword-only
    with pytest.raises(TypeError, match="unexpected keyword argument 'gap_um'"):
        model(wl=1.55, gap_um=0.2)


def test_models_are_jittable_and_default_to_the_dataclass():
    for name, model in photonics.models().items():
        device = photonics.get_device(name)
        want = model(wl=1.55, **(device.params().settings() if device.kind == "optical" else {}))
        got = jax.jit(model)(wl=1.55)
        for pair in want:
            np.testing.assert_allclose(got[pair], want[pair], rtol=0, atol=1e-12, err_msg=f"{name} {pair}")


def test_variant_shares_the_physics_with_other_defaults():
    coupler, mmi = photonics.models()["coupler"], photonics.models()["mmi2x2"]
    assert mmi.physics is coupler.physics
    assert Mmi2x2().kappa_dispersion == 1.0 and Coupler().kappa_dispersion == 3.0
    wl = np.linspace(1.5, 1.6, 11)
    for pair, value in mmi(wl=wl, kappa=0.3).items():
        np.testing.assert_array_equal(value, coupler(wl=wl, kappa=0.3, kappa_dispersion=1.0)[pair])
    assert photonics.get_device("mmi2x2").summary.startswith("2x2 MMI coupler")


def test_physics_must_take_wl_and_exactly_the_dataclass_fields():
    @dataclass(frozen=True)
    class Toy(Params):
        length_um: float = param(1.0, "um", "length", ge=0)

    with pytest.raises(TypeError, match=r"must be def toy\(wl, \*, length_um\) with no defaults"):

        @register("toy_defaulted", Toy)
        def toy(wl, *, length_um=2.0):
            return {}

    with pytest.raises(TypeError, match="the fields of Toy"):

        @register("toy_missing", Toy)
        def toy2(wl, *, width_um):
            return {}

    with pytest.raises(TypeError, match="the fields of Toy"):

        @register("toy_positional", Toy)
        def toy3(wl, length_um):
            return {}

    assert not {"toy_defaulted", "toy_missing", "toy_positional"} & set(photonics.devices())


def test_unregister_removes_only_what_was_registered():
    @dataclass(frozen=True)
    class Toy(Params):
        length_um: float = param(1.0, "um", "length", ge=0)

    @register("toy_once", Toy)
    def toy(wl, *, length_um):
        """Toy.

        ```
            o1 ── o2
        ```
        """
        return {("o1", "o2"): length_um * jnp.ones_like(wl)}

    assert photonics.get_device("toy_once").model is toy
    unregister("toy_once")
    assert "toy_once" not in photonics.devices() and "toy_once" not in photonics.models()
    with pytest.raises(ValueError, match="unknown device 'toy_once'"):
        unregister("toy_once")
