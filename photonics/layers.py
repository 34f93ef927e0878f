"""The GDS layer map of the Mirage layout, declared once: :class:`LAYER`.

Numbers follow gdsfactory's generic PDK where a layer has a counterpart there.
The PDK (:mod:`photonics.pdk`), the cells and the layout checks all use these members.

| name        | what it holds                                                          |
|-------------|------------------------------------------------------------------------|
| `WG`        | waveguide core: silicon strip or thin-film LN ridge, every optical path |
| `DETECTOR`  | germanium absorber of a photodetector                                  |
| `ELECTRODE` | electro-optic electrode metal (M1) beside an LN waveguide              |
| `VIA`       | via from the electrode or heater metal up to the routing metal         |
| `METAL`     | routing metal (M2): drive buses, heater and detector contacts          |
| `PAD`       | pad opening in the passivation, where a probe or bond lands            |
| `HEATER`    | thermo-optic heater metal (TiN) on top of a waveguide                  |
| `TEXT`      | labels                                                                 |

Electrical ports sit on `METAL` (heater pads and drive buses) and optical ports
on `WG`. The routing metal lies above a thick dielectric, so it may cross a
waveguide; electrode and heater metal never overlap a waveguide they do not act on.
"""

from __future__ import annotations

from gdsfactory.technology import LayerMap
from gdsfactory.typings import Layer


class LAYER(LayerMap):
    """(layer, datatype) of every layer; what each holds is in the module docstring."""

    WG: Layer = (1, 0)
    DETECTOR: Layer = (5, 0)
    ELECTRODE: Layer = (41, 0)
    VIA: Layer = (44, 0)
    METAL: Layer = (45, 0)
    PAD: Layer = (46, 0)
    HEATER: Layer = (47, 0)
    TEXT: Layer = (66, 0)
