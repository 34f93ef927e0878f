"""Time to write the default chip's tile: 16 rows of 16 MMUs per modulus, moduli 31, 32, 33.

Run: `.venv/bin/python benchmarks/bench_layout.py`. Builds every cell (none
cached: a fresh process), writes the GDS and its JSON device list, and prints
the time (target: under 60 s), the GDS size and the tile's extent.
"""

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS, H = 16, 16


def main() -> None:
    t0 = time.perf_counter()
    from circuits.layout import write_tile  # gdsfactory's import is part of the cost
    from mvm.config import load_config

    t_import = time.perf_counter() - t0
    config = load_config(None)
    designs = [replace(config.mdpu_design(m), h=H) for m in config.rns.moduli]
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        s = write_tile(Path(tmp) / "tile.gds", designs, ROWS)
        t_write = time.perf_counter() - t1
        json_bytes = (Path(tmp) / "tile.json").stat().st_size
    print(
        f"tile: {ROWS} rows x {H} MMUs x moduli {s['moduli']}: {s['instances']} devices, "
        f"{s['route_pieces']} route pieces, {s['cells']} cells"
    )
    print(f"  extent {s['width_um'] / 1e3:.1f} mm x {s['height_um'] / 1e3:.1f} mm")
    print(f"  build + write GDS + JSON: {t_write:.2f} s (target < 60 s); imports {t_import:.2f} s")
    print(f"  GDS {s['gds_bytes'] / 1e6:.2f} MB, JSON {json_bytes / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
