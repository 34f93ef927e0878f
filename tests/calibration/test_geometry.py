"""The default placement follows the folded layout: positions agree with a written layout's."""

import dataclasses

import numpy as np
import pytest

from calibration.chip import _heat_paths, geometry_of
from calibration.geometry import LAYOUT_TOLERANCE_UM, segment_boxes_um
from calibration.thermal import coupling_matrix
from mvm.config import ChipConfig


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    from circuits.layout import load_positions, write_tile

    config = dataclasses.replace(ChipConfig(), tile=dataclasses.replace(ChipConfig().tile, rows=2, h=2))
    path = tmp_path_factory.mktemp("layout") / "tile.gds"
    write_tile(path, [config.mdpu_design(m) for m in config.all_moduli], rows=2)
    return config, load_positions(path)


def test_default_positions_agree_with_the_written_layout(written):
    from circuits.layout import tile_positions_um

    config, devices = written
    for i, m in enumerate(config.all_moduli):
        drawn, default = tile_positions_um(devices, m), geometry_of(config, i)
        for name in ("segment_xy", "heater_xy", "front_xy"):
            gap = np.linalg.norm(getattr(drawn, name) - getattr(default, name), axis=-1)
            assert gap.max() < LAYOUT_TOLERANCE_UM, (m, name, gap.max())


def test_a_binary_length_row_is_folded_not_metres_long():
    # The 2023 chip's binary-length MMU (examples/mirage_2023.toml) holds 30 cm of electrode; folded into its file's
    # 5 mm sections a row of 16 MMUs spans a few cm along the lane (the straight placement put it at 4.8 m).
    from pathlib import Path

    from mvm.config import load_config

    config = load_config(Path(__file__).parents[2] / "examples" / "mirage_2023.toml")
    assert config.tile.encoding == "binary-length" and config.tile.h == 16
    geometry = geometry_of(config, 0)
    mmu = config.mdpu_design(config.all_moduli[0]).mmu
    electrode_um = mmu.segment_lengths_um().sum() * config.tile.h
    span_um = np.ptp(geometry.all_xy()[:, 0])
    assert electrode_um > 4e6 and span_um < 0.02 * electrode_um
    # each segment's box is as tall as its longest section plus two bends, and no section is longer than allowed
    along, _, height = segment_boxes_um(mmu)
    assert np.all(height <= mmu.eo.section_max_um + 2 * mmu.eo.bend_radius_um + 1e-9)


def test_the_thermal_model_uses_the_default_positions():
    config = dataclasses.replace(ChipConfig(), tile=dataclasses.replace(ChipConfig().tile, rows=2, h=2))
    geometry = geometry_of(config, 0)
    paths = _heat_paths(config, 0, 0.035, None)
    from calibration.chip import FRONT, LO_HEATERS

    lo_idx = [FRONT.index(n) for n in LO_HEATERS]
    heaters = np.concatenate([geometry.heater_xy.reshape(-1, 2), geometry.front_xy[:, lo_idx].reshape(-1, 2)])
    expected = coupling_matrix(geometry.all_xy(), heaters, 0.035)
    mask = paths != 0  # a heater's coupling to itself is zeroed
    np.testing.assert_array_equal(paths[mask], expected[mask])
