"""Incoherent micro-ring weight bank (broadcast-and-weight): C, report = mrr_bank_gemm(A, B, config).

The baseline of BPLight-CNN (D. Dang, S. V. R. Chittamuru, S. Pasricha, R. Mahapatra and D. Sahoo,
"BPLight-CNN: A Photonics-based Backpropagation Accelerator for Deep Learning", ACM J. Emerg. Technol.
Comput. Syst. 17(4), 2021), built on the broadcast-and-weight bank of A. N. Tait et al., "Neuromorphic
photonic networks using silicon photonic weight banks", Sci. Rep. 7, 7430 (2017) and A. N. Tait et al.,
"Microring weight banks", IEEE J. Sel. Top. Quantum Electron. 22(6), 312 (2016). One readout is one bank
of h add-drop rings (the project's :class:`photonics.ring.RingAddDrop`) reading one chunk of h products:

1. BFP: A's rows and B's columns are quantised as in :mod:`mvm.analog` (mantissas |q| <= q_max).
2. WDM inputs: the laser power P is split over h wavelength channels, spaced ``channel_spacing_nm``
   (default: evenly over one free spectral range of the ring, FSR / h, the densest plan in which no ring's
   next resonance order lands on a channel). Channel j carries power P t**2 |x_j| / (h q_max): an
   intensity modulator (one EO phase shifter's insertion loss, field transmission t, as the analog
   baseline's elements) sets it from the input mantissa, so inputs take the same DAC bits as the other
   backends. Power cannot be negative: each readout is two passes, the positive and the negative parts
   of the inputs (``PASSES``), subtracted digitally.
3. Weights: ring i sits on the input bus and drops onto a drop bus; the drop bus ends on the + detector,
   the input bus's through end on the - detector of a balanced pair (one TIA). Channel j contributes
   R P_j (D_j - T_j): its weight is omega_j = D_j - T_j, drop minus through transmission of the whole
   bank at its wavelength (Tait et al. 2016). Ring i rests ``delta_max`` (half a channel spacing) blue
   of its channel and a heater warms it towards resonance: omega rises monotonically from omega_min
   (detuned) to omega_max (on resonance, below 1 by the ring's loss). The bank maps mantissa w onto
   omega = s * w / q_max with s = min(omega_max, -omega_min) over the channels (``weight_scale``), the
   ring's temperature for each level found on the ring model at its own channel (each ring programmed
   alone: the other rings' tails are not compensated).
4. Heaters: ring i's heater warms it by dT_self = P_i * rise (the chip's heater, P_pi
   ``[devices.heater] p_pi_mw``, over the ring's circumference, :func:`photonics.heater.heater_temperature_rise_k`);
   a heater at distance d warms its neighbours by c**(d / 100 um) of that (the calibration layer's law,
   ``heater_crosstalk_at_100um``, rings ``ring_pitch_um`` apart). The bank's controller knows that matrix
   and solves for the heater powers (as Tait et al.'s multi-channel control does), but each power is set
   by a heater DAC of ``heater_bits`` over the weight range (``[actuators] trim_bits`` by default, the
   chip's trim DAC; 0: continuous); the quantisation error spreads through the crosstalk matrix. A
   separate lock bias holds each ring on its channel against fabrication offsets (costed in the energy,
   not modelled as an error).
5. Channel crosstalk: every ring acts on every channel through its Lorentzian (Airy) tail and its other
   resonance orders: the project's ring model gives each ring's through, drop and drop-bus-through power
   transmission at every channel, and the bank's totals D_j, T_j follow by cascading the rings along the
   two buses incoherently (power scattering matrices composed by the Redheffer star product: light the
   drop bus carries past a ring is partly coupled back onto the input bus, and so on).
   ``channel_crosstalk=False`` lets each channel see only its own ring.
6. Receiver: :class:`MrrReceiver` is :class:`mvm.analog.AnalogReceiver` with incoherent detector powers:
   the same laser (RIN), detectors (soft compression, shot noise), one TIA, auto-ranged ADC and
   :func:`mvm.analog.read_chunks`; the readings of the two passes are subtracted, chunk estimates scaled
   by the groups' exponents and summed as in the analog baseline.

Each ring's transmissions are tabulated once per bank design from the ring model over its temperature
window (``TABLE_POINTS``) and interpolated linearly; the inversion for a level runs on the same table,
so without crosstalk and quantisation a ring gives its level's omega to rounding.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from mvm import bfp
from mvm.analog import AnalogReceiver, ProductReport, bfp_operands, read_chunks
from mvm.config import ChipConfig
from mvm.gemm import check_operands, chunk_dot
from mvm.validation import is_int
from photonics.errors import UsageError
from photonics.heater import heater_temperature_rise_k
from photonics.ring import RingAddDrop, ring_add_drop

PASSES = 2  # readouts per chunk: the positive and the negative parts of the inputs (light carries power >= 0)
TABLE_POINTS = 1024  # temperatures at which each ring is tabulated over its weight range (both ends included)
TABLE_MARGIN = 51  # table points beyond either end (5 %): room for DAC steps and crosstalk
BLOCK_READOUTS = 1 << 20  # readouts per block: bounds the memory of big GEMMs


@dataclass(frozen=True)
class MrrBank:
    """The weight bank's own parameters (the laser, detectors, ADC, heater device and DAC bits are the chip's)."""

    # The project's add-drop ring: radius 10 um silicon, kappa 0.05 on both buses, 2 dB/cm: FSR 9.56 nm,
    # linewidth 0.16 nm (loaded Q ~ 9,700), drop peak 0.946; the same class as Tait et al.'s weight-bank rings.
    ring: RingAddDrop = field(default_factory=RingAddDrop)
    channel_spacing_nm: float | None = None  # None: FSR / h, the h channels fill one free spectral range
    heater_bits: int | None = None  # None: the chip's [actuators] trim_bits; 0: continuous (no DAC steps)
    # Thermal crosstalk at 100 um (calibration.variation's crosstalk_at_100um, 0.035 on a chip without trenches,
    # is what training's backend passes); 0 here: off.
    heater_crosstalk_at_100um: float = 0.0
    # Rings two diameters apart (centre to centre), room for each ring's heater and its leads: a layout choice.
    ring_pitch_um: float = 40.0
    channel_crosstalk: bool = True  # False: each channel sees only its own ring

    def __post_init__(self):
        if not isinstance(self.ring, RingAddDrop):
            raise UsageError(f"ring must be a photonics.ring.RingAddDrop (got {type(self.ring).__name__})")
        if self.channel_spacing_nm is not None and not _positive(self.channel_spacing_nm):
            raise UsageError(f"channel_spacing_nm must be None or a number > 0 (got {self.channel_spacing_nm!r})")
        if self.heater_bits is not None and (not is_int(self.heater_bits) or not 0 <= self.heater_bits <= 24):
            raise UsageError(f"heater_bits must be None or an integer in 0..24 (got {self.heater_bits!r})")
        x = self.heater_crosstalk_at_100um
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x < 1:
            raise UsageError(f"heater_crosstalk_at_100um must be a number in [0, 1) (got {x!r})")
        if not _positive(self.ring_pitch_um):
            raise UsageError(f"ring_pitch_um must be a number > 0 (got {self.ring_pitch_um!r})")
        if not isinstance(self.channel_crosstalk, bool):
            raise UsageError(f"channel_crosstalk must be true or false (got {self.channel_crosstalk!r})")


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def free_spectral_range_nm(ring: RingAddDrop) -> float:
    """lambda**2 / (n_g L) at the ring's reference wavelength."""
    return ring.wl0_um**2 / (ring.ng * ring.circumference_um) * 1e3


