"""The GDS layer map of the Mirage layout: what each (layer, datatype) holds.

No gdsfactory import here: :mod:`photonics.cells` builds its PDK from this map.
Numbers follow gdsfactory's generic PDK where a layer has a counterpart there.

| name        | layer    | what it holds                                                        |
|-------------|----------|----------------------------------------------------------------------|
| `WG`        | (1, 0)   | waveguide core: silicon strip or thin-film LN ridge, every optical path |
| `DETECTOR`  | (5, 0)   | germanium absorber of a photodetector                                |
| `ELECTRODE` | (41, 0)  | electro-optic electrode metal (M1) beside an LN waveguide            |
| `VIA`       | (44, 0)  | via from the electrode or heater metal up to the routing metal       |
| `METAL`     | (45, 0)  | routing metal (M2): drive buses, heater and detector contacts        |
| `PAD`       | (46, 0)  | pad opening in the passivation, where a probe or bond lands          |
| `HEATER`    | (47, 0)  | thermo-optic heater metal (TiN) on top of a waveguide                |
| `TEXT`      | (66, 0)  | labels                                                               |

Electrical ports sit on `METAL` (heater pads and drive buses) and optical ports
on `WG`. The routing metal lies above a thick dielectric, so it may cross a
waveguide; electrode and heater metal never overlap a waveguide they do not act on.
"""

from __future__ import annotations

from dataclasses import dataclass

Layer = tuple[int, int]

WG: Layer = (1, 0)
DETECTOR: Layer = (5, 0)
ELECTRODE: Layer = (41, 0)
VIA: Layer = (44, 0)
METAL: Layer = (45, 0)
PAD: Layer = (46, 0)
HEATER: Layer = (47, 0)
TEXT: Layer = (66, 0)


@dataclass(frozen=True)
class LayerInfo:
    """One layer: its name, GDS number and what it holds."""

    name: str
    layer: Layer
    doc: str


LAYERS: tuple[LayerInfo, ...] = (
    LayerInfo("WG", WG, "waveguide core (silicon strip or thin-film LN ridge)"),
    LayerInfo("DETECTOR", DETECTOR, "germanium absorber of a photodetector"),
    LayerInfo("ELECTRODE", ELECTRODE, "electro-optic electrode metal (M1) beside an LN waveguide"),
    LayerInfo("VIA", VIA, "via from electrode or heater metal to the routing metal"),
    LayerInfo("METAL", METAL, "routing metal (M2): drive buses, heater and detector contacts"),
    LayerInfo("PAD", PAD, "pad opening in the passivation"),
    LayerInfo("HEATER", HEATER, "thermo-optic heater metal (TiN) on a waveguide"),
    LayerInfo("TEXT", TEXT, "labels"),
)


def layer_map() -> dict[str, Layer]:
    """Layer name -> (layer, datatype)."""
    return {info.name: info.layer for info in LAYERS}
