"""The compiled MDPU: solve each part once with its device models, evaluate many dot products with arrays.

Every element is reflectionless, so the detector fields are exactly
``E = lo_to_det + arm_to_det * src_to_arm * T_arm`` with T_arm the product of the
signal arm's transmissions. The front end (source splitter, LO arm, hybrid) is
solved once as the sum over its paths of the device models along them
(:func:`front_end_solver`: the same S-matrix as ``sax.circuit`` of its netlist,
without a linear solve or sax's compilation); each MMU segment is solved once per drive level
the encoding puts it at (``MmuDesign.driven_levels``: NaN at the others) by its device model,
giving a table ``segment_t[j, b, level]`` per physical device, and these combine into one
table per MMU, ``mmu_t[j, x, w]`` (h*m*m entries). A dot product is then h gathers and a product, fused by ``jax.jit``
(about 20 ns for h = 16 on one core). The sax solution of the
whole hierarchical netlist (:class:`circuits.mdpu.SaxMdpu`) is the reference it
must match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from circuits.mdpu import (
    DETECTORS,
    LO_BIAS,
    MdpuDesign,
    MdpuRoutes,
    front_end_netlist,
    with_lo_bias,
)
from photonics.constants import C_UM_PER_S
from photonics.errors import UsageError, check_fits, physical_memory_bytes
from photonics.jax_setup import file_digest, persistent_jit

# The packages whose code a circuits program's trace can run (circuits and the layer below it): the source
# persistent_jit keys the programs on, so that an edit there compiles them again.
PROGRAM_SOURCES = ("photonics", "circuits")


def _models_key() -> str:
    """The device registry as the circuits programs read it: each model's name, signature (its defaults) and
    physics (module, name and the digest of its file), so that a device registered or changed outside the
    sources compiles them again."""
    import inspect

    import photonics

    return "|".join(
        f"{name}:{inspect.signature(model)}:{physics.__module__}.{physics.__qualname__}:{file_digest(physics)}"
        for name, model in sorted(photonics.models().items())
        for physics in (getattr(model, "physics", model),)
    )


SMALL_BATCH = 1 << 16  # residues per call below which the compiled form gathers in numpy
GROUP_DELAY_STEP_UM = 1e-8  # wavelength step of the numerical group delay: < 0.1 rad per device for 10 cm of guide
DRIVE_STEP_V = 1e-4  # voltage step of the numerical d(phase)/dV of a segment


@dataclass(frozen=True)
class IqCorrection:
    """A receiver's digital I/Q correction, set by calibration: (I, Q) -> matrix @ ((I, Q) - offset).

    Units are those of :func:`iq` (balanced power difference per unit input
    power); it removes balanced-pair offsets (responsivity mismatch) and
    quadrature and gain imbalance of the hybrid.
    """

    offset: tuple[float, float] = (0.0, 0.0)
    matrix: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 0.0), (0.0, 1.0))

    def apply(self, z):
        """Corrected I + jQ for raw I + jQ (any shape)."""
        return correct_iq(z, np.asarray(self.offset), np.asarray(self.matrix))

    @staticmethod
    def stacked(corrections) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Offsets (R, 2) and matrices (R, 2, 2) of R rows' corrections (None: the identity), for
        :func:`correct_iq`; (None, None) when no row has one."""
        if all(c is None for c in corrections):
            return None, None
        none = IqCorrection()
        return (
            np.array([(c or none).offset for c in corrections], dtype=float),
            np.array([(c or none).matrix for c in corrections], dtype=float),
        )


def correct_iq(z, offset: np.ndarray, matrix: np.ndarray):
    """I + jQ corrected as matrix @ ((I, Q) - offset), offsets (..., 2) and matrices (..., 2, 2) broadcast against z."""
    i, q = correct_iq_parts(np.real(z), np.imag(z), offset, matrix)
    return i + 1j * q