def resonance_shift_nm_per_k(ring: RingAddDrop) -> float:
    """How far a resonance moves per kelvin: lambda (dn/dT) / n_g."""
    return ring.wl0_um * ring.dn_dt_per_k / ring.ng * 1e3


@jax.jit
def _powers(wl, temperature_k, settings):
    """(through, drop, drop-bus through) power transmissions of the ring model at (wl, T), elementwise."""
    s = ring_add_drop(wl=wl, **{**settings, "temperature_k": temperature_k})
    return tuple(jnp.abs(s[port]) ** 2 for port in (("o1", "o2"), ("o1", "o4"), ("o3", "o4")))


def ring_powers(ring: RingAddDrop, wl_um, temperature_k) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Through, drop and drop-bus-through power transmissions of ``ring`` at wavelengths and temperatures."""
    wl, temp = np.broadcast_arrays(np.asarray(wl_um, dtype=float), np.asarray(temperature_k, dtype=float))
    settings = {k: float(v) for k, v in ring.settings().items() if k != "temperature_k"}
    return tuple(np.asarray(p) for p in _powers(wl, temp, settings))


def resonance_temperature_k(ring: RingAddDrop, wl_um) -> np.ndarray:
    """The temperature nearest the ring's own at which a resonance (round trip 2 pi N) sits at ``wl_um``.

    The round-trip phase 2 pi n_eff(wl, T) L / wl is linear in T (:func:`photonics.waveguide.effective_index`).
    """
    from photonics.ring import round_trip

    wl = np.asarray(wl_um, dtype=float)
    settings = {
        k: v for k, v in ring.settings().items() if k not in ("kappa_through", "kappa_drop", "kappa_dispersion")
    }
    _, theta = round_trip(wl, **settings)
    theta = np.asarray(theta)
    per_k = 2 * np.pi * ring.circumference_um * ring.dn_dt_per_k / wl
    return ring.temperature_k + (2 * np.pi * np.round(theta / (2 * np.pi)) - theta) / per_k


@dataclass(frozen=True)
class BankDesign:
    """One bank of h rings as designed for a chip: channels, weight range, heater map and transmission tables."""

    bank: MrrBank
    h: int
    q_max: int
    wl_um: np.ndarray  # (h,) channel wavelengths; ring i serves channel i, rings in channel order on the buses
    rest_k: np.ndarray  # (h,) ring temperatures with the weight heaters off (delta_max blue of the channel)
    range_k: float  # the weight range: warming from rest to resonance
    rise_k_per_mw: float  # a ring's own temperature rise per mW of its heater
    coupling: np.ndarray  # (h, h) fraction of heater k's own rise felt at ring i
    heater_step_mw: float  # one heater DAC step (0: continuous)
    grid_k: np.ndarray  # (G,) temperature offsets from rest at which the tables are taken
    through: np.ndarray  # (h rings, h channels, G)
    drop: np.ndarray
    drop_bus: np.ndarray
    weight_scale: float  # s: omega = s * w / q_max
    level_k: np.ndarray  # (h, 2 q_max + 1) warming from rest that puts ring i at level w = -q_max .. q_max

    @property
    def channel_spacing_nm(self) -> float:
        return float(self.wl_um[1] - self.wl_um[0]) * 1e3 if self.h > 1 else 0.0

    @property
    def weight_range_mw(self) -> float:
        """Heater power that warms a ring over the whole weight range."""
        return self.range_k / self.rise_k_per_mw

    def _interpolate(self, offset_k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B, h rings, h channels) through, drop and drop-bus power of rings warmed ``offset_k`` (B, h) above rest."""
        step = self.grid_k[1] - self.grid_k[0]
        u = np.clip((offset_k - self.grid_k[0]) / step, 0, len(self.grid_k) - 1 - 1e-9)
        i0 = np.floor(u).astype(np.int64)
        frac = (u - i0)[..., None]
        rings = np.arange(self.h)[None, :, None]
        chans = np.arange(self.h)[None, None, :]
        out = []
        for table in (self.through, self.drop, self.drop_bus):
            lo = table[rings, chans, i0[..., None]]
            hi = table[rings, chans, i0[..., None] + 1]
            out.append(lo + frac * (hi - lo))
        return tuple(out)

    def heater_powers_mw(self, levels: np.ndarray) -> np.ndarray:
        """(B, h) heater powers the controller sets for mantissa levels (B, h): crosstalk solved, DAC-quantised."""
        wanted = self.level_k[np.arange(self.h), levels + self.q_max] / self.rise_k_per_mw  # own-heater powers
        power = np.linalg.solve(self.coupling, wanted.T).T  # coupling @ power = wanted
        if self.heater_step_mw > 0:
            power = np.round(power / self.heater_step_mw) * self.heater_step_mw
        return power

    def transmissions(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, h) drop and through power of each channel through the whole bank, for mantissa levels (B, h)."""
        offset = self.rise_k_per_mw * self.heater_powers_mw(levels) @ self.coupling.T
        through, drop, drop_bus = self._interpolate(offset)
        if not self.bank.channel_crosstalk:
            own = np.arange(self.h)
            return drop[:, own, own], through[:, own, own]
        # Incoherent cascade along the buses. Section: forward transmission tf (input bus), backward tb (drop
        # bus, towards the + detector), reflections rl (input -> drop bus) and rr (drop bus -> input bus).
        shape = (levels.shape[0], self.h)
        tf, tb, rl, rr = np.ones(shape), np.ones(shape), np.zeros(shape), np.zeros(shape)
        for i in range(self.h):
            t_i, d_i, b_i = through[:, i, :], drop[:, i, :], drop_bus[:, i, :]
            bounce = 1 / (1 - rr * d_i)
            tf, rl, tb, rr = (
                tf * t_i * bounce,
                rl + tb * d_i * tf * bounce,
                tb * b_i * bounce,
                d_i + t_i * rr * b_i * bounce,
            )
        return rl, tf


@lru_cache(maxsize=16)
def bank_design(config: ChipConfig, bank: MrrBank) -> BankDesign:
    """The bank that ``config``'s tile (h channels, BFP bits, heater, trim DAC bits) and ``bank`` make."""
    ring, h = bank.ring, config.tile.h
    q_max = bfp.q_max_of(config.bfp.mantissa_bits)
    spacing_nm = free_spectral_range_nm(ring) / h if bank.channel_spacing_nm is None else bank.channel_spacing_nm
    wl = ring.wl0_um + (np.arange(h) - (h - 1) / 2) * spacing_nm * 1e-3
    range_k = spacing_nm / 2 / resonance_shift_nm_per_k(ring)  # rest half a spacing blue of the channel
    rest = resonance_temperature_k(ring, wl) - range_k
    grid = range_k / (TABLE_POINTS - 1) * np.arange(-TABLE_MARGIN, TABLE_POINTS + TABLE_MARGIN)
    through, drop, drop_bus = ring_powers(ring, wl[None, :, None], rest[:, None, None] + grid[None, None, :])
    own = np.arange(h)
    omega = drop[own, own] - through[own, own]  # (h, G) each ring's weight on its own channel
    inside = slice(TABLE_MARGIN, TABLE_MARGIN + TABLE_POINTS)  # grid[inside] runs from 0 to range_k exactly
    if np.any(np.diff(omega[:, inside], axis=1) <= 0):
        raise UsageError("the ring's weight is not monotonic over its tuning range: channel spacing too wide")
    scale = float(min(omega[:, inside][:, -1].min(), -omega[:, inside][:, 0].max()))
    if not scale > 0:
        raise UsageError(f"the bank cannot reach weights of both signs (channel_spacing_nm {spacing_nm:g} too small)")
    targets = scale * np.arange(-q_max, q_max + 1) / q_max
    level_k = np.stack([np.interp(targets, w[inside], grid[inside]) for w in omega])
    rise = float(
        heater_temperature_rise_k(
            power_mw=1.0,
            p_pi_mw=config.heater.p_pi_mw,
            length_um=ring.circumference_um,
            wl0_um=ring.wl0_um,
            dn_dt_per_k=ring.dn_dt_per_k,
        )
    )
    distance = np.abs(np.arange(h)[:, None] - np.arange(h)[None, :]) * bank.ring_pitch_um
    c = bank.heater_crosstalk_at_100um
    coupling = np.eye(h) if c == 0 else np.exp(-distance * np.log(1 / c) / 100.0)
    bits = config.actuators.trim_bits if bank.heater_bits is None else bank.heater_bits
    step = 0.0 if bits == 0 else range_k / rise / (2**bits - 1)
    return BankDesign(
        bank, h, q_max, wl, rest, float(range_k), rise, coupling, step, grid, through, drop, drop_bus, scale, level_k
    )


