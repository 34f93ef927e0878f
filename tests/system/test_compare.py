"""Scenarios, ratios, the table and the sensitivity, on a hand-made chip."""

import math

import pytest

from photonics.errors import UsageError
from system.compare import PAPER, SCENARIOS, Setup, baseline, compare, sensitivity, table
from tests.system.test_accelerator import _mlp, small_chip


def chip():
    """The hand-made chip at 32 rows x 32 MMUs: two tiles draw about 75 W at full load."""
    return small_chip(rows=32, h=32)


def test_scenarios_size_the_baseline_by_hand():
    setup = Setup(chip())
    mirage = setup.mirage()
    per_array_w = 128 * 128 * 2.0e-12 * 0.94e9
    assert baseline(setup, "iso-energy").arrays == int(mirage.peak_power_w() // per_array_w)
    compute_mm2 = 2 * (100.0 + 5.0)  # two tiles and their trims
    assert baseline(setup, "iso-area").arrays == int(compute_mm2 // (128 * 128 * setup.systolic.pe_area_mm2))


def test_inconsistent_scenarios_are_refused():
    with pytest.raises(UsageError, match="scenario must be one of iso-energy, iso-area"):
        baseline(Setup(chip()), "iso-power")
    tiny = Setup(small_chip(tile_area_mm2=1.0, max_area_mm2=1.0, trim_area_mm2=0.0))
    with pytest.raises(UsageError, match="iso-area: Mirage's 1 mm"):
        baseline(tiny, "iso-area")


def test_ratios_are_baseline_over_mirage():
    r = compare(_mlp(256), Setup(chip()), "iso-area")
    m, s = r["mirage"], r["systolic"]
    assert r["speedup"] == pytest.approx(s["time_s"] / m["time_s"])
    assert r["edp_ratio"] == pytest.approx(s["energy_j"] * s["time_s"] / (m["energy_j"] * m["time_s"]))
    assert r["power_ratio"] == pytest.approx(s["power_w"] / m["power_w"])
    for side in (m, s):
        assert math.isclose(sum(side["energy_breakdown_j"].values()), side["energy_j"], rel_tol=1e-9)


def test_table_lists_every_model_in_both_scenarios_with_the_papers_figures():
    workloads = {"small": _mlp(64), "large": _mlp(1024)}
    markdown, data = table(workloads, Setup(chip()), batch=64)
    assert set(data) == {(n, s) for n in workloads for s in SCENARIOS}
    for value in PAPER.values():
        assert f"(paper {value:g}x)" in markdown
    assert markdown.count("| **mean** |") == 2


def test_sensitivity_is_sorted_by_swing_and_follows_mirages_dominant_energy():
    workloads = {"mlp": _mlp(512)}
    result = sensitivity(workloads, Setup(chip()), "iso-area", "edp_ratio", top=9)
    rows = {row[0]: row[3:] for row in result["rows"]}
    swings = [abs(math.log(hi / lo)) for _, _, _, lo, hi in result["rows"]]
    assert swings == sorted(swings, reverse=True)
    lo, hi = rows["electrode drive energy"]  # the chip's largest part: halving it helps Mirage, doubling hurts
    assert lo > result["base"] > hi
    laser_lo, laser_hi = rows["laser wall-plug efficiency"]  # a small part moves the ratio less
    assert abs(math.log(laser_hi / laser_lo)) < abs(math.log(hi / lo))
    assert len(sensitivity(workloads, Setup(chip()), "iso-area", "edp_ratio")["rows"]) == 5
