"""Variation, Monte Carlo, calibration and yield. Filled by later issues."""