def correct_iq_parts(i, q, offset: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`correct_iq` on real I and Q arrays: the corrected (I, Q), without complex arrays."""
    i, q = i - offset[..., 0], q - offset[..., 1]
    return matrix[..., 0, 0] * i + matrix[..., 0, 1] * q, matrix[..., 1, 0] * i + matrix[..., 1, 1] * q


@dataclass(frozen=True)
class CompiledMdpu:
    design: MdpuDesign  # with lo_bias_power_mw set
    segment_t: np.ndarray  # (h, B, m): segment b of MMU j at each drive level (NaN where never driven)
    heater_t: np.ndarray  # (h,): each MMU's bias heater
    src_to_arm: complex  # laser input -> signal arm input
    arm_to_det: np.ndarray  # (4,): signal arm output -> detectors
    lo_to_det: np.ndarray  # (4,): laser input -> detectors through the LO arm
    iq_correction: IqCorrection | None = None  # the receiver's digital correction, if calibrated

    @cached_property
    def mmu_t(self) -> np.ndarray:
        """(h, m, m): MMU j's transmission (bias heater and segments) for every (x, w)."""
        return mmu_tables(self.segment_t, self.heater_t, self.design)

    def arm_transmission(self, x, w) -> np.ndarray:
        """Signal-arm transmission for residue vectors x, w of shape (..., h), any integer dtype."""
        return self._evaluate(x, w, np.zeros(1, complex), np.ones(1, complex))[..., 0]

    def detector_fields(self, x, w) -> np.ndarray:
        """Complex fields at (i_p, i_n, q_p, q_n) per unit input field, shape (..., 4)."""
        return self._evaluate(x, w, self.lo_to_det, self.arm_to_det * self.src_to_arm)

    def _evaluate(self, x, w, offset, scale) -> np.ndarray:
        """offset + scale * T_arm(x, w), validated, in one jitted pass."""
        x, w = np.asarray(x), np.asarray(w)
        h, m = self.design.h, self.design.modulus
        for name, a in (("x", x), ("w", w)):
            if a.dtype.kind not in "iu":
                raise UsageError(f"{name} must hold integer residues (got dtype {a.dtype})")
            if a.shape[-1:] != (h,):
                raise UsageError(f"{name} must have a last axis of length h = {h} (got shape {a.shape})")
            if a.size and (a.max() >= m or (a.dtype.kind == "i" and a.min() < 0)):
                raise UsageError(f"{name} residues must lie in [0, {m}) (got {a.min()}..{a.max()})")
        x, w = np.broadcast_arrays(x, w)
        if x.size < SMALL_BATCH:  # a numpy gather beats shipping the table to XLA for a few products
            arm = np.prod(self.mmu_t[np.arange(h), x.astype(np.intp), w.astype(np.intp)], axis=-1)
            return offset + scale * arm[..., None]
        out = _gather_product(self._flat_table, x.reshape(-1, h), w.reshape(-1, h), offset, scale, m)
        return np.asarray(out).reshape(x.shape[:-1] + (len(offset),))

    @cached_property
    def _flat_table(self):
        return jnp.asarray(self.mmu_t.reshape(-1))

    def zero_input_fields(self) -> np.ndarray:
        """Fields with every segment at level 0 (x = 0): the bias and amplitude reference."""
        return self._zero_input_fields

    @cached_property
    def _zero_input_fields(self) -> np.ndarray:
        zeros = np.zeros(self.design.h, dtype=np.int64)
        return self.detector_fields(zeros, zeros)

    def delay_mismatch_s(self) -> float:
        """Group delay of the signal arm minus that of the LO arm, laser to hybrid outputs (s).

        See :func:`arm_group_delays_s`; computed from the design (a row with its own
        device parameters uses its design's nominal devices).
        """
        return self._delay_mismatch_s

    @cached_property
    def _delay_mismatch_s(self) -> float:
        return float(delay_mismatches_s([self.design])[0])

    @property
    def segment_drive_variance(self) -> np.ndarray:
        """(h, B, m): each segment's signal-arm phase variance per unit drive-voltage variance at each level, where
        it is driven (:func:`segment_drive_variances`).

        From the design's nominal segments and level voltages (rows with their own
        device parameters use the nominal slope: a few-percent change of a small term);
        solved once per design.
        """
        return segment_drive_variances(replace(self.design, lo_bias_power_mw=None))

    @cached_property
    def drive_variance_table(self) -> np.ndarray:
        """(h, m, m): signal-arm phase variance of MMU j per unit drive-voltage variance (rad^2/V^2) at (x, w).

        See :func:`drive_variance_tables` (from the design's nominal segments, once per design; kept by the row
        too: finding it by the design's hash took a quarter of a simulated batch's drive-noise lookup).
        """
        return drive_variance_tables(replace(self.design, lo_bias_power_mw=None))

    def drive_phase_variance(self, x, w) -> np.ndarray:
        """Signal-arm phase variance per unit drive-voltage variance (rad^2/V^2) for residues (..., h) in [0, m)
        (the callers' residues are reduced mod m; a flat gather does not check each axis's range)."""
        table = self.drive_variance_table
        h, m = table.shape[:2]
        x, w = np.asarray(x), np.asarray(w)
        # one flat gather (two thirds of the time of indexing with three arrays), summed over j in the same order
        kind = index_dtype(np.result_type(x, w), h * m * m - 1)
        at = (np.arange(h, dtype=kind) * kind.type(m) + x.astype(kind, copy=False)) * kind.type(m)
        at = at + w.astype(kind, copy=False)  # x and w may broadcast against each other
        return np.take(table.reshape(-1), at.astype(np.intp, copy=False)).sum(-1)


def index_dtype(given: np.dtype, largest: int) -> np.dtype:
    """The signed integer type to compute table indices up to ``largest`` in, from residues of type ``given``: the
    narrower of int32 and int64 that holds ``largest``, widened to hold ``given`` (int32 index arithmetic takes half
    of int64's time; uint8 residues would overflow in their own type); intp where no signed type holds both."""
    kind = np.promote_types(given, np.int32 if largest < 2**31 else np.int64)
    return kind if kind.kind == "i" else np.dtype(np.intp)


@lru_cache(maxsize=32)
def segment_phase_slopes_rad_per_v(design: MdpuDesign) -> np.ndarray:
    """(h, B, m): d(phase)/dV of each of the design's nominal segments at each drive level (read-only).

    By central difference of the segment's model; it does not depend on the LO
    bias, so callers key it on the design without one (one solve per design).
    """
    import photonics

    mmu = design.mmu
    model = photonics.models()[mmu.segment_model]
    volts = mmu.level_voltages_v()
    rows = []
    for settings in mmu.segment_settings():
        t = [
            np.asarray(model(wl=design.wl_um, **{**settings, "voltage_v": volts + d})[("o1", "o2")])
            for d in (DRIVE_STEP_V, -DRIVE_STEP_V)
        ]
        rows.append(np.angle(t[0] / t[1]) / (2 * DRIVE_STEP_V))
    return np.broadcast_to(np.stack(rows), (design.h, mmu.segments, mmu.modulus))


@lru_cache(maxsize=32)
def segment_drive_variances(design: MdpuDesign) -> np.ndarray:
    """(h, B, m): signal-arm phase variance of each segment per unit drive-voltage variance (rad^2/V^2) at each
    level, driven by its own drivers: its slope d(phase)/dV squared, times ``MmuDesign.drivers_per_gap`` (a
    differential segment's two antiphase drivers each put their own noise across its gap). Read-only."""
    out = np.square(segment_phase_slopes_rad_per_v(design)) * design.mmu.drivers_per_gap
    out.flags.writeable = False
    return out


@lru_cache(maxsize=32)
def drive_variance_tables(design: MdpuDesign) -> np.ndarray:
    """(h, m, m): signal-arm phase variance of MMU j per unit drive-voltage variance (rad^2/V^2) at (x, w).

    Every active segment (``MmuDesign.active_table``: weight bit set, or a digital
    driver switched on) moves by d(phase)/dV * dV. Segments sharing one drive
    (``MmuDesign.shared_drive``: one DAC per MMU) move together, so their slopes
    add before squaring; separate DACs or drivers are independent, so their
    squares add. An inactive segment is not driven. A differential segment's two
    antiphase drivers (``MmuDesign.drivers_per_gap``) each put their own noise
    across its gap: twice one driver's variance (:func:`segment_drive_variances`, a
    segment's own term). Read-only, one per design (without its LO bias, which it
    does not depend on).
    """
    mmu = design.mmu
    b = np.arange(mmu.segments)
    if mmu.shared_drive:
        slopes = segment_phase_slopes_rad_per_v(design)[:, b, mmu.level_table] * mmu.active_table  # (h, m, m, B)
        table = slopes.sum(-1) ** 2 * mmu.drivers_per_gap
    else:  # the drivers' scale (1 or 2) is exact before the sum as after it
        table = (segment_drive_variances(design)[:, b, mmu.level_table] * mmu.active_table).sum(-1)
    table.flags.writeable = False
    return table


@partial(jax.jit, static_argnums=5)
def _gather_product(flat_table, x, w, offset, scale, m):
    """offset + scale * prod_j table[j, x_j, w_j] per row (residues already range-checked).

    Residues may come in any integer dtype; uint8 (enough for m <= 256) moves an
    eighth of int64's bytes, which is most of the cost.
    """
    x, w = x.astype(jnp.int32), w.astype(jnp.int32)
    index = jnp.arange(x.shape[-1], dtype=jnp.int32) * (m * m) + x * m + w
    return offset + scale * jnp.prod(flat_table[index], axis=-1)[:, None]


def check_table_memory(design: MdpuDesign, rows: int = 1) -> None:
    """Refuse a modulus and h whose (h, m, m) MMU tables (and the (m, m, B) levels behind them) cannot fit."""
    _check_table_memory(design.modulus, design.h, design.mmu.segments, rows)


@lru_cache(maxsize=256)
def _check_table_memory(m: int, h: int, b: int, rows: int) -> None:
    """:func:`check_table_memory` of these sizes: the answer (or its error, never cached) is the same every call in
    a process, and a tile's solve asked it each time (2 % of the solve)."""
    per_entry = rows * (16 * h + 24 * b + 16)  # complex tables, int64 grids and levels, gathered segment fields
    where = f"modulus {m} with h = {h}" + (f" on {rows} rows" if rows > 1 else "")
    largest = int(math.isqrt(int(physical_memory_bytes() / 2 / per_entry)))
    check_fits(m * m * per_entry, f"{where}: the MMU tables (h x m x m)", f"moduli up to about {largest} fit")


def mmu_tables(segment_t: np.ndarray, heater_t: np.ndarray, design: MdpuDesign) -> np.ndarray:
    """(..., h, m, m) table of each MMU's transmission for every (x, w) pair, for segment tables (..., h, B, m) and
    heaters (..., h) (leading axes: rows of one design)."""
    levels = design.mmu.level_table  # (m, m, B)
    # segment by segment, in the order a product over the segments takes them (no (..., h, m, m, B) gather)
    out = segment_t[..., 0, levels[..., 0]]
    for b in range(1, levels.shape[-1]):
        out *= segment_t[..., b, levels[..., b]]
    return out * heater_t[..., None, None]


def segment_sums(seg: np.ndarray, heater: np.ndarray, mmu):
    """(phase (rad), log amplitude, reference) of every MMU against its (0, 0) transmission, from its segments:
    (R, h, U), (R, h, U) per level combination of the segments (:attr:`circuits.mmu.MmuDesign.level_patterns`:
    (x, w) reads combination ``index[x * m + w]``) and the (0, 0) transmission itself (R, h), for segment
    tables (R, h, B, m) and heaters (R, h) of the design ``mmu``.

    log(t(x, w) / t(0, 0)) is the sum over segments of log(seg_b(L_b) / seg_b(L_b(0, 0))) (the heater
    cancels): each segment's levels in use take one angle and one log, and the sums are B real gathers per level
    combination, instead of a complex product table and an angle and a log of each of its entries. The
    phase is that of the product to round-off, unwrapped (a sum of angles; callers wrap it).
    """
    patterns, index, _ = mmu.level_patterns
    b_count = seg.shape[-2]
    at_ref = seg[..., np.arange(b_count), patterns[index[0]]]  # (R, h, B): each segment at its (0, 0) level
    ref = at_ref[..., 0].copy()
    for b in range(1, b_count):  # in the order mmu_tables multiplies them
        ref *= at_ref[..., b]
    ref *= heater
    # only the levels some combination drives a segment to, the ones the tables hold (MmuDesign.driven_levels): the
    # digital-product encoding's binary drivers reach 2 of the m, the other encodings all of them
    used = mmu.driven_levels
    ratio = seg[..., used] / at_ref[..., None]
    phase, log_amp = np.angle(ratio), np.log(np.abs(ratio))  # (R, h, B, levels used)
    flat = np.ascontiguousarray(np.searchsorted(used, patterns).T)  # (B, U): each combination's levels in ``used``
    out_phase = np.take(phase[..., 0, :], flat[0], axis=-1)
    out_amp = np.take(log_amp[..., 0, :], flat[0], axis=-1)
    for b in range(1, b_count):
        out_phase += np.take(phase[..., b, :], flat[b], axis=-1)
        out_amp += np.take(log_amp[..., b, :], flat[b], axis=-1)
    return out_phase, out_amp, ref


def at_driven_levels(mmu, volts: np.ndarray, solve) -> np.ndarray:
    """A segment table (..., m) from ``solve`` (level voltages -> transmissions, element-wise) of the drive levels
    ``volts`` (..., m), solved at the levels some (x, w) drives a segment to (``MmuDesign.driven_levels``) only:
    NaN at the others, states no driver produces (a binary drive's m - 2 intermediate levels), so a read of one
    shows. A table of fewer levels than m (level 0 only) is solved whole."""
    driven = mmu.driven_levels
    if volts.shape[-1] != mmu.modulus or len(driven) == mmu.modulus:
        return np.asarray(solve(volts))
    solved = np.asarray(solve(np.ascontiguousarray(volts[..., driven])))
    out = np.full(volts.shape, np.nan, dtype=solved.dtype)
    out[..., driven] = solved
    return out


def _segment_tables(design: MdpuDesign) -> tuple[np.ndarray, np.ndarray]:
    import photonics

    mmu = design.mmu
    model = photonics.models()[mmu.segment_model]
    volts = mmu.level_voltages_v()
    rows = [
        at_driven_levels(
            mmu, volts, lambda v, s=settings: model(wl=design.wl_um, **{**s, "voltage_v": v})[("o1", "o2")]
        )
        for settings in mmu.segment_settings()
    ]
    segment_t = np.broadcast_to(np.stack(rows), (design.h, mmu.segments, mmu.modulus)).copy()
    heater = complex(_heater_transmission(design, {}, (1,))[0])  # as compile_rows solves them
    return segment_t, np.full(design.h, heater)


# Front-end solves pad their rows to a multiple of this (with the last row): few array shapes, so few compilations
# of the front end's program (a tile's 16 rows, the ideal chip's one row and a design's delay line at two powers
# share one), and every row rounds alike whatever the batch (a chip without variation equals the ideal chip bit for
# bit).
FRONT_END_BATCH = 16


def front_end_paths(netlist: dict, sources=("in", "arm_in")) -> dict:
    """Every path of light through a reflectionless, feed-forward netlist, from each of ``sources`` (circuit ports)
    to every circuit port it reaches: (to port, from port) -> paths, each a tuple of (instance, in port, out port).

    The S-parameter from port a to port b of such a netlist is exactly the sum over its paths of the product of
    the instances' S-parameters along each (no reflection: nothing returns to an instance light has left).
    Which port pairs of an instance carry light is read off the keys of its model's S-dictionary. Raises if a
    path comes back to an instance it has passed (a loop: not feed-forward).
    """
    import photonics

    models = photonics.models()
    instances, ports = netlist["instances"], netlist["ports"]
    links = {}
    for a, b in netlist["connections"].items():
        links[tuple(a.split(","))], links[tuple(b.split(","))] = tuple(b.split(",")), tuple(a.split(","))
    port_of = {tuple(v.split(",")): k for k, v in ports.items()}
    carries = {}
    for name, inst in instances.items():
        s = models[inst["component"]](**inst["settings"])
        carries[name] = {}
        for p, q in s:
            if p != q:
                carries[name].setdefault(p, []).append(q)
    paths: dict = {}

    def walk(at: tuple, path: tuple, source: str) -> None:
        name, port = at
        if any(step[0] == name for step in path):
            raise ValueError(f"front_end_paths: a path from {source} returns to {name} (not a feed-forward netlist)")
        for out in carries[name].get(port, ()):
            step = path + ((name, port, out),)
            if (name, out) in port_of:
                paths.setdefault((port_of[(name, out)], source), []).append(step)
            elif (name, out) in links:
                walk(links[(name, out)], step, source)

    for source in sources:
        walk(tuple(ports[source].split(",")), (), source)
    return {k: tuple(v) for k, v in paths.items()}


@lru_cache(maxsize=16)
def front_end_solver(lo_fraction: float, lo_heater, routes=None):
    """The front end's S-parameters as one jitted function of (wl, settings) (:func:`_front_end_function`)."""
    return jax.jit(_front_end_function(lo_fraction, lo_heater, routes))


@lru_cache(maxsize=16)
def front_end_form(lo_fraction: float, lo_heater, routes: MdpuRoutes | None = None) -> tuple[tuple, tuple]:
    """(topology, drawn values) of a design's front end (:func:`circuits.mdpu.front_end_netlist`).

    The topology is what decides the front end's program: each instance's name,
    component and setting names, the connections and the ports. Every setting is
    a number the program takes at run time (``drawn``: the drawing's, in the
    topology's order), so designs that differ only in numbers (another LO split,
    heater, or route length: each modulus's matched LO is its own length) share
    one compiled program; only the set of drawn routes changes the topology.
    """
    netlist = front_end_netlist(lo_fraction, lo_heater, routes=routes)
    instances = netlist["instances"]
    topology = (
        tuple((name, inst["component"], tuple(inst["settings"])) for name, inst in instances.items()),
        tuple(sorted(netlist["connections"].items())),
        tuple(sorted(netlist["ports"].items())),
    )
    return topology, tuple(float(v) for inst in instances.values() for v in inst["settings"].values())


@lru_cache(maxsize=16)
def _topology_solver(topology: tuple):
    """The S-parameters of a front end of this topology (:func:`front_end_form`) as a function of (wl, settings),
    ``settings`` giving every setting of every instance (instance -> key -> value): the sum over every path
    (:func:`front_end_paths`) of the project's device models along it. The same S-matrix as the sax circuit
    (:func:`circuits.mdpu.front_end_circuit`, held to it by the tests), without a linear solve: a plain XLA program
    (kept across processes: :func:`_packed_front_end`) that costs microseconds a call.
    """
    import photonics

    models = photonics.models()
    instances, connections, ports = topology
    netlist = {
        "instances": {name: {"component": component, "settings": {}} for name, component, _ in instances},
        "connections": dict(connections),
        "ports": dict(ports),
    }
    paths = front_end_paths(netlist)
    missing = [k for k in _FRONT_END_PORTS if k not in paths]
    if missing:
        raise ValueError(f"front_end_solver: no light reaches {missing}")

    def solve(wl, settings):
        s = {name: models[component](wl=wl, **settings[name]) for name, component, _ in instances}
        out = {}
        for key in _FRONT_END_PORTS:
            terms = []
            for path in paths[key]:
                t = s[path[0][0]][path[0][1:]]
                for name, a, b in path[1:]:
                    t = t * s[name][(a, b)]
                terms.append(t)
            out[key] = sum(terms[1:], terms[0])
        return out

    return solve


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("topology",), key=_models_key)
def _packed_front_end(wl, values, *, topology: tuple):
    """:func:`_topology_solver` on every setting of the topology packed as one (settings, rows) array (in
    :func:`front_end_form`'s order), its ports (``_FRONT_END_PORTS``) stacked as one (ports, rows) array: one
    transfer each way a call. A fresh process loads it from the persistent cache without tracing it
    (:func:`photonics.jax_setup.persistent_jit`)."""
    settings, i = {}, 0
    for name, _, keys in topology[0]:
        settings[name] = {k: values[i + j] for j, k in enumerate(keys)}
        i += len(keys)
    out = _topology_solver(topology)(wl, settings)
    return jnp.stack([out[key] for key in _FRONT_END_PORTS])


