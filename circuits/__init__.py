"""Circuits composed from photonic devices (MMU, MDPU, receiver, tile). Filled by later issues."""
