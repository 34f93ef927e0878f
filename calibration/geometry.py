"""Where every device of a tile sits: positions for spatial correlation and thermal crosstalk.

One modulus tile is R rows of one MDPU each. The default placement puts rows
``row_pitch_um`` apart; along a row the source splitter and LO bias heater sit
at the start, then the h MMUs (bias heater, then its segments end to end, each
at its midpoint), then the hybrid with its two quadrature heaters 150 um apart,
and the detectors. Tiles of successive moduli are
stacked in y. A layout (``mirage layout``) can supply real positions instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.mdpu import FRONT_END


@dataclass(frozen=True)
class TileGeometry:
    """Positions (um) of every device of one modulus tile."""

    segment_xy: np.ndarray  # (R, h, B, 2)
    heater_xy: np.ndarray  # (R, h, 2): each MMU's bias heater
    front_xy: np.ndarray  # (R, len(FRONT), 2): circuits.mdpu's front-end devices, in FRONT order

    @property
    def rows(self) -> int:
        return self.heater_xy.shape[0]

    def all_xy(self) -> np.ndarray:
        """(N, 2) every device, in the order segments, heaters, front end."""
        return np.concatenate(
            [self.segment_xy.reshape(-1, 2), self.heater_xy.reshape(-1, 2), self.front_xy.reshape(-1, 2)]
        )

    def split(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-device values in all_xy order, back to (segments, heaters, front) shapes."""
        ns, nh = self.segment_xy[..., 0].size, self.heater_xy[..., 0].size
        return (
            values[:ns].reshape(self.segment_xy.shape[:-1]),
            values[ns : ns + nh].reshape(self.heater_xy.shape[:-1]),
            values[ns + nh :].reshape(self.front_xy.shape[:-1]),
        )


def default_geometry(
    segment_lengths_um: np.ndarray,
    heater_length_um: float,
    rows: int,
    h: int,
    y0_um: float = 0.0,
    row_pitch_um: float = 100.0,
    gap_um: float = 20.0,
) -> TileGeometry:
    """The default placement of one tile (see the module docstring)."""
    segs = np.asarray(segment_lengths_um, dtype=float)
    front_len = 400.0
    mmu_len = heater_length_um + gap_um + segs.sum() + gap_um * len(segs)
    y = y0_um + row_pitch_um * np.arange(rows)
    starts = front_len + mmu_len * np.arange(h)
    heater_x = starts + heater_length_um / 2
    seg_x = (
        starts[:, None] + heater_length_um + gap_um + np.concatenate([[0], np.cumsum(segs + gap_um)[:-1]]) + segs / 2
    )
    end = front_len + mmu_len * h
    # (x, dy) of each front-end device: its sketch position, x from the row's start or the arm's end
    # (circuits.mdpu.FRONT_END).
    place = [(d.sketch_um[0] + (end if d.past_arm else 0), d.sketch_um[1]) for d in FRONT_END]
    front_x, front_dy = np.array(place).T
    seg_xy = np.stack(np.broadcast_arrays(seg_x[None, :, :], y[:, None, None]), -1)
    heater_xy = np.stack(np.broadcast_arrays(heater_x[None, :], y[:, None]), -1)
    front_xy = np.stack(np.broadcast_arrays(front_x[None, :], y[:, None] + front_dy[None, :]), -1)
    return TileGeometry(seg_xy.astype(float), heater_xy.astype(float), front_xy.astype(float))