@dataclass(frozen=True)
class MrrReceiver(AnalogReceiver):
    """The analog unit's receiver fed by a weight bank: incoherent powers on the balanced pair, no LO.

    A chunk's optical state is two sums in units of the products: S = sum_j |x_j| omega_j q_max / s (the
    weighted sum) and C = sum_j |x_j| (D_j + T_j) q_max / s (the common mode), passed as one complex
    number S + iC so that :func:`mvm.analog.read_chunks` reads it. The + detector receives
    P t**2 s (C + S) / (2 h q_max**2), the - detector the same with C - S; one unit of S is
    g = R P t**2 s / (h q_max**2) of balanced current.
    """

    lo_fraction: float = 0.0  # incoherent: no local oscillator
    weight_scale: float = 1.0  # s

    @property
    def current_per_product_a(self) -> float:
        power_w = self.laser.power_mw * 1e-3
        return (
            self.detector.responsivity_a_per_w
            * power_w
            * self.path_amplitude**2
            * self.weight_scale
            / (self.full_scale_products)
        )

    def detector_fields(self, s) -> np.ndarray:
        """Root of each detector's power share (..., 2) for chunk states s = S + iC: incoherent, no phase."""
        s = np.asarray(s, dtype=complex)
        share = self.path_amplitude**2 * self.weight_scale / (2 * self.full_scale_products)
        powers = np.stack([s.imag + s.real, s.imag - s.real], axis=-1) * share
        return np.sqrt(np.maximum(powers, 0.0))


