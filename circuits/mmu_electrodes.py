"""How fast an MMU can be driven: its electrodes' bandwidth and drive energy, its optical transit.

:func:`electrode_figures` reads everything from the :class:`~circuits.mmu.MmuDesign`
(segment electrode lengths from the element's rules, the drive swing from its
level voltages, the group index from its segment device) and the electrode's
parameters from :class:`photonics.electrode.Electrode`. Physics and conventions
are in :mod:`photonics.electrode` and docs/physics/electrodes.md.

A *lumped* electrode is a capacitor on its driver: where every active segment
shares one drive (binary-length Pockels segments) one driver charges all B
segments at once, so the MMU's bandwidth is that of their summed capacitance.
A *travelling-wave* electrode is a terminated line per segment, whose bandwidth
is set by its own length (velocity mismatch and RF loss). A *segmented*
electrode cuts each straight segment's electrode into the serpentine's straight
sections (at most ``PhaseShifterEO.section_max_um``, the same sections the
layout draws: :func:`photonics.phase_shifter_eo.section_count`), each a lumped
capacitor on its own driver, retimed to the light: its bandwidth is that of the
longest section and the optical transit that counts is one section's (a ring's
electrode is one section). A ring-assisted segment also cannot follow its drive
faster than its optical linewidth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from circuits.mmu import MmuDesign
from photonics import constants as k
from photonics import electrode as el
from photonics.errors import UsageError
from photonics.phase_shifter_eo import section_count
from photonics.ring import RingAllPass
from photonics.waveguide import propagation_amplitude

ELECTRODE_KINDS = ("lumped", "travelling-wave", "segmented")


def ring_linewidth_ghz(ring: RingAllPass) -> float:
    """Optical FWHM of an all-pass ring at wl0: FSR * (1 - r*a) / (pi * sqrt(r*a)).

    FSR = c / (n_g * L); a the round-trip field amplitude, r = sqrt(1 - kappa) the
    bus self-coupling (Bogaerts et al., Laser Photonics Rev. 6, 47 (2012)). The
    photon lifetime is 1 / (2*pi*FWHM).
    """
    length_um = ring.circumference_um
    a = float(propagation_amplitude(length_um=length_um, loss_db_cm=ring.loss_db_cm))
    ra = math.sqrt(1 - ring.kappa) * a
    fsr_ghz = k.C_UM_PER_S / (ring.ng * length_um) * 1e-9
    return fsr_ghz * (1 - ra) / (math.pi * math.sqrt(ra))


@dataclass(frozen=True)
class ElectrodeFigures:
    """Electrical speed and energy of one MMU's segments (arrays are per segment, shape (B,))."""

    kind: str  # one of ELECTRODE_KINDS
    electrode_um: np.ndarray  # electrode length of each segment
    section_um: np.ndarray  # longest electrode section of each segment (segmented: one driver's load)
    capacitance_pf: np.ndarray  # capacitance of each segment's electrode
    driver_capacitance_pf: float  # the largest capacitance one driver charges (lumped, segmented)
    electrical_bandwidth_ghz: np.ndarray  # -3 dB bandwidth of each segment as driven
    linewidth_ghz: float  # optical FWHM of a resonant segment (inf for none)
    transit_time_ns: np.ndarray  # light's delay through each segment (L*n_g/c; segmented: through its longest
    # section, the part one driver switches at once; a ring: its photon lifetime)
    energy_pj: float  # mean drive energy per symbol of the whole MMU (random NRZ, full swing)

    @property
    def segment_bandwidth_ghz(self) -> np.ndarray:
        """Each segment's bandwidth: its electrical bandwidth, capped by the optical linewidth."""
        return np.minimum(self.electrical_bandwidth_ghz, self.linewidth_ghz)

    @property
    def bandwidth_ghz(self) -> float:
        """The MMU's bandwidth: its slowest segment."""
        return float(self.segment_bandwidth_ghz.min())

    @property
    def max_symbol_rate_gbaud(self) -> float:
        """Highest symbol rate the MMU supports (:func:`photonics.electrode.max_symbol_rate_gbaud`)."""
        return float(el.max_symbol_rate_gbaud(self.bandwidth_ghz))

    @property
    def capacitance_total_pf(self) -> float:
        """Capacitance of all the MMU's electrodes together."""
        return float(self.capacitance_pf.sum())