@lru_cache(maxsize=16)
def _front_end_function(lo_fraction: float, lo_heater, routes=None):
    """The front end's S-parameters as a function of (wl, settings), settings as ``sax.circuit`` takes them
    (instance -> key -> value, the rest the drawing's): :func:`_topology_solver` of the design's netlist."""
    solve = _topology_solver(front_end_form(lo_fraction, lo_heater, routes)[0])
    drawn = drawn_front_settings(lo_fraction, lo_heater, routes)

    def with_drawn(wl, settings):
        return solve(wl, {name: {**values, **settings.get(name, {})} for name, values in drawn.items()})

    return with_drawn


def solve_front_end(design: MdpuDesign, wl_um: float, settings: dict, rows: int) -> dict:
    """The front end's S-parameters (each (rows,)) for per-row instance settings (instance -> key -> (rows,) or a
    number); every setting not given is the drawing's. Solved by one call of the front end's program
    (:func:`_packed_front_end`, one per topology: :func:`front_end_form`), the rows padded to a multiple of
    ``FRONT_END_BATCH`` with the last one (a call costs about 0.1 ms whatever its size: XLA's per-operation
    overhead)."""
    out = front_end_ports(design, wl_um, settings, rows)
    return {key: out[i] for i, key in enumerate(_FRONT_END_PORTS)}


