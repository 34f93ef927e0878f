"""Thin-film-LN variation: the mode solver, the LN sensitivities and the LN ring's resonance shift."""

import dataclasses

import numpy as np
import pytest
from scipy.optimize import brentq

from calibration.chip import nominal_trims, row_params, sample_chip
from calibration.ln_ridge import neff_sensitivities, ridge_neff
from calibration.variation import Spread, VariationConfig
from mvm.config import ChipConfig, TileConfig
from photonics.ring import round_trip


def test_mode_solver_reproduces_the_analytic_te_slab():
    # An unetched film is a slab; in the solver's box (electric walls 2*half_width apart) the slab mode
    # gains a transverse wavenumber pi/(2*half_width): beta^2 = (k0*n_slab)^2 - (pi/(2*half_width))^2.
    n1, n2, t, wl, half = 2.138, 1.444, 0.6, 1.55, 2.5
    k0 = 2 * np.pi / wl

    def te(n):
        return k0 * t * np.sqrt(n1**2 - n**2) - 2 * np.arctan(np.sqrt(n**2 - n2**2) / np.sqrt(n1**2 - n**2))

    n_slab = brentq(te, n2 + 1e-9, n1 - 1e-9)
    expected = np.sqrt(n_slab**2 - (np.pi / (2 * half) / k0) ** 2)
    got = ridge_neff(film_um=t, etch_um=0.0, grid_um=0.02, half_width_um=half, core_index=n1, box_index=n2)
    assert got == pytest.approx(expected, abs=3e-4)


@pytest.mark.slow
def test_declared_ln_sensitivities_are_the_mode_solvers():
    v = VariationConfig()
    s = neff_sensitivities(grid_um=0.02)
    assert s["width_um"] == pytest.approx(v.ln_dneff_dwidth_per_nm, rel=0.05)
    assert s["film_um"] == pytest.approx(v.ln_dneff_dfilm_per_nm, rel=0.05)
    assert s["etch_um"] == pytest.approx(v.ln_dneff_detch_per_nm, rel=0.05)


def _ring_chip(variation: VariationConfig, seed: int):
    config = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=2, h=2, element="ring-assisted"))
    sample = sample_chip(config, variation, np.random.default_rng(seed))
    design, params = row_params(sample, 0, nominal_trims(config))
    return sample, design.mmu.segment_device, params


def _resonance_um(ring, neff: float, order: int) -> float:
    """The wavelength where the ring model's round-trip phase is 2*pi*order (voltage 0)."""
    settings = {**ring.settings(), "neff": neff, "voltage_v": 0.0}
    names = ("radius_um", "loss_db_cm", "wl0_um", "ng", "temperature_k", "dn_dt_per_k", "vpil_v_cm", "eo_fraction")

    def phase(wl):
        return float(round_trip(wl, neff=neff, voltage_v=0.0, **{k: settings[k] for k in names})[1]) - 2 * np.pi * order

    return brentq(phase, ring.wl0_um - 0.01, ring.wl0_um + 0.01, xtol=1e-12)


def test_ln_ring_moves_by_lambda_dneff_over_ng_per_nm_of_film():
    # Only the film varies (chip to chip): every ring of a chip sees the same dneff = dneff/dfilm * dfilm,
    # the silicon guides none, and the model's resonance moves by lambda * dneff / ng.
    still = {name: Spread(0.0, 0.0) for name in VariationConfig().spreads()}
    variation = dataclasses.replace(VariationConfig.zero(), scale=1.0, **{**still, "ln_film_nm": Spread(5.0, 0.0)})
    shifts_nm, film_nm = [], []
    for seed in range(40):
        sample, ring, params = _ring_chip(variation, seed)
        dneff = np.asarray(params.segment["neff"]) - ring.neff
        assert np.ptp(dneff) < 1e-15 and np.all(sample.tiles[0].heater["dneff"] == 0)
        assert np.all(sample.tiles[0].front["dneff"] == 0)
        d = float(dneff.flat[0])
        order = round(ring.neff * ring.circumference_um / ring.wl0_um)
        shift_um = _resonance_um(ring, ring.neff + d, order) - _resonance_um(ring, ring.neff, order)
        # first order in dneff/ng (the model's exact shift is lambda*dneff/(ng + dneff))
        assert shift_um == pytest.approx(ring.wl0_um * d / ring.ng, rel=2 * abs(d) / ring.ng + 1e-9)
        shifts_nm.append(shift_um * 1e3)
        film_nm.append(d / variation.ln_dneff_dfilm_per_nm)
    # the film draws have the configured sigma; 0.30 nm of resonance per nm of film at the defaults
    assert np.std(film_nm) == pytest.approx(5.0, rel=0.3)
    per_nm = np.asarray(shifts_nm) / np.asarray(film_nm)
    np.testing.assert_allclose(per_nm, 1550 * 4.4e-4 / 2.3, rtol=1e-2)  # nm per nm


def test_ln_ring_resonances_spread_by_the_ln_sigmas_not_the_silicon_ones():
    # At the default variation a ring's dneff has variance sum_k (dneff/dk * sigma_k)^2 over width, film and
    # etch (global and local parts), about 2.4e-3 (1.6 nm of resonance), not the silicon strip's 1.1e-2 (7.4 nm).
    v = VariationConfig(crosstalk_at_100um=0.0)
    terms = [
        (v.ln_dneff_dwidth_per_nm, v.width_nm),
        (v.ln_dneff_dfilm_per_nm, v.ln_film_nm),
        (v.ln_dneff_detch_per_nm, v.ln_etch_nm),
    ]
    expected = np.sqrt(sum(s**2 * (sp.global_sigma**2 + sp.local_sigma**2) for s, sp in terms))
    dneff = np.concatenate([_ring_chip(v, seed)[0].tiles[0].seg["dneff"].ravel() for seed in range(150)])
    assert dneff.std() == pytest.approx(expected, rel=0.15)
    silicon = np.hypot(v.dneff_dwidth_per_nm * np.hypot(4.0, 2.0), v.dneff_dthickness_per_nm * np.hypot(1.5, 0.5))
    assert dneff.std() < silicon / 3
