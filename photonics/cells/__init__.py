"""gdsfactory cells of the devices, one ``@gf.cell`` per device, grouped by family.

| module            | cells                                   |
|-------------------|-----------------------------------------|
| `waveguides`      | straight, bend_circular                 |
| `couplers`        | coupler, mmi2x2, splitter               |
| `phase_shifters`  | phase_shifter_eo, heater                |
| `rings`           | ring_allpass                            |
| `detectors`       | photodetector                           |

Every cell is named after the sax model it stands for (``photonics.models()``)
and takes that model's arguments under the same names and defaults, read from
the device's ``Params`` dataclass (:func:`~photonics.cells._common.model_arguments`),
so an extracted netlist solves with the models as it is. The operating point
(``voltage_v`` of a drive, ``power_mw`` of a heater) is not a property of the
layout: it is set when the circuit runs. Other arguments are layout-only
(widths, gaps, bend radii). Guides are drawn with the cross-sections of
:mod:`photonics.cells.cross_sections` along gdsfactory paths; each cell is a
leaf (flat), as the netlist extraction needs.

Optical ports are ``o1, o2, ...`` in gdsfactory's order (o1 at the west,
bottom first for 2x2 devices); electrical ports are ``e1, e2, ...``.
Geometry is on a 1 nm grid. Building a cell needs the active PDK
(:func:`photonics.pdk.activate`); importing this package imports gdsfactory
(slow), which is why the model modules never import it.
"""

from photonics.cells._common import GRID_UM, OPERATING_POINT, WIDTH_UM
from photonics.cells.couplers import coupler, mmi2x2, splitter
from photonics.cells.detectors import photodetector
from photonics.cells.phase_shifters import eo_sections_um, heater, phase_shifter_eo
from photonics.cells.rings import ring_allpass
from photonics.cells.waveguides import bend_circular, bend_length_um, straight

CELLS = {
    f.__name__: f
    for f in (straight, bend_circular, coupler, mmi2x2, splitter, phase_shifter_eo, heater, ring_allpass, photodetector)
}

__all__ = [
    "CELLS",
    "GRID_UM",
    "OPERATING_POINT",
    "WIDTH_UM",
    "bend_circular",
    "bend_length_um",
    "coupler",
    "eo_sections_um",
    "heater",
    "mmi2x2",
    "photodetector",
    "phase_shifter_eo",
    "ring_allpass",
    "splitter",
    "straight",
]
