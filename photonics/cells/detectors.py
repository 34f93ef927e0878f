"""Detector cells: the germanium photodetector."""

from __future__ import annotations

import gdsfactory as gf

from photonics.cells._common import WIDTH_UM, box, electrical_port, flat, optical_port, snap
from photonics.layers import LAYER


@gf.cell
def photodetector(
    width_um: float = WIDTH_UM,
    absorber_length_um: float = 15.0,
    absorber_width_um: float = 4.0,
    taper_length_um: float = 5.0,
    contact_width_um: float = 4.0,
) -> gf.Component:
    """Germanium photodetector: a taper into an absorber between two contacts.

    ```
              ▬▬▬▬▬▬▬ e1
        o1 ══<███████      (germanium on the widened guide)
              ▬▬▬▬▬▬▬ e2
    ```
    Its model (no arguments) is a matched load; the current and noise are in
    photonics.photodetector.
    """
    t, la, aw, cw, w = taper_length_um, absorber_length_um, absorber_width_um, contact_width_um, width_um
    c = gf.Component()
    c.add_polygon(
        snap([(0, -w / 2), (t, -aw / 2), (t + la, -aw / 2), (t + la, aw / 2), (t, aw / 2), (0, w / 2)]), layer=LAYER.WG
    )
    box(c, t, -aw / 2, t + la, aw / 2, LAYER.DETECTOR)
    for sign, name, o in ((1, "e1", 90), (-1, "e2", 270)):
        y0, y1 = sign * (aw / 2 + 1), sign * (aw / 2 + 1 + cw)
        box(c, t, min(y0, y1), t + la, max(y0, y1), LAYER.METAL)
        electrical_port(c, name, t + la / 2, y1, o, la)
    optical_port(c, "o1", 0, 0, 180, w)
    return flat(c)
