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
  nm), used for the heaters' silicon guides (the MMU bias heaters, the LO
  heaters); the splitters' and hybrids' models take coupling only, and the
  routes keep the drawing's neff (a static phase the LO bias trim absorbs).

The thin-film lithium-niobate devices (the MMUs' Pockels segments and rings)
vary with the film instead: its thickness and the ridge's etch depth (and the
width, which lithography sets for both materials). Sigmas:
- film thickness: ion-sliced X-cut films vary by about +-10 nm across a wafer,
  which broadens quasi-phase matching wafer-wide (Li et al., "Advancing
  large-scale thin-film PPLN nonlinear photonics with segmented tunable
  micro-heaters", arXiv:2312.09568 (2023)), and by a few
  nm along a centimetre of waveguide (Chen et al., "Adapted poling to break the
  nonlinear efficiency limit in nanophotonic lithium niobate waveguides",
  Nat. Nanotechnol. 19, 44 (2024), who map it and pole to it): 5 nm chip to
  chip, 1 nm device to device;
- etch depth: timed Ar+ milling of LN has no etch stop; its depth spreads by a
  few percent of the ~300 nm etch across a wafer (Zhu et al., "Integrated
  photonics on thin-film lithium niobate", Adv. Opt. Photon. 13, 242 (2021),
  review the etch processes): 5 nm chip to chip, 1 nm device to device.
neff sensitivities of the 1.2 um wide ridge etched 300 nm into a 600 nm X-cut
film (silica clad, TE, 1550 nm) are computed by :mod:`calibration.ln_ridge`'s
mode solver: 7.0e-5 per nm of width, 4.4e-4 per nm of film, -1.35e-4 per nm of
etch depth (a deeper etch thins the slab). With ng = 2.3 an LN ring's resonance
moves lambda*dneff/ng = 0.30 nm per nm of film, against ~1.5 nm per nm of
silicon for a silicon ring.
Coupling, Pockels efficiency, heater efficiency and responsivity spread by a
few percent (relative sigmas).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import numpy as np
from pydantic import Field, StrictFloat, ValidationInfo, field_validator
from scipy.spatial.distance import cdist

from mvm.schema import NonNegative, doc, one_of, section

DISTRIBUTIONS = ("normal", "uniform", "truncnormal")


@section
class Spread:
    """Standard deviations of one quantity, in the unit its key names: chip-to-chip and device-to-device."""

    global_sigma: Annotated[NonNegative, doc("chip-to-chip sigma (one draw per chip)")] = 0.0
    local_sigma: Annotated[NonNegative, doc("device-to-device sigma (spatially correlated)")] = 0.0


def _spread(global_sigma: float, local_sigma: float, text: str):
    return Field(default_factory=lambda: Spread(global_sigma, local_sigma), description=text)


@section
class VariationConfig:
    """Process and thermal variation of a sampled chip."""

    scale: Annotated[NonNegative, doc("multiplies every sigma; 0 gives the ideal chip")] = 1.0
    distribution: Annotated[one_of(DISTRIBUTIONS), doc(f"distribution of every draw: {' | '.join(DISTRIBUTIONS)}")] = (
        "normal"
    )
    truncate_sigmas: Annotated[NonNegative, doc("truncnormal: draws beyond this many sigmas are redrawn")] = 3.0
    correlation_length_um: Annotated[
        NonNegative, doc("correlation length of the local variation across the die; 0: uncorrelated")
    ] = 2000.0
    width_nm: Spread = _spread(4.0, 2.0, "waveguide width")
    thickness_nm: Spread = _spread(1.5, 0.5, "silicon thickness")
    ln_film_nm: Spread = _spread(5.0, 1.0, "thin-film LN thickness")
    ln_etch_nm: Spread = _spread(5.0, 1.0, "thin-film LN ridge etch depth")
    coupling_rel: Spread = _spread(0.02, 0.01, "power coupling and split ratios (relative)")
    eo_efficiency_rel: Spread = _spread(0.02, 0.01, "Pockels efficiency 1/VpiL (relative)")
    length_rel: Spread = _spread(0.0, 0.001, "electrode length (relative)")
    heater_efficiency_rel: Spread = _spread(0.05, 0.03, "heater efficiency 1/P_pi (relative)")
    ring_radius_nm: Spread = _spread(0.0, 5.0, "ring radius")
    ring_gap_nm: Spread = _spread(5.0, 3.0, "ring coupling gap")
    responsivity_rel: Spread = _spread(0.03, 0.02, "photodetector responsivity (relative)")
    ambient_offset_k: Annotated[NonNegative, doc("sigma of the chip's temperature offset from 300 K")] = 1.0
    drift_k: Annotated[NonNegative, doc("sigma of a slow drift between calibration and use")] = 0.2
    crosstalk_at_100um: Annotated[
        StrictFloat,
        Field(ge=0, lt=1),
        doc(
            "thermal crosstalk: the fraction of a heater's own temperature rise felt 100 um away "
            "(exp(-d/30um) there, a silicon chip without isolation trenches); 0 switches it off"
        ),
    ] = 0.035
    dneff_dwidth_per_nm: Annotated[NonNegative, doc("silicon: effective-index change per nm of width")] = 2e-3
    dneff_dthickness_per_nm: Annotated[NonNegative, doc("silicon: effective-index change per nm of thickness")] = 4e-3
    ln_dneff_dwidth_per_nm: Annotated[NonNegative, doc("LN ridge: effective-index change per nm of width")] = 7.0e-5
    ln_dneff_dfilm_per_nm: Annotated[NonNegative, doc("LN ridge: effective-index change per nm of film thickness")] = (
        4.4e-4
    )
    ln_dneff_detch_per_nm: Annotated[
        StrictFloat, doc("LN ridge: effective-index change per nm of etch depth (negative: a deeper etch lowers it)")
    ] = -1.35e-4
    coupling_decay_nm: Annotated[NonNegative, doc("power coupling ~ exp(-gap / decay)")] = 60.0

    @field_validator("*", mode="before")
    @classmethod
    def _partial_spread(cls, value: Any, info: ValidationInfo) -> Any:
        """A spread's table that gives one sigma keeps the field's default for the other."""
        field = cls.__pydantic_fields__[info.field_name]
        if field.annotation is Spread and isinstance(value, dict):
            return {**dataclasses.asdict(field.get_default(call_default_factory=True)), **value}
        return value

    @classmethod
    def zero(cls) -> VariationConfig:
        """The drawing itself: every sigma, the temperature offsets and the crosstalk at zero."""
        return cls(scale=0.0, ambient_offset_k=0.0, drift_k=0.0, crosstalk_at_100um=0.0)

    def spreads(self) -> dict[str, Spread]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: value for name, value in values.items() if isinstance(value, Spread)}


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
    """L (N, N) with L @ L.T the squared-exponential correlation of the positions (N, 2).

    Eigenvalues below the numerical-rank tolerance (N * eps * the largest, the one
    ``numpy.linalg.matrix_rank`` uses) are the decomposition's rounding, not
    correlation: their columns are zero (:func:`compact_factor` then skips them;
    on the default tile about 420 of 1728 remain), which moves each drawn field by
    about 1e-5 of its sigma.
    """
    n = len(positions_um)
    if length_um == 0 or n == 1:
        return np.eye(n)
    d2 = cdist(positions_um, positions_um, "sqeuclidean")
    corr = np.exp(-d2 / (2 * length_um**2))
    # One BLAS thread: LAPACK's eigenvectors of the smallest kept eigenvalues (near the rank tolerance) depend on the
    # rounding of its threaded reductions, so each thread count drew other fields (1e-5 sigma apart, which
    # calibration then amplifies): a chip's results would depend on the cores of the machine that sampled it.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        w, v = np.linalg.eigh(corr)  # eigh: robust where the kernel is numerically singular
    return v * np.sqrt(np.where(w > n * np.finfo(float).eps * w.max(), w, 0.0))


