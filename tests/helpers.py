"""Helpers shared by the tests."""

import numpy as np

import photonics


def dense(sdict):
    """(ports, S) with S[..., i, j] = sdict[(ports[i], ports[j])], zeros where absent."""
    ports = sorted({p for pair in sdict for p in pair})
    shape = np.broadcast_shapes(*[np.shape(v) for v in sdict.values()])
    s = np.zeros(shape + (len(ports), len(ports)), dtype=complex)
    for (p1, p2), v in sdict.items():
        s[..., ports.index(p1), ports.index(p2)] = np.asarray(v)
    return ports, s


WL_SWEEP = np.linspace(1.50, 1.60, 201)


OPTICAL = [n for n, d in photonics.devices().items() if d.kind == "optical"]
