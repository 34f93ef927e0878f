"""The registry: names, parameter descriptions, validation, signature checks."""

from dataclasses import dataclass

import pytest

import photonics
from photonics.parameters import Params, param
from photonics.registry import register

NETLIST_NAMES = [
    "straight", "coupler", "mmi2x2", "splitter", "phase_shifter_eo", "heater",
    "mzi", "ring_allpass", "ring_add_drop", "photodetector",
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


def test_model_signature_must_match_its_dataclass():
    @dataclass(frozen=True)
    class Toy(Params):
        length_um: float = param(1.0, "um", "length", ge=0)

    with pytest.raises(TypeError, match="must equal 'wl' plus the fields of Toy"):
        @register("toy_wrong_default", Toy)
        def toy(*, wl=1.55, length_um=2.0):
            return {}

    with pytest.raises(TypeError, match="keyword-only"):
        @register("toy_positional", Toy)
        def toy2(wl=1.55, length_um=1.0):
            return {}
    assert "toy_wrong_default" not in photonics.devices()
