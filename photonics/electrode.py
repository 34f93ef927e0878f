"""Electrodes of the electro-optic segments: capacitance, bandwidth, drive energy, optical transit.

Not an S-parameter model: these are the electrical figures of the Pockels
electrodes that the phase-shifter and ring models (:mod:`photonics.phase_shifter_eo`,
:mod:`photonics.ring`) leave out. docs/physics/electrodes.md derives each formula.

- **Lumped electrode** (length well below the RF wavelength): a capacitor
  C = C' * L charged through the driver's source resistance R, with no
  termination (an open capacitor): f_3dB = 1/(2*pi*R*C). Random NRZ drive of
  swing V draws C*V**2 from the supply on each rising transition, one symbol in
  four on average, so E = C*V**2/4 per symbol.
- **Travelling-wave electrode** (a transmission line of index n_rf and
  impedance Z0, terminated in Z0): the light sees the RF voltage
  integrated along the line, m(f) = |(1 - exp(-g*L)) / (g*L)| with
  g = alpha(f) + j*2*pi*f*(n_rf - n_g)/c and alpha(f) = alpha0*sqrt(f) (skin
  effect); f_3dB is where m = 1/sqrt(2) (the -3 dB point of the detected
  electro-optic S21, 20*log10 m). Random unipolar NRZ drive keeps the line at V
  half the time: E = V**2/(2*Z0) * T per symbol (the power delivered into the
  line, dissipated in its RF loss and the termination).
- **Segmented electrode**: the segment's electrode cut into lumped sections of
  at most a declared length (the serpentine's straight sections,
  ``PhaseShifterEO.section_max_um``), each charged by its own driver through R;
  the drivers are retimed along the row to the light's arrival (a pipeline), so
  a symbol has to settle only over one section: f_3dB = 1/(2*pi*R*C_section) of
  the longest section, E = C*V**2/4 summed over all sections (random NRZ), and
  the optical transit that matters is one section's.
- **Optical transit** of a segment (or of one section): L * n_g / c.

Units: lengths in um, capacitance in pF, frequencies in GHz, energies in pJ,
times in ns (pF * V**2 = pJ; V**2/ohm * ns = nJ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from photonics import constants as k
from photonics.errors import UsageError
from photonics.parameters import Params, param
from photonics.registry import register_parameters

C_CM_PER_NS = k.C_UM_PER_S * 1e-4 * 1e-9  # speed of light in cm/ns (29.98)
NP_PER_DB = 1 / (20 * math.log10(math.e))  # field attenuation: 1 dB = 0.1151 Np

# sin(x)/x = 1/sqrt(2) at x = 1.39156: the velocity-mismatch limit pi*f*L*|n_rf - n_g|/c = 1.39156
SINC_HALF_POWER_X = float(brentq(lambda x: math.sin(x) / x - 2**-0.5, 0.1, 3.0))
# (1 - exp(-x))/x = 1/sqrt(2) at x = 0.73838 Np (6.41 dB): the loss limit of a velocity-matched line
LOSS_HALF_POWER_NP = float(brentq(lambda x: (1 - math.exp(-x)) / x - 2**-0.5, 0.1, 3.0))


@dataclass(frozen=True)
class Electrode(Params):
    """Coplanar electrode of a thin-film lithium niobate Pockels segment (electrical figures only)."""

    capacitance_pf_per_cm: float = param(
        k.EO_ELECTRODE_PF_PER_CM, "pF/cm", "capacitance per length of the coplanar electrode", gt=0
    )
    source_impedance_ohm: float = param(k.DRIVER_IMPEDANCE_OHM, "ohm", "driver source impedance", gt=0)
    rf_loss_db_cm_rtghz: float = param(
        k.EO_RF_LOSS_DB_CM_RTGHZ,
        "dB/(cm*sqrt(GHz))",
        "RF (voltage) loss of the line, skin-effect scaling (coplanar lines: about 0.3-1.5)",
        ge=0,
        le=100,
    )
    rf_index: float = param(k.EO_RF_INDEX, "1", "microwave effective index of the line", gt=0)

    @property
    def impedance_ohm(self) -> float:
        """Characteristic impedance of the line, Z0 = n_rf / (c * C') (quasi-TEM, low loss)."""
        return self.rf_index / (C_CM_PER_NS * 1e9 * self.capacitance_pf_per_cm * 1e-12)


register_parameters("electrode", Electrode, "electrical")


def capacitance_pf(electrode: Electrode, length_um) -> np.ndarray:
    """Capacitance of an electrode ``length_um`` long: C' * L."""
    return electrode.capacitance_pf_per_cm * np.asarray(length_um, dtype=float) * 1e-4


def rc_bandwidth_ghz(capacitance_pf, resistance_ohm) -> np.ndarray:
    """-3 dB frequency of a capacitor charged through a resistance: 1/(2*pi*R*C)."""
    c = np.asarray(capacitance_pf, dtype=float)
    with np.errstate(divide="ignore"):
        return 1e3 / (2 * np.pi * resistance_ohm * c)  # 1/(ohm * pF) = 1e12 Hz = 1e3 GHz


def segmented_bandwidth_ghz(electrode: Electrode, section_um) -> np.ndarray:
    """-3 dB frequency of a lumped section ``section_um`` long on its own driver: 1/(2*pi*R*C'*L_section)."""
    return rc_bandwidth_ghz(capacitance_pf(electrode, section_um), electrode.source_impedance_ohm)


def lumped_energy_pj(capacitance_pf, swing_v) -> np.ndarray:
    """Mean energy per symbol of random NRZ drive of swing ``swing_v`` on a capacitor: C*V**2/4."""
    return np.asarray(capacitance_pf, dtype=float) * np.asarray(swing_v, dtype=float) ** 2 / 4


def velocity_mismatch_bandwidth_ghz(length_um, rf_index, ng) -> np.ndarray:
    """-3 dB frequency of a lossless travelling-wave electrode: 1.39156 * c / (pi * L * |n_rf - n_g|)."""
    walk = np.asarray(length_um, dtype=float) * 1e-4 * np.abs(rf_index - ng)
    with np.errstate(divide="ignore"):
        return SINC_HALF_POWER_X * C_CM_PER_NS / (np.pi * walk)


def eo_response(f_ghz, *, length_um, rf_index, ng, rf_loss_db_cm_rtghz) -> np.ndarray:
    """Electro-optic response m(f) = |(1 - exp(-g L)) / (g L)| of a terminated travelling-wave electrode.

    g = alpha0 * sqrt(f) + j * 2*pi*f*(n_rf - n_g)/c; m(0) = 1.
    """
    f = np.asarray(f_ghz, dtype=float)
    length_cm = length_um * 1e-4
    alpha = rf_loss_db_cm_rtghz * NP_PER_DB * np.sqrt(f)
    beta = 2 * np.pi * f * (rf_index - ng) / C_CM_PER_NS
    gl = (alpha + 1j * beta) * length_cm
    small = np.abs(gl) < 1e-9
    safe = np.where(small, 1.0, gl)
    return np.where(small, 1.0, np.abs(-np.expm1(-safe) / safe))


def travelling_wave_bandwidth_ghz(electrode: Electrode, length_um: float, ng: float) -> float:
    """-3 dB frequency (m = 1/sqrt(2)) of a travelling-wave electrode, solved from :func:`eo_response`.

    With no RF loss it is the velocity-mismatch limit (inf when also matched);
    else the first crossing below the loss-only limit (alpha0*sqrt(f)*L = 0.738 Np,
    which bounds it: |m| <= (1 - exp(-alpha L))/(alpha L)).
    """
    if not length_um > 0:
        raise UsageError(f"length_um must be > 0 um (got {length_um!r})")
    loss = electrode.rf_loss_db_cm_rtghz
    if loss == 0:
        return float(velocity_mismatch_bandwidth_ghz(length_um, electrode.rf_index, ng))
    upper = (LOSS_HALF_POWER_NP / (loss * NP_PER_DB * length_um * 1e-4)) ** 2

    def excess(f):
        m = eo_response(f, length_um=length_um, rf_index=electrode.rf_index, ng=ng, rf_loss_db_cm_rtghz=loss)
        return m - 2**-0.5

    grid = 1.01 * upper * np.linspace(0, 1, 2001)  # excess(0) > 0 > excess(1.01 * upper)
    first = int(np.argmax(excess(grid) <= 0))
    return float(brentq(lambda f: float(excess(f)), grid[first - 1], grid[first], xtol=1e-12 * upper))


def travelling_wave_energy_pj(electrode: Electrode, swing_v, symbol_rate_ghz) -> np.ndarray:
    """Mean energy per symbol of random unipolar NRZ drive into a terminated line: V**2/(2*Z0) * T."""
    v = np.asarray(swing_v, dtype=float)
    return v**2 / (2 * electrode.impedance_ohm) / symbol_rate_ghz * 1e3  # W * ns = nJ


def transit_time_ns(length_um, ng) -> np.ndarray:
    """Time light takes to cross ``length_um`` of guide of group index ``ng``: L * n_g / c."""
    return np.asarray(length_um, dtype=float) * 1e-4 * ng / C_CM_PER_NS


def max_symbol_rate_gbaud(bandwidth_ghz) -> np.ndarray:
    """Highest NRZ symbol rate a -3 dB bandwidth supports: f_3dB / (bandwidth per baud)."""
    return np.asarray(bandwidth_ghz, dtype=float) / k.BANDWIDTH_PER_BAUD
