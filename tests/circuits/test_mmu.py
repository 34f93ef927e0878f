"""The MMU: segment levels, segment phases, ring pre-distortion, design validation, the encoding registry."""

import math

import numpy as np
import pytest

import photonics
from circuits.compiled import compile_mdpu, iq
from circuits.mdpu import MdpuDesign, SaxMdpu
from circuits.mmu import ELEMENTS, ENCODINGS, MmuDesign, segment_count
from circuits.mmu_design import ENCODING_RULES, Encoding, Trim, modular_levels
from circuits.mmu_electrodes import electrode_figures, ring_linewidth_ghz
from circuits.ring_predistortion import level_voltages_v
from photonics.electrode import Electrode, travelling_wave_bandwidth_ghz

DESIGNS = [(enc, el) for enc in ENCODINGS for el in ELEMENTS]


def test_segment_count_is_ceil_log2():
    assert [segment_count(m) for m in (2, 3, 4, 5, 31, 32, 33, 64)] == [1, 2, 2, 3, 5, 5, 6, 6]


@pytest.mark.parametrize("encoding, element", DESIGNS)
@pytest.mark.parametrize("m", [2, 7, 31, 32, 33])
def test_segment_levels_sum_to_the_product(m, encoding, element):
    d = MmuDesign(modulus=m, encoding=encoding, element=element)
    x, w = np.meshgrid(np.arange(m), np.arange(m))
    levels = d.segment_levels(x, w)
    assert levels.min() >= 0 and levels.max() < m
    units = level_phase_units(m, encoding, element)  # phase per level in 2*pi/(m*(m-1)), exact integers
    np.testing.assert_array_equal((levels * units).sum(-1) % (m * (m - 1)), (x * w) % m * (m - 1))


def level_phase_units(m: int, encoding: str, element: str) -> np.ndarray:
    """Each segment's phase per level, by hand, in units of 2*pi/(m*(m-1)) (integers for every encoding)."""
    b = np.arange(segment_count(m))
    if element == "ring-assisted" or encoding == "modular-drive":
        return np.full(len(b), m - 1)  # one level is 2*pi/m
    if encoding == "binary-length":
        return 2**b * (m - 1)  # 2**b unit lengths
    digits = 2**b  # digital-product: d_b/(m-1) unit lengths, d = 1, 2, 4, ..., m - 2**(B-1)
    digits[-1] = m - 2 ** (len(b) - 1)
    return digits


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_straight_segment_phase_steps_by_2pi_over_m(encoding):
    d = MmuDesign(modulus=31, encoding=encoding)
    volts = d.level_voltages_v()
    assert volts[-1] == pytest.approx(d.drive_max_v)
    for b, settings in enumerate(d.segment_settings()):
        t = np.asarray(photonics.evaluate("phase_shifter_eo", **{**settings, "voltage_v": volts})["o1", "o2"])
        scale = level_phase_units(31, encoding, "straight")[b] / 30
        step = np.angle(t / t[0])
        np.testing.assert_allclose(np.exp(1j * step), np.exp(2j * np.pi * np.arange(31) * scale / 31), atol=1e-9)


def test_straight_loss_follows_the_folded_length():
    """Each segment loses loss_db_cm over its electrode and its serpentine's half-turns, plus bend_loss_db per turn."""
    d = MmuDesign()
    eo = d.eo
    for settings, length in zip(d.segment_settings(), d.segment_lengths_um(), strict=True):
        assert settings["length_um"] == pytest.approx(length)
        n = 2 * max(1, math.ceil(length / (2 * eo.section_max_um)))  # even, each section <= section_max_um
        loss_db = eo.loss_db_cm * (length + n * math.pi * eo.bend_radius_um) * 1e-4 + n * eo.bend_loss_db
        t = photonics.evaluate("phase_shifter_eo", **settings)["o1", "o2"]
        assert -20 * np.log10(abs(complex(np.asarray(t)))) == pytest.approx(loss_db, rel=1e-9)


@pytest.mark.parametrize("m", [2, 5, 31, 64])
def test_ring_predistortion_gives_phase_levels(m):
    ring = MmuDesign(element="ring-assisted").ring
    volts = level_voltages_v(ring, m)
    t = np.asarray(photonics.evaluate("ring_allpass", **{**ring.settings(), "voltage_v": volts})["o1", "o2"])
    np.testing.assert_allclose(np.exp(1j * np.angle(t / t[0])), np.exp(2j * np.pi * np.arange(m) / m), atol=1e-9)
    assert np.all(np.diff(volts) > 0)


