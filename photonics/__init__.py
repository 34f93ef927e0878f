"""Photonic device models: sax S-parameter models, parameters with units, receiver, laser, electrodes.

``photonics.models()`` gives the sax models keyed by the names gdsfactory-style
netlists use; ``photonics.devices()`` gives every device with its parameter
dataclass; ``photonics.evaluate(name, wl=..., **settings)`` validates and evaluates.
"""

import jax

# The models need float64: unitarity to 1e-12 and sax's klu backend (which
# crashes in float32) both depend on it. sax switches this on too on import.
jax.config.update("jax_enable_x64", True)

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