def compact_factor(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the factor's nonzero columns, their indices): the same fields from fewer products (see :func:`sample_fields`)."""
    keep = np.flatnonzero(np.any(factor != 0, axis=0))
    return np.ascontiguousarray(factor[:, keep]), keep


def sample_fields(
    rng: np.random.Generator,
    factor: np.ndarray,
    config: VariationConfig,
    spreads: list[Spread],
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """(len(spreads), N): each quantity at every device, drawn as successive :func:`sample_field` calls draw them.

    ``factor`` may be compact (``columns``: which of the N standard draws its columns
    take, :func:`compact_factor`); the local fields are then one matrix product.
    """
    n = factor.shape[0]  # one standard draw per device, whichever columns the factor keeps
    g, z = np.empty(len(spreads)), np.empty((len(spreads), n))
    for i, spread in enumerate(spreads):  # the draws in sample_field's order: global, then local
        g[i] = standard_draws(rng, (), config) * spread.global_sigma
        z[i] = standard_draws(rng, n, config)
    local = (z if columns is None else z[:, columns]) @ factor.T
    local *= np.array([s.local_sigma for s in spreads])[:, None]
    return config.scale * (g[:, None] + local)


def sample_field(rng: np.random.Generator, factor: np.ndarray, config: VariationConfig, spread: Spread) -> np.ndarray:
    """One quantity at every device: global draw plus spatially correlated local field, scaled."""
    return sample_fields(rng, factor, config, [spread])[0]
