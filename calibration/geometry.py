"""Where every device of a tile sits: positions for spatial correlation and thermal crosstalk.

One modulus tile is R rows of one MDPU each. The default placement follows the
floorplan :mod:`circuits.layout` draws, without drawing it: each row's lane
(the signal arm's axis) runs east from the source splitter; along it the h MMUs
abut, each its bias heater then its B segments. A Pockels segment is folded
into a serpentine north of the lane (n sections of its electrode, joined by
half-turns of radius r, :func:`photonics.phase_shifter_eo.section_count`, the
count the cell draws and the model uses): it spans 2*r*n along the lane and
r + L/n + r above it, and sits at the centre of that box. Other segments
(rings) take their element's footprint along the lane. The front-end devices
sit where :data:`circuits.mdpu.FRONT_END` sketches them (measured from the
layout), from the row's start or from the arm's end. Rows are stacked in y,
each the tallest segment plus ``below_lane_um`` (front end and LO route under
the lane) plus ``above_segments_um`` (electrode buses and the gap to the next
row) apart; tiles of successive moduli follow. Positions agree with a written
layout's (:func:`circuits.layout.tile_positions_um`) to within
:data:`LAYOUT_TOLERANCE_UM` (tests/calibration/test_geometry.py); a layout
(``mirage layout``) can supply its positions instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.mdpu import FRONT_END
from circuits.mmu import MmuDesign
from photonics.phase_shifter_eo import section_count

# The default floorplan's spacings, measured on circuits.layout's drawing of the default chip:
ARM_START_UM = 51.0  # the source splitter's length: the first MMU abuts it
BELOW_LANE_UM = 191.0  # a row's front end and LO route below its lane
ABOVE_SEGMENTS_UM = 80.0  # the segments' electrode buses above their serpentines, then the gap to the next row
LAYOUT_TOLERANCE_UM = 20.0  # the default placement's largest distance from a written layout's positions


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
        """Per-device values (..., N) in all_xy order, back to (..., segments), (..., heaters), (..., front) shapes."""
        ns, nh = self.segment_xy[..., 0].size, self.heater_xy[..., 0].size
        lead = values.shape[:-1]
        return (
            values[..., :ns].reshape(lead + self.segment_xy.shape[:-1]),
            values[..., ns : ns + nh].reshape(lead + self.heater_xy.shape[:-1]),
            values[..., ns + nh :].reshape(lead + self.front_xy.shape[:-1]),
        )


def segment_boxes_um(mmu: MmuDesign) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B,) each segment's length along the lane, its centre's height above the lane, its height, as drawn."""
    if not mmu.element_rules.sectioned_electrodes:
        along = mmu.segment_footprint_um()
        return along, np.zeros_like(along), np.zeros_like(along)
    along, centre, height = [], [], []
    for s in mmu.segment_settings():
        n = float(section_count(s["length_um"], s["section_max_um"]))
        r, section = s["bend_radius_um"], s["length_um"] / n
        along.append(2 * r * n)  # a quarter turn in, n - 1 half-turns, a quarter turn out
        centre.append(r + section / 2)
        height.append(2 * r + section)
    return np.array(along), np.array(centre), np.array(height)


def row_pitch_um(
    mmu: MmuDesign, below_lane_um: float = BELOW_LANE_UM, above_segments_um: float = ABOVE_SEGMENTS_UM
) -> float:
    """Lane-to-lane distance of successive rows of this MMU's tile."""
    return below_lane_um + float(segment_boxes_um(mmu)[2].max()) + above_segments_um


def default_geometry(
    mmu: MmuDesign,
    rows: int,
    h: int,
    y0_um: float = 0.0,
    arm_start_um: float = ARM_START_UM,
    below_lane_um: float = BELOW_LANE_UM,
    above_segments_um: float = ABOVE_SEGMENTS_UM,
) -> TileGeometry:
    """The default placement of one tile whose rows start at ``y0_um`` (see the module docstring)."""
    along, centre, _ = segment_boxes_um(mmu)
    heater_um = mmu.heater.length_um
    mmu_len = heater_um + along.sum()
    y = y0_um + below_lane_um + row_pitch_um(mmu, below_lane_um, above_segments_um) * np.arange(rows)
    starts = arm_start_um + mmu_len * np.arange(h)
    heater_x = starts + heater_um / 2
    seg_x = starts[:, None] + heater_um + np.concatenate([[0], np.cumsum(along)[:-1]]) + along / 2
    end = arm_start_um + mmu_len * h
    # (x, dy) of each front-end device: its sketch position, x from the row's start or the arm's end
    # (circuits.mdpu.FRONT_END).
    place = [(d.sketch_um[0] + (end if d.past_arm else 0), d.sketch_um[1]) for d in FRONT_END]
    front_x, front_dy = np.array(place).T
    seg_xy = np.stack(np.broadcast_arrays(seg_x[None, :, :], y[:, None, None] + centre), -1)
    heater_xy = np.stack(np.broadcast_arrays(heater_x[None, :], y[:, None]), -1)
    front_xy = np.stack(np.broadcast_arrays(front_x[None, :], y[:, None] + front_dy[None, :]), -1)
    return TileGeometry(seg_xy.astype(float), heater_xy.astype(float), front_xy.astype(float))
