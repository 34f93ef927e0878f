"""Segmented electrodes and the folded geometry: the sections the layout draws are the ones the physics sees."""

import math
from dataclasses import replace

import numpy as np
import pytest

from circuits.mmu import MmuDesign
from circuits.mmu_electrodes import ELECTRODE_KINDS, electrode_figures
from photonics import cells, pdk
from photonics.electrode import Electrode
from photonics.phase_shifter_eo import PhaseShifterEO

C_CM_PER_NS = 29.9792458


def sections_by_hand(length_um: float, section_max_um: float) -> tuple[int, float]:
    """(count, length) of the equal straight sections: the least even count whose sections fit."""
    n = 2
    while length_um / n > section_max_um:
        n += 2
    return n, length_um / n


@pytest.mark.parametrize("section_max_um", [5000.0, 2500.0, 700.0])
@pytest.mark.parametrize("encoding", ["binary-length", "modular-drive"])
def test_segmented_figures_follow_the_longest_section(encoding, section_max_um):
    d = MmuDesign(modulus=31, encoding=encoding, eo=PhaseShifterEO(section_max_um=section_max_um))
    e = Electrode(capacitance_pf_per_cm=1.5, source_impedance_ohm=50.0)
    f = electrode_figures(d, "segmented", e)
    lengths = d.segment_lengths_um()
    by_hand = [sections_by_hand(length, section_max_um) for length in lengths]
    np.testing.assert_allclose(f.section_um, [s for _, s in by_hand], rtol=1e-12)
    longest_cm = max(s for _, s in by_hand) * 1e-4
    # f_3dB = 1/(2 pi R C) of the longest section: 1.5 pF/cm * L, 50 ohm
    assert f.bandwidth_ghz == pytest.approx(1 / (2 * math.pi * 50.0 * 1.5e-12 * longest_cm) * 1e-9, rel=1e-12)
    assert f.driver_capacitance_pf == pytest.approx(1.5 * longest_cm, rel=1e-12)
    # C*V**2/4 of every section summed: the whole electrode's capacitance at the full 4 V swing (random NRZ)
    swing = float(np.ptp(d.level_voltages_v()))
    assert f.energy_pj == pytest.approx(1.5 * lengths.sum() * 1e-4 * swing**2 / 4, rel=1e-12)
    # transit through each segment's longest section: L * n_g / c
    np.testing.assert_allclose(f.transit_time_ns, f.section_um * 1e-4 * d.eo.ng / C_CM_PER_NS, rtol=1e-12)
    # every section has its own driver: broadcasting the drive to more rows does not load it
    assert electrode_figures(d, "segmented", e, loads_per_driver=16).bandwidth_ghz == f.bandwidth_ghz
    # sections are shorter than the segments, so the segmented electrode is at least as fast as the lumped one
    assert f.bandwidth_ghz >= electrode_figures(d, "lumped", e).bandwidth_ghz
    assert "segmented" in ELECTRODE_KINDS


def test_the_layout_draws_the_sections_the_electrode_model_counts():
    pdk.activate()
    d = MmuDesign(modulus=31, encoding="modular-drive", eo=PhaseShifterEO(section_max_um=1500.0))
    f = electrode_figures(d, "segmented")
    for settings, section in zip(d.segment_settings(), f.section_um, strict=True):
        drawn = cells.eo_sections_um(settings["length_um"], settings["section_max_um"])
        component = cells.phase_shifter_eo(**{k: v for k, v in settings.items() if k != "voltage_v"})
        assert component.info["sections"] == len(drawn) == round(settings["length_um"] / section)
        assert max(drawn) == pytest.approx(section, abs=1e-3)  # the 1 nm grid
        assert max(drawn) <= 1500.0


def test_signal_arm_delay_sees_the_serpentine_bends():
    """Raising the bend radius by dr lengthens every segment's path by n_b * pi * dr: h * sum(n_b) * pi * dr * n_g/c."""
    from circuits.compiled import compile_mdpu
    from circuits.mdpu import MdpuDesign

    h, dr = 2, 40.0
    base = MmuDesign(modulus=5, encoding="modular-drive")
    delays = []
    for radius in (30.0, 30.0 + dr):
        mmu = replace(base, eo=replace(base.eo, bend_radius_um=radius))
        delays.append(compile_mdpu(MdpuDesign(mmu=mmu, h=h)).delay_mismatch_s())
    n = [sections_by_hand(length, base.eo.section_max_um)[0] for length in base.segment_lengths_um()]
    expected_s = h * sum(n) * math.pi * dr * 1e-4 * base.eo.ng / C_CM_PER_NS * 1e-9
    assert delays[1] - delays[0] == pytest.approx(expected_s, rel=1e-4)
