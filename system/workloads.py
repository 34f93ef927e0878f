"""The GEMMs of one DNN training step, as the accelerator runs them.

Every product is ``C[m, n] = A[m, k] @ B[k, n]`` with ``B`` the stationary operand (the weights in
the forward pass): a weight-stationary tile holds ``B``'s columns and streams ``A``'s rows.
"""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("forward", "data_grad", "weight_grad")  # the three products of a training step


@dataclass(frozen=True)
class Gemm:
    """``count`` identical products ``A[m, k] @ B[k, n]`` of one layer in one phase of a training step."""

    name: str  # the layer or operation it comes from
    phase: str  # one of PHASES
    m: int  # rows of A (streamed): batch x output positions in the forward pass
    k: int  # the reduction length
    n: int  # columns of B (stationary)
    count: int = 1  # identical products (attention heads, convolution groups)

    def __post_init__(self):
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        if min(self.m, self.k, self.n, self.count) < 1:
            raise ValueError(f"m, k, n and count must be positive, got {self}")

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``count`` products."""
        return self.m * self.k * self.n * self.count
