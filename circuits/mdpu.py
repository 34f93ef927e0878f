"""Modular dot-product unit (MDPU): h MMUs on a signal arm, an LO arm, a 90-degree hybrid.

```
              ┌─[mmu0]─[mmu1]─ ... ─[mmu h-1]─[sig_split]─┬──────────── hyb_i (mmi2x2) ─ i_p, i_n
   in ─[src]──┤                                           └──────────── hyb_q (mmi2x2) ─ q_p, q_n
              └─[lo_bias heater]─[lo_split]─┬─[lo_i heater, +90 deg]─── hyb_i
                                            └─[lo_q heater, 0 deg]───── hyb_q
```
With S the signal field and L the LO field at the hybrid, the balanced pairs give
I = P(i_p) - P(i_n) proportional to Re(S L*) and Q = P(q_p) - P(q_n) proportional
to Im(S L*), so atan2(Q, I) is the signal arm's phase 2*pi*(sum x_j w_j mod m)/m
plus a static offset that the LO bias heater trims to zero.

A layout (circuits/layout.py) adds routing waveguides that the devices cannot
avoid: the LO arm runs the length of the signal arm, and the hybrid's four
inputs are reached through bends. ``MdpuDesign.routes`` puts them into the
netlist as ``straight`` instances; with the default (no routes) the netlist is
exactly the one above.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

import numpy as np

from circuits.mmu import MmuDesign
from photonics.errors import UsageError
from photonics.heater import Heater
from photonics.waveguide import Straight


@dataclass(frozen=True)
class Feed:
    """One input of a front-end device: its own ``port`` hangs on ``source`` ("device,port" upstream).

    ``route``: (route instance name, the :class:`MdpuRoutes` length that sets it) where a layout
    must route this connection; None where the devices abut.
    """

    port: str
    source: str
    route: tuple[str, str] | None = None


@dataclass(frozen=True)
class FrontDevice:
    """One device of the MDPU's front end: its instance name, component (sax model / cell) and role.

    ``feeds``: what each of its inputs hangs on (the netlist's connections, the layout's placement).
    ``ports``: (front-end circuit port, own port) for the ports the MMU chain or the laser reaches.
    ``lo_phase_pi``: an LO heater's fixed phase (units of pi at wl0); None for the trimmed bias.
    ``sketch_um``: (x, dy) in the default geometry (calibration.geometry), x from the row's start,
    or from the end of the MMU chain where ``past_arm``.
    """

    name: str
    component: str
    role: str  # its part in the MDPU; the layout's device list records it
    feeds: tuple[Feed, ...] = ()
    ports: tuple[tuple[str, str], ...] = ()
    lo_phase_pi: float | None = None
    sketch_um: tuple[float, float] = (0.0, 0.0)
    past_arm: bool = False


# Every device of the MDPU but the MMUs, in the order device-position arrays use
# (calibration.geometry, circuits.layout). The detectors are ports of the netlist
# (the balanced pairs' fields: the port each hangs on), drawn as photodetector cells
# by the layout. The layout draws the first hybrid (and the LO heater feeding it)
# north of the signal lane, the second south. ``sketch_um`` are the devices' box
# centres as circuits.layout draws them, to the nearest um (the quadrature heaters 48 um apart).
FRONT_END = (
    FrontDevice("src", "splitter", "source_splitter", ports=(("in", "o1"), ("arm_out", "o2")), sketch_um=(25, -10)),
    FrontDevice(
        "sig_split", "splitter", "signal_splitter", ports=(("arm_in", "o1"),), sketch_um=(25, 0), past_arm=True
    ),
    FrontDevice(
        "lo_split",
        "splitter",
        "lo_splitter",
        (Feed("o1", "lo_bias,o2", ("route_lo", "lo_um")),),
        sketch_um=(216, 0),
        past_arm=True,
    ),
    FrontDevice("lo_bias", "heater", "lo_bias", (Feed("o1", "src,o3"),), sketch_um=(101, -34)),
    FrontDevice(
        "lo_i",
        "heater",
        "hybrid_heater",
        (Feed("o1", "lo_split,o2"),),
        lo_phase_pi=0.5,
        sketch_um=(141, 24),
        past_arm=True,
    ),
    FrontDevice(
        "lo_q",
        "heater",
        "hybrid_heater",
        (Feed("o1", "lo_split,o3"),),
        lo_phase_pi=0.0,
        sketch_um=(141, -24),
        past_arm=True,
    ),
    FrontDevice(
        "hyb_i",
        "mmi2x2",
        "hybrid",
        (Feed("o1", "sig_split,o2", ("route_sig_i", "hybrid_um")), Feed("o2", "lo_i,o2", ("route_lo_i", "hybrid_um"))),
        sketch_um=(71, 81),
        past_arm=True,
    ),
    FrontDevice(
        "hyb_q",
        "mmi2x2",
        "hybrid",
        (Feed("o1", "sig_split,o3", ("route_sig_q", "hybrid_um")), Feed("o2", "lo_q,o2", ("route_lo_q", "hybrid_um"))),
        sketch_um=(71, -81),
        past_arm=True,
    ),
    FrontDevice("i_p", "photodetector", "detector", (Feed("o1", "hyb_i,o3"),), sketch_um=(81, 151), past_arm=True),
    FrontDevice("i_n", "photodetector", "detector", (Feed("o1", "hyb_i,o4"),), sketch_um=(61, 151), past_arm=True),
    FrontDevice("q_p", "photodetector", "detector", (Feed("o1", "hyb_q,o4"),), sketch_um=(61, -151), past_arm=True),
    FrontDevice("q_n", "photodetector", "detector", (Feed("o1", "hyb_q,o3"),), sketch_um=(81, -151), past_arm=True),
)
FRONT = tuple(d.name for d in FRONT_END)
FRONT_ROLES = {d.name: d.role for d in FRONT_END}


def _front_named(component: str) -> tuple[str, ...]:
    return tuple(d.name for d in FRONT_END if d.component == component)


SPLITTERS = _front_named("splitter")  # src, sig_split, lo_split
LO_HEATERS = _front_named("heater")  # lo_bias, lo_i, lo_q: the heaters on the LO arm
HYBRIDS = _front_named("mmi2x2")  # hyb_i, hyb_q: the 90-degree hybrid's two MMIs
DETECTORS = _front_named("photodetector")  # i_p, i_n, q_p, q_n
FRONT_DEVICE = {d.name: d for d in FRONT_END}
LO_BIAS = next(n for n in LO_HEATERS if FRONT_DEVICE[n].lo_phase_pi is None)  # the heater the bias trims


def front_role(role: str) -> FrontDevice:
    """The one front-end device with this role (source_splitter, signal_splitter, lo_splitter)."""
    (device,) = (d for d in FRONT_END if d.role == role)
    return device


(LO_ROUTE,) = (f.route[0] for f in front_role("lo_splitter").feeds if f.route)  # the LO arm's long route
# every routing guide a layout may insert (MdpuRoutes), by instance name: the LO route, then the hybrid's four
ROUTES = tuple(f.route[0] for d in FRONT_END for f in d.feeds if f.route)

# How the LO reaches the hybrid: "direct", a silicon strip route along the row (the signal arm's thin-film-LN
# path delays the signal by about 1.2 ns more); "matched", a thin-film-LN delay line of the signal arm's guide
# whose length the layout sets so that both arms delay the light alike, and the laser's phase noise and
# frequency drift cancel to first order (circuits.layout.layout_design).
LO_PATHS = ("direct", "matched")


def _detector_ports() -> dict[str, str]:
    """The balanced pairs' ports: each detector's name -> the port it hangs on."""
    return {n: FRONT_DEVICE[n].feeds[0].source for n in DETECTORS}


def _front_ports() -> dict[str, str]:
    """Front-end circuit port -> "device,port" for the laser and the MMU chain's two ends."""
    return {p: f"{d.name},{own}" for d in FRONT_END for p, own in d.ports}


