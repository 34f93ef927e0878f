"""Temperature: a uniform rise shifts phases by the dn/dT prediction; crosstalk follows the matrix."""

import dataclasses
import inspect

import numpy as np
import pytest

import photonics
from calibration.chip import device_temperatures_k, heater_p_pi_mw, nominal_trims, row_params, sample_chip, tile_rows
from calibration.thermal import coupling_matrix, crosstalk_rad_per_mw, self_rise_k_per_mw
from calibration.variation import VariationConfig
from circuits.mdpu import FRONT, LO_ROUTE, ROUTES, front_end_netlist
from mvm.config import ChipConfig, TileConfig
from photonics.heater import heater
from tests.helpers import folded_path_um

WL = 1.55


@pytest.fixture(scope="module")
def sample():
    config = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=4, h=4))
    return sample_chip(config, VariationConfig(), np.random.default_rng(4))


def test_uniform_temperature_rise_shifts_every_phase_by_dn_dt(sample):
    config = sample.config
    trims = nominal_trims(config)
    cold = tile_rows(sample, 0, trims)
    warm = tile_rows(sample, 0, trims, extra_heat_k=1.0)
    eo = config.phase_shifter_eo
    electrode = config.mdpu_design(31).mmu.segment_lengths_um()[None, :]
    # the light heats along the whole folded guide, not only under the electrodes
    path = np.broadcast_to(folded_path_um(electrode, eo), sample.tiles[0].seg["dneff"].shape)
    driven = config.mdpu_design(31).mmu.driven_levels  # the levels a segment is solved at
    for r, (c, w) in enumerate(zip(cold, warm)):
        shift = np.angle(w.segment_t[..., driven] / c.segment_t[..., driven])  # the same at every level
        predicted = 2 * np.pi * eo.dn_dt_per_k * path[r] / WL
        np.testing.assert_allclose(
            np.exp(1j * shift), np.exp(1j * predicted[..., None]) * np.ones_like(shift), atol=1e-6
        )
        heat = config.heater
        np.testing.assert_allclose(
            np.angle(w.heater_t / c.heater_t), 2 * np.pi * heat.dn_dt_per_k * heat.length_um / WL, rtol=1e-9
        )


def test_uniform_rise_moves_the_read_phase_by_the_two_arms_thermal_phases(sample):
    """A uniform rise turns each row's signal against its LO, at every detector, by the signal arm's thermal phase (its segments'
    folded paths and its MMU heaters) less the LO arm's (its bias heater, its route, one hybrid heater): the matched
    LO's LN delay line drifts with the signal arm's LN, so what remains is far less than either arm alone. The
    hybrid's routes are the same guide on both arms and cancel."""
    config, rise_k = sample.config, 0.05
    trims = nominal_trims(config)
    cold, warm = tile_rows(sample, 0, trims), tile_rows(sample, 0, trims, extra_heat_k=rise_k)
    design = cold[0].design
    eo, heat, lo_heat = config.phase_shifter_eo, design.mmu.heater, design.lo_heater
    path = np.broadcast_to(folded_path_um(design.mmu.segment_lengths_um(), eo), sample.tiles[0].seg["dneff"].shape)
    route = design.routes.waveguide_of(LO_ROUTE)
    assert design.lo_path == "matched" and design.routes.lo_um > 1e4  # centimetres of LN in the LO arm
    signal_um = eo.dn_dt_per_k * path.sum((1, 2)) + design.h * heat.dn_dt_per_k * heat.length_um
    lo_um = 2 * lo_heat.dn_dt_per_k * lo_heat.length_um + route.dn_dt_per_k * design.routes.lo_um
    predicted = 2 * np.pi * rise_k * (signal_um - lo_um) / WL

    def beat(row):  # the signal's phase against the LO's at each detector, every segment at level 0
        arm = row.src_to_arm * np.prod(row.segment_t[..., 0]) * np.prod(row.heater_t)
        return row.arm_to_det * arm / row.lo_to_det

    turned = np.array([np.angle(beat(w) / beat(c)) for c, w in zip(cold, warm)])  # (R, 4)
    np.testing.assert_allclose(turned, predicted[:, None] * np.ones(4), rtol=1e-6)
    assert np.abs(predicted).max() < 0.1 * 2 * np.pi * rise_k * eo.dn_dt_per_k * path.sum((1, 2)).min() / WL


def test_every_device_whose_model_takes_a_temperature_is_given_the_chips(sample):
    """Each instance of the routed MDPU whose model has a temperature_k argument (segments, heaters, routes) gets
    one from row_params, which follows the chip's ambient offset and drift: none is left at the drawing's 300 K."""
    models = photonics.models()
    warm = dataclasses.replace(sample, ambient_offset_k=0.7)
    design, params = row_params(warm, 0, nominal_trims(sample.config))
    netlist = front_end_netlist(design.lo_fraction, design.lo_heater, routes=design.routes)["instances"]
    heated = [
        n for n, inst in netlist.items() if "temperature_k" in inspect.signature(models[inst["component"]]).parameters
    ]
    assert {"route_lo", "lo_bias"} <= set(heated)  # the LO's delay line and its heaters are among them
    for name in heated:
        assert np.all(np.asarray(params.front[name]["temperature_k"]) >= 300.6), name
    for settings in (params.segment, params.mmu_heater):
        assert np.all(np.asarray(settings["temperature_k"]) >= 300.6)


