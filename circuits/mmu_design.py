"""The MMU's encodings and elements: every rule that depends on which one a design uses.

This module is the one place that knows the encodings and elements by name;
:class:`circuits.mmu.MmuDesign` names them by string (config files and the CLI
use the names) and answers every question the other layers ask through the rule
sets here. It loads no device models (no JAX), so the CLI can offer the names
cheaply. docs/howto-add-encoding.md explains how to add an encoding.

Weight bit b of an MMU asks for 2**b * x levels of phase (one level is 2*pi/m).

- An **encoding** (:class:`Encoding`) says how long each segment is and at which
  drive level it sits for every (x, w). Segment b is s_b unit lengths long
  (``length_scales``), so on a Pockels segment one level of drive gives s_b levels
  of phase. Its ``levels`` rule gives the table level[x, w, b].
  "binary-length": s_b = 2**b, every active segment shares the drive level x
  (one DAC per MMU). "modular-drive": equal segments, s_b = 1, level
  (x * 2**b) mod m (one DAC per segment, swing below 2*pi). Both follow
  :func:`modular_levels`: level = bit_b(w) * ((x * 2**b / s_b) mod m).
  "digital-product": the product p = (x*w) mod m is formed in CMOS beside the
  MMU and its digits switch segments of d_b = 1, 2, 4, ..., m - 2**(B-1) phase
  units (2*pi/m each; they sum to m - 1) between level 0 and full swing, one
  digital driver per segment and no DAC (:func:`digital_product_levels`).
- An **element** (:class:`Element`) is what one segment is. "straight": a Pockels
  phase shifter, phase linear in V and in length, so V = level * V_unit.
  "ring-assisted": an over-coupled all-pass ring whose drive is pre-distorted
  (:mod:`circuits.ring_predistortion`) so its phase is 2*pi*level/m. A ring's
  phase wraps within one resonance and grows with no length, so a ring segment
  has s_b = 1 whatever the encoding: with rings the encodings give the same
  phases and differ only in how the drive is distributed.

Every segment thus sits at a level in [0, m) with phase 2*pi*level*s_b/m, and the
segments sum to 2*pi*x*w/m modulo 2*pi.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from circuits.mmu import MmuDesign


class Trim(enum.Enum):
    """What calibration (:mod:`calibration.calibrate`) trims on each segment."""

    DRIVE_GAIN = "drive-gain"  # measure the phase per level, scale the drive voltages by nominal / measured
    RING_LOCK = "ring-lock"  # lock the resonance with the ring's heater, then measure and invert the phase curve


def modular_levels(modulus: int, slopes: np.ndarray) -> np.ndarray:
    """(m, m, B) level[x, w, b] = bit_b(w) * ((x * k_b) mod m), k_b = 2**b / s_b.

    Segment b, switched by bit b of the weight, adds s_b * (x * 2**b / s_b) levels:
    2*pi*x*2**b/m modulo 2*pi. ``slopes`` are the segments' phases per level
    (s_b), each of which must divide 2**b.
    """
    bits = 2.0 ** np.arange(len(slopes))
    slopes = np.asarray(slopes, dtype=float)
    if np.any(slopes < 1) or np.any(bits % slopes != 0):
        raise ValueError(f"every segment's phase per level s_b must divide 2**b (got {list(slopes)})")
    k = (bits // slopes).astype(np.int64)
    x = np.arange(modulus, dtype=np.int64)[:, None, None]
    w = np.arange(modulus, dtype=np.int64)[None, :, None]
    return ((w >> np.arange(len(slopes))) & 1) * ((x * k) % modulus)


def product_digits(modulus: int, segments: int) -> np.ndarray:
    """(B,) phase units d_b of the digital-product segments: 2**b, the last m - 2**(B-1); they sum to m - 1."""
    d = 2 ** np.arange(segments, dtype=np.int64)
    d[-1] = modulus - 2 ** (segments - 1)
    return d


def digital_product_levels(modulus: int, slopes: np.ndarray) -> np.ndarray:
    """(m, m, B) levels that put the digits of p = (x*w) mod m on the segments.

    p < 2**(B-1): bits of p on segments 0..B-2; else segment B-1 (d_{B-1} units)
    on and the bits of p - d_{B-1} (< 2**(B-1)) on the others, so the active
    segments' units sum to p. An active segment sits at its on-level d_b / s_b:
    m - 1 (full swing) on a straight segment, d_b on a ring.
    """
    segments = len(slopes)
    d = product_digits(modulus, segments)
    on = np.rint(d / np.asarray(slopes, dtype=float)).astype(np.int64)
    if np.any(np.abs(on * np.asarray(slopes) - d) > 1e-9 * d) or np.any(on < 1) or np.any(on >= modulus):
        raise ValueError(f"digital-product: segment phases per level {list(slopes)} give no level for {list(d)}")
    p = np.arange(modulus)[:, None] * np.arange(modulus)[None, :] % modulus
    top = p >= 2 ** (segments - 1)
    rest = np.where(top, p - d[-1], p)
    digits = (rest[..., None] >> np.arange(segments)) & 1
    digits[..., -1] = top
    return digits * on


@dataclass(frozen=True)
class Encoding:
    """How an MMU splits the phase 2*pi*x*w/m between segment lengths and drive levels.

    - ``length_scales(B, m)``: (B,) length of each segment in unit lengths, s_b (one
      unit length gives 2*pi/m per drive level on a Pockels segment). It applies only
      to elements whose phase grows with length (:attr:`Element.length_scaled`);
      every other element uses s_b = 1.
    - ``levels(m, s)``: (m, m, B) integer table level[x, w, b] in [0, m) of each
      segment for the segments' phases per level s (s_b, or 1 on rings), such that
      sum_b level[x, w, b] * s_b = x*w (mod m). Default :func:`modular_levels`,
      which needs each s_b to divide 2**b.
    - ``binary_drive``: each segment has its own digital driver that switches it
      between level 0 and one on-level (no DAC); the level table must then take
      at most two values per segment. False: the drive levels come from DACs.

    What follows from the table (derived by :class:`circuits.mmu.MmuDesign`): whether
    the phase factorises into x-terms (DACs driven by x alone can set it) and whether one DAC
    serves every segment.
    """

    name: str
    length_scales: Callable[[int, int], np.ndarray]
    levels: Callable[[int, np.ndarray], np.ndarray] = modular_levels
    binary_drive: bool = False


@dataclass(frozen=True)
class Element:
    """What one MMU segment is, and what follows from that for drive, calibration and layout.

    - ``model``: the photonics model (sax) and layout cell of one segment.
    - ``length_scaled``: its phase per drive level grows with its length (Pockels), so
      the encoding's length scales apply; False: s_b = 1 for every segment.
    - ``device``: the segment's device parameters from the design (``neff``, ``settings()``).
    - ``predistort``: None for a phase linear in the drive (V = level * drive_max_v/(m-1));
      else ``predistort(device, m)`` gives the drive voltage of each level 0..m-1.
    - ``trim``: what calibration may trim on each segment.
    - ``sectioned_electrodes``: the layout folds each segment's electrode into sections
      of at most ``section_max_um`` (and LVS checks the drawn electrode lengths).
    - ``footprint_um``: (B,) length each segment occupies along the arm (device placement
      for variation sampling and thermal crosstalk).
    - ``electrode_um``: (B,) electrode length of each segment (its capacitance and RF line,
      :mod:`circuits.mmu_electrodes`).
    - ``linewidth_ghz``: None for a segment without a resonance; else ``linewidth_ghz(device)``,
      the optical FWHM that caps how fast the segment's phase can follow its drive.
    """

    name: str
    model: str
    length_scaled: bool
    device: Callable[[MmuDesign], object]
    predistort: Callable[[object, int], np.ndarray] | None
    trim: Trim
    sectioned_electrodes: bool
    footprint_um: Callable[[MmuDesign], np.ndarray]
    electrode_um: Callable[[MmuDesign], np.ndarray]
    linewidth_ghz: Callable[[object], float] | None


def _registry(*rules):
    return {r.name: r for r in rules}


# --- the encodings ----------------------------------------------------------------------------

ENCODING_RULES: dict[str, Encoding] = _registry(
    # segment b is 2**b unit lengths long; every active segment shares one drive, level x
    Encoding(
        name="binary-length",
        length_scales=lambda segments, modulus: 2.0 ** np.arange(segments),
    ),
    # equal segments; segment b driven at level (x * 2**b) mod m, one DAC per segment
    Encoding(
        name="modular-drive",
        length_scales=lambda segments, modulus: np.ones(segments),
    ),
    # p = (x*w) mod m formed in CMOS; its digits switch segments of d_b/(m-1) unit lengths
    # (2*pi*d_b/m at full swing, m - 1 units of 2*pi/m in all) between 0 and full swing
    Encoding(
        name="digital-product",
        length_scales=lambda segments, modulus: product_digits(modulus, segments) / (modulus - 1),
        levels=digital_product_levels,
        binary_drive=True,
    ),
)

# --- the elements -----------------------------------------------------------------------------


def _ring_predistort(ring, modulus: int) -> np.ndarray:
    from circuits.ring_predistortion import level_voltages_v  # imported on use: it loads the device models (JAX)

    return level_voltages_v(ring, modulus)


def _ring_linewidth_ghz(ring) -> float:
    from circuits.mmu_electrodes import ring_linewidth_ghz  # imported on use, as the pre-distortion

    return ring_linewidth_ghz(ring)


ELEMENT_RULES: dict[str, Element] = _registry(
    # a Pockels phase shifter per segment: phase linear in drive and in length
    Element(
        name="straight",
        model="phase_shifter_eo",
        length_scaled=True,
        device=lambda mmu: mmu.eo,
        predistort=None,
        trim=Trim.DRIVE_GAIN,
        sectioned_electrodes=True,
        footprint_um=lambda mmu: mmu.segment_lengths_um(),
        electrode_um=lambda mmu: mmu.segment_lengths_um(),
        linewidth_ghz=None,
    ),
    # an over-coupled all-pass ring per segment, its drive pre-distorted to give 2*pi*level/m
    Element(
        name="ring-assisted",
        model="ring_allpass",
        length_scaled=False,
        device=lambda mmu: mmu.ring,
        predistort=_ring_predistort,
        trim=Trim.RING_LOCK,
        sectioned_electrodes=False,
        footprint_um=lambda mmu: np.full(mmu.segments, mmu.ring.circumference_um),
        electrode_um=lambda mmu: np.full(mmu.segments, mmu.ring.eo_fraction * mmu.ring.circumference_um),
        linewidth_ghz=_ring_linewidth_ghz,
    ),
)


ENCODINGS = tuple(ENCODING_RULES)  # the names, for config validation and CLI choices
ELEMENTS = tuple(ELEMENT_RULES)
DEFAULT_ENCODING = "digital-product"  # what an MMU design (and a chip configuration) uses unless told
DEFAULT_ELEMENT = "straight"
