"""Modular multiplier unit (MMU): a segmented phase shifter giving phase 2*pi*x*w/m.

B = ceil(log2 m) phase segments, segment b switched by bit b of the weight
residue w and driven according to the input residue x; a thermo-optic heater
adds a slow bias phase. How the product is split between segment lengths and
drive levels (the encoding) and what one segment is (the element) are rule sets
in :mod:`circuits.mmu_design`; :class:`MmuDesign` names them by string and
combines them: segment b has phase per level s_b (:meth:`MmuDesign.ideal_level_slopes`)
and sits at the encoding's level level[x, w, b] (:attr:`MmuDesign.level_table`), so
the segments sum to 2*pi*x*w/m modulo 2*pi: for binary-length and modular-drive
L_b = bit_b(w) * ((x * 2**b / s_b) mod m), for digital-product 0 or full swing by
the digits of (x*w) mod m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from circuits.mmu_design import (
    DEFAULT_ELEMENT,
    DEFAULT_ENCODING,
    ELEMENT_RULES,
    ELEMENTS,
    ENCODING_RULES,
    ENCODINGS,
    Element,
    Encoding,
)
from photonics import constants as k
from photonics.errors import UsageError
from photonics.heater import Heater
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.ring import RingAllPass
from photonics.waveguide import propagation_amplitude


def default_ring(worst_level_loss_db: float = k.RING_LOSS_DB) -> RingAllPass:
    """An over-coupled thin-film-LN ring for the ring-assisted element.

    Radius 50 um (made resonant at wl0), 0.1 dB/cm, 80 % of the circumference
    under the electrode. The coupling is chosen so that the deepest level (on
    resonance) loses ``worst_level_loss_db``, Mirage's 0.2 dB per ring: with
    u = 1 - a and v = 1 - r, |t| on resonance is (v - u)/(v + u). Stronger
    coupling flattens the amplitude but needs more drive: for m = 31 the
    extreme levels need about +/-15.4 V.
    """
    base = RingAllPass(
        radius_um=50.0, loss_db_cm=0.1, eo_fraction=0.8, neff=k.EO_NEFF, ng=k.EO_NG, dn_dt_per_k=k.EO_DN_DT_PER_K
    )
    u = 1 - float(propagation_amplitude(length_um=base.circumference_um, loss_db_cm=base.loss_db_cm))
    t = 10 ** (-worst_level_loss_db / 20)
    r = 1 - u * (1 + t) / (1 - t)
    return replace(base, kappa=1 - r**2, radius_um=resonant_radius_um(base))


def resonant_radius_um(ring: RingAllPass) -> float:
    """The radius nearest ``ring.radius_um`` that is resonant at the ring's wl0 (design choice)."""
    order = round(ring.neff * ring.circumference_um / ring.wl0_um)
    return order * ring.wl0_um / (2 * math.pi * ring.neff)


# How the drivers meet a segment's two electrodes: "single-ended" drives the signal electrode against a
# grounded one; "differential" drives both from antiphase drivers (a CMOS differential output), so the gap sees
# twice one driver's swing and the segment needs half the length for the same phase (and, per symbol, the same
# C * V_gap**2 / 4 of energy on half the capacitance: twice the single-ended energy per unit of phase).
DRIVES = ("single-ended", "differential")


def segment_count(modulus: int) -> int:
    """B = ceil(log2 m) segments, at least one."""
    return max(1, math.ceil(math.log2(modulus)))


