"""The 2023 chip's fold (examples/mirage_2023.toml), for tests that exercise its binary-length MMUs.

A binary-length MMU carries about 30 cm of electrode; the default 0.8 mm sections fold it into hundreds of
half-turns (about 10 dB per MMU at m = 31, over 300 dB for a row of 16 at m = 33). The 2023 chip folds it in
the longer sections its example file declares (5 mm), read from that file so that it is declared once.
"""

import tomllib
from pathlib import Path

from photonics.phase_shifter_eo import PhaseShifterEO

EXAMPLE = Path(__file__).parents[2] / "examples" / "mirage_2023.toml"
SECTION_MAX_2023_UM = float(tomllib.loads(EXAMPLE.read_text())["devices"]["phase_shifter_eo"]["section_max_um"])


def fold_2023(encoding: str) -> dict:
    """MmuDesign keywords that fold a binary-length MMU as the 2023 chip does; none for other encodings."""
    return {"eo": PhaseShifterEO(section_max_um=SECTION_MAX_2023_UM)} if encoding == "binary-length" else {}
