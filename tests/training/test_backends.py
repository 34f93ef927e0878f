"""Backends are one definition each: a throw-away backend registered in a test trains through `mirage train`."""

import json

import numpy as np
import pytest

from tests.mirage.test_cli import run
from training import backends
from training.backends import KINDS, backend_kind, backend_names, check_backend, make_backend


def _rounded_engine(a, b, rng):
    """A float32 product of operands rounded to 10 bits after the point: a fixed-point unit."""
    return (np.round(a * 1024) / 1024).astype(np.float32) @ (np.round(b * 1024) / 1024).astype(np.float32)


@pytest.fixture
def fixed_point_backend():
    backend_kind("fixed-point", lambda hw: f"fixed point, {hw['fraction_bits']} fraction bits")(
        lambda study, rng, repeats: (_rounded_engine, {"fraction_bits": 10})
    )
    yield "fixed-point"
    del KINDS["fixed-point"]


def test_every_registered_backend_is_listed_and_described():
    assert backend_names() == ("fp32", "rns", "analog", "analog-repeat", "mrr-bank")
    assert KINDS["fp32"].describe({}) == "float32 matmul"
    assert "K = 3" in KINDS["analog-repeat"].describe({"repeats": 3})
    assert [n for n, k in KINDS.items() if k.takes_repeats] == ["analog-repeat"]


def test_a_new_backend_is_one_definition(fixed_point_backend, capsys, tmp_path):
    assert fixed_point_backend in backend_names()
    check_backend(fixed_point_backend)
    hardware = make_backend(fixed_point_backend, None, np.random.default_rng(0))
    a, b = np.full((2, 3), 0.2503), np.full((3, 2), 0.5)
    np.testing.assert_allclose(hardware.engine(a, b, None), np.full((2, 2), 3 * 0.25 * 0.5))  # 0.2503 -> 256/1024
    assert hardware.description == "fixed point, 10 fraction bits"
    code, out, err = run(
        capsys, "train", "--backend", fixed_point_backend, "--epochs", "1", "--out", str(tmp_path), "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["backend"] == fixed_point_backend and result["hardware"] == {"fraction_bits": 10}
    assert result["test_accuracy"] > 0.5  # one epoch through the rounded product learns; chance is 0.1
    code, out, _ = run(capsys, "train", "--backend", fixed_point_backend, "--epochs", "1", "--out", str(tmp_path))
    assert code == 0 and "fixed point, 10 fraction bits" in out


def test_repeats_only_where_the_backend_takes_them():
    with pytest.raises(ValueError, match="repeats applies to the analog-repeat backend only"):
        check_backend("analog", 3)
    with pytest.raises(ValueError, match="backend must be one of fp32, rns, analog, analog-repeat"):
        check_backend("nope")


def test_registering_a_name_twice_is_a_bug():
    with pytest.raises(ValueError, match="registered twice"):
        backends.backend_kind("fp32", lambda hw: "")(lambda study, rng, repeats: None)


def test_the_mrr_bank_backend_multiplies_through_the_bank_with_the_chips_heater_crosstalk():
    from calibration.config import StudyConfig
    from mvm.energy import analog_energy_per_mac_pj

    study = StudyConfig()
    hardware = make_backend("mrr-bank", study, np.random.default_rng(0))
    assert hardware.engine.bank.heater_crosstalk_at_100um == study.variation.crosstalk_at_100um > 0
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 40)), rng.standard_normal((40, 5))
    c = hardware.engine(a, b, np.random.default_rng(2))
    assert np.linalg.norm(c - a @ b) < 0.5 * np.linalg.norm(a @ b)  # a product, with the bank's error
    assert hardware.tally == {"products": 1, "readouts": 2 * 3 * 6 * 5}  # two passes per chunk of h = 16
    assert hardware.info["energy_per_mac_pj"] > analog_energy_per_mac_pj(study.chip)  # heaters hold the weights
    assert "micro-ring weight bank" in hardware.description and "8-bit heaters" in hardware.description
    with pytest.raises(ValueError, match="repeats applies to the analog-repeat backend only"):
        check_backend("mrr-bank", 2)