def test_every_guide_whose_model_takes_an_index_is_varied_but_the_routes(sample):
    """Each instance of the routed MDPU whose model has an neff argument gets a varied one from row_params (the
    segments, the MMU heaters, the LO heaters), except the routes, which keep the drawing's (a static phase the LO
    bias trim absorbs; calibration/variation.py says so): a new guide added to the front end cannot go unvaried
    silently."""
    models = photonics.models()
    design, params = row_params(sample, 0, nominal_trims(sample.config))
    netlist = front_end_netlist(design.lo_fraction, design.lo_heater, routes=design.routes)["instances"]
    guides = [n for n, inst in netlist.items() if "neff" in inspect.signature(models[inst["component"]]).parameters]
    for name in guides:
        if name in ROUTES:
            assert "neff" not in params.front.get(name, {}), name
            continue
        varied = np.asarray(params.front[name]["neff"]) - netlist[name]["settings"]["neff"]
        assert np.all(varied != 0) and np.std(varied) > 0, name
    for settings, drawn in ((params.segment, design.mmu.eo.neff), (params.mmu_heater, design.mmu.heater.neff)):
        assert np.std(np.asarray(settings["neff"]) - drawn) > 0


def test_uniform_rise_moves_ring_resonances_by_wl_dn_dt_over_ng():
    config = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=2, h=2, element="ring-assisted"))
    s = sample_chip(config, VariationConfig(), np.random.default_rng(1))
    ring = config.ring
    radius = ring.radius_um + s.tiles[0].seg["radius_nm"][0, 0, 0] * 1e-3
    temps = device_temperatures_k(s, 0, nominal_trims(config).lo_bias_power_mw[0])[0][0, 0, 0]
    neff = ring.neff + s.tiles[0].seg["dneff"][0, 0, 0]
    # neff(wl) L = m wl with first-order dispersion: wl_m = (ng + dn/dT dT) L / (m + (ng - neff) L / wl0)
    length = 2 * np.pi * radius
    order = round(neff * length / WL)

    def resonance(dt):
        n_t = neff + ring.dn_dt_per_k * (temps - 300.0 + dt)
        return (ring.ng + n_t - neff) * length / (order + (ring.ng - neff) * length / WL)

    from scipy.optimize import minimize_scalar

    from photonics.ring import ring_allpass

    settings = {**ring.settings(), "radius_um": radius, "neff": neff, "kappa_dispersion": 0.0}

    def dip(dt):
        def through(wl):
            return abs(np.asarray(ring_allpass(wl=wl, **{**settings, "temperature_k": temps + dt})[("o1", "o2")])) ** 2

        guess = resonance(dt)
        return minimize_scalar(
            through, bounds=(guess - 5e-5, guess + 5e-5), method="bounded", options={"xatol": 1e-12}
        ).x

    shift_pm = (dip(1.0) - dip(0.0)) * 1e6
    assert shift_pm == pytest.approx(WL * ring.dn_dt_per_k / ring.ng * 1e6, rel=2e-3)


def test_crosstalk_moves_neighbouring_heaters_in_proportion_to_the_matrix(sample):
    index, rows = 0, sample.tiles[0].geometry.rows
    geom = sample.tiles[0].geometry
    lo = [FRONT.index("lo_bias")]
    heaters_xy = geom.front_xy[:, lo[0]]
    p_pi = heater_p_pi_mw(sample, index)[-3 * rows :].reshape(rows, 3)[:, 0]
    heat = sample.config.heater
    rise = self_rise_k_per_mw(p_pi_mw=p_pi, length_um=heat.length_um, wl0_um=heat.wl0_um, dn_dt_per_k=heat.dn_dt_per_k)
    phase_per_k = np.full(rows, 2 * np.pi * heat.dn_dt_per_k * heat.length_um / WL)
    matrix = crosstalk_rad_per_mw(
        coupling_matrix(heaters_xy, heaters_xy, sample.variation.crosstalk_at_100um), rise, phase_per_k, p_pi
    )
    base = nominal_trims(sample.config).lo_bias_power_mw[index]
    power = base + np.random.default_rng(0).uniform(0, 5, rows)

    def lo_bias_phases(p):
        temps = device_temperatures_k(sample, index, p)[2][:, lo[0]]
        return np.angle(
            np.asarray(
                heater(
                    wl=WL,
                    length_um=heat.length_um,
                    power_mw=p,
                    p_pi_mw=p_pi,
                    temperature_k=temps,
                    neff=heat.neff + sample.tiles[0].front["dneff"][:, lo[0]],
                )[("o1", "o2")]
            )
        )

    change = np.angle(np.exp(1j * (lo_bias_phases(power) - lo_bias_phases(base))))
    # the other LO heaters (lo_i, lo_q) sit further away and stay fixed; only lo_bias powers change
    np.testing.assert_allclose(change, matrix @ (power - base), rtol=1e-6, atol=1e-9)
    assert np.abs(matrix - np.diag(np.diag(matrix))).max() > 0  # neighbours do move
