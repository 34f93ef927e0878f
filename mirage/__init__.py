"""The `mirage` command line: wires the simulator's layers together, holds no physics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mirage-photonics")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
