"""Process and thermal variation: what differs between a chip and its drawing.

Each varied quantity has a global part (one draw per chip: wafer and lot
variation) and a local part (one draw per device) that is spatially correlated:
a Gaussian random field over device positions with a squared-exponential
kernel of length ``correlation_length_um``. Distributions are normal, uniform
(same standard deviation) or normal truncated at ``truncate_sigmas``.

Default sigmas are typical of a 220 nm SOI foundry process and thin-film
lithium niobate, after:
- Lu et al., "Performance prediction for silicon photonics integrated circuits
  with layout-dependent correlated manufacturing variability", Opt. Express
  25, 9712 (2017): width sigma of a few nm, thickness sigma of about 1-2 nm,
  correlation lengths of a few mm across a die;
- Chrostowski et al., "Impact of fabrication non-uniformity on chip-scale
  silicon photonic integrated circuits", OFC 2014, Th2A.37: ring resonances
  spread by nanometres across a wafer, dominated by silicon thickness;
- neff sensitivities of a 500 x 220 nm strip guide at 1550 nm: about 2e-3 per
  nm of width and 4e-3 per nm of thickness (ring shifts of ~0.8 and ~1.5 nm per
  nm), used for every guide here.
Coupling, Pockels efficiency, heater efficiency and responsivity spread by a
few percent (relative sigmas).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

DISTRIBUTIONS = ("normal", "uniform", "truncnormal")


@dataclass(frozen=True)
class Spread:
    """Standard deviations of one quantity: chip-to-chip (global) and device-to-device (local)."""

    global_sigma: float = 0.0
    local_sigma: float = 0.0


@dataclass(frozen=True)
class VariationConfig:
    scale: float = 1.0  # multiplies every sigma; 0 gives the ideal chip
    distribution: str = "normal"
    truncate_sigmas: float = 3.0
    correlation_length_um: float = 2000.0
    width_nm: Spread = field(default_factory=lambda: Spread(4.0, 2.0))
    thickness_nm: Spread = field(default_factory=lambda: Spread(1.5, 0.5))
    coupling_rel: Spread = field(default_factory=lambda: Spread(0.02, 0.01))  # power coupling and split ratios
    eo_efficiency_rel: Spread = field(default_factory=lambda: Spread(0.02, 0.01))  # 1/VpiL
    length_rel: Spread = field(default_factory=lambda: Spread(0.0, 0.001))  # electrode length
    heater_efficiency_rel: Spread = field(default_factory=lambda: Spread(0.05, 0.03))  # 1/P_pi
    ring_radius_nm: Spread = field(default_factory=lambda: Spread(0.0, 5.0))
    ring_gap_nm: Spread = field(default_factory=lambda: Spread(5.0, 3.0))
    responsivity_rel: Spread = field(default_factory=lambda: Spread(0.03, 0.02))
    ambient_offset_k: float = 1.0  # sigma of the chip's temperature offset from 300 K
    drift_k: float = 0.2  # sigma of a slow drift between calibration and use
    # Thermal crosstalk: the fraction of a heater's own temperature rise felt 100 um away
    # (exp(-d/30um) there, a silicon chip without isolation trenches); 0 switches it off.
    crosstalk_at_100um: float = 0.035
    dneff_dwidth_per_nm: float = 2e-3
    dneff_dthickness_per_nm: float = 4e-3
    coupling_decay_nm: float = 60.0  # power coupling ~ exp(-gap / decay)

    def __post_init__(self):
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"variation.distribution must be one of {', '.join(DISTRIBUTIONS)} (got {self.distribution!r})")
        if not 0 <= self.crosstalk_at_100um < 1:
            raise ValueError(f"variation.crosstalk_at_100um must lie in [0, 1) (got {self.crosstalk_at_100um})")
        for name in ("scale", "truncate_sigmas", "correlation_length_um", "coupling_decay_nm", "ambient_offset_k", "drift_k"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"variation.{name} must be >= 0 (got {getattr(self, name)})")

    @classmethod
    def zero(cls) -> "VariationConfig":
        """The drawing itself: every sigma, the temperature offsets and the crosstalk at zero."""
        return cls(scale=0.0, ambient_offset_k=0.0, drift_k=0.0, crosstalk_at_100um=0.0)

    def spreads(self) -> dict[str, Spread]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), Spread)}


def standard_draws(rng: np.random.Generator, shape, config: VariationConfig) -> np.ndarray:
    """Zero-mean, unit-variance draws of the configured distribution."""
    if config.distribution == "uniform":
        return rng.uniform(-np.sqrt(3), np.sqrt(3), shape)
    z = rng.standard_normal(shape)
    if config.distribution == "truncnormal":
        bad = np.abs(z) > config.truncate_sigmas
        while np.any(bad):  # redraw outside the truncation
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > config.truncate_sigmas
        # rescale to unit variance
        t = config.truncate_sigmas
        from scipy.stats import truncnorm

        z = z / np.sqrt(truncnorm.var(-t, t))
    return z


def correlation_factor(positions_um: np.ndarray, length_um: float) -> np.ndarray:
    """L with L @ L.T the squared-exponential correlation of the positions (N, 2)."""
    n = len(positions_um)
    if length_um == 0 or n == 1:
        return np.eye(n)
    d2 = ((positions_um[:, None, :] - positions_um[None, :, :]) ** 2).sum(-1)
    corr = np.exp(-d2 / (2 * length_um**2))
    w, v = np.linalg.eigh(corr)  # eigh: robust where the kernel is numerically singular
    return v * np.sqrt(np.clip(w, 0, None))


def sample_field(rng: np.random.Generator, factor: np.ndarray, config: VariationConfig, spread: Spread) -> np.ndarray:
    """One quantity at every device: global draw plus spatially correlated local field, scaled."""
    g = standard_draws(rng, (), config) * spread.global_sigma
    local = factor @ standard_draws(rng, factor.shape[1], config) * spread.local_sigma
    return config.scale * (g + local)