def lo_heater_powers_mw(p_pi_mw, lo_bias_power_mw) -> dict:
    """Power of each LO-arm heater (LO_HEATERS): the bias as given, the others their ``lo_phase_pi``.

    lo_i is a quarter wave (pi/2 at wl0), lo_q off. Works on numbers or on arrays of
    one value per row (then every power has the bias's shape).
    """
    zero = np.zeros(np.shape(lo_bias_power_mw)) if np.ndim(lo_bias_power_mw) else 0.0

    def power(phase_pi):
        if phase_pi is None:
            return lo_bias_power_mw
        return p_pi_mw * phase_pi + zero

    return {n: power(FRONT_DEVICE[n].lo_phase_pi) for n in LO_HEATERS}


@dataclass(frozen=True)
class MdpuRoutes:
    """Routing waveguides between MDPU devices; a length of 0 means the devices abut (no instance).

    ```
        lo_bias ─[route_lo]─ lo_split                 (lo_um: the LO arm's routing)
        sig_split,o2 ─[route_sig_i]─ hyb_i,o1         sig_split,o3 ─[route_sig_q]─ hyb_q,o1
        lo_i ─[route_lo_i]─ hyb_i,o2                  lo_q ─[route_lo_q]─ hyb_q,o2
    ```
    The four hybrid routes share ``hybrid_um``. Bends are modelled as straight
    guide of their path length; ``waveguide`` holds every other parameter, and
    ``lo_waveguide`` those of the LO route where it differs (a path-matched LO:
    :attr:`MdpuDesign.lo_route_waveguide`).
    """

    lo_um: float = 0.0
    hybrid_um: float = 0.0
    waveguide: Straight = field(default_factory=Straight)
    lo_waveguide: Straight | None = None  # None: the LO route is ``waveguide`` too

    def __post_init__(self):
        for name in ("lo_um", "hybrid_um"):
            value = getattr(self, name)
            number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            if not number or not value >= 0:
                raise UsageError(f"routes.{name} must be >= 0 um (got {value!r})")

    def waveguide_of(self, route: str) -> Straight:
        """The guide a route instance is made of: ``lo_waveguide`` for the LO route where set."""
        return self.lo_waveguide if route == LO_ROUTE and self.lo_waveguide is not None else self.waveguide

    def lengths_um(self) -> dict[tuple[str, str], tuple[str, float]]:
        """Connection (from, to) -> (route instance name, length) for every route (FRONT_END's routed feeds)."""
        return {
            (f.source, f"{d.name},{f.port}"): (f.route[0], getattr(self, f.route[1]))
            for d in FRONT_END
            for f in d.feeds
            if f.route
        }


