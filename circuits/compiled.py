"""The compiled MDPU: solve each part once with sax, evaluate many dot products with arrays.

Every element is reflectionless, so the detector fields are exactly
``E = lo_to_det + arm_to_det * src_to_arm * T_arm`` with T_arm the product of the
signal arm's transmissions. The front end (source splitter, LO arm, hybrid) is
solved once by ``sax.circuit``; each MMU segment is solved once per drive level
by its device model, giving a table ``segment_t[j, b, level]`` per physical
device; a dot product is then a gather and a product. The sax solution of the
whole hierarchical netlist (:class:`circuits.mdpu.SaxMdpu`) is the reference it
must match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.mdpu import DETECTORS, MdpuDesign, front_end_circuit, with_lo_bias


@dataclass(frozen=True)
class CompiledMdpu:
    design: MdpuDesign  # with lo_bias_power_mw set
    segment_t: np.ndarray  # (h, B, m): segment b of MMU j at each drive level
    heater_t: np.ndarray  # (h,): each MMU's bias heater
    src_to_arm: complex  # laser input -> signal arm input
    arm_to_det: np.ndarray  # (4,): signal arm output -> detectors
    lo_to_det: np.ndarray  # (4,): laser input -> detectors through the LO arm

    def arm_transmission(self, x, w) -> np.ndarray:
        """Signal-arm transmission for residue vectors x, w of shape (..., h)."""
        x, w = self.design.check_residues(x, w)
        levels = self.design.mmu.segment_levels(x, w)  # (..., h, B)
        h, b = self.segment_t.shape[:2]
        t = self.segment_t[np.arange(h)[:, None], np.arange(b)[None, :], levels]
        return np.prod(t, axis=(-2, -1)) * np.prod(self.heater_t)

    def detector_fields(self, x, w) -> np.ndarray:
        """Complex fields at (i_p, i_n, q_p, q_n) per unit input field, shape (..., 4)."""
        arm = self.arm_transmission(x, w)[..., None]
        return self.lo_to_det + self.arm_to_det * self.src_to_arm * arm

    def zero_input_fields(self) -> np.ndarray:
        """Fields with every segment at level 0 (x = 0): the bias and amplitude reference."""
        zeros = np.zeros(self.design.h, dtype=np.int64)
        return self.detector_fields(zeros, zeros)


def _segment_tables(design: MdpuDesign) -> tuple[np.ndarray, np.ndarray]:
    import photonics

    mmu = design.mmu
    models = photonics.models()
    volts = mmu.level_voltages_v()
    rows = []
    for settings in mmu.segment_settings():
        s = models[mmu.segment_model](wl=design.wl_um, **{**settings, "voltage_v": volts})
        rows.append(np.asarray(s[("o1", "o2")]))
    segment_t = np.broadcast_to(np.stack(rows), (design.h, mmu.segments, mmu.modulus)).copy()
    heater = complex(models["heater"](wl=design.wl_um, **mmu.heater.settings())[("o1", "o2")])
    return segment_t, np.full(design.h, heater)


def _front_end(design: MdpuDesign, lo_bias_power_mw: float):
    circuit = front_end_circuit(design.lo_fraction, design.lo_heater)
    s = circuit(wl=design.wl_um, lo_bias={"power_mw": lo_bias_power_mw})
    return (
        complex(s[("arm_out", "in")]),
        np.array([complex(s[(d, "arm_in")]) for d in DETECTORS]),
        np.array([complex(s[(d, "in")]) for d in DETECTORS]),
    )


def iq(fields: np.ndarray) -> np.ndarray:
    """Noiseless I + jQ (in units of input power) from detector fields (..., 4)."""
    p = np.abs(fields) ** 2
    return (p[..., 0] - p[..., 1]) + 1j * (p[..., 2] - p[..., 3])


def compile_mdpu(design: MdpuDesign) -> CompiledMdpu:
    """Solve the MDPU's parts once; trim the LO bias so that x = 0 reads phase 0 if not given."""
    segment_t, heater_t = _segment_tables(design)
    power = design.lo_bias_power_mw
    if power is None:
        untrimmed = CompiledMdpu(with_lo_bias(design, 0.0), segment_t, heater_t, *_front_end(design, 0.0))
        phi0 = np.angle(iq(untrimmed.zero_input_fields())) % (2 * np.pi)
        lo = design.lo_heater
        # The heater's phase is pi*(P/P_pi)*(wl0/wl); it delays the LO, turning atan2(Q, I) back.
        power = lo.p_pi_mw * phi0 / np.pi * (design.wl_um / lo.wl0_um)
    trimmed = with_lo_bias(design, power)
    return CompiledMdpu(trimmed, segment_t, heater_t, *_front_end(trimmed, trimmed.lo_bias_power_mw))
