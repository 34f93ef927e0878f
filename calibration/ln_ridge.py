"""Effective index of a thin-film lithium-niobate ridge, for the neff sensitivities of variation.

A semi-vectorial finite-difference mode solver for the quasi-TE (E along x,
in the film's plane) mode of a rectangular ridge etched ``etch_um`` into a
film ``film_um`` thick on silica, clad in ``clad_index`` (silica by default):

```
        clad          ┌──width──┐
                      │  ridge  │ etch_um          X-cut film, TE mode: E along
        ──────────────┘         └──────────────    the crystal z axis (n_e)
        slab (film_um - etch_um)                 } film_um
        ─────────────────────────────────────────
        buried oxide
```
The quasi-TE equation d/dx[(1/eps) d(eps E)/dx] + d2E/dy2 + k0^2 eps E =
beta^2 E is discretised on a uniform grid (cell ``grid_um``) whose cells
average eps over the area each material covers, so neff moves smoothly with
sub-cell changes of the geometry; the domain walls are electric walls (E = 0).
It reproduces the analytic TE slab to 1e-4 (tests/calibration/test_ln_ridge.py).
Anisotropy enters as the index the TE field sees (n_e for X-cut, light along y);
sidewalls are vertical (real ones lean 60-70 degrees, which changes the
width sensitivity more than the film and etch ones).

:func:`neff_sensitivities` gives d(neff)/d(width, film thickness, etch depth)
per nm by central differences; :mod:`calibration.variation` declares the
values it returns for the default ridge.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

# Congruent LN, extraordinary index at 1550 nm: Zelmon, Small and Jundt, J. Opt. Soc. Am. B 14, 3319 (1997).
LN_NE_1550 = 2.138
SILICA_1550 = 1.444  # Malitson, J. Opt. Soc. Am. 55, 1205 (1965)
# The default ridge: a 600 nm X-cut film etched 300 nm, 1.2 um wide, silica-clad, at 1550 nm, the geometry of
# the thin-film LN modulators of Wang et al., Nature 562, 101 (2018) (600 nm film, ~300 nm rib).
RIDGE_UM = {"width_um": 1.2, "film_um": 0.6, "etch_um": 0.3}


def _cover(lo: float, hi: float, edges: np.ndarray) -> np.ndarray:
    """Fraction of each cell between ``edges`` that lies within [lo, hi]."""
    a, b = edges[:-1], edges[1:]
    return np.clip((np.minimum(hi, b) - np.maximum(lo, a)) / (b - a), 0.0, 1.0)


def ridge_neff(
    width_um: float = RIDGE_UM["width_um"],
    film_um: float = RIDGE_UM["film_um"],
    etch_um: float = RIDGE_UM["etch_um"],
    *,
    wl_um: float = 1.55,
    core_index: float = LN_NE_1550,
    box_index: float = SILICA_1550,
    clad_index: float = SILICA_1550,
    grid_um: float = 0.01,
    half_width_um: float = 2.5,
    below_um: float = 1.2,
    above_um: float = 1.2,
) -> float:
    """Effective index of the fundamental quasi-TE mode of the ridge (see the module docstring)."""
    xe = np.arange(-half_width_um, half_width_um + grid_um / 2, grid_um)
    ye = np.arange(-below_um, film_um + above_um + grid_um / 2, grid_um)
    nx, ny = len(xe) - 1, len(ye) - 1
    box = _cover(-np.inf, 0.0, ye)[None, :] * np.ones((nx, 1))
    film = _cover(0.0, film_um - etch_um, ye)[None, :] + np.outer(
        _cover(-width_um / 2, width_um / 2, xe), _cover(film_um - etch_um, film_um, ye)
    )
    eps = film * core_index**2 + box * box_index**2 + (1 - film - box) * clad_index**2
    k0, n = 2 * np.pi / wl_um, nx * ny
    idx = np.arange(n).reshape(nx, ny)
    # x: d/dx[(1/eps) d(eps E)/dx] with eps at the half points the mean of its neighbours
    half = 0.5 * (eps[1:] + eps[:-1])
    up, down, diag = np.zeros_like(eps), np.zeros_like(eps), np.zeros_like(eps)
    up[:-1], down[1:] = eps[1:] / half, eps[:-1] / half
    diag[:-1] -= eps[:-1] / half
    diag[1:] -= eps[1:] / half
    diag[[0, -1]] -= 1.0  # the walls
    diag = diag / grid_um**2 - 2.0 / grid_um**2 + k0**2 * eps  # with the y Laplacian's centre and k0^2 eps

    def off(values, a, b):
        return sp.csr_matrix((values.ravel(), (a.ravel(), b.ravel())), (n, n))

    ones = np.ones((nx, ny - 1)) / grid_um**2
    a = (
        sp.diags(diag.ravel())
        + off(up[:-1] / grid_um**2, idx[:-1], idx[1:])
        + off(down[1:] / grid_um**2, idx[1:], idx[:-1])
        + off(ones, idx[:, :-1], idx[:, 1:])
        + off(ones, idx[:, 1:], idx[:, :-1])
    )
    beta2 = sla.eigs(a.tocsc(), k=1, sigma=(k0 * core_index) ** 2, return_eigenvectors=False)
    return float(np.sqrt(beta2[0].real) / k0)


def neff_sensitivities(step_nm: float = 10.0, **solver) -> dict[str, float]:
    """d(neff)/d(width), d(neff)/d(film thickness), d(neff)/d(etch depth), per nm, at the default ridge.

    Central differences of :func:`ridge_neff` over +-``step_nm``; ``solver`` goes to it (e.g. ``grid_um``).
    A deeper etch (thinner slab) lowers neff: that sensitivity is negative.
    """
    out = {}
    for key in RIDGE_UM:
        plus = ridge_neff(**{**RIDGE_UM, key: RIDGE_UM[key] + step_nm * 1e-3}, **solver)
        minus = ridge_neff(**{**RIDGE_UM, key: RIDGE_UM[key] - step_nm * 1e-3}, **solver)
        out[key] = (plus - minus) / (2 * step_nm)
    return out
