"""The digital-product encoding: segments by the digits of (x*w) mod m, and the level tables of the others."""

import numpy as np
import pytest

from circuits.compiled import compile_mdpu
from circuits.mdpu import MdpuDesign, SaxMdpu
from circuits.mmu import ELEMENTS, MmuDesign

DIGITS = {31: [1, 2, 4, 8, 15], 32: [1, 2, 4, 8, 16], 33: [1, 2, 4, 8, 16, 1]}  # d_b, by hand


@pytest.mark.parametrize("m", sorted(DIGITS))
def test_segments_are_the_digits_and_sum_to_m_minus_1_units(m):
    """Segment b is d_b units u long, u = unit length / (m - 1) (2*pi/m at full swing); m - 1 units in all."""
    d = MmuDesign(modulus=m, encoding="digital-product")
    u = d.unit_length_um / (m - 1)
    np.testing.assert_allclose(d.segment_lengths_um() / u, DIGITS[m], rtol=1e-12)
    assert sum(DIGITS[m]) == m - 1
    assert d.segment_lengths_um().sum() == pytest.approx(d.unit_length_um, rel=1e-12)


@pytest.mark.parametrize("m", sorted(DIGITS))
def test_active_segments_sum_to_the_product_exactly(m):
    """Every segment is off (level 0) or at full swing (level m-1, phase 2*pi*d_b/m); the on digits sum to x*w mod m."""
    d = MmuDesign(modulus=m, encoding="digital-product")
    x, w = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    levels = d.segment_levels(x, w)
    assert set(np.unique(levels)) == {0, m - 1}
    on = levels == m - 1
    np.testing.assert_array_equal((on * np.array(DIGITS[m])).sum(-1), (x * w) % m)  # integers: exact
    np.testing.assert_array_equal(d.on_levels(), m - 1)
    assert d.level_voltages_v()[m - 1] == d.drive_max_v  # on = the full swing