def front_end_ports(design: MdpuDesign, wl_um: float, settings: dict, rows: int) -> np.ndarray:
    """:func:`solve_front_end` as one array (ports, rows), the ports in the order of ``_FRONT_END_PORTS``: the
    source's arm input, then each detector's from the arm, then each detector's from the LO.

    ``settings``: instance -> key -> (rows,) or a number, any setting of the
    design's netlist; one for a route the design does not draw (length 0: no
    instance) is unused. A key an instance does not have is an error.
    """
    topology, drawn = front_end_form(design.lo_fraction, design.lo_heater, design.routes)
    padded = rows + (-rows % FRONT_END_BATCH)
    values = np.empty((len(drawn), padded))
    i = 0
    for name, _, keys in topology[0]:
        given = settings.get(name, {})
        unknown = set(given) - set(keys)
        if unknown:
            raise ValueError(f"front end: {name} has no setting {sorted(unknown)} (it has {', '.join(keys)})")
        for k in keys:
            values[i, :rows] = given.get(k, drawn[i])
            i += 1
    values[:, rows:] = values[:, rows - 1 : rows]
    out = np.asarray(_packed_front_end(float(wl_um), values, topology=topology))  # wl a Python float: one type
    return out[:, :rows]


@lru_cache(maxsize=16)
def drawn_front_settings(lo_fraction: float, lo_heater, routes: MdpuRoutes | None = None) -> dict:
    """The drawing's value of every setting of the front end's instances (instance -> key -> number), read off
    :func:`front_end_form` (read-only: callers build their own dicts from it)."""
    (instances, _, _), values = front_end_form(lo_fraction, lo_heater, routes)
    drawn, i = {}, 0
    for name, _, keys in instances:
        drawn[name] = dict(zip(keys, values[i : i + len(keys)], strict=True))
        i += len(keys)
    return drawn


