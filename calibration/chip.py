"""A fabricated chip: its sampled deviations, the trims calibration sets, and its compiled tiles.

``sample_chip`` draws what differs from the drawing, once per chip.
``build_chip`` compiles every tile with those deviations, the given trims
(drive voltages per level, LO bias heater powers, ring temperatures) and the
resulting temperatures (ambient offset, optional drift, heater crosstalk), and
returns an :class:`mvm.gemm.Chip` that the GEMM driver runs like any other.

How deviations reach the models: width and thickness shift the neff of the MMU
segments (thin-film LN ridges, with the LN film thickness and etch depth and the
LN sensitivities) and of the heaters' silicon guides (the MMU bias heaters and the
LO heaters, with the silicon thickness and the silicon sensitivities,
:mod:`calibration.variation`); the routes (the LO's delay line, the hybrid's
bends) keep the drawing's neff, a static phase the LO bias trim absorbs like the
rest; coupling deviations scale couplers' and splitters' power coupling; Pockels
efficiency and electrode length deviations scale 1/VpiL (the electrode's length,
not the guide's); heater efficiency scales 1/P_pi; ring radius and gap move
resonance and coupling (kappa ~ exp(-gap/decay)); responsivity scales each detector, which is the
same as scaling its field by sqrt(R/R0) (mean current and shot noise both
follow).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from calibration.geometry import TileGeometry, default_geometry, segment_boxes_um
from calibration.thermal import coupling_matrix, self_rise_k_per_mw, temperature_rise_k
from calibration.variation import VariationConfig, compact_factor, correlation_factor, sample_fields, standard_draws
from circuits.compiled import RowParams, compile_mdpu, compile_rows, drawn_front_settings
from circuits.mdpu import DETECTORS, FRONT, HYBRIDS, LO_HEATERS, ROUTES, SPLITTERS, lo_heater_powers_mw
from mvm.config import ChipConfig
from mvm.disk_cache import cached
from mvm.gemm import Chip
from mvm.tile import ModulusTile
from photonics.constants import REFERENCE_TEMPERATURE_K
from photonics.errors import UsageError


@dataclass(frozen=True)
class TileSample:
    """Deviations of one modulus tile, device by device (see the module docstring for units)."""

    modulus: int
    geometry: TileGeometry
    seg: dict  # name -> (R, h, B): dneff, eo_rel, length_rel, radius_nm, gap_nm
    heater: dict  # name -> (R, h): dneff, efficiency_rel
    front: dict  # name -> (R, len(FRONT)): dneff, efficiency_rel, coupling_rel, responsivity_rel


@dataclass(frozen=True)
class ChipSample:
    config: ChipConfig
    variation: VariationConfig
    tiles: tuple[TileSample, ...]
    ambient_offset_k: float
    drift_k: float
    layout: str | None = None  # the layout JSON the positions came from, if any


@dataclass(frozen=True)
class Trims:
    """What calibration sets, per tile: drive per level, LO bias heater powers, ring temperature
    offsets, and each receiver's digital I/Q correction (None: uncorrected)."""

    level_voltages_v: tuple[np.ndarray, ...]  # (R, h, B, m)
    lo_bias_power_mw: tuple[np.ndarray, ...]  # (R,)
    ring_offset_k: tuple[np.ndarray, ...]  # (R, h, B)
    iq_correction: tuple[tuple, ...] | None = None  # per tile, per row: IqCorrection


@lru_cache(maxsize=16)
def geometry_of(config: ChipConfig, index: int, layout: str | None = None) -> TileGeometry:
    """Device positions of tile ``index``: from a layout's JSON (``mirage layout``) or the default placement."""
    if layout is not None:
        from circuits.layout import load_positions, tile_positions_um

        modulus = config.all_moduli[index]
        p = tile_positions_um(load_positions(layout), modulus)
        expected = (config.tile.rows, config.tile.h, config.mdpu_design(modulus).mmu.segments)
        if p.segment_xy.shape[:3] != expected or np.isnan(p.segment_xy).any() or np.isnan(p.front_xy).any():
            raise UsageError(
                f"layout {layout}: modulus {modulus} has {p.segment_xy.shape[:3]} (rows, MMUs, segments), "
                f"the chip needs {expected}; lay it out with the same configuration"
            )
        return TileGeometry(p.segment_xy, p.heater_xy, p.front_xy)
    mmus = [config.mdpu_design(m).mmu for m in config.all_moduli]
    frames = [_row_frame_um(config.mdpu_design(m, routed=False)) for m in config.all_moduli]
    y0 = sum(config.tile.rows * pitch for _, pitch in frames[:index])  # the moduli's tiles stack in y
    below, pitch = frames[index]
    above = pitch - below - float(segment_boxes_um(mmus[index])[2].max())
    return default_geometry(
        mmus[index], config.tile.rows, config.tile.h, y0_um=y0, below_lane_um=below, above_segments_um=above
    )


