"""Photonic device models: sax S-parameter models, parameters with units, receiver, laser, electrodes.

``photonics.models()`` gives the sax models keyed by the names gdsfactory-style
netlists use; ``photonics.devices()`` gives every device with its parameter
dataclass; ``photonics.evaluate(name, wl=..., **settings)`` validates and evaluates.
"""

from photonics import jax_setup

jax_setup.configure()  # float64, which every model needs

# Import order is registration order, which is the order `mirage devices` lists.
from photonics import waveguide  # noqa: E402,F401,I001
from photonics import coupler  # noqa: E402,F401
from photonics import phase_shifter_eo  # noqa: E402,F401
from photonics import heater  # noqa: E402,F401
from photonics import mzi  # noqa: E402,F401
from photonics import ring  # noqa: E402,F401
from photonics import photodetector  # noqa: E402,F401
from photonics import laser  # noqa: E402,F401
from photonics import edge_coupler  # noqa: E402,F401
from photonics import electrode  # noqa: E402,F401
from photonics.registry import Device, devices, evaluate, get_device, models  # noqa: E402

__all__ = ["Device", "devices", "evaluate", "get_device", "models"]
