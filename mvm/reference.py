"""An independent integer computation of a BFP matrix product, for checking the photonic path.

Mantissa products are summed per BFP group in int64 (exact), each group sum is
scaled by its exponents, and groups are accumulated in order in float64: the
same arithmetic the GEMM driver promises, without residues, tiles or CRT.
"""

from __future__ import annotations

import numpy as np

from mvm.bfp import BfpTensor


def bfp_matmul_reference(qa: BfpTensor, qb: BfpTensor) -> np.ndarray:
    am, bm = qa.mantissas.astype(np.int64), qb.mantissas.astype(np.int64)
    k = am.shape[1]
    out = np.zeros((am.shape[0], bm.shape[1]))
    for group, k0 in enumerate(range(0, k, qa.group)):
        k1 = min(k, k0 + qa.group)
        s = np.einsum("ik,kj->ij", am[:, k0:k1], bm[k0:k1])
        out += np.ldexp(s.astype(float), qa.exponents[:, group][:, None] + qb.exponents[group][None, :])
    return out
