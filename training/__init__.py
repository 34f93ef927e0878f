"""DNN training through the simulated hardware: a differentiable photonic matmul, backends, an MLP on digits.

The fifth layer: it imports photonics, circuits, mvm and calibration, and nothing imports it
but the command line.
"""
