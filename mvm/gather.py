"""The slow reference readout: every readout through its row's compiled (x, w) tables, in full.

Each readout gathers its h MMU transmissions from
:attr:`circuits.compiled.CompiledMdpu.mmu_t` and goes through
:func:`circuits.readout.read` with its noise: no tables of deviations, no
receiver map, no margins. The engine (:mod:`mvm.engine`) is held to it by the
tests; ``rns_gemm(..., path="reference")`` runs a whole GEMM through it.
"""

from __future__ import annotations

import numpy as np

from circuits.readout import Readout, drive_phase_sigma_rad, read


def gather_residues(tile, x, w, readout: Readout, rng, drift_hz: float | None = None):
    """Residues (C, M, N) through each row's compiled tables, every readout in full."""
    h, n = tile.h, w.shape[1]
    rows = np.arange(n) % tile.size
    chunks = x.shape[1] // h
    xs = x.reshape(x.shape[0], chunks, h).transpose(1, 0, 2)  # (C, M, h)
    ws = w.reshape(chunks, h, n)  # (C, h, N)
    residue = np.empty((chunks, x.shape[0], n), dtype=np.int64)
    for r in range(tile.size):
        cols = np.nonzero(rows == r)[0]
        if len(cols) == 0:
            continue
        xr = np.broadcast_to(xs[:, :, None, :], (chunks, x.shape[0], len(cols), h))
        wr = np.broadcast_to(ws[:, :, cols].transpose(0, 2, 1)[:, None, :, :], xr.shape)
        row = tile.rows[r]
        drive = drive_phase_sigma_rad(row, xr, wr, readout)
        fields = row.detector_fields(xr, wr)
        residue[:, :, cols] = read(row, fields, readout, rng, drive_sigma_rad=drive, drift_hz=drift_hz).residue
    return residue, residue.size


def read_block_gathered(tiles, am, bm, exact, readout: Readout, rng, drift_hz: float | None = None):
    """Residues of every tile (n, C, M, N) for mantissas am (M, C*h), bm (C*h, N), every readout in full
    (as :func:`mvm.engine.read_block`)."""
    out = [gather_residues(t, np.mod(am, t.modulus), np.mod(bm, t.modulus), readout, rng, drift_hz) for t in tiles]
    return [r for r, _ in out], sum(n for _, n in out)