def electrode_figures(
    design: MmuDesign,
    kind: str = "segmented",
    electrode: el.Electrode | None = None,
    *,
    symbol_rate_ghz: float = k.CLOCK_GHZ,
    loads_per_driver: int = 1,
) -> ElectrodeFigures:
    """Bandwidth, drive energy and optical transit of ``design``'s segments with ``kind`` electrodes.

    ``symbol_rate_ghz`` sets a travelling-wave line's energy per symbol (its power
    flows for the whole symbol). ``loads_per_driver``: MMUs one driver charges in
    parallel (a tile's input DAC broadcasts to its rows); it multiplies a lumped
    driver's capacitance and leaves a terminated line's bandwidth alone, and a
    segmented electrode's too (every section has its own driver).
    """
    if kind not in ELECTRODE_KINDS:
        raise UsageError(f"kind must be one of {', '.join(ELECTRODE_KINDS)} (got {kind!r})")
    if not symbol_rate_ghz > 0:
        raise UsageError(f"symbol_rate_ghz must be > 0 GHz (got {symbol_rate_ghz!r})")
    if isinstance(loads_per_driver, bool) or not isinstance(loads_per_driver, int) or loads_per_driver < 1:
        raise UsageError(f"loads_per_driver must be an integer >= 1 (got {loads_per_driver!r})")
    electrode = electrode or el.Electrode()
    rules, device = design.element_rules, design.segment_device
    lengths = np.asarray(rules.electrode_um(design), dtype=float)
    if rules.sectioned_electrodes:  # the serpentine's straight sections, as the layout draws them
        eo = design.eo
        sections = lengths / np.asarray(section_count(lengths, eo.section_max_um), dtype=float)
    else:
        sections = lengths
    c_pf = el.capacitance_pf(electrode, lengths)
    volts = design.level_voltages_v()
    swing_v = float(volts.max() - volts.min())
    linewidth = math.inf if rules.linewidth_ghz is None else float(rules.linewidth_ghz(device))
    if kind == "lumped":
        per_driver = np.full_like(c_pf, c_pf.sum()) if design.shared_drive else c_pf
        per_driver = per_driver * loads_per_driver
        bandwidth = el.rc_bandwidth_ghz(per_driver, electrode.source_impedance_ohm)
        energy = float(el.lumped_energy_pj(c_pf, swing_v).sum())
        driver_pf = float(per_driver.max())
    elif kind == "segmented":
        bandwidth = el.segmented_bandwidth_ghz(electrode, sections)
        energy = float(el.lumped_energy_pj(c_pf, swing_v).sum())  # C*V**2/4 of every section, summed
        driver_pf = float(el.capacitance_pf(electrode, sections).max())
    else:
        bandwidth = np.array([el.travelling_wave_bandwidth_ghz(electrode, float(n), device.ng) for n in lengths])
        energy = float(el.travelling_wave_energy_pj(electrode, swing_v, symbol_rate_ghz)) * design.segments
        driver_pf = float(c_pf.max())
    if rules.linewidth_ghz is None:
        transit = el.transit_time_ns(sections if kind == "segmented" else lengths, device.ng)
    else:
        transit = np.full(design.segments, 1 / (2 * math.pi * linewidth))
    return ElectrodeFigures(
        kind=kind,
        electrode_um=lengths,
        section_um=sections,
        capacitance_pf=c_pf,
        driver_capacitance_pf=driver_pf,
        electrical_bandwidth_ghz=np.asarray(bandwidth, dtype=float),
        linewidth_ghz=linewidth,
        transit_time_ns=np.asarray(transit, dtype=float),
        energy_pj=energy,
    )