_FRONT_END_PORTS = (("arm_out", "in"), *((d, "arm_in") for d in DETECTORS), *((d, "in") for d in DETECTORS))


def _ports_split(ports: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source to arm (rows,), arm to detectors (rows, 4), LO to detectors (rows, 4)) of :func:`front_end_ports`."""
    k = len(DETECTORS)
    return ports[0], ports[1 : 1 + k].T, ports[1 + k :].T


def _front_end(design: MdpuDesign, lo_bias_power_mw: float):
    s = solve_front_end(design, design.wl_um, {LO_BIAS: {"power_mw": float(lo_bias_power_mw)}}, 1)
    return (
        complex(np.asarray(s[("arm_out", "in")]).reshape(-1)[0]),
        np.array([complex(np.asarray(s[(d, "arm_in")]).reshape(-1)[0]) for d in DETECTORS]),
        np.array([complex(np.asarray(s[(d, "in")]).reshape(-1)[0]) for d in DETECTORS]),
    )


def arm_group_delays_s(design: MdpuDesign) -> tuple[float, float]:
    """Group delays (s) of the signal arm (laser -> MMUs -> hybrid outputs) and the LO arm.

    tau = d(phase)/d(omega) (transmissions go as exp(+j*beta*L), so a guide gives
    +L*ng/c), by central difference at wl +/- ``GROUP_DELAY_STEP_UM``, summed device
    by device so that no phase wraps; each arm's delay is the mean over the four
    detectors. A segment's delay depends on its drive level: by phase/omega
    (at most about 0.1 ps over a whole arm) for Pockels segments, by up to its photon lifetime (about
    0.15 ns) for a ring near resonance. The signal arm's delay is the one with
    every segment at the level that puts it furthest from the LO's, so the
    mismatch bounds that of every input.
    """
    if design.lo_bias_power_mw is None:
        raise ValueError("arm_group_delays_s needs a design with lo_bias_power_mw set (see compile_mdpu)")
    signal, lo = _arm_group_delays_s(replace(design, lo_bias_power_mw=None), np.array([design.lo_bias_power_mw]))
    return float(signal[0]), float(lo[0])


def _delay_step(design: MdpuDesign) -> tuple[tuple[float, float], float]:
    """The two wavelengths of the central difference and their angular-frequency step."""
    wls = (design.wl_um - GROUP_DELAY_STEP_UM, design.wl_um + GROUP_DELAY_STEP_UM)
    return wls, 2 * np.pi * C_UM_PER_S * (1 / wls[0] - 1 / wls[1])


@lru_cache(maxsize=32)
def _mmu_chain_delays_s(design: MdpuDesign) -> tuple[np.ndarray, np.ndarray]:
    """Group delays (s) of the MMUs' bias heaters (h,) and of every segment at every level it is driven to
    (h, B, L: ``MmuDesign.driven_levels``).

    The MMUs do not depend on the LO bias: solved once per design (keyed without it).
    """
    wls, d_omega = _delay_step(design)
    (seg0, heat0), (seg1, heat1) = (_segment_tables(replace(design, wl_um=wl)) for wl in wls)
    driven = design.mmu.driven_levels
    return np.angle(heat0 / heat1) / d_omega, np.angle(seg0[..., driven] / seg1[..., driven]) / d_omega


def _arm_delay_terms_s(design: MdpuDesign, powers_mw: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(signal arm's longest delay, its shortest, LO arm's delay (n,)) of :func:`arm_group_delays_s` for each LO
    bias power in ``powers_mw`` (n,): the front end solved once for all. The signal arm's do not depend on it."""
    wls, d_omega = _delay_step(design)
    heaters, segments = _mmu_chain_delays_s(design)
    n = len(powers_mw)
    parts = []
    for wl in wls:
        s = front_end_ports(design, wl, {LO_BIAS: {"power_mw": np.asarray(powers_mw, dtype=float)}}, n)
        parts.append(_ports_split(s))
    (src0, arm0, lo0), (src1, arm1, lo1) = parts

    def delay(a, b):
        return np.angle(a / b) / d_omega

    lo = delay(lo0, lo1).mean(-1)
    fixed = float((delay(src0, src1) + delay(arm0, arm1).mean(-1))[0]) + float(heaters.sum())
    return fixed + float(segments.max(-1).sum()), fixed + float(segments.min(-1).sum()), lo


