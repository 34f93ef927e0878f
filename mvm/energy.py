"""Energy per MAC of the RNS tile and of the analog baseline (:mod:`mvm.analog`), at the same devices.

Every electrical part is counted as its power over the clock, one clock cycle
per use: E = power_mw / clock_ghz in pJ (the clock is the chip file's
``[tile] clock_ghz`` unless the model sets its own; Mirage's figures: TX, i.e.
DAC with driver, 68 mW per channel; ADC 11.5 mW; TIA 0.75 mW; laser electrical
power = optical power / wall-plug efficiency). One readout is one clock cycle
of one dot-product unit (an MDPU row, or an analog unit) and h MACs.

Per readout and per modulus, the RNS tile spends
- 2 ADCs and 2 TIAs: I and Q, each a balanced pair of detectors;
- the row's laser: ``config.laser.power_mw`` reaches the row (LO included)
  through its edge coupler (``[devices.edge_coupler]``), so the laser emits
  that over the coupler's transmission;
- input DACs: the MMU design's ``dacs_per_mmu``: one per MMU where every
  active segment shares one drive (binary-length Pockels segments), else one
  per segment (B = ceil(log2 m): modular-drive, or ring-assisted elements,
  where each ring needs its own level). An input DAC drives its MMU column in all
  ``dac_fanout`` rows of the tile (broadcast inputs; by default the tile's R
  rows), so each row carries 1/fanout of it;
- weights: stationary. Loading one weight (an MMU's residue bits) costs one TX
  conversion, and one load serves ``weight_reuse`` readouts (rows of A); its
  holding power is neglected (capacitive electrodes).
- electrode drive: the energy per symbol that one MMU's electrodes draw
  (:func:`circuits.mmu_electrodes.electrode_figures` with the chip's ``[tile]
  electrode``: C*V**2/4 per lumped electrode or section for random NRZ drive,
  V**2/(2*Z0)*T on a terminated line), h MMUs per readout;
- product logic: an encoding with a binary drive (digital-product) forms
  p = (x*w) mod m in CMOS beside every MMU, one B-bit modular multiply per MAC
  and modulus (``multiply_8bit_pj`` scaled as (B/8)**2, twice: multiply and
  reduce);
- heaters and trim DACs: the static power of every actuator calibration may set
  (:func:`mvm.actuators.actuator_budget`: the LO-arm heaters at their expected
  power, ring heaters, the drive trim DACs), shared by the R * h MACs that the
  chip's rows finish per clock cycle.
The tile's energy is the sum over every modulus (``config.all_moduli``). The
caller may give the power each laser must emit instead (``mirage design`` gives
the link budget's).

The analog unit spends 1 ADC and 1 TIA (one balanced pair), the same laser,
h input DACs (one per input, same fanout) and one weight DAC per element (same
reuse). ``repeats`` = K repeats every cycle K times (ADC, TIA, laser and input
DACs all run K cycles) but loads the weights once, so its energy is affine in K:
E(K) = E_weights + K * E_cycle. Digital work (BFP, CRT, accumulation) is left
out of both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from circuits.mmu_electrodes import electrode_figures
from mvm.actuators import actuator_budget
from mvm.analog import validate_repeats
from mvm.config import ChipConfig
from mvm.validation import is_int
from photonics.errors import UsageError
from photonics.laser import electrical_power_mw


@dataclass(frozen=True)
class EnergyModel:
    """Power of the electrical parts and how they are shared (Mirage's figures by default; docs/physics/energy.md)."""

    clock_ghz: float | None = None  # None: the chip's [tile] clock_ghz
    tx_power_mw: float = 68.0  # one DAC + modulator driver channel at the clock rate
    adc_power_mw: float = 11.5  # one ADC at the clock rate
    tia_power_mw: float = 0.75  # one TIA, behind one balanced detector pair
    dac_fanout: int | None = None  # rows one input DAC drives; None: the tile's rows (broadcast)
    weight_reuse: int = 128  # readouts served by one weight load (rows of A per tile pass)
    # A B-bit modular product formed in CMOS (binary-drive encodings): a B x B multiply and a reduction of the
    # same size, each scaled from an 8-bit integer multiply, 0.2 pJ at 45 nm (Horowitz, ISSCC 2014, "Computing's
    # energy problem"), as (B/8)**2: 2 * 0.2 * (B/8)**2 pJ, 0.08 pJ at B = 5.
    multiply_8bit_pj: float = 0.2

    def __post_init__(self):
        for name in ("clock_ghz", "tx_power_mw", "adc_power_mw", "tia_power_mw", "multiply_8bit_pj"):
            value = getattr(self, name)
            if name == "clock_ghz" and value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise UsageError(f"{name} must be a number >= 0 (got {value!r})")
        if self.clock_ghz is not None and not self.clock_ghz > 0:
            raise UsageError(f"clock_ghz must be > 0 (got {self.clock_ghz!r})")
        if self.dac_fanout is not None and (not is_int(self.dac_fanout) or self.dac_fanout < 1):
            raise UsageError(f"dac_fanout must be None or an integer >= 1 (got {self.dac_fanout!r})")
        if not is_int(self.weight_reuse) or self.weight_reuse < 1:
            raise UsageError(f"weight_reuse must be an integer >= 1 (got {self.weight_reuse!r})")

    def clock(self, config: ChipConfig) -> float:
        """The clock in GHz: the model's own, else the chip's ``[tile] clock_ghz``."""
        return config.tile.clock_ghz if self.clock_ghz is None else self.clock_ghz

    def energy_pj(self, power_mw: float, config: ChipConfig) -> float:
        """Energy of one clock cycle of ``config``'s chip at ``power_mw``: mW / GHz = pJ."""
        return power_mw / self.clock(config)

    def fanout(self, config: ChipConfig) -> int:
        return config.tile.rows if self.dac_fanout is None else self.dac_fanout

    def loads_per_driver(self, config: ChipConfig, mmu) -> int:
        """MMUs one driver charges: an input DAC's fanout, or 1 where each MMU drives itself (a binary drive)."""
        return 1 if mmu.binary_drive else self.fanout(config)


def input_dacs_per_mmu(config: ChipConfig, modulus: int) -> int:
    """Input DACs of one MMU of the tile for ``modulus``: one shared drive, else one per segment."""
    return config.mdpu_design(modulus).mmu.dacs_per_mmu


def _per_mac(readout_pj: dict[str, float], h: int) -> dict[str, float]:
    out = {name: v / h for name, v in readout_pj.items()}
    out["total"] = sum(out.values())
    return out


def emitted_power_mw(config: ChipConfig, row_power_mw: float | None = None) -> float:
    """Optical power a row's laser emits so that ``row_power_mw`` (default ``[laser] power_mw``) passes its edge coupler."""
    row = config.laser.power_mw if row_power_mw is None else row_power_mw
    return row / config.edge_coupler.transmission


def electrode_energy_pj(config: ChipConfig, modulus: int, model: EnergyModel | None = None) -> float:
    """Drive energy per symbol of one MMU's electrodes (the tile for ``modulus``, the chip's electrode kind)."""
    model = model or EnergyModel()
    mmu = config.mdpu_design(modulus).mmu
    figures = electrode_figures(
        mmu,
        config.tile.electrode,
        config.electrode,
        symbol_rate_ghz=model.clock(config),
        loads_per_driver=model.loads_per_driver(config, mmu),
    )
    return figures.energy_pj


def product_logic_pj(config: ChipConfig, modulus: int, model: EnergyModel | None = None) -> float:
    """Energy of forming one MMU's product (x*w) mod m in CMOS, where the encoding does (a binary drive); else 0."""
    model = model or EnergyModel()
    mmu = config.mdpu_design(modulus).mmu
    return 2 * model.multiply_8bit_pj * (mmu.segments / 8) ** 2 if mmu.binary_drive else 0.0


def rns_breakdown_pj_per_mac(
    config: ChipConfig, model: EnergyModel | None = None, laser_power_mw: Mapping[int, float] | None = None
) -> dict[str, float]:
    """RNS tile: pJ per MAC by part and the total, all moduli (parts: the module docstring).

    ``laser_power_mw``: the optical power each row's laser emits, by modulus; None (or a
    modulus missing): what it emits for ``config.laser.power_mw`` to reach the row.
    """
    model = model or EnergyModel()
    h = config.tile.h
    emitted = {m: (laser_power_mw or {}).get(m, emitted_power_mw(config)) for m in config.all_moduli}
    tx_pj = model.energy_pj(model.tx_power_mw, config)
    budget = actuator_budget(config)  # static power of every tile's heaters and trim DACs
    macs_per_cycle = config.tile.rows * h  # the chip's R rows each finish h MACs (all moduli) per cycle
    parts = dict(adc=0.0, tia=0.0, laser=0.0, input_dac=0.0, weight_dac=0.0, electrode_drive=0.0, product_logic=0.0)
    for m in config.all_moduli:  # energy of one readout (one row, one cycle, h MACs) per modulus
        parts["adc"] += 2 * model.energy_pj(model.adc_power_mw, config)
        parts["tia"] += 2 * model.energy_pj(model.tia_power_mw, config)
        parts["laser"] += model.energy_pj(electrical_power_mw(replace(config.laser, power_mw=emitted[m])), config)
        parts["input_dac"] += h * input_dacs_per_mmu(config, m) * tx_pj / model.fanout(config)
        parts["weight_dac"] += h * tx_pj / model.weight_reuse
        parts["electrode_drive"] += h * electrode_energy_pj(config, m, model)
        parts["product_logic"] += h * product_logic_pj(config, m, model)
    heaters_mw = budget.lo_heater_power_mw + budget.ring_heater_power_mw
    parts["heaters"] = h * model.energy_pj(heaters_mw, config) / macs_per_cycle
    parts["trim_dacs"] = h * model.energy_pj(budget.trim_power_mw, config) / macs_per_cycle
    return _per_mac(parts, h)


def analog_breakdown_pj_per_mac(
    config: ChipConfig, repeats: int = 1, model: EnergyModel | None = None
) -> dict[str, float]:
    """Analog baseline at ``repeats`` = K: pJ per MAC by part and the total."""
    repeats = validate_repeats(repeats)
    model = model or EnergyModel()
    h = config.tile.h
    parts = dict(
        adc=repeats * model.energy_pj(model.adc_power_mw, config),
        tia=repeats * model.energy_pj(model.tia_power_mw, config),
        laser=repeats
        * model.energy_pj(electrical_power_mw(replace(config.laser, power_mw=emitted_power_mw(config))), config),
        input_dac=repeats * h * model.energy_pj(model.tx_power_mw, config) / model.fanout(config),
        weight_dac=h * model.energy_pj(model.tx_power_mw, config) / model.weight_reuse,
    )
    return _per_mac(parts, h)


def mrr_bank_breakdown_pj_per_mac(config: ChipConfig, bank=None, model: EnergyModel | None = None) -> dict[str, float]:
    """Micro-ring weight bank (:mod:`mvm.mrr_bank`, ``bank`` an MrrBank; None: its defaults): pJ per MAC.

    One readout is ``PASSES`` cycles of one bank of h rings (the positive and the negative inputs), each
    with 1 ADC and 1 TIA (one balanced pair), the laser (all h WDM channels together carry
    ``config.laser.power_mw``) and h input DACs (one intensity modulator per channel, the analog unit's
    fanout). The weights are held by the rings' heaters, static power for every cycle: each ring's expected
    heater power (:func:`mvm.mrr_bank.expected_heater_power_mw`: lock and weight) and its heater DAC, one
    trim DAC of ``[actuators] trim_dac_power_uw``.
    """
    from mvm.mrr_bank import PASSES, expected_heater_power_mw

    model = model or EnergyModel()
    h = config.tile.h
    laser_mw = electrical_power_mw(replace(config.laser, power_mw=emitted_power_mw(config)))
    parts = dict(
        adc=PASSES * model.energy_pj(model.adc_power_mw, config),
        tia=PASSES * model.energy_pj(model.tia_power_mw, config),
        laser=PASSES * model.energy_pj(laser_mw, config),
        input_dac=PASSES * h * model.energy_pj(model.tx_power_mw, config) / model.fanout(config),
        heaters=PASSES * h * model.energy_pj(expected_heater_power_mw(config, bank), config),
        heater_dacs=PASSES * h * model.energy_pj(config.actuators.trim_dac_power_uw * 1e-3, config),
    )
    return _per_mac(parts, h)


def mrr_bank_energy_per_mac_pj(config: ChipConfig, bank=None, model: EnergyModel | None = None) -> float:
    """Energy per MAC of the micro-ring weight bank."""
    return mrr_bank_breakdown_pj_per_mac(config, bank, model)["total"]


def rns_energy_per_mac_pj(config: ChipConfig, model: EnergyModel | None = None) -> float:
    """Energy per MAC of the RNS tile, every modulus included."""
    return rns_breakdown_pj_per_mac(config, model)["total"]


def analog_energy_per_mac_pj(config: ChipConfig, repeats: int = 1, model: EnergyModel | None = None) -> float:
    """Energy per MAC of the analog baseline with each readout repeated ``repeats`` times."""
    return analog_breakdown_pj_per_mac(config, repeats, model)["total"]


def matched_repeats(config: ChipConfig, model: EnergyModel | None = None, rns_pj: float | None = None) -> int:
    """The largest K >= 1 whose analog energy per MAC does not exceed the RNS tile's (1 if even K = 1 does).

    ``rns_pj``: the RNS tile's energy per MAC where the caller has it (the design report's); else the
    tile at the file's laser power.
    """
    rns = rns_energy_per_mac_pj(config, model) if rns_pj is None else rns_pj
    fixed = analog_energy_per_mac_pj(config, 1, model)
    step = analog_energy_per_mac_pj(config, 2, model) - fixed  # energy per MAC of one more repeat
    if step <= 0:
        raise UsageError("the analog unit's per-cycle energy is zero: every repeat count is free")
    repeats = max(1, int((rns - fixed) // step) + 1)
    # guard the float division at the boundary: E(K) <= rns < E(K + 1) exactly as computed
    while repeats > 1 and analog_energy_per_mac_pj(config, repeats, model) > rns:
        repeats -= 1
    while analog_energy_per_mac_pj(config, repeats + 1, model) <= rns:
        repeats += 1
    return repeats


def energy_report(config: ChipConfig, model: EnergyModel | None = None) -> dict:
    """Both breakdowns (pJ per MAC), the matched repeat count and the model, for reports."""
    model = model or EnergyModel()
    k_match = matched_repeats(config, model)
    return {
        "model": asdict(model) | {"dac_fanout": model.fanout(config), "clock_ghz": model.clock(config)},
        "rns_pj_per_mac": rns_breakdown_pj_per_mac(config, model),
        "analog_pj_per_mac": analog_breakdown_pj_per_mac(config, 1, model),
        "matched_repeats": k_match,
        "analog_matched_pj_per_mac": analog_breakdown_pj_per_mac(config, k_match, model),
    }
