"""The folded EO segment: the voltage acts on the electrode, loss, passive phase and delay on the whole path."""

import math

import numpy as np
import pytest

import photonics
from photonics import constants as k
from photonics.phase_shifter_eo import PhaseShifterEO


def s21(**settings):
    return complex(np.asarray(photonics.evaluate("phase_shifter_eo", **settings)[("o1", "o2")]))


@pytest.mark.parametrize("length_um, sections", [(2000.0, 2), (10000.0, 2), (10001.0, 4), (31000.0, 8)])
def test_path_is_the_sections_plus_one_half_turn_each(length_um, sections):
    p = PhaseShifterEO(length_um=length_um, section_max_um=5000.0, bend_radius_um=30.0)
    assert p.optical_path_um == pytest.approx(length_um + sections * math.pi * 30.0, rel=1e-12)
    loss = 0.25 * p.optical_path_um * 1e-4 + 0.005 * sections
    assert PhaseShifterEO(
        length_um=length_um, section_max_um=5000.0, loss_db_cm=0.25, bend_loss_db=0.005
    ).insertion_loss_db == (pytest.approx(loss, rel=1e-12))
    t = s21(length_um=length_um, section_max_um=5000.0, loss_db_cm=0.25, bend_loss_db=0.005)
    assert -20 * math.log10(abs(t)) == pytest.approx(loss, rel=1e-9)


def test_group_delay_follows_the_path_and_the_eo_phase_the_electrode():
    p = PhaseShifterEO(length_um=12000.0)  # 4 sections of 3 mm
    dwl = 1e-6
    wl = np.array([k.WL_UM - dwl, k.WL_UM + dwl])
    t = np.asarray(photonics.evaluate("phase_shifter_eo", wl=wl, length_um=p.length_um)[("o1", "o2")])
    d_omega = 2 * math.pi * k.C_UM_PER_S * (1 / wl[0] - 1 / wl[1])
    tau_s = np.angle(t[0] / t[1]) / d_omega
    assert tau_s == pytest.approx(p.optical_path_um * p.ng / k.C_UM_PER_S, rel=1e-6)  # L_path * n_g / c
    # the voltage's phase is pi*V*L/VpiL over the electrode alone, bends or no bends
    for radius in (20.0, 80.0):
        ratio = s21(length_um=12000.0, bend_radius_um=radius, voltage_v=1.0) / s21(
            length_um=12000.0, bend_radius_um=radius
        )
        assert np.angle(ratio) == pytest.approx(math.pi * 1.0 * 1.2 / p.vpil_v_cm)  # 1 V over 1.2 cm
