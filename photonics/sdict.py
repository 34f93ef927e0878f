"""Building sax S-dictionaries that broadcast over wavelength and parameter arrays."""

from __future__ import annotations

import jax.numpy as jnp


def reciprocal(entries: dict[tuple[str, str], object]) -> dict[tuple[str, str], jnp.ndarray]:
    """A reciprocal SDict from one direction of each port pair.

    All values are broadcast to one common shape, so that a model called with
    ``wl`` of shape (N,) and a parameter of shape (N,) (a Monte Carlo batch)
    returns arrays of shape (N,) for every port pair, as sax's klu backend
    requires.
    """
    keys = list(entries)
    values = jnp.broadcast_arrays(*[jnp.asarray(v, dtype=complex) for v in entries.values()])
    out = {}
    for (p1, p2), v in zip(keys, values, strict=True):
        out[(p1, p2)] = v
        out[(p2, p1)] = v
    return out


def amplitude_from_loss_db(loss_db):
    """Field amplitude transmission for a power loss in dB."""
    return 10.0 ** (-jnp.asarray(loss_db) / 20.0)