@dataclass(frozen=True)
class MdpuDesign:
    """One MDPU: its MMU design, the chunk length h, the LO arm and the hybrid."""

    mmu: MmuDesign = field(default_factory=MmuDesign)
    h: int = 16
    lo_fraction: float = 0.5  # share of the laser power sent to the LO arm
    lo_heater: Heater = field(default_factory=Heater)
    lo_bias_power_mw: float | None = None  # None: trimmed so that a zero input reads phase 0
    wl_um: float = 1.55
    routes: MdpuRoutes = field(default_factory=MdpuRoutes)  # routing a layout adds; none by default
    lo_path: str = "direct"  # LO_PATHS

    def __post_init__(self):
        if self.lo_path not in LO_PATHS:
            raise UsageError(f"lo_path must be one of {', '.join(LO_PATHS)} (got {self.lo_path!r})")
        if isinstance(self.h, bool) or not isinstance(self.h, (int, np.integer)) or self.h < 1:
            raise UsageError(f"h must be an integer >= 1 (got {self.h!r})")
        if not 0 < self.lo_fraction < 1:
            raise UsageError(f"lo_fraction must be between 0 and 1 (got {self.lo_fraction})")
        if self.lo_bias_power_mw is not None and not 0 <= self.lo_bias_power_mw:
            raise UsageError(f"lo_bias_power_mw must be >= 0 mW (got {self.lo_bias_power_mw})")

    @property
    def modulus(self) -> int:
        return self.mmu.modulus

    @property
    def lo_route_waveguide(self) -> Straight:
        """The LO route's guide: the routing strip, or for a matched LO the signal arm's LN ridge without electrodes.

        The matched delay line takes the EO segment's guide (``mmu.eo``): its group index, so that equal
        delays mean equal lengths of LN, its loss per cm and its thermo-optic coefficient.
        """
        if self.lo_path == "direct":
            return self.routes.waveguide
        eo = self.mmu.eo
        return Straight(
            wl0_um=eo.wl0_um,
            neff=eo.neff,
            ng=eo.ng,
            loss_db_cm=eo.loss_db_cm,
            temperature_k=eo.temperature_k,
            dn_dt_per_k=eo.dn_dt_per_k,
        )

    def check_residues(self, x, w) -> tuple[np.ndarray, np.ndarray]:
        """x and w as int64 arrays of shape (..., h) with entries in [0, m); refuses anything else."""
        m = self.modulus
        out = []
        for name, v in (("x", x), ("w", w)):
            a = np.asarray(v)
            if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
                raise UsageError(f"{name} must hold integer residues")
            a = a.astype(np.int64)
            if a.shape[-1:] != (self.h,):
                raise UsageError(f"{name} must have a last axis of length h = {self.h} (got shape {a.shape})")
            if a.size and (a.min() < 0 or a.max() >= m):
                raise UsageError(f"{name} residues must lie in [0, {m}) (got {a.min()}..{a.max()})")
            out.append(a)
        return out[0], out[1]


def _front_end(
    lo_fraction: float, lo_heater: Heater, lo_bias_power_mw: float, routes: MdpuRoutes | None = None
) -> tuple[dict, dict]:
    """Instances and connections of everything but the MMUs, with the routes that have a length."""
    lo = lo_heater.settings()
    powers = lo_heater_powers_mw(lo_heater.p_pi_mw, lo_bias_power_mw)
    source = front_role("source_splitter").name
    settings = {
        **{n: {"split_ratio": 1 - lo_fraction if n == source else 0.5} for n in SPLITTERS},
        **{n: {**lo, "power_mw": powers[n]} for n in LO_HEATERS},
        **{n: {"kappa": 0.5} for n in HYBRIDS},
    }
    instances = {
        d.name: {"component": d.component, "settings": settings[d.name]} for d in FRONT_END if d.name in settings
    }
    connections = {f.source: f"{d.name},{f.port}" for d in FRONT_END if d.name in instances for f in d.feeds}
    _insert_routes(instances, connections, routes or MdpuRoutes())
    return instances, connections


