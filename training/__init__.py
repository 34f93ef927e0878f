"""DNN training through the simulated hardware: a differentiable photonic matmul, backends, an MLP on digits.

The fifth layer: it imports photonics, circuits, mvm and calibration, and nothing imports it
but the command line.
"""

BACKENDS = ("fp32", "rns", "analog", "analog-repeat")  # here, so the command line can list them without importing JAX