@dataclass(frozen=True)
class MmuDesign:
    """How one MMU is built: modulus, encoding, phase element and device parameters.

    ``encoding`` and ``element`` are names from :data:`ENCODINGS` and :data:`ELEMENTS`;
    :attr:`encoding_rules` and :attr:`element_rules` are their rule sets.
    A straight segment's loss follows its drawn geometry: ``eo.loss_db_cm`` over
    its electrode sections and serpentine bends, plus ``eo.bend_loss_db`` per bend
    (:func:`photonics.phase_shifter_eo.segment_loss_db`); the bias heater and ring
    segments have their own loss models.
    """

    modulus: int = 31
    encoding: str = DEFAULT_ENCODING
    element: str = DEFAULT_ELEMENT
    drive_max_v: float = 4.0  # one driver's full swing (DAC or digital driver), reached at level m-1
    drive: str = "single-ended"  # DRIVES: how the drivers meet a segment's two electrodes
    eo: PhaseShifterEO = field(default_factory=PhaseShifterEO)
    ring: RingAllPass = field(default_factory=default_ring)
    heater: Heater = field(default_factory=Heater)

    def __post_init__(self):
        if isinstance(self.modulus, bool) or not isinstance(self.modulus, (int, np.integer)) or self.modulus < 2:
            raise UsageError(f"modulus must be an integer >= 2 (got {self.modulus!r})")
        if self.encoding not in ENCODING_RULES:
            raise UsageError(f"encoding must be one of {', '.join(ENCODINGS)} (got {self.encoding!r})")
        if self.element not in ELEMENT_RULES:
            raise UsageError(f"element must be one of {', '.join(ELEMENTS)} (got {self.element!r})")
        if not self.drive_max_v > 0:
            raise UsageError(f"drive_max_v must be > 0 V (got {self.drive_max_v})")
        if self.drive not in DRIVES:
            raise UsageError(f"drive must be one of {', '.join(DRIVES)} (got {self.drive!r})")

    @property
    def drivers_per_gap(self) -> int:
        """Drivers across a segment's electrode gap: one (single-ended), or two in antiphase (differential). Their
        swings add across the gap, and so do their independent noises' variances."""
        return 2 if self.drive == "differential" else 1

    @property
    def gap_swing_v(self) -> float:
        """Swing of the voltage across a segment's electrode gap: one driver's, or two in antiphase (differential)."""
        return self.drive_max_v * self.drivers_per_gap

    @property
    def encoding_rules(self) -> Encoding:
        return ENCODING_RULES[self.encoding]

    @property
    def element_rules(self) -> Element:
        return ELEMENT_RULES[self.element]

    @property
    def segments(self) -> int:
        return segment_count(self.modulus)

    @property
    def unit_length_um(self) -> float:
        """Straight element: length whose phase step per level is 2*pi/m at V_unit (of the gap swing)."""
        v_unit = self.gap_swing_v / (self.modulus - 1)
        return 2 * self.eo.vpil_v_cm / (self.modulus * v_unit) * 1e4

    def segment_lengths_um(self) -> np.ndarray:
        """Electrode length of each straight segment: the encoding's length scales in unit lengths."""
        return self.unit_length_um * self.encoding_rules.length_scales(self.segments, self.modulus)

    def ideal_level_slopes(self) -> np.ndarray:
        """(B,) phase per drive level of each segment, in levels (2*pi/m): s_b (1 on elements without length)."""
        if self.element_rules.length_scaled:
            return np.asarray(self.encoding_rules.length_scales(self.segments, self.modulus), dtype=float)
        return np.ones(self.segments)

    @cached_property
    def level_table(self) -> np.ndarray:
        """(m, m, B) int64: the drive level of every segment for every (x, w), from the encoding, computed once."""
        table = np.asarray(self.encoding_rules.levels(self.modulus, self.ideal_level_slopes()), dtype=np.int64)
        table.flags.writeable = False
        return table

    @cached_property
    def level_patterns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The segments' distinct level combinations, computed once: their levels (U, B), which one each (x, w)
        takes ((m * m,) int64, at x * m + w), and the product residue (x * w) mod m each realises ((U,) int64).

        Every encoding's levels realise the product, so a combination fixes its residue (checked). The
        digital-product encoding has m combinations (its levels are the digits of (x * w) mod m), the others
        nearly m**2: sums over the segments (:func:`circuits.compiled.segment_sums`) are taken per combination.
        """
        m = self.modulus
        patterns, index = np.unique(self.level_table.reshape(m * m, self.segments), axis=0, return_inverse=True)
        index = index.reshape(m * m)
        product = (np.arange(m)[:, None] * np.arange(m)[None, :] % m).reshape(m * m)
        residue = np.zeros(len(patterns), dtype=np.int64)
        residue[index] = product
        if not np.array_equal(residue[index], product):
            raise ValueError(f"the {self.encoding} encoding gives two products the same segment levels (m = {m})")
        for a in (patterns, index, residue):
            a.flags.writeable = False
        return patterns, index, residue

    @cached_property
    def driven_levels(self) -> np.ndarray:
        """(L,) int64, ascending: the drive levels some (x, w) puts a segment at. Every level 0..m-1 in the DAC-driven
        encodings; 0 and the on-levels with a binary drive (the digital-product encoding's switched segments reach 2
        of the m), so a segment table's other levels, states no driver produces, are never solved."""
        levels = np.unique(self.level_table)
        levels.flags.writeable = False
        return levels

    def segment_levels(self, x, w) -> np.ndarray:
        """Drive level of every segment, shape broadcast(x, w).shape + (B,), for residues x and w."""
        return self.level_table[np.asarray(x, dtype=np.intp), np.asarray(w, dtype=np.intp)]

    @cached_property
    def drive_levels(self) -> np.ndarray:
        """(m, B): the level of segment b for input x when bit b of the weight is set (its x-term).

        Meaningful where :attr:`factorises`; then level[x, w, b] = bit_b(w) * drive_levels[x, b].
        """
        b = np.arange(self.segments)
        return self.level_table[:, 2**b, b]  # 2**(B-1) < m, so every single-bit weight is a residue

    @cached_property
    def factorises(self) -> bool:
        """The phase is sum_b bit_b(w) * xterm_b(x) * s_b: each segment's level is its weight bit times a
        function of x alone, so DACs driven by x alone (one per segment, or one shared) can set it."""
        w = np.arange(self.modulus)
        bits = (w[:, None] >> np.arange(self.segments)) & 1  # (m, B)
        return bool(np.array_equal(self.level_table, bits[None] * self.drive_levels[:, None, :]))

    @property
    def shared_drive(self) -> bool:
        """Every active segment is driven at level x: one drive (DAC) per MMU, one x-term per MAC."""
        x = np.arange(self.modulus)[:, None]
        return self.factorises and bool(np.all(self.drive_levels == x))

    @cached_property
    def binary_drive(self) -> bool:
        """The encoding's digital drive (:attr:`Encoding.binary_drive`): every segment only ever sits at
        level 0 or at its one on-level (:meth:`on_levels`), switched by its own digital driver, no DAC.
        For digital-product on straight segments the on-level is m - 1, the full swing ``drive_max_v``."""
        if not self.encoding_rules.binary_drive:
            return False
        table = self.level_table.reshape(-1, self.segments)
        if not np.all((table == 0) | (table == table.max(axis=0))):
            raise ValueError(f"the {self.encoding} encoding declares a binary drive but its segments take more levels")
        return True

    def on_levels(self) -> np.ndarray:
        """(B,) the highest level each segment reaches (its one on-level where :attr:`binary_drive`)."""
        return self.level_table.reshape(-1, self.segments).max(axis=0)

    @property
    def dacs_per_mmu(self) -> int:
        """Input DACs one MMU needs: none with a binary drive, one shared drive, else one per segment."""
        if self.binary_drive:
            return 0
        return 1 if self.shared_drive else self.segments

    @cached_property
    def active_table(self) -> np.ndarray:
        """(m, m, B) bool: segment b is connected to a varying drive at (x, w), so drive noise reaches it.

        Where DACs drive a factorising encoding, a segment whose weight bit is set
        follows its DAC (even at level 0) and the others are switched off; otherwise
        (a binary drive) a segment is live only while it is on (level > 0). A differential
        drive holds one of its two drivers high in every state, so every segment is live.
        """
        if self.drive == "differential":
            return np.ones(self.level_table.shape, dtype=bool)
        if self.factorises and not self.binary_drive:
            w = np.arange(self.modulus)
            bits = ((w[:, None] >> np.arange(self.segments)) & 1).astype(bool)
            return np.broadcast_to(bits[None], self.level_table.shape)
        return self.level_table > 0

    @property
    def segment_device(self):
        """The device parameters of one segment (PhaseShifterEO, RingAllPass, ...)."""
        return self.element_rules.device(self)

    def level_voltages_v(self) -> np.ndarray:
        """Voltage across the electrode gap at each drive level 0..m-1 (the same for every segment of the design).

        Single-ended: 0 .. drive_max_v. Differential: the two electrodes' drivers swing in
        antiphase, so the gap goes from -drive_max_v to +drive_max_v (the offset is a static
        phase that the LO bias trims).
        """
        predistort = self.element_rules.predistort
        if predistort is None:
            start = -self.drive_max_v if self.drive == "differential" else 0.0
            return start + np.arange(self.modulus) * self.gap_swing_v / (self.modulus - 1)
        return predistort(self.segment_device, self.modulus)

    def segment_settings(self) -> list[dict]:
        """Settings of each segment instance, without the voltage (which the drive sets).

        Length-scaled segments get their electrode length; their loss, passive
        phase and delay follow from it and the segment's folding (the model's
        :func:`photonics.phase_shifter_eo.optical_path_um`).
        """
        device = self.segment_device
        if not self.element_rules.length_scaled:
            return [device.settings() for _ in range(self.segments)]
        return [{**device.settings(), "length_um": float(length)} for length in self.segment_lengths_um()]

    def segment_footprint_um(self) -> np.ndarray:
        """(B,) length each segment occupies along the arm (for device placement)."""
        return np.asarray(self.element_rules.footprint_um(self), dtype=float)

    @property
    def segment_model(self) -> str:
        return self.element_rules.model

    def netlist(self) -> dict:
        """sax netlist: in -> bias heater -> segment 0 -> ... -> segment B-1 -> out.

        ```
            in ─[heater]─[seg0]─[seg1]─ ... ─[seg B-1]─ out
        ```
        """
        instances = {"heater": {"component": "heater", "settings": self.heater.settings()}}
        chain = ["heater"]
        for b, settings in enumerate(self.segment_settings()):
            instances[f"seg{b}"] = {"component": self.segment_model, "settings": settings}
            chain.append(f"seg{b}")
        connections = {f"{a},o2": f"{b},o1" for a, b in zip(chain[:-1], chain[1:], strict=True)}
        ports = {"in": "heater,o1", "out": f"{chain[-1]},o2"}
        return {"instances": instances, "connections": connections, "ports": ports}