def test_default_ring_loses_0p2_db_at_its_deepest_level():
    ring = MmuDesign(element="ring-assisted").ring
    volts = level_voltages_v(ring, 31)
    t = np.asarray(photonics.evaluate("ring_allpass", **{**ring.settings(), "voltage_v": volts})["o1", "o2"])
    assert -20 * np.log10(np.abs(t).min()) == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"modulus": 1}, "modulus must be an integer >= 2"),
        ({"modulus": 3.5}, "modulus must be an integer >= 2"),
        ({"encoding": "unary"}, "encoding must be one of binary-length, modular-drive"),
        ({"element": "mzi"}, "element must be one of straight, ring-assisted"),
        ({"drive_max_v": 0}, "drive_max_v must be > 0"),
    ],
)
def test_bad_designs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MmuDesign(**kwargs)


# --- the registry of encodings and elements ------------------------------------------------------


def _read_phase_error_rad(design: MmuDesign) -> float:
    """Largest |read phase - 2*pi*x*w/m (mod 2*pi)| over every (x, w) pair, through the sax-solved MDPU (h = 1)."""
    compiled = compile_mdpu(MdpuDesign(mmu=design, h=1))
    m = design.modulus
    x, w = (a.reshape(-1, 1) for a in np.meshgrid(np.arange(m), np.arange(m)))
    fields = SaxMdpu(compiled.design).detector_fields(x, w)  # the netlist solved by sax, LO trimmed to phase 0
    exact = 2 * np.pi * x[:, 0] * w[:, 0] / m
    return float(np.abs(np.angle(iq(fields) * np.exp(-1j * exact))).max())


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("m", [5, 8])
def test_every_registered_design_gives_the_exact_phase(m, encoding, element):
    assert _read_phase_error_rad(MmuDesign(modulus=m, encoding=encoding, element=element)) < 1e-6


@pytest.mark.parametrize("encoding", [e for e in ENCODINGS if MmuDesign(modulus=13, encoding=e).factorises])
@pytest.mark.parametrize("element", ELEMENTS)
def test_each_segment_adds_its_share_of_the_phase(encoding, element):
    """Segment b alone (bit b of w set) at level L_b(x) turns the arm by 2*pi*x*2**b/m (mod 2*pi)."""
    m = 13
    design = MmuDesign(modulus=m, encoding=encoding, element=element)
    seg = compile_mdpu(MdpuDesign(mmu=design, h=1)).segment_t[0]  # (B, m): each segment's transmission per level
    x = np.arange(m)
    for b in range(design.segments):
        level = design.segment_levels(x, np.full(m, 1 << b))[:, b]
        turn = np.angle(seg[b, level] / seg[b, 0] * np.exp(-2j * np.pi * x * 2**b / m))
        np.testing.assert_allclose(turn, 0, atol=1e-9)


@pytest.mark.parametrize("name", [e for e in ENCODINGS if ENCODING_RULES[e].levels is modular_levels])
def test_encoding_length_scales_divide_the_bit_weights(name):
    for segments in range(1, 12):
        scales = ENCODING_RULES[name].length_scales(segments, 2 ** (segments - 1) + 1)
        assert scales.shape == (segments,) and np.all(scales >= 1)
        assert np.all(2 ** np.arange(segments) % scales == 0)


@pytest.mark.parametrize("encoding, element", DESIGNS)
def test_drive_sharing_follows_the_levels(encoding, element):
    """One DAC per MMU exactly when every active segment sits at level x, else one per segment; none with
    digital drivers (digital-product)."""
    d = MmuDesign(modulus=31, encoding=encoding, element=element)
    x = np.arange(31)
    # segment b with its weight bit set alone (w = 31 is no residue mod 31, so not all bits at once)
    levels = np.stack([d.segment_levels(x, np.full(31, 1 << b))[:, b] for b in range(d.segments)], -1)
    shared = bool(np.all(levels == x[:, None]))
    assert d.shared_drive == shared
    assert d.dacs_per_mmu == (0 if encoding == "digital-product" else 1 if shared else d.segments)
    assert (encoding, element) != ("binary-length", "straight") or d.dacs_per_mmu == 1  # Mirage's shared drive


