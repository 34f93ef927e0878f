"""Passivity, reciprocity, unitarity of lossless models, broadcasting, jit."""

import jax
import numpy as np
import pytest

import photonics
from tests.helpers import OPTICAL, WL_SWEEP, dense

# Each model with its losses set to zero, and with knobs turned so that every
# term of the model is exercised.
LOSSLESS = {
    "straight": dict(loss_db_cm=0.0, length_um=123.0, temperature_k=320.0),
    "coupler": dict(kappa=0.3),
    "mmi2x2": dict(kappa=0.5),
    "phase_shifter_eo": dict(loss_db_cm=0.0, bend_loss_db=0.0, voltage_v=3.3),
    "heater": dict(loss_db_cm=0.0, power_mw=7.0),
    "mzi": dict(loss_db_cm=0.0, coupler_loss_db=0.0, kappa1=0.4, delta_length_um=12.0, heater_power_mw=3.0),
    "ring_allpass": dict(loss_db_cm=0.0, kappa=0.1, voltage_v=1.0),
    "ring_add_drop": dict(loss_db_cm=0.0, kappa_through=0.1, kappa_drop=0.07),
}

# Lossy settings for the passivity and reciprocity checks.
LOSSY = {
    "straight": dict(loss_db_cm=3.0, length_um=500.0),
    "coupler": dict(kappa=0.3, loss_db=0.2),
    "mmi2x2": dict(loss_db=0.3),
    "splitter": dict(split_ratio=0.3, loss_db=0.1),
    "phase_shifter_eo": dict(voltage_v=2.0),
    "heater": dict(power_mw=5.0),
    "mzi": dict(coupler_loss_db=0.1, heater_power_mw=4.0, delta_length_um=30.0),
    "ring_allpass": dict(),
    "ring_add_drop": dict(loss_db_cm=5.0),
}


def test_every_optical_model_is_covered():
    assert set(LOSSY) == set(OPTICAL)
    assert set(LOSSLESS) == set(OPTICAL) - {"splitter"}


@pytest.mark.parametrize("name", sorted(LOSSLESS))
def test_lossless_models_are_unitary(name):
    _, s = dense(photonics.evaluate(name, wl=WL_SWEEP, **LOSSLESS[name]))
    eye = np.eye(s.shape[-1])
    np.testing.assert_allclose(np.conj(np.swapaxes(s, -1, -2)) @ s, np.broadcast_to(eye, s.shape), atol=1e-12)


def test_lossless_splitter_passes_even_mode_and_radiates_odd_mode():
    _, s = dense(photonics.evaluate("splitter", wl=WL_SWEEP, split_ratio=0.3))
    eig = np.linalg.eigvalsh(np.conj(np.swapaxes(s, -1, -2)) @ s)
    np.testing.assert_allclose(eig, np.broadcast_to([0.0, 1.0, 1.0], eig.shape), atol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSY))
def test_models_are_passive_and_reciprocal(name):
    for settings in ({}, LOSSY[name]):
        _, s = dense(photonics.evaluate(name, wl=WL_SWEEP, **settings))
        assert np.linalg.svd(s, compute_uv=False).max() <= 1 + 1e-12
        np.testing.assert_array_equal(s, np.swapaxes(s, -1, -2))


# One parameter per model to sample in a Monte Carlo batch, with a range.
BATCH = {
    "straight": ("length_um", 10.0, 20.0),
    "coupler": ("kappa", 0.4, 0.6),
    "mmi2x2": ("kappa", 0.45, 0.55),
    "splitter": ("split_ratio", 0.4, 0.6),
    "phase_shifter_eo": ("vpil_v_cm", 1.8, 2.2),
    "heater": ("p_pi_mw", 18.0, 22.0),
    "mzi": ("kappa1", 0.45, 0.55),
    "ring_allpass": ("radius_um", 9.99, 10.01),
    "ring_add_drop": ("kappa_drop", 0.04, 0.06),
}


@pytest.mark.parametrize("name", OPTICAL)
def test_monte_carlo_batch_is_one_call(name):
    param, low, high = BATCH[name]
    samples = np.random.default_rng(1).uniform(low, high, 10_000)
    batch = photonics.evaluate(name, wl=1.55, **{param: samples})
    _, s = dense(batch)
    assert s.shape[:-2] == (10_000,)
    # Spot-check against single evaluations.
    for i in (0, 4321, 9999):
        _, one = dense(photonics.evaluate(name, wl=1.55, **{param: samples[i]}))
        np.testing.assert_allclose(s[i], one, atol=1e-14)


@pytest.mark.parametrize("name", OPTICAL)
def test_models_broadcast_wavelength_against_parameter_grid(name):
    param, low, high = BATCH[name]
    wl = np.linspace(1.54, 1.56, 7)[:, None]
    values = np.linspace(low, high, 5)[None, :]
    _, s = dense(photonics.evaluate(name, wl=wl, **{param: values}))
    assert s.shape[:-2] == (7, 5)


@pytest.mark.parametrize("name", OPTICAL)
def test_models_are_jittable(name):
    model = photonics.models()[name]
    wl = np.linspace(1.54, 1.56, 11)
    eager = model(wl=wl, **LOSSY[name])
    jitted = jax.jit(model)(wl=wl, **LOSSY[name])
    for key in eager:
        np.testing.assert_allclose(jitted[key], eager[key], atol=1e-13)