def _signal_delay_s(longest, shortest, lo):
    """The signal arm's delay furthest from the LO's: of the drive levels' longest and shortest."""
    return np.where(np.abs(longest - lo) >= np.abs(shortest - lo), longest, shortest)


def _arm_group_delays_s(design: MdpuDesign, powers_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`arm_group_delays_s` for each LO bias power in ``powers_mw`` (n,): the front end solved once for all."""
    longest, shortest, lo = _arm_delay_terms_s(design, powers_mw)
    return _signal_delay_s(longest, shortest, lo), lo


@lru_cache(maxsize=32)
def _delay_line_s(base: MdpuDesign) -> tuple[float, float, float, float]:
    """(signal arm's longest delay, its shortest, LO arm's delay at 0 mW, its change per mW of LO bias) of a
    design without its LO bias.

    The LO bias heater's phase, pi * (P / P_pi) * (wl0 / wl), is linear in its
    power, so the LO arm's group delay is affine in it: two powers solved once per
    design give every other (the same as a solve at that power to round-off,
    tested).
    """
    p_mw = base.lo_heater.p_pi_mw
    longest, shortest, lo = _arm_delay_terms_s(base, np.array([0.0, p_mw]))
    return longest, shortest, float(lo[0]), float(lo[1] - lo[0]) / p_mw


# id(design) -> (design, delay): a design object asked for again is found without building its base (a tile's rows
# are read many times); the entry holds the design, so its id is not reused while it is remembered
_DELAY_BY_ID: dict = {}
DELAY_CACHE_DESIGNS = 1 << 14  # designs remembered before the cache starts again


def delay_mismatches_s(designs) -> np.ndarray:
    """Signal minus LO arm group delay (s) of each design (LO bias set), as :func:`arm_group_delays_s` gives them.

    From each design's delays as a line in its LO bias (:func:`_delay_line_s`,
    solved once per design without its bias): arithmetic per design. A tile's
    rows share their design's parts, so the design without its bias is built
    once per group of rows with the same parts, not per row; a design object is
    remembered by identity.
    """
    designs = list(designs)
    out = np.empty(len(designs))
    unknown = []
    for i, d in enumerate(designs):
        hit = _DELAY_BY_ID.get(id(d))
        if hit is not None and hit[0] is d:
            out[i] = hit[1]
        else:
            unknown.append(i)
    if not unknown:
        return out
    if len(_DELAY_BY_ID) > DELAY_CACHE_DESIGNS:
        _DELAY_BY_ID.clear()
    powers = np.empty(len(unknown))
    lines = np.empty((len(unknown), 4))
    groups: dict = {}  # the design's parts (by identity: a tile's rows share them) -> its delay line
    for j, i in enumerate(unknown):
        d = designs[i]
        if d.lo_bias_power_mw is None:
            raise ValueError("delay_mismatches_s needs designs with lo_bias_power_mw set (see compile_mdpu)")
        parts = (id(d.mmu), id(d.lo_heater), id(d.routes), d.h, d.lo_fraction, d.wl_um, d.lo_path)
        line = groups.get(parts)
        if line is None:
            line = groups[parts] = _delay_line_s(replace(d, lo_bias_power_mw=None))
        lines[j], powers[j] = line, d.lo_bias_power_mw
    longest, shortest, lo0, per_mw = lines.T
    lo = lo0 + per_mw * powers
    out[unknown] = _signal_delay_s(longest, shortest, lo) - lo
    for i in unknown:
        _DELAY_BY_ID[id(designs[i])] = (designs[i], float(out[i]))
    return out


def iq(fields: np.ndarray, correction: IqCorrection | None = None) -> np.ndarray:
    """Noiseless I + jQ (in units of input power) from detector fields (..., 4), corrected if given."""
    p = np.abs(fields) ** 2
    z = (p[..., 0] - p[..., 1]) + 1j * (p[..., 2] - p[..., 3])
    return z if correction is None else correction.apply(z)


def compile_mdpu(design: MdpuDesign) -> CompiledMdpu:
    """Solve the MDPU's parts once; trim the LO bias so that x = 0 reads phase 0 if not given."""
    check_table_memory(design)
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


