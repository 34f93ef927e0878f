"""`mirage layout`: the tile's GDS and, beside it, a JSON list of every device and its position."""

from __future__ import annotations

from dataclasses import replace

from photonics.errors import UsageError, check_fits

# Measured with `mirage layout --json` under /usr/bin/time: 224 instances (--rows 2 --h 4) peak at 424 MB,
# 2,720 (--rows 8 --h 16) at 456 MB, so about 13 KB per instance (cells, GDS references, JSON records).
BYTES_PER_INSTANCE = 16 * 1024
ROW_OVERHEAD_INSTANCES = 17  # a row's front end (12 devices) and its routes, besides the MMUs


def parse_moduli(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    """The moduli of ``--moduli M1,M2,...`` (the chip's when not given), checked as an RNS base."""
    from mvm.rns import validate_moduli

    if text is None:
        return tuple(default)
    try:
        moduli = [int(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"--moduli must be a comma-separated list of integers (got {text!r})") from None
    try:
        return validate_moduli(moduli)
    except ValueError as exc:
        raise UsageError(f"--moduli: {exc}") from None


def instance_estimate(designs, rows: int) -> int:
    """Device instances of a tile, estimated before drawing: per row, h MMUs (a heater and B segments each) and
    the front end with its routes."""
    return rows * sum(d.h * (d.mmu.segments + 1) + ROW_OVERHEAD_INSTANCES for d in designs)


def run(config, rows: int, h: int, moduli_text: str | None, out: str) -> dict:
    """Write the tile of ``rows`` MDPU rows of ``h`` MMUs per modulus; return the summary."""
    from circuits.layout import write_tile

    for flag, value in (("--rows", rows), ("--h", h)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1 (got {value})")
    moduli = parse_moduli(moduli_text, config.all_moduli)
    designs = [replace(config.mdpu_design(m), h=h) for m in moduli]
    instances = instance_estimate(designs, rows)
    check_fits(instances * BYTES_PER_INSTANCE, f"--rows {rows} --h {h}: the layout's {instances:,} device instances")
    return write_tile(out, designs, rows)


def text(result: dict) -> str:
    moduli = ", ".join(str(m) for m in result["moduli"])
    return "\n".join(
        [
            f"tile: {result['rows']} rows x {result['h']} MMUs per modulus, moduli {moduli}",
            f"  {result['instances']} device instances, {result['route_pieces']} route pieces, {result['cells']} cells",
            f"  {result['width_um'] / 1e3:.2f} mm x {result['height_um'] / 1e3:.2f} mm",
            f"  wrote {result['gds']} ({result['gds_bytes'] / 1e6:.1f} MB) and {result['json']} in {result['seconds']:.1f} s",
        ]
    )