def _insert_routes(instances: dict, connections: dict, routes: MdpuRoutes) -> None:
    """Split each connection that has a route of nonzero length with a ``straight`` instance."""
    for (a, b), (name, length) in routes.lengths_um().items():
        if length > 0:
            connections.pop(a)
            settings = {**routes.waveguide_of(name).settings(), "length_um": length}
            instances[name] = {"component": "straight", "settings": settings}
            connections[a] = f"{name},o1"
            connections[f"{name},o2"] = b


def front_end_netlist(
    lo_fraction: float, lo_heater: Heater, lo_bias_power_mw: float = 0.0, routes: MdpuRoutes | None = None
) -> dict:
    """The MDPU with its signal arm cut out: ports in, arm_out (to mmu0), arm_in (from the last MMU)."""
    instances, connections = _front_end(lo_fraction, lo_heater, lo_bias_power_mw, routes)
    ports = {**_front_ports(), **_detector_ports()}
    return {"instances": instances, "connections": connections, "ports": ports}


def mdpu_netlist(design: MdpuDesign, lo_bias_power_mw: float) -> dict:
    """The whole MDPU as a hierarchical sax netlist (top level plus the "mmu" sub-circuit)."""
    instances, connections = _front_end(design.lo_fraction, design.lo_heater, lo_bias_power_mw, design.routes)
    chain = [f"mmu{j}" for j in range(design.h)]
    instances.update({name: "mmu" for name in chain})
    ends = _front_ports()
    connections[ends["arm_out"]] = "mmu0,in"
    connections.update({f"{a},out": f"{b},in" for a, b in zip(chain[:-1], chain[1:], strict=True)})
    connections[f"{chain[-1]},out"] = ends["arm_in"]
    top = {"instances": instances, "connections": connections, "ports": {"in": ends["in"], **_detector_ports()}}
    return {"top_level": top, "mmu": design.mmu.netlist()}


@lru_cache(maxsize=16)
def front_end_circuit(lo_fraction: float, lo_heater: Heater, routes: MdpuRoutes | None = None):
    """The front end's jitted sax circuit; call it with ``lo_bias={"power_mw": P}``."""
    return solve_netlist(front_end_netlist(lo_fraction, lo_heater, routes=routes))


def solve_netlist(netlist: dict):
    """sax.circuit of a netlist with the project's models, jitted; a call returns once its S-matrix is computed.

    sax's klu backend keeps its sparse analysis (klujax's symbolic factorisation) alive only as long as the
    circuit function, and JAX runs a call asynchronously: a caller that let the function go before reading the
    result (``SaxMdpu(design).circuit(...)``, or a cache evicting it) freed the analysis under the running solve,
    a segfault (reproduced: the temporary form crashed on its second call, the held form ran 15). The returned
    function holds the circuit until the solve has finished.
    """
    import jax
    import sax

    import photonics

    circuit = jax.jit(sax.circuit(netlist, models=photonics.models())[0])

    def solve(**settings):
        return jax.block_until_ready(circuit(**settings))

    return solve


@dataclass
class SaxMdpu:
    """The MDPU solved directly by sax for given residues: the reference for the compiled form."""

    design: MdpuDesign  # with lo_bias_power_mw set

    @cached_property
    def circuit(self):
        if self.design.lo_bias_power_mw is None:
            raise ValueError("SaxMdpu needs a design with lo_bias_power_mw set (see compile_mdpu)")
        return solve_netlist(mdpu_netlist(self.design, self.design.lo_bias_power_mw))

    @cached_property
    def _level_voltages_v(self) -> np.ndarray:
        return self.design.mmu.level_voltages_v()

    def detector_fields(self, x, w) -> np.ndarray:
        """Complex fields at (i_p, i_n, q_p, q_n) per unit input field, shape x.shape[:-1] + (4,)."""
        x, w = self.design.check_residues(x, w)
        volts = self._level_voltages_v[self.design.mmu.segment_levels(x, w)]  # (..., h, B)
        settings = {
            f"mmu{j}": {f"seg{b}": {"voltage_v": volts[..., j, b]} for b in range(volts.shape[-1])}
            for j in range(self.design.h)
        }
        s = self.circuit(wl=self.design.wl_um, **settings)
        return np.stack([np.broadcast_to(np.asarray(s[(d, "in")]), x.shape[:-1]) for d in DETECTORS], axis=-1)


def with_lo_bias(design: MdpuDesign, power_mw: float) -> MdpuDesign:
    return replace(design, lo_bias_power_mw=float(power_mw))