def mrr_receiver(config: ChipConfig, design: BankDesign, noise: bool | None = None) -> MrrReceiver:
    """The bank's receiver: ``config``'s laser and detector, the ADC ranged as the analog baseline's."""
    readout = config.readout(noise)
    if not readout.laser.power_mw > 0:
        raise UsageError(f"laser.power_mw must be > 0 for the weight bank (got {readout.laser.power_mw})")
    t = 10 ** (-config.phase_shifter_eo.insertion_loss_db / 20)  # the input's intensity modulator
    unranged = MrrReceiver(readout.laser, readout.detector, design.h, design.q_max, t, weight_scale=design.weight_scale)
    full_scale_ua = readout.adc_headroom * unranged.current_per_product_a * unranged.full_scale_products * 1e6
    return replace(unranged, detector=replace(readout.detector, adc_full_scale_ua=full_scale_ua))


@dataclass
class MrrReport(ProductReport):
    """A product through the bank: readouts count both passes; noise_sigma_products is one pass's reading at
    S = 0, C = h q_max**2 / 2."""

    weight_scale: float = 0.0  # s: the largest |omega| every channel reaches with both signs
    channel_spacing_nm: float = 0.0
    linewidth_nm: float = 0.0  # the ring's drop-port full width at half maximum
    heater_step_mw: float = 0.0  # one heater DAC step (0: continuous)
    weight_rms_error: float = 0.0  # rms of omega_j / s - w_j / q_max over the product's weights (bank as programmed)


