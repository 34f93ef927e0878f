"""The project's waveguide cross-sections, declared once: every cell draws its guides with these."""

from __future__ import annotations

import gdsfactory as gf

from photonics.cells._common import WIDTH_UM
from photonics.layers import LAYER
from photonics.phase_shifter_eo import LN_BEND_RADIUS_UM

STRIP_RADIUS_UM = 10.0  # bends of the silicon strip
LN_RADIUS_UM = LN_BEND_RADIUS_UM  # bends of the thin-film LN ridge (declared with the segment model)


def strip(width_um: float = WIDTH_UM) -> gf.CrossSection:
    """Silicon strip waveguide (routing, couplers, heaters, rings, detectors)."""
    return gf.cross_section.cross_section(width=width_um, layer=LAYER.WG, radius=STRIP_RADIUS_UM, radius_min=5.0)


def ridge_ln(width_um: float = WIDTH_UM) -> gf.CrossSection:
    """Thin-film lithium-niobate ridge of the electro-optic segments."""
    return gf.cross_section.cross_section(width=width_um, layer=LAYER.WG, radius=LN_RADIUS_UM, radius_min=20.0)


CROSS_SECTIONS = {"strip": strip, "ridge_ln": ridge_ln}
