"""System model: DNN training workloads on the simulated accelerator against a systolic-array baseline.

The layer above the chip: it uses the device-level design report (photonics <- circuits <- mvm <-
calibration) and is used by the command line only.
"""
