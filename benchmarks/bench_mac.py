"""Dot products per second: the compiled MDPU against the direct sax solution (h = 16, m = 31).

Run: `make bench` (or `.venv/bin/python benchmarks/bench_mac.py`). Both paths
compute the complex fields at the four detectors for the same random residue
vectors; sax solves the whole hierarchical MDPU netlist (klu backend, jitted,
batched over the inputs), the compiled form gathers per-level transmissions.
Both are timed in this run (median of repeats, after a warm-up that compiles).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_seconds  # noqa: E402
from circuits.compiled import compile_mdpu  # noqa: E402
from circuits.mdpu import MdpuDesign, SaxMdpu  # noqa: E402
from circuits.mmu import MmuDesign  # noqa: E402
from circuits.readout import Readout, drive_phase_sigma_rad, read  # noqa: E402

H, M = 16, 31
N_SAX, N_COMPILED = 2000, 100_000


def main() -> None:
    compiled = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=M), h=H))
    reference = SaxMdpu(compiled.design)
    rng = np.random.default_rng(0)
    xs, ws = rng.integers(0, M, (N_SAX, H)), rng.integers(0, M, (N_SAX, H))
    # Residues below 256 are stored as uint8, as the GEMM driver does.
    xc, wc = (rng.integers(0, M, (N_COMPILED, H), dtype=np.uint8) for _ in range(2))

    t_sax = median_seconds(lambda: reference.detector_fields(xs, ws), repeats=5)
    t_fast = median_seconds(lambda: compiled.detector_fields(xc, wc), repeats=31)
    fields = compiled.detector_fields(xc, wc)
    readout = Readout()  # every noise source on, the drive's included: each readout's own drive sigma
    drive = drive_phase_sigma_rad(compiled, xc, wc, readout)
    t_read = median_seconds(lambda: read(compiled, fields, readout, rng, drive_sigma_rad=drive), repeats=5)
    agree = np.abs(compiled.detector_fields(xs, ws) - reference.detector_fields(xs, ws)).max()

    sax_rate, fast_rate = N_SAX / t_sax, N_COMPILED / t_fast
    print(f"MDPU h = {H}, m = {M}: detector fields of random dot products")
    print(f"  sax.circuit (klu), {N_SAX} inputs:   {t_sax * 1e3:9.1f} ms  {sax_rate:12.4g} dot products/s")
    print(f"  compiled form, {N_COMPILED} inputs: {t_fast * 1e3:9.1f} ms  {fast_rate:12.4g} dot products/s")
    print(
        f"  compiled / sax speed ratio: {fast_rate / sax_rate:.0f}x (target >= 1000x); max |field difference| {agree:.1e}"
    )
    print(f"  noisy readout of {N_COMPILED}: {t_read * 1e3:.1f} ms ({N_COMPILED / t_read:.4g} residues/s)")


if __name__ == "__main__":
    main()
