"""Electro-optic (Pockels) phase-shifter segment, folded into a serpentine.

The Pockels index change is linear in the field, so the phase is linear in the
voltage: dphi = pi * V * L / VpiL(wl), and since dphi = 2*pi*dn*L/wl at a fixed
dn, VpiL scales as wl/wl0. ``length_um`` is the electrode length, the only
length the voltage acts on.

The segment is drawn (:func:`photonics.cells.phase_shifter_eo`) as an even
number of straight electrode sections, each at most ``section_max_um``, joined
by 180-degree bends of radius ``bend_radius_um`` and entered and left through
quarter bends: n sections turn the light n half-turns in all, so its optical
path is L + n*pi*r (:func:`optical_path_um`, the one formula the cell and the
model share). The passive (dispersive, temperature-dependent) phase, the group
delay and the propagation loss follow that whole path; each half-turn adds an
excess loss ``bend_loss_db`` (mode mismatch at the straight-bend joints and
radiation). docs/physics/phase-shifters.md compares the result with Mirage's
0.91 dB per phase shifter.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register
from photonics.sdict import amplitude_from_loss_db, reciprocal
from photonics.waveguide import propagation_phase_rad

# Thin-film LN ridge under a coplanar electrode: Wang et al., Nature 562, 101 (2018) report an on-chip optical
# loss below 0.5 dB for their 2 cm Mach-Zehnder modulators (about 0.25 dB/cm, electrodes, splitters and all);
# Zhu et al., Adv. Opt. Photon. 13, 242 (2021) review 0.1-0.3 dB/cm for etched TFLN guides with electrodes.
LN_LOSS_DB_CM = 0.25
# Bends of the deep-etched TFLN ridge: radii down to ~30 um are routine (Zhu et al. 2021, above; the ELENA
# LNOI platform, project-elena.eu, lists "small bending radii (~30 um)"), where the radiation loss is negligible
# next to the scattering loss, which is in loss_db_cm; what remains is the mode mismatch at each straight-bend
# joint, a few thousandths of a dB (Zhang et al., Optica 4, 1536 (2017): intrinsic Q of 1e7 in 80 um rings).
LN_BEND_RADIUS_UM = 30.0  # Krasnokutska et al., Sci. Rep. 9, 11086 (2019): LNOI microrings of 30 um radius
LN_BEND_LOSS_DB = 0.005  # per 180-degree bend: two joints
# Longest straight electrode section of a segment: <= 3 mm keeps a segmented electrode section (1.5 pF/cm, 50 ohm)
# at >= 7 GHz (10 GBd); 0.8 mm gives the smallest digital-product tile at a 30 um bend radius (824 mm^2 on the default
# chip, as at 1 mm; 829 at 0.6 mm: docs/physics/phase-shifters.md).
# (A binary-length MMU's 30 cm of electrode folds 16x wider at 0.8 mm; its example file folds at 5 mm.)
SECTION_MAX_UM = 800.0


def section_count(length_um, section_max_um):
    """Number of straight electrode sections: the least even n with L/n <= ``section_max_um``, at least 2."""
    return 2 * jnp.maximum(1, jnp.ceil(jnp.asarray(length_um) / (2 * jnp.asarray(section_max_um))))


def optical_path_um(length_um, section_max_um, bend_radius_um):
    """Optical path of a folded segment: its electrode sections plus n half-turns of radius r, L + n*pi*r."""
    return length_um + section_count(length_um, section_max_um) * jnp.pi * bend_radius_um


def segment_loss_db(length_um, section_max_um, bend_radius_um, loss_db_cm, bend_loss_db):
    """Insertion loss of a folded segment: loss_db_cm over its optical path plus ``bend_loss_db`` per half-turn."""
    path_cm = optical_path_um(length_um, section_max_um, bend_radius_um) * 1e-4
    return loss_db_cm * path_cm + bend_loss_db * section_count(length_um, section_max_um)


def eo_phase_rad(wl, *, voltage_v, length_um, vpil_v_cm, wl0_um):
    """Electro-optic phase pi*V*L/VpiL, with VpiL given at ``wl0_um``."""
    return jnp.pi * voltage_v * (length_um * 1e-4) / vpil_v_cm * (wl0_um / wl)


@dataclass(frozen=True)
class PhaseShifterEO(Params):
    """Electro-optic phase-shifter segment: a thin-film LN ridge folded into a serpentine under its electrodes."""

    length_um: float = param(2000.0, "um", "electrode (interaction) length", ge=0)
    voltage_v: float = param(0.0, "V", "drive voltage")
    vpil_v_cm: float = param(k.EO_VPIL_V_CM, "V*cm", "half-wave voltage-length product at wl0", gt=0)
    loss_db_cm: float = param(LN_LOSS_DB_CM, "dB/cm", "propagation loss of the LN ridge with its electrodes", ge=0)
    bend_loss_db: float = param(LN_BEND_LOSS_DB, "dB", "excess loss of each 180-degree bend", ge=0)
    section_max_um: float = param(SECTION_MAX_UM, "um", "longest straight electrode section of the serpentine", gt=0)
    bend_radius_um: float = param(LN_BEND_RADIUS_UM, "um", "radius of the serpentine's bends", gt=0)
    wl0_um: float = param(k.WL_UM, "um", "reference wavelength", gt=0)
    neff: float = param(k.EO_NEFF, "1", "effective index at wl0 and 300 K", gt=0)
    ng: float = param(k.EO_NG, "1", "group index", gt=0)
    temperature_k: float = param(k.REFERENCE_TEMPERATURE_K, "K", "waveguide temperature", gt=0)
    dn_dt_per_k: float = param(k.EO_DN_DT_PER_K, "1/K", "thermo-optic coefficient of neff")

    @property
    def optical_path_um(self) -> float:
        """The segment's whole optical path (:func:`optical_path_um`)."""
        return float(np.asarray(optical_path_um(self.length_um, self.section_max_um, self.bend_radius_um)))

    @property
    def insertion_loss_db(self) -> float:
        """The segment's insertion loss (:func:`segment_loss_db`)."""
        return float(
            np.asarray(
                segment_loss_db(
                    self.length_um, self.section_max_um, self.bend_radius_um, self.loss_db_cm, self.bend_loss_db
                )
            )
        )


@register("phase_shifter_eo", PhaseShifterEO)
def phase_shifter_eo(
    wl,
    *,
    length_um,
    voltage_v,
    vpil_v_cm,
    loss_db_cm,
    bend_loss_db,
    section_max_um,
    bend_radius_um,
    wl0_um,
    neff,
    ng,
    temperature_k,
    dn_dt_per_k,
):
    """Electro-optic phase-shifter segment: phase linear in voltage over the electrode, loss and delay over the path.

    ```
             V
        ─────┴─────
        o1 ═══════ o2
    ```
    """
    phase = propagation_phase_rad(
        wl,
        length_um=optical_path_um(length_um, section_max_um, bend_radius_um),
        wl0_um=wl0_um,
        neff=neff,
        ng=ng,
        temperature_k=temperature_k,
        dn_dt_per_k=dn_dt_per_k,
    ) + eo_phase_rad(wl, voltage_v=voltage_v, length_um=length_um, vpil_v_cm=vpil_v_cm, wl0_um=wl0_um)
    loss_db = segment_loss_db(length_um, section_max_um, bend_radius_um, loss_db_cm, bend_loss_db)
    return reciprocal({("o1", "o2"): amplitude_from_loss_db(loss_db) * jnp.exp(1j * phase)})