def linewidth_nm(design: BankDesign) -> float:
    """Drop-port FWHM of the middle ring on its channel, from its table: twice the half width on the blue side."""
    i = design.h // 2
    drop = design.drop[i, i]
    above = design.grid_k[drop >= drop.max() / 2]
    return 2 * float(design.range_k - above[0]) * resonance_shift_nm_per_k(design.bank.ring)


def mrr_bank_gemm(
    a,
    b,
    config: ChipConfig,
    bank: MrrBank | None = None,
    *,
    noise: bool | None = None,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, MrrReport]:
    """C ~ A @ B through weight banks of ``bank`` on ``config``'s tile (B's columns are the banks' weights)."""
    start = time.perf_counter()
    a, b = check_operands(a, b)
    bank = MrrBank() if bank is None else bank
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    design = bank_design(config, bank)
    receiver = mrr_receiver(config, design, noise)
    noise_on = config.readout(noise).noise
    h, g, q = config.tile.h, config.group, design.q_max
    m_rows, k = a.shape
    n = b.shape[1]

    am, bm, exp_a, exp_b = bfp_operands(a, b, config, rng)
    bm = bm.astype(np.int64)  # the weights' levels index the banks' tables
    per_group = g // h
    chunks = am.shape[1] // h

    # Program every bank (chunk c, column n) and read its weights and common mode in units of w (..., h).
    levels = bm.reshape(chunks, h, n).transpose(0, 2, 1).reshape(-1, h)
    drop, through = design.transmissions(levels)
    to_units = q / design.weight_scale
    weights = ((drop - through) * to_units).reshape(chunks, n, h).transpose(0, 2, 1).reshape(-1, n)  # (K, N)
    common = ((drop + through) * to_units).reshape(chunks, n, h).transpose(0, 2, 1).reshape(-1, n)
    weight_error = (drop - through) / design.weight_scale - levels / q

    out = np.zeros((m_rows, n))
    per_chunk = PASSES * m_rows * n
    block = max(1, BLOCK_READOUTS // (per_chunk * per_group)) * per_group  # chunks per block, whole groups
    for c0 in range(0, chunks, block):
        c1 = min(chunks, c0 + block)
        cols = slice(c0 * h, c1 * h)
        read = 0.0
        for sign in (1.0, -1.0):
            x = np.maximum(sign * am[:, cols], 0.0)
            state = chunk_dot(x, weights[cols], h) + 1j * chunk_dot(x, common[cols], h)
            read = read + sign * read_chunks(receiver, state, repeats=1, noise=noise_on, rng=rng)
        by_group = read.reshape(-1, per_group, m_rows, n).sum(axis=1)
        for j, gi in enumerate(range(c0 // per_group, c1 // per_group)):
            out += np.ldexp(by_group[j], exp_a[:, gi][:, None] + exp_b[gi][None, :])

    mid = 1j * receiver.full_scale_products / 2  # S = 0 at half the full common mode
    if noise_on:
        sigma = float(receiver.noise_sigma_products(mid))
    else:
        sigma = receiver.adc_lsb_products / math.sqrt(12)
    report = MrrReport(
        m_rows,
        k,
        n,
        noise_on,
        readouts=PASSES * chunks * m_rows * n,
        adc_lsb_fraction=receiver.adc_lsb_products / receiver.full_scale_products,
        noise_sigma_products=sigma,
        signal_to_noise_db=20 * math.log10(receiver.full_scale_products / sigma),
        weight_scale=design.weight_scale,
        channel_spacing_nm=design.channel_spacing_nm,
        linewidth_nm=linewidth_nm(design),
        heater_step_mw=design.heater_step_mw,
        weight_rms_error=float(np.sqrt(np.mean(weight_error**2))),
    )
    report.seconds = time.perf_counter() - start
    return out, report


def expected_heater_power_mw(config: ChipConfig, bank: MrrBank | None = None) -> float:
    """A ring heater's expected static power: half of one FSR of lock (2 P_pi) plus half the weight range."""
    design = bank_design(config, MrrBank() if bank is None else bank)
    return config.heater.p_pi_mw + design.weight_range_mw / 2