@dataclass(frozen=True)
class RowParams:
    """Per-device parameters of R rows built to one MDPU design (a fabricated, trimmed tile).

    Every array's leading axes are the rows (R), MMUs (h) and segments (B) it
    applies to; keys are model arguments overriding the design's values.
    """

    segment: dict  # segment-model settings, each (R, h, B)
    level_voltages_v: np.ndarray  # (R, h, B, m): drive of each level (pre-distortion and gain trim applied)
    mmu_heater: dict  # heater settings, each (R, h)
    front: dict  # front-end instance -> settings, each (R,)
    detector_gain: np.ndarray  # (R, 4): responsivity / nominal responsivity of each detector


HEATER_LANES = 64  # the MMU bias heaters are solved in flat batches of a multiple of this many


def _heater_transmission(design: MdpuDesign, settings: dict, shape: tuple) -> np.ndarray:
    """The MMU bias heaters' transmission (``shape``) for settings overriding the design's (each broadcast to
    ``shape``), through one jitted model call.

    Flattened and padded to a multiple of ``HEATER_LANES``, so that every element takes the same vectorised
    arithmetic whatever the batch: a chip without variation rounds exactly as the ideal chip (compile_mdpu,
    one heater) does.
    """
    n = math.prod(shape)
    padded = -n % HEATER_LANES
    flat = {}
    for k, v in {**design.mmu.heater.settings(), **settings}.items():
        a = flat[k] = np.empty(n + padded)
        a[:n] = np.broadcast_to(np.asarray(v, dtype=float), shape).reshape(-1)
        a[n:] = a[n - 1]  # padded with the last element
    t = _transmission(design.wl_um, flat, model="heater")
    return np.asarray(t)[:n].reshape(shape)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("model",), key=_models_key)
