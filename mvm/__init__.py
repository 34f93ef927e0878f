"""Numbers: RNS, BFP, the tile as a matrix engine, the GEMM driver. Filled by later issues."""