@lru_cache(maxsize=16)
def _row_frame_um(design) -> tuple[float, float]:
    """(lane height above the tile's bottom, lane-to-lane pitch) of this MDPU's rows, read off a two-row tile
    as the layout draws it (front end, LO route, a matched LO's spiral and the row gap included); kept on disk
    (:mod:`mvm.disk_cache`)."""

    def compute() -> tuple[float, float]:
        from circuits.layout import mdpu_cell, tile_cell  # imported on use: gdsfactory
        from circuits.mdpu import front_role

        src = front_role("source_splitter")
        row = mdpu_cell(design)
        arm_y = float(row.insts[src.name].ports[dict(src.ports)["arm_out"]].center[1])  # the MMU chain's lane
        cell = tile_cell([design], 2)
        inputs = sorted(float(cell.ports[p].center[1]) for p in ("o1", "o2"))
        return arm_y - float(row.dbbox().bottom), inputs[1] - inputs[0]

    return cached("row-frame", repr(design), compute, ("circuits", "photonics"), ("gdsfactory",))


@lru_cache(maxsize=8)
def _factor(config: ChipConfig, index: int, length_um: float, layout: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The tile's correlation factor, compact (the same for every chip); kept on disk (:mod:`mvm.disk_cache`),
    keyed on the positions' bytes: its ``eigh`` took seconds in every fresh process."""
    xy = np.ascontiguousarray(geometry_of(config, index, layout).all_xy(), dtype=float)
    key = f"{xy.shape} {hashlib.sha256(xy.tobytes()).hexdigest()} {float(length_um)!r}"
    return cached(
        "correlation-factor",
        key,
        lambda: compact_factor(correlation_factor(xy, length_um)),
        ("calibration.variation",),
    )


# The varied quantities in the order each chip draws them (the order of the random stream).
SAMPLED = (
    "width_nm",
    "thickness_nm",
    "ln_film_nm",
    "ln_etch_nm",
    "coupling_rel",
    "eo_efficiency_rel",
    "length_rel",
    "heater_efficiency_rel",
    "ring_radius_nm",
    "ring_gap_nm",
    "responsivity_rel",
)


@lru_cache(maxsize=8)
def _heat_paths(config: ChipConfig, index: int, at_100um: float, layout: str | None):
    """Heater positions' coupling to every device and which heater each device is (the same for every chip)."""
    geom = geometry_of(config, index, layout)
    rows, h = geom.rows, geom.heater_xy.shape[1]
    lo_idx = [FRONT.index(n) for n in LO_HEATERS]
    heater_xy = np.concatenate([geom.heater_xy.reshape(-1, 2), geom.front_xy[:, lo_idx].reshape(-1, 2)])
    coupling = coupling_matrix(geom.all_xy(), heater_xy, at_100um)
    own = np.full(len(coupling), -1)
    n_seg = geom.segment_xy[..., 0].size
    own[n_seg : n_seg + rows * h] = np.arange(rows * h)  # MMU heaters are heaters 0..R*h-1
    lo_targets = n_seg + rows * h + (np.arange(rows)[:, None] * len(FRONT) + np.array(lo_idx)[None, :]).reshape(-1)
    own[lo_targets] = rows * h + np.arange(rows * len(lo_idx))
    c = coupling.copy()
    c[np.nonzero(own >= 0)[0], own[own >= 0]] = 0.0  # a heater's own power is already in its model
    # column-major: temperature_rise_k reads the columns of the heaters that are on (a tile's LO heaters, 32 of 304)
    # as contiguous blocks, 0.1 ms instead of 0.6 ms a call when the 4 MB matrix is out of cache, as it is between
    # a chip's device solves; the product is the same to the bit
    return np.asfortranarray(c)


def sample_chip(
    config: ChipConfig, variation: VariationConfig, rng: np.random.Generator, layout: str | None = None
) -> ChipSample:
    """Draw one chip's deviations; device positions from ``layout`` (a layout's JSON) if given."""
    tiles = []
    for i, m in enumerate(config.all_moduli):
        geom = geometry_of(config, i, layout)
        factor, columns = _factor(config, i, variation.correlation_length_um, layout)
        s = variation.spreads()
        drawn = sample_fields(rng, factor, variation, [s[name] for name in SAMPLED], columns)
        fields = {name: geom.split(values) for name, values in zip(SAMPLED, drawn, strict=True)}

        def field(name: str) -> tuple:
            return fields[name]  # noqa: B023 (called within this iteration only)

        width, thick = field("width_nm"), field("thickness_nm")
        film, etch = field("ln_film_nm"), field("ln_etch_nm")
        # segments are thin-film LN ridges (Pockels segments, rings); MMU heaters and the front end are silicon
        ln = (
            variation.ln_dneff_dwidth_per_nm * width[0]
            + variation.ln_dneff_dfilm_per_nm * film[0]
            + variation.ln_dneff_detch_per_nm * etch[0]
        )
        silicon = [
            variation.dneff_dwidth_per_nm * w + variation.dneff_dthickness_per_nm * t for w, t in zip(width, thick)
        ]
        dneff = [ln, silicon[1], silicon[2]]
        coupling, eo, length, eff = (
            field("coupling_rel"),
            field("eo_efficiency_rel"),
            field("length_rel"),
            field("heater_efficiency_rel"),
        )
        radius, gap, resp = field("ring_radius_nm"), field("ring_gap_nm"), field("responsivity_rel")
        tiles.append(
            TileSample(
                modulus=m,
                geometry=geom,
                seg={
                    "dneff": dneff[0],
                    "eo_rel": eo[0],
                    "length_rel": length[0],
                    "radius_nm": radius[0],
                    "gap_nm": gap[0],
                },
                heater={"dneff": dneff[1], "efficiency_rel": eff[1]},
                front={
                    "dneff": dneff[2],
                    "efficiency_rel": eff[2],
                    "coupling_rel": coupling[2],
                    "responsivity_rel": resp[2],
                },
            )
        )
    ambient = float(standard_draws(rng, (), variation) * variation.ambient_offset_k * variation.scale)
    drift = float(standard_draws(rng, (), variation) * variation.drift_k * variation.scale)
    return ChipSample(config, variation, tuple(tiles), ambient, drift, layout)


@lru_cache(maxsize=8)
def nominal_trims(config: ChipConfig) -> Trims:
    """The trims of the drawing: design drive voltages, the ideal chip's LO bias, no ring offsets.

    Solved once per configuration; its arrays are read-only (trims are replaced, never edited).
    """
    volts, bias, ring = [], [], []
    r, h = config.tile.rows, config.tile.h
    for m in config.all_moduli:
        design = config.mdpu_design(m)
        v = design.mmu.level_voltages_v()
        volts.append(np.broadcast_to(v, (r, h, design.mmu.segments, m)).copy())
        bias.append(np.full(r, compile_mdpu(design).design.lo_bias_power_mw))
        ring.append(np.zeros((r, h, design.mmu.segments)))
    for a in (*volts, *bias, *ring):
        a.flags.writeable = False
    return Trims(tuple(volts), tuple(bias), tuple(ring))


def _heater_powers(config: ChipConfig, lo_bias: np.ndarray, rows: int, h: int) -> np.ndarray:
    """Powers (..., heaters) of every heater of a tile: the MMUs' bias heaters (off), then the LO_HEATERS of each
    row, for LO bias powers (..., R) (or one for every row)."""
    lo_bias = np.asarray(lo_bias)
    lead = lo_bias.shape[:-1]
    powers = lo_heater_powers_mw(config.heater.p_pi_mw, np.broadcast_to(lo_bias, lead + (rows,)))
    lo = np.stack([powers[n] for n in LO_HEATERS], -1)
    return np.concatenate([np.zeros(lead + (rows * h,)), lo.reshape(lead + (-1,))], -1)


def heater_p_pi_mw(sample: ChipSample, index: int) -> np.ndarray:
    """P_pi of every heater of a tile: the MMUs' bias heaters, then the LO_HEATERS of each row."""
    ts, heat = sample.tiles[index], sample.config.heater
    lo_idx = [FRONT.index(n) for n in LO_HEATERS]
    return np.concatenate(
        [
            heat.p_pi_mw / (1 + ts.heater["efficiency_rel"]).reshape(-1),
            heat.p_pi_mw / (1 + ts.front["efficiency_rel"][:, lo_idx]).reshape(-1),
        ]
    )


def chip_temperature_k(sample: ChipSample, with_drift: bool = False, extra_heat_k: float = 0.0) -> float:
    """The chip's temperature before any heater's crosstalk: the reference, the ambient offset, the drift that
    follows calibration (``with_drift``) and any uniform extra heat. The routing guides (the LO's delay line, the
    hybrid's bends), which have no place in the heat paths, sit at it."""
    return REFERENCE_TEMPERATURE_K + sample.ambient_offset_k + (sample.drift_k if with_drift else 0.0) + extra_heat_k


def device_temperatures_k(
    sample: ChipSample, index: int, lo_bias_power_mw: np.ndarray, with_drift: bool = False, extra_heat_k: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Temperatures of (segments, MMU heaters, front-end devices) of a tile: ambient, drift and crosstalk.

    ``lo_bias_power_mw`` (R,), or (V, R) for V settings of the LO bias heaters at
    once (then every array leads with V).
    """
    cfg = sample.config
    geom = sample.tiles[index].geometry
    rows, h = geom.rows, geom.heater_xy.shape[1]
    heat = cfg.heater
    rise = self_rise_k_per_mw(
        p_pi_mw=heater_p_pi_mw(sample, index),
        length_um=heat.length_um,
        wl0_um=heat.wl0_um,
        dn_dt_per_k=heat.dn_dt_per_k,
    )
    power = _heater_powers(cfg, lo_bias_power_mw, rows, h)
    base = chip_temperature_k(sample, with_drift, extra_heat_k)
    coupling = _heat_paths(cfg, index, sample.variation.crosstalk_at_100um, sample.layout)
    if power.ndim == 1:
        return geom.split(base + temperature_rise_k(coupling, rise, power))
    return geom.split(base + temperature_rise_k(coupling, rise[:, None], power.T).T)  # (devices, V): one product


def tile_rows(
    sample: ChipSample,
    index: int,
    trims: Trims,
    with_drift: bool = False,
    extra_heat_k: float = 0.0,
    level_zero_only: bool = False,
):
    """The compiled rows of tile ``index`` as fabricated and trimmed.

    ``level_zero_only`` solves only level 0 of every segment (enough for
    zero-input readings, far cheaper). The last few tiles compiled are remembered
    by their inputs (the sample, the tile's trims and the conditions), so a state
    asked for again (calibration starts from the chip as fabricated, and ends
    where the evaluation of the calibrated chip begins) is not solved twice.
    """
    key = (
        index,
        *(np.ascontiguousarray(t[index]).tobytes() for t in (trims.level_voltages_v, trims.lo_bias_power_mw)),
        np.ascontiguousarray(trims.ring_offset_k[index]).tobytes(),
        bool(with_drift),
        float(extra_heat_k),
        bool(level_zero_only),
    )
    held = _COMPILED.get(id(sample))
    if held is None or held[0] is not sample:
        held = _COMPILED[id(sample)] = (sample, {})
        while len(_COMPILED) > COMPILED_SAMPLES:
            _COMPILED.pop(next(iter(_COMPILED)))
    rows = held[1].get(key)
    if rows is None:
        design, params = row_params(sample, index, trims, with_drift, extra_heat_k, level_zero_only)
        rows = held[1][key] = compile_rows(design, params)
    if trims.iq_correction is not None:
        rows = [replace(row, iq_correction=c) for row, c in zip(rows, trims.iq_correction[index])]
    return rows


# Compiled tiles remembered per sample (by tile_rows), for the last COMPILED_SAMPLES samples: a chip's evaluation
# and calibration ask for the same states of its tiles more than once (about 35 MB per default chip).
COMPILED_SAMPLES = 1
_COMPILED: dict = {}


def row_params(
    sample: ChipSample,
    index: int,
    trims: Trims,
    with_drift: bool = False,
    extra_heat_k: float = 0.0,
    level_zero_only: bool = False,
    lo_bias_power_mw: np.ndarray | None = None,
):
    """(design, RowParams) of tile ``index`` as fabricated and trimmed (see :func:`tile_rows`).

    ``lo_bias_power_mw`` (V, R): V settings of the tile's LO bias heaters in place
    of the trims', solved as one batch of V * R rows (setting-major).
    """
    cfg, ts = sample.config, sample.tiles[index]
    design = cfg.mdpu_design(ts.modulus)
    rows = ts.geometry.rows
    heat = cfg.heater
    bias = np.asarray(trims.lo_bias_power_mw[index] if lo_bias_power_mw is None else lo_bias_power_mw)
    temp = device_temperatures_k(sample, index, bias, with_drift, extra_heat_k)
    mmu = design.mmu
    # ring_offset_k is the ring-lock trim (Trim.RING_LOCK); it stays 0 on elements that do not trim it
    seg = {"neff": mmu.segment_device.neff + ts.seg["dneff"], "temperature_k": temp[0] + trims.ring_offset_k[index]}
    seg.update(_SEGMENT_VARIATION[mmu.segment_model](mmu, ts.seg, sample.variation))
    mmu_heater = {
        "neff": heat.neff + ts.heater["dneff"],
        "p_pi_mw": heat.p_pi_mw / (1 + ts.heater["efficiency_rel"]),
        "temperature_k": temp[1],
    }
    f = ts.front
    col = {n: FRONT.index(n) for n in FRONT}
    drawn = drawn_front_settings(design.lo_fraction, design.lo_heater)  # the schematic's couplings
    front = {
        n: {"split_ratio": np.clip(drawn[n]["split_ratio"] * (1 + f["coupling_rel"][:, col[n]]), 0, 1)}
        for n in SPLITTERS
    }
    front.update({n: {"kappa": np.clip(drawn[n]["kappa"] * (1 + f["coupling_rel"][:, col[n]]), 0, 1)} for n in HYBRIDS})
    lead = bias.shape[:-1] if bias.ndim else ()  # (V,) with LO bias settings, else ()
    lo_power = lo_heater_powers_mw(heat.p_pi_mw, np.broadcast_to(bias, lead + (rows,)))
    for n in LO_HEATERS:
        front[n] = {
            "neff": heat.neff + f["dneff"][:, col[n]],
            "p_pi_mw": heat.p_pi_mw / (1 + f["efficiency_rel"][:, col[n]]),
            "temperature_k": temp[2][..., col[n]],
            "power_mw": lo_power[n],
        }
    front.update({n: {"temperature_k": chip_temperature_k(sample, with_drift, extra_heat_k)} for n in ROUTES})
    gain = 1 + f["responsivity_rel"][:, [col[d] for d in DETECTORS]]
    volts = trims.level_voltages_v[index][..., :1] if level_zero_only else trims.level_voltages_v[index]

    def rows_of(a, shape):  # every row's value, settings stacked along the rows
        if not lead and np.shape(a) == shape:
            return a
        a = np.broadcast_to(a, lead + shape)
        return a.reshape((-1,) + shape[1:]) if lead else a

    seg = {k: rows_of(v, volts.shape[:3]) for k, v in seg.items()}
    mmu_heater = {k: rows_of(v, volts.shape[:2]) for k, v in mmu_heater.items()}
    front = {n: {k: rows_of(v, volts.shape[:1]) for k, v in f.items()} for n, f in front.items()}
    return design, RowParams(seg, rows_of(volts, volts.shape), mmu_heater, front, rows_of(gain, gain.shape))


def _eo_segment_variation(mmu, dev: dict, variation: VariationConfig) -> dict:
    """Pockels segment: efficiency and electrode length deviations both scale its Pockels phase per volt,
    pi V L / VpiL, so both enter as 1/VpiL. An electrode length error is the metal's, not the guide's (drawn by
    lithography to nanometres over millimetres): the optical path, its loss and its delay stay as drawn."""
    # the drawn lengths, passed per row: left to the design's settings, XLA rounds a chip without variation 7e-12
    # away from the ideal chip, which it must equal to the bit
    drawn = mmu.segment_lengths_um()[None, None, :]
    return {"length_um": drawn, "vpil_v_cm": mmu.eo.vpil_v_cm / ((1 + dev["eo_rel"]) * (1 + dev["length_rel"]))}


def _ring_segment_variation(mmu, dev: dict, variation: VariationConfig) -> dict:
    """Ring segment: radius and gap move resonance and coupling, efficiency deviations scale 1/VpiL."""
    ring = mmu.ring
    return {
        "radius_um": ring.radius_um + dev["radius_nm"] * 1e-3,
        "kappa": np.clip(ring.kappa * np.exp(-dev["gap_nm"] / variation.coupling_decay_nm), 0, 1),
        "vpil_v_cm": ring.vpil_v_cm / (1 + dev["eo_rel"]),
    }


# How fabrication deviations reach one MMU segment, by its device model (``MmuDesign.segment_model``):
# a new element with a new segment model adds its entry here.
_SEGMENT_VARIATION = {"phase_shifter_eo": _eo_segment_variation, "ring_allpass": _ring_segment_variation}


def build_chip(sample: ChipSample, trims: Trims, with_drift: bool = False) -> Chip:
    """The fabricated chip with the given trims, ready for :func:`mvm.gemm.rns_gemm`."""
    tiles = tuple(ModulusTile.from_rows(tile_rows(sample, i, trims, with_drift)) for i in range(len(sample.tiles)))
    return Chip(sample.config, tiles)
