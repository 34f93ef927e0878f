"""Chip configuration: one TOML file describes a chip; every command takes it.

The sections below are the file's schema: [rns], [bfp], [tile], [laser],
[detector], [noise], [design], [actuators] and [devices.<name>] (phase_shifter_eo, heater,
ring, electrode). Each
field's description is the comment that ``mirage config --default`` prints
next to its key (:func:`default_toml`); device sections take their keys,
defaults, units and ranges from the device's Params dataclass. ``load_config``
reads a file once and refuses unknown keys and bad values with one line naming
the key (the machinery is :mod:`mvm.schema`). The calibration layer adds its
own sections to the same file (:mod:`calibration.config`); ``load_config``
lets them through.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator

from circuits.mdpu import LO_PATHS, MdpuDesign
from circuits.mmu import DRIVES, ELEMENTS, ENCODINGS, MmuDesign, default_ring
from circuits.mmu_electrodes import ELECTRODE_KINDS, electrode_figures
from circuits.readout import Readout, drive_noise_rms_mv
from mvm import schema
from mvm.actuators import ActuatorsConfig
from mvm.bfp import MAX_BITS, ROUNDINGS
from mvm.schema import Device, IntList, Invalid, PositiveInt, default_of, doc, one_of, section
from photonics.constants import CLOCK_GHZ, DRIVE_NOISE_NV_RTHZ
from photonics.edge_coupler import EdgeCoupler
from photonics.electrode import Electrode
from photonics.heater import Heater
from photonics.laser import Laser
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.photodetector import Photodetector
from photonics.ring import RingAllPass

# Sections that belong to the calibration layer: it reads them from the same file
# (calibration/config.py); this layer only lets them through.
RESERVED_SECTIONS = ("variation", "spec", "calibration")
TITLE = "Mirage chip configuration (mirage config --default). Units are in the key names."


@section
class RnsConfig:
    """The residue number system: one tile of MDPUs per modulus."""

    moduli: Annotated[IntList, doc("pairwise coprime moduli, one tile each")] = (31, 32, 33)
    redundant_moduli: Annotated[
        IntList, doc("extra moduli for error checking: one detects a wrong residue, two correct it")
    ] = ()

    @model_validator(mode="after")
    def _coprime(self) -> RnsConfig:
        from mvm.rns import RedundantRns, dynamic_range, validate_moduli

        try:
            moduli = validate_moduli(self.moduli)
            dynamic_range(moduli)
        except ValueError as exc:
            raise Invalid("moduli", str(exc).removeprefix("moduli ")) from None
        if self.redundant_moduli:
            try:
                RedundantRns(tuple(moduli), tuple(self.redundant_moduli))
            except ValueError as exc:
                raise Invalid("redundant_moduli", str(exc).removeprefix("redundant_moduli ")) from None
        return self


@section
class BfpConfig:
    """Block floating point: how operands become integer mantissas."""

    mantissa_bits: Annotated[
        StrictInt, Field(ge=2, le=MAX_BITS), doc("signed mantissa width: |mantissa| <= 2**(bits-1) - 1")
    ] = 6
    group: Annotated[
        StrictInt, Field(ge=0), doc("values sharing an exponent along the reduction axis; 0: equal to tile.h")
    ] = 0
    rounding: Annotated[one_of(ROUNDINGS), doc(f"mantissa rounding: {' | '.join(ROUNDINGS)}")] = "nearest"


@section
class TileConfig:
    """The MDPU tile of each modulus."""

    h: Annotated[PositiveInt, doc("MMUs per MDPU row: the chunk of the reduction axis read out at once")] = default_of(
        MdpuDesign, "h"
    )
    rows: Annotated[PositiveInt, doc("MDPU rows per modulus (R)")] = 16
    encoding: Annotated[one_of(ENCODINGS), doc(f"how the input drives an MMU's segments: {' | '.join(ENCODINGS)}")] = (
        default_of(MmuDesign, "encoding")
    )
    element: Annotated[one_of(ELEMENTS), doc(f"the MMU's phase element: {' | '.join(ELEMENTS)}")] = default_of(
        MmuDesign, "element"
    )
    drive_max_v: Annotated[
        StrictFloat, Field(gt=0), doc("one driver's full swing (DAC or digital driver), reached at level m-1")
    ] = default_of(MmuDesign, "drive_max_v")
    drive: Annotated[
        one_of(DRIVES),
        doc(
            f"how drivers meet a segment's electrodes: {' | '.join(DRIVES)} "
            "(differential: two antiphase drivers, twice the swing across the gap, half the length)"
        ),
    ] = "differential"  # the chip's drive; a bare MmuDesign keeps "single-ended"
    clock_ghz: Annotated[
        StrictFloat, Field(gt=0), doc("the clock: symbols per ns of the input drive, and the ADC sample rate")
    ] = CLOCK_GHZ
    electrode: Annotated[
        one_of(ELECTRODE_KINDS),
        doc(f"the segments' electrodes: {' | '.join(ELECTRODE_KINDS)} (their figures: mirage design)"),
    ] = inspect.signature(electrode_figures).parameters["kind"].default
    lo_path: Annotated[
        one_of(LO_PATHS),
        doc(f"how the LO reaches the hybrid: {' | '.join(LO_PATHS)} (matched: an LN delay line, equal group delays)"),
    ] = "matched"  # the chip's LO as laid out; a bare MdpuDesign has no routes and keeps "direct"


@section
class NoiseConfig:
    """Receiver noise."""

    enabled: Annotated[StrictBool, doc("sample shot, thermal and RIN noise at every readout")] = True
    skip_probability: Annotated[
        StrictFloat,
        Field(gt=0, lt=1e-6),
        doc("readouts whose error probability is provably below this are read without sampling noise"),
    ] = 1e-15
    drive_noise_nv_rthz: Annotated[
        StrictFloat,
        Field(ge=0),
        doc(
            "output voltage noise density of each segment drive (DAC and driver), one DAC per MMU when it is shared, "
            "referred to the DAC's Nyquist band, [tile] clock_ghz / 2 (the receiver's bandwidth where narrower): "
            "14.1 is 1 mV rms at the 10 GHz clock; 0: off"
        ),
    ] = DRIVE_NOISE_NV_RTHZ

    # keys of earlier chip files, and what replaced them (schema.error_line adds it to the unknown key's line)
    REPLACED_KEYS: ClassVar[dict[str, str]] = {
        "drive_noise_mv_rms": "drive_noise_nv_rthz, a noise density: 14.1 nV/rtHz is 1 mV rms at the 10 GHz clock",
    }


@section
class DesignConfig:
    """Design targets and limits that `mirage design` checks the chip against."""

    target_error_rate: Annotated[
        StrictFloat, Field(gt=0, lt=1), doc("residue error rate the link budget is sized for")
    ] = 1e-6
    max_laser_power_mw_per_row: Annotated[
        StrictFloat, Field(gt=0), doc("most optical laser power one MDPU row may take for the target")
    ] = 10.0
    max_area_mm2: Annotated[
        StrictFloat, Field(gt=0), doc("largest tile area, pads and routing included (one reticle: 26 x 33 mm)")
    ] = 858.0


@section
class DevicesConfig:
    """Device parameters of every MMU and MDPU, one table per device."""

    phase_shifter_eo: Annotated[
        PhaseShifterEO,
        Device(PhaseShifterEO),
        doc("the Pockels segments of each MMU (straight element)"),
    ] = Field(default_factory=PhaseShifterEO)
    heater: Annotated[Heater, Device(Heater), doc("thermo-optic heaters: each MMU's bias heater and the LO arm's")] = (
        Field(default_factory=Heater)
    )
    ring: Annotated[RingAllPass, Device(default_ring), doc("the all-pass rings of the ring-assisted element")] = Field(
        default_factory=default_ring
    )
    electrode: Annotated[
        Electrode, Device(Electrode), doc("the electrodes of the segments (kind: [tile] electrode)")
    ] = Field(default_factory=Electrode)
    edge_coupler: Annotated[
        EdgeCoupler,
        Device(EdgeCoupler),
        doc("each row's fibre-to-chip input: [laser] power_mw is what passes it (mirage design)"),
    ] = Field(default_factory=EdgeCoupler)


@section
class ChipConfig:
    """The whole chip: ``ChipConfig()`` is the default chip."""

    rns: Annotated[RnsConfig, doc("residue number system")] = Field(default_factory=RnsConfig)
    bfp: Annotated[BfpConfig, doc("block floating point")] = Field(default_factory=BfpConfig)
    tile: Annotated[TileConfig, doc("the MDPU tile of each modulus")] = Field(default_factory=TileConfig)
    laser: Annotated[Laser, Device(Laser), doc("the laser feeding every MDPU")] = Field(default_factory=Laser)
    detector: Annotated[Photodetector, Device(Photodetector), doc("each readout's photodetector, TIA and ADC")] = Field(
        default_factory=Photodetector
    )
    noise: Annotated[NoiseConfig, doc("receiver noise")] = Field(default_factory=NoiseConfig)
    design: Annotated[DesignConfig, doc("design targets and limits (mirage design)")] = Field(
        default_factory=DesignConfig
    )
    devices: Annotated[DevicesConfig, doc("device parameters")] = Field(default_factory=DevicesConfig)
    actuators: Annotated[ActuatorsConfig, doc("what calibration may set: drive trims, LO bias and ring heaters")] = (
        Field(default_factory=ActuatorsConfig)
    )

    @model_validator(mode="after")
    def _fits(self) -> ChipConfig:
        from mvm.planner import check_plan

        h, group = self.tile.h, self.bfp.group
        if group % h:
            raise Invalid("bfp.group", f"must be 0 (equal to tile.h) or a multiple of tile.h = {h}, got {group}")
        try:  # each chunk of h is read out and CRT'd on its own; group sums are added digitally
            check_plan(self.rns.moduli, self.bfp.mantissa_bits, h)
        except ValueError as exc:
            raise Invalid("tile.h", str(exc)) from None
        return self

    @property
    def phase_shifter_eo(self) -> PhaseShifterEO:
        return self.devices.phase_shifter_eo

    @property
    def heater(self) -> Heater:
        return self.devices.heater

    @property
    def ring(self) -> RingAllPass:
        return self.devices.ring

    @property
    def electrode(self) -> Electrode:
        return self.devices.electrode

    @property
    def edge_coupler(self) -> EdgeCoupler:
        return self.devices.edge_coupler

    @property
    def group(self) -> int:
        return self.bfp.group or self.tile.h

    @property
    def all_moduli(self) -> tuple[int, ...]:
        return tuple(self.rns.moduli) + tuple(self.rns.redundant_moduli)

    def mdpu_design(self, modulus: int, routed: bool = True) -> MdpuDesign:
        """The MDPU of ``modulus`` as the layout draws it: with its routes (the LO route, a matched LO's delay
        line, the hybrid's bends), so that every simulation sees their loss and delay. ``routed=False``: the
        schematic without routes (what the layout starts from). Built once per chip, modulus and ``routed``
        (a Monte Carlo chip asks for its tiles' designs hundreds of times; building one takes 0.1-0.2 ms)."""
        return _mdpu_design(self, modulus, routed)

    def readout(self, noise: bool | None = None) -> Readout:
        return Readout(
            laser=self.laser,
            detector=self.detector,
            noise=self.noise.enabled if noise is None else noise,
            drive_noise_mv_rms=drive_noise_rms_mv(
                self.noise.drive_noise_nv_rthz, self.tile.clock_ghz, self.detector.bandwidth_ghz
            ),
        )


@lru_cache(maxsize=256)
def _mdpu_design(config: ChipConfig, modulus: int, routed: bool) -> MdpuDesign:
    """:meth:`ChipConfig.mdpu_design`, remembered."""
    mmu = MmuDesign(
        modulus=modulus,
        encoding=config.tile.encoding,
        element=config.tile.element,
        drive_max_v=config.tile.drive_max_v,
        drive=config.tile.drive,
        eo=config.phase_shifter_eo,
        ring=config.ring,
        heater=config.heater,
    )
    design = MdpuDesign(
        mmu=mmu, h=config.tile.h, lo_heater=config.heater, wl_um=config.laser.wl_um, lo_path=config.tile.lo_path
    )
    return _laid_out(design) if routed else design


@lru_cache(maxsize=64)
def _laid_out(design: MdpuDesign) -> MdpuDesign:
    """The design with the routes its layout draws; kept on disk (:mod:`mvm.disk_cache`): gdsfactory took seconds."""
    from mvm.disk_cache import cached

    def compute() -> MdpuDesign:
        from circuits.layout import layout_design  # imported on use: gdsfactory

        return layout_design(design)

    return cached("laid-out", repr(design), compute, ("circuits", "photonics"), ("gdsfactory",))


def config_from_dict(data: dict, source: str = "config") -> ChipConfig:
    """The chip described by the tables of a file (the calibration layer's sections are let through)."""
    return schema.parse(ChipConfig, data, source, RESERVED_SECTIONS)


def load_config(path: str | Path | None) -> ChipConfig:
    """The chip in a TOML file (the default chip for None), checked."""
    if path is None:
        return ChipConfig()
    return schema.load(path, ChipConfig, RESERVED_SECTIONS)


def to_toml(config: ChipConfig) -> str:
    """The configuration as documented TOML that ``load_config`` reads back to an equal config."""
    return schema.to_toml(config, TITLE)


def default_toml() -> str:
    return to_toml(ChipConfig())
