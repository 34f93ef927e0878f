"""Modular multiplier unit (MMU): a segmented phase shifter giving phase 2*pi*x*w/m.

B = ceil(log2 m) phase segments, segment b switched by bit b of the weight
residue w and driven according to the input residue x; a thermo-optic heater
adds a slow bias phase. Every segment b of every encoding is driven to a
*level* in [0, m): its phase is then 2*pi*level*2**e_b/m with e_b = b for
binary-length straight segments and e_b = 0 otherwise, so the segments sum to
2*pi*x*w/m modulo 2*pi.

- encoding "binary-length" (straight element): segment b is 2**b unit lengths
  long, every active segment shares one drive, level x (V = x * V_unit).
- encoding "modular-drive": equal segments, segment b driven at level
  (x * 2**b) mod m (one DAC per segment, swing below 2*pi).
- element "straight": Pockels segments, phase linear in V, so V = level*V_unit.
- element "ring-assisted": each segment is an over-coupled all-pass ring whose
  drive is pre-distorted (:mod:`circuits.ring_predistortion`) so its phase is
  2*pi*level/m. A ring's phase wraps within one resonance, so each ring needs its
  own level (x * 2**b) mod m under either encoding: with rings the encodings give
  the same phases and differ only in how the drive is distributed.
An inactive segment (bit clear) sits at level 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from circuits.ring_predistortion import level_voltages_v as ring_level_voltages_v
from photonics import constants as k
from photonics.heater import Heater
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.ring import RingAllPass

ENCODINGS = ("binary-length", "modular-drive")
ELEMENTS = ("straight", "ring-assisted")


def default_ring(worst_level_loss_db: float = k.RING_LOSS_DB) -> RingAllPass:
    """An over-coupled thin-film-LN ring for the ring-assisted element.

    Radius 50 um (made resonant at wl0), 0.1 dB/cm, 80 % of the circumference
    under the electrode. The coupling is chosen so that the deepest level (on
    resonance) loses ``worst_level_loss_db``, Mirage's 0.2 dB per ring: with
    u = 1 - a and v = 1 - r, |t| on resonance is (v - u)/(v + u). Stronger
    coupling flattens the amplitude but needs more drive: for m = 31 the
    extreme levels need about +/-16 V.
    """
    base = RingAllPass(
        radius_um=50.0, loss_db_cm=0.1, eo_fraction=0.8, neff=k.EO_NEFF, ng=k.EO_NG, dn_dt_per_k=k.EO_DN_DT_PER_K
    )
    u = 1 - 10 ** (-base.loss_db_cm * 2 * math.pi * base.radius_um * 1e-4 / 20)
    t = 10 ** (-worst_level_loss_db / 20)
    r = 1 - u * (1 + t) / (1 - t)
    return replace(base, kappa=1 - r**2, radius_um=resonant_radius_um(base))


def resonant_radius_um(ring: RingAllPass) -> float:
    """The radius nearest ``ring.radius_um`` that is resonant at the ring's wl0 (design choice)."""
    order = round(ring.neff * 2 * math.pi * ring.radius_um / ring.wl0_um)
    return order * ring.wl0_um / (2 * math.pi * ring.neff)


def segment_count(modulus: int) -> int:
    """B = ceil(log2 m) segments, at least one."""
    return max(1, math.ceil(math.log2(modulus)))


@dataclass(frozen=True)
class MmuDesign:
    """How one MMU is built: modulus, encoding, phase element and device parameters."""

    modulus: int = 31
    encoding: str = "binary-length"
    element: str = "straight"
    drive_max_v: float = 4.0  # the DAC's full-scale drive, reached at level m-1
    loss_db: float = 0.91  # straight element: insertion loss of the whole segmented phase shifter
    eo: PhaseShifterEO = field(default_factory=PhaseShifterEO)
    ring: RingAllPass = field(default_factory=default_ring)
    heater: Heater = field(default_factory=Heater)

    def __post_init__(self):
        if isinstance(self.modulus, bool) or not isinstance(self.modulus, (int, np.integer)) or self.modulus < 2:
            raise ValueError(f"modulus must be an integer >= 2 (got {self.modulus!r})")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)} (got {self.encoding!r})")
        if self.element not in ELEMENTS:
            raise ValueError(f"element must be one of {', '.join(ELEMENTS)} (got {self.element!r})")
        if not self.drive_max_v > 0:
            raise ValueError(f"drive_max_v must be > 0 V (got {self.drive_max_v})")
        if not self.loss_db >= 0:
            raise ValueError(f"loss_db must be >= 0 dB (got {self.loss_db})")

    @property
    def segments(self) -> int:
        return segment_count(self.modulus)

    @property
    def unit_length_um(self) -> float:
        """Straight element: length whose phase step per level is 2*pi/m at V_unit."""
        v_unit = self.drive_max_v / (self.modulus - 1)
        return 2 * self.eo.vpil_v_cm / (self.modulus * v_unit) * 1e4

    def segment_lengths_um(self) -> np.ndarray:
        """Electrode length of each straight segment."""
        scale = 2.0 ** np.arange(self.segments) if self.encoding == "binary-length" else np.ones(self.segments)
        return self.unit_length_um * scale

    def segment_levels(self, x, w) -> np.ndarray:
        """Drive level of every segment, shape x.shape + (B,), for residues x and w."""
        x = np.asarray(x, dtype=np.int64)[..., None]
        w = np.asarray(w, dtype=np.int64)[..., None]
        b = np.arange(self.segments)
        bit = (w >> b) & 1
        if self.element == "straight" and self.encoding == "binary-length":
            return bit * x
        return bit * ((x << b) % self.modulus)

    def level_voltages_v(self) -> np.ndarray:
        """Voltage of each drive level 0..m-1 (the same for every segment of the design)."""
        if self.element == "straight":
            return np.arange(self.modulus) * self.drive_max_v / (self.modulus - 1)
        return ring_level_voltages_v(self.ring, self.modulus)

    def segment_settings(self) -> list[dict]:
        """Settings of each segment instance, without the voltage (which the drive sets)."""
        if self.element == "ring-assisted":
            return [self.ring.settings() for _ in range(self.segments)]
        lengths = self.segment_lengths_um()
        out = []
        for length in lengths:
            s = self.eo.settings()
            s.update(length_um=float(length), loss_db=self.loss_db * float(length / lengths.sum()))
            out.append(s)
        return out

    @property
    def segment_model(self) -> str:
        return "ring_allpass" if self.element == "ring-assisted" else "phase_shifter_eo"

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
        connections = {f"{a},o2": f"{b},o1" for a, b in zip(chain, chain[1:])}
        return {"instances": instances, "connections": connections, "ports": {"in": "heater,o1", "out": f"{chain[-1]},o2"}}
