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


def folded_path_um(electrode_um, eo):
    """A Pockels segment's optical path, worked out here independently of the model: its electrode length folded
    into n straight sections of at most ``eo.section_max_um`` (n the least even count, at least 2) joined by n
    half-turns of ``eo.bend_radius_um``, L + n*pi*r."""
    electrode_um = np.asarray(electrode_um, dtype=float)
    sections = 2 * np.maximum(1, np.ceil(electrode_um / (2 * eo.section_max_um)))
    return electrode_um + sections * np.pi * eo.bend_radius_um


WL_SWEEP = np.linspace(1.50, 1.60, 201)


OPTICAL = [n for n, d in photonics.devices().items() if d.kind == "optical"]
