"""The MMU: segment levels, segment phases, ring pre-distortion, design validation."""

import numpy as np
import pytest

import photonics
from circuits.mmu import ELEMENTS, ENCODINGS, MmuDesign, segment_count
from circuits.ring_predistortion import level_voltages_v

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
    weight = 2 ** np.arange(d.segments) if (element, encoding) == ("straight", "binary-length") else 1
    np.testing.assert_array_equal((levels * weight).sum(-1) % m, (x * w) % m)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_straight_segment_phase_steps_by_2pi_over_m(encoding):
    d = MmuDesign(modulus=31, encoding=encoding)
    volts = d.level_voltages_v()
    assert volts[-1] == pytest.approx(d.drive_max_v)
    for b, settings in enumerate(d.segment_settings()):
        t = np.asarray(photonics.evaluate("phase_shifter_eo", **{**settings, "voltage_v": volts})["o1", "o2"])
        scale = 2**b if encoding == "binary-length" else 1
        step = np.angle(t / t[0])
        np.testing.assert_allclose(np.exp(1j * step), np.exp(2j * np.pi * np.arange(31) * scale / 31), atol=1e-9)


def test_straight_loss_is_split_by_length_to_the_mmu_budget():
    d = MmuDesign()
    assert sum(s["loss_db"] for s in d.segment_settings()) == pytest.approx(0.91)


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