def _transmission(wl, settings, *, model: str):
    """The o1 -> o2 transmission of the two-port sax model ``photonics.models()[model]``, jitted.

    Models are jittable (the sax convention); jitted, a tile's devices cost one
    fused pass instead of one dispatch per array operation (compiled once per
    shape of the settings, and kept across processes: :func:`photonics.jax_setup.persistent_jit`).
    """
    import photonics

    return photonics.models()[model](wl=wl, **settings)[("o1", "o2")]


def compile_rows(design: MdpuDesign, p: RowParams) -> list[CompiledMdpu]:
    """R compiled rows with their own device parameters, every device solved once per level."""
    return compile_row_arrays(design, p).rows()


@dataclass(frozen=True)
class RowArrays:
    """R compiled rows of one design as arrays leading with R (:func:`compile_row_arrays`): what a batch of rows
    read at zero input needs without building R :class:`CompiledMdpu`."""

    design: MdpuDesign
    segment_t: np.ndarray  # (R, h, B, m)
    heater_t: np.ndarray  # (R, h)
    src_to_arm: np.ndarray  # (R,)
    arm_to_det: np.ndarray  # (R, 4)
    lo_to_det: np.ndarray  # (R, 4)
    lo_bias_power_mw: np.ndarray  # (R,)

    def rows(self, count: int | None = None) -> list[CompiledMdpu]:
        """The first ``count`` rows (all by default) as :class:`CompiledMdpu`."""
        return [
            CompiledMdpu(
                with_lo_bias(self.design, float(self.lo_bias_power_mw[r])),
                self.segment_t[r],
                np.asarray(self.heater_t[r]),
                complex(self.src_to_arm[r]),
                self.arm_to_det[r],
                self.lo_to_det[r],
            )
            for r in range(len(self.lo_bias_power_mw) if count is None else count)
        ]


@lru_cache(maxsize=32)
def _segment_call_settings(mmu) -> dict:
    """The design's segment settings for one model call over every segment (:func:`compile_row_arrays`): a setting
    the same on every segment stays a number, the others are (1, 1, B, 1) read-only arrays. Once per MMU design
    (about 6 % of a tile's solve when built every call); read-only: callers build their own dict from it."""
    nominal = mmu.segment_settings()
    settings = {}
    for k in nominal[0]:
        values = [n[k] for n in nominal]
        if all(v == values[0] for v in values):
            settings[k] = values[0]
        else:
            settings[k] = np.reshape(values, (1, 1, len(nominal), 1))
            settings[k].flags.writeable = False
    return settings


def compile_row_arrays(design: MdpuDesign, p: RowParams) -> RowArrays:
    """:func:`compile_rows` as arrays (:class:`RowArrays`)."""
    mmu = design.mmu
    rows, h, b_count, m = p.level_voltages_v.shape
    check_table_memory(design, rows)
    settings = {**_segment_call_settings(mmu), **{k: np.asarray(v)[..., None] for k, v in p.segment.items()}}
    seg = at_driven_levels(
        mmu,
        p.level_voltages_v,
        lambda volts: _transmission(design.wl_um, {**settings, "voltage_v": volts}, model=mmu.segment_model),
    )
    heater = _heater_transmission(design, p.mmu_heater, (rows, h))
    src, arm, lo = _ports_split(front_end_ports(design, design.wl_um, p.front, rows))
    gain = np.sqrt(p.detector_gain)
    arm, lo = arm * gain, lo * gain
    bias = np.broadcast_to(
        np.asarray(p.front.get(LO_BIAS, {}).get("power_mw", design.lo_bias_power_mw or 0.0)), (rows,)
    )
    return RowArrays(design, seg, heater, src, arm, lo, bias)