def test_ring_segments_ignore_the_encodings_lengths():
    for encoding in ENCODINGS:
        d = MmuDesign(modulus=31, encoding=encoding, element="ring-assisted")
        np.testing.assert_array_equal(d.ideal_level_slopes(), np.ones(d.segments))
        assert d.element_rules.predistort is not None and d.element_rules.trim is Trim.RING_LOCK


def test_a_new_encoding_is_one_registry_entry(monkeypatch):
    """A made-up encoding, registered alone, is accepted and computes the exact product on every element."""
    pairs = Encoding(name="pair-length", length_scales=lambda segments, modulus: 2.0 ** (np.arange(segments) // 2 * 2))
    monkeypatch.setitem(ENCODING_RULES, pairs.name, pairs)
    for element in ELEMENTS:
        d = MmuDesign(modulus=11, encoding="pair-length", element=element)
        assert _read_phase_error_rad(d) < 1e-6
    d = MmuDesign(modulus=11, encoding="pair-length")
    np.testing.assert_array_equal(d.drive_levels[1], [1, 2, 1, 2])  # x = 1 sits at k_b = 2**b / s_b
    np.testing.assert_allclose(d.segment_lengths_um(), d.unit_length_um * np.array([1, 1, 4, 4]))
    assert d.dacs_per_mmu == 4


# --- electrodes: bandwidth, drive energy and transit (circuits/mmu_electrodes.py) ----------------


def test_default_mmu_electrodes_by_hand():
    """Digital-product straight MMU, m = 31, 4 V single-ended, segmented in <= 0.8 mm sections.

    Unit u = 2*VpiL/(m*V) = 4/(31*4) cm = 322.6 um; digits 1, 2, 4, 8, 15 units (30 in all, 0.97 cm).
    Sections: the least even count of <= 800 um: 2, 2, 2, 4 and 8 (15u = 4839 um needs 7, so 8).
    """
    d = MmuDesign()
    f = electrode_figures(d)
    assert f.kind == "segmented"
    u_cm = 2 * 2.0 / (31 * 4.0)
    np.testing.assert_allclose(f.electrode_um, np.array([1, 2, 4, 8, 15]) * u_cm * 1e4, rtol=1e-12)
    np.testing.assert_allclose(f.section_um, np.array([1 / 2, 2 / 2, 4 / 2, 8 / 4, 15 / 8]) * u_cm * 1e4, rtol=1e-12)
    assert f.capacitance_total_pf == pytest.approx(1.5 * 30 * u_cm, rel=1e-12)  # 1.45 pF against 45
    # the longest section, 2u = 645 um of 1.5 pF/cm on its own 50 ohm driver: 33 GHz, above the 10 GHz clock
    assert f.driver_capacitance_pf == pytest.approx(1.5 * 2 * u_cm, rel=1e-12)
    assert f.bandwidth_ghz == pytest.approx(1 / (2 * np.pi * 50 * 1.5 * 2 * u_cm * 1e-12) / 1e9, rel=1e-12)
    assert f.bandwidth_ghz == pytest.approx(32.9, abs=0.1)
    assert f.energy_pj == pytest.approx(1.5 * 30 * u_cm * 4.0**2 / 4, rel=1e-12)  # C V**2 / 4 = 5.8 pJ per symbol
    assert f.transit_time_ns.max() == pytest.approx(2 * u_cm * 2.3 / 2.99792458e10 * 1e9, rel=1e-12)  # 5 ps
    # differential: 8 V across the gap, half the length; C*V_gap**2/4 on half the capacitance is twice the energy
    fd = electrode_figures(MmuDesign(drive="differential"))
    np.testing.assert_allclose(fd.electrode_um, f.electrode_um / 2, rtol=1e-12)
    assert fd.energy_pj == pytest.approx(1.5 * 15 * u_cm * 8.0**2 / 4, rel=1e-12) == pytest.approx(2 * f.energy_pj)


def test_binary_length_mmu_electrodes_by_hand():
    """Binary-length straight MMU (the 2023 chip), m = 31, 4 V: 31 unit lengths of 4*30/(31*4) cm = 30 cm of 1.5 pF/cm."""
    d = MmuDesign(encoding="binary-length")
    f = electrode_figures(d, "lumped")
    total_cm = 31 * (2 * 2.0 / (31 * 4.0 / 30))
    assert total_cm == pytest.approx(30.0)
    assert f.capacitance_total_pf == pytest.approx(1.5 * total_cm) == pytest.approx(45.0)  # the review's 45 pF
    # one shared driver charges all 45 pF through 50 ohm: 70.7 MHz, far below the 10 GHz clock
    assert f.bandwidth_ghz == pytest.approx(1 / (2 * np.pi * 50 * 45e-12) / 1e9, rel=1e-12)
    assert f.max_symbol_rate_gbaud == pytest.approx(f.bandwidth_ghz / 0.7)
    # a tile's input DAC drives its MMU column in all 16 rows: 720 pF, 4.4 MHz (the review's ~4 MHz)
    tile = electrode_figures(d, "lumped", loads_per_driver=16)
    assert tile.bandwidth_ghz == pytest.approx(1 / (2 * np.pi * 50 * 720e-12) / 1e9, rel=1e-12)
    assert f.energy_pj == pytest.approx(45.0 * 4.0**2 / 4)  # C V**2 / 4 = 180 pJ per symbol
    # the longest segment, 16 unit lengths = 15.48 cm of ng = 2.3 guide: 1.19 ns
    assert f.transit_time_ns.max() == pytest.approx(16 * total_cm / 31 * 2.3 / 2.99792458e10 * 1e9, rel=1e-12)
    assert f.transit_time_ns.max() == pytest.approx(1.19, abs=0.01)


def test_travelling_wave_mmu_is_limited_by_its_longest_segment():
    d = MmuDesign()
    f = electrode_figures(d, "travelling-wave")
    longest = d.segment_lengths_um().max()
    assert f.bandwidth_ghz == pytest.approx(travelling_wave_bandwidth_ghz(Electrode(), longest, d.eo.ng))
    assert np.all(np.diff(f.electrical_bandwidth_ghz) < 0)  # longer segments are slower
    z0 = Electrode().impedance_ohm
    assert f.energy_pj == pytest.approx(d.segments * 4.0**2 / (2 * z0) * 0.1e3, rel=1e-12)  # 5 lines, 0.1 ns


def test_modular_drive_gives_each_segment_its_own_driver():
    d = MmuDesign(encoding="modular-drive")
    f = electrode_figures(d, "lumped")
    c_unit = 1.5 * d.unit_length_um * 1e-4
    np.testing.assert_allclose(f.capacitance_pf, c_unit)
    np.testing.assert_allclose(f.electrical_bandwidth_ghz, 1 / (2 * np.pi * 50 * c_unit * 1e-12) / 1e9)


def test_ring_linewidth_matches_the_ring_model_and_caps_the_bandwidth():
    """The FWHM of the ring model's notch (1 - |t|**2 at half depth) is the linewidth; it caps the MMU."""
    d = MmuDesign(element="ring-assisted")
    ring = d.ring
    wl = ring.wl0_um + np.linspace(-2e-4, 2e-4, 40001)
    dip = 1 - np.abs(np.asarray(photonics.evaluate("ring_allpass", wl=wl, **ring.settings())["o1", "o2"])) ** 2
    span = wl[dip >= dip.max() / 2]
    fwhm_ghz = (span.max() - span.min()) * 1e-6 * 2.99792458e8 / (ring.wl0_um * 1e-6) ** 2 / 1e9
    assert ring_linewidth_ghz(ring) == pytest.approx(fwhm_ghz, rel=1e-3)
    f = electrode_figures(d, "lumped")
    np.testing.assert_allclose(f.electrode_um, 0.8 * 2 * np.pi * ring.radius_um)
    assert f.bandwidth_ghz == pytest.approx(ring_linewidth_ghz(ring))  # the electrode alone is far faster
    assert np.all(f.electrical_bandwidth_ghz > 10 * f.bandwidth_ghz)
    np.testing.assert_allclose(f.transit_time_ns, 1 / (2 * np.pi * fwhm_ghz), rtol=1e-3)  # photon lifetime


def test_electrode_figures_refuse_bad_input():
    with pytest.raises(ValueError, match="kind must be one of lumped, travelling-wave"):
        electrode_figures(MmuDesign(), "coplanar")
    with pytest.raises(ValueError, match="loads_per_driver must be an integer >= 1"):
        electrode_figures(MmuDesign(), loads_per_driver=0)