@pytest.mark.parametrize("m", [2, 3, 5, 17, 31, 32, 33, 64, 65])
def test_digits_follow_the_rule_of_the_design(m):
    """p < 2**(B-1): bits of p on segments 0..B-2; else the last segment on and the bits of p - d_{B-1}."""
    d = MmuDesign(modulus=m, encoding="digital-product")
    B = d.segments
    last = m - 2 ** (B - 1)
    for p_x, p_w in [(x, w) for x in range(m) for w in range(m)][:: max(1, m // 7)]:
        p = p_x * p_w % m
        top = p >= 2 ** (B - 1)
        rest = p - last if top else p
        expected = [(rest >> b) & 1 for b in range(B - 1)] + [int(top)]
        np.testing.assert_array_equal(d.segment_levels(p_x, p_w) > 0, expected, err_msg=f"m={m} x={p_x} w={p_w}")


def test_digital_product_drive_hardware():
    """Digital drivers, one per segment: no DAC, no shared drive, and the phase does not factorise into x-terms."""
    for element in ELEMENTS:
        d = MmuDesign(modulus=31, encoding="digital-product", element=element)
        assert d.binary_drive and d.dacs_per_mmu == 0
        assert not d.shared_drive and not d.factorises
    ring = MmuDesign(modulus=31, encoding="digital-product", element="ring-assisted")
    np.testing.assert_array_equal(ring.on_levels(), DIGITS[31])  # a ring's level is its phase in 2*pi/m
    for encoding in ("binary-length", "modular-drive"):
        d = MmuDesign(modulus=31, encoding=encoding)
        assert not d.binary_drive and d.factorises


@pytest.mark.parametrize("element", ELEMENTS)
def test_compiled_form_matches_sax_solution(element):
    design = MdpuDesign(mmu=MmuDesign(modulus=31, encoding="digital-product", element=element), h=4)
    compiled = compile_mdpu(design)
    rng = np.random.default_rng(3)
    x, w = rng.integers(0, 31, (500, 4)), rng.integers(0, 31, (500, 4))
    fast = compiled.detector_fields(x, w)
    reference = SaxMdpu(compiled.design).detector_fields(x, w)
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-9)
    assert np.abs(reference).max() > 0.1


def test_each_segment_at_full_swing_adds_its_digit():
    """Segment b alone at level m-1 turns the arm by 2*pi*d_b/m (sax-solved segment model)."""
    m = 33
    design = MmuDesign(modulus=m, encoding="digital-product")
    seg = compile_mdpu(MdpuDesign(mmu=design, h=1)).segment_t[0]  # (B, m)
    turn = np.angle(seg[:, m - 1] / seg[:, 0] * np.exp(-2j * np.pi * np.array(DIGITS[m]) / m))
    np.testing.assert_allclose(turn, 0, atol=1e-9)


@pytest.mark.parametrize("element", ELEMENTS)
def test_segments_are_solved_at_the_levels_their_drivers_reach_only(element):
    """A switched segment sits at level 0 or its on-level: the table holds the segment model's transmission there
    (each level solved alone) and NaN at the levels no driver produces; the DAC encodings reach every level."""
    import photonics

    m = 31
    mmu = MmuDesign(modulus=m, encoding="digital-product", element=element)
    driven = mmu.driven_levels
    np.testing.assert_array_equal(driven, np.union1d([0], mmu.on_levels()))
    assert len(driven) < m
    seg = compile_mdpu(MdpuDesign(mmu=mmu, h=1)).segment_t[0]  # (B, m)
    undriven = np.setdiff1d(np.arange(m), driven)
    assert np.isnan(seg[:, undriven]).all() and not np.isnan(seg[:, driven]).any()
    model = photonics.models()[mmu.segment_model]
    volts = mmu.level_voltages_v()
    for b, settings in enumerate(mmu.segment_settings()):
        for level in driven:
            alone = complex(np.asarray(model(wl=1.55, **{**settings, "voltage_v": volts[level]})[("o1", "o2")]))
            assert seg[b, level] == pytest.approx(alone, abs=1e-12)
    for encoding in ("binary-length", "modular-drive"):
        np.testing.assert_array_equal(
            MmuDesign(modulus=m, encoding=encoding, element=element).driven_levels, np.arange(m)
        )


def test_drive_variance_counts_the_segments_that_are_on():
    """Each on segment's driver adds (pi L / VpiL)**2 per V**2 independently; off segments are grounded."""
    m = 13
    c = compile_mdpu(MdpuDesign(h=2, mmu=MmuDesign(modulus=m, encoding="digital-product")))
    mmu = c.design.mmu
    slope = np.pi * mmu.segment_lengths_um() * 1e-4 / mmu.eo.vpil_v_cm
    x, w = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    on = mmu.segment_levels(x, w) > 0
    np.testing.assert_allclose(c.drive_variance_table[1], on @ slope**2, rtol=1e-5)


def _old_levels(m: int, encoding: str, element: str) -> np.ndarray:
    """The level rule before encodings owned their tables: bit_b(w) * ((x * 2**b / s_b) mod m)."""
    b = np.arange(max(1, int(np.ceil(np.log2(m)))))
    s = 2**b if (encoding, element) == ("binary-length", "straight") else np.ones_like(b)
    x = np.arange(m)[:, None, None]
    w = np.arange(m)[None, :, None]
    return ((w >> b) & 1) * ((x * (2**b // s)) % m)


@pytest.mark.parametrize("encoding", ["binary-length", "modular-drive"])
@pytest.mark.parametrize("element", ELEMENTS)
def test_existing_level_tables_are_unchanged(encoding, element):
    for m in range(2, 70):
        d = MmuDesign(modulus=m, encoding=encoding, element=element)
        np.testing.assert_array_equal(d.level_table, _old_levels(m, encoding, element), err_msg=f"m={m}")
        assert d.dacs_per_mmu == (1 if (encoding, element) == ("binary-length", "straight") else d.segments)
