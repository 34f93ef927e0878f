"""The calibration layer's sections: they extend the chip's schema, round-trip, and are refused in one line."""

import tomllib
from pathlib import Path

import pytest

from calibration.config import (
    CalibrationSettings,
    Spec,
    StudyConfig,
    StudySections,
    default_toml,
    load_sections,
    load_study,
)
from calibration.variation import Spread, VariationConfig
from mirage.cli import main
from mvm.config import RESERVED_SECTIONS, ChipConfig, load_config
from photonics.errors import UsageError

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))
STUDY_TABLES = ["variation", *(f"variation.{name}" for name in VariationConfig().spreads()), "spec", "calibration"]


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_default_file_loads_back_to_the_default(tmp_path):
    path = write(tmp_path, default_toml())
    assert load_sections(path) == StudySections()
    assert load_study(path) == StudyConfig() == load_study(None)
    assert load_config(path) == ChipConfig()  # the chip alone reads the same file


def test_the_study_adds_exactly_the_sections_the_chip_lets_through():
    added = set(StudySections.__pydantic_fields__) - set(ChipConfig.__pydantic_fields__)
    assert added == set(RESERVED_SECTIONS)


def test_sections_are_read_from_the_file(tmp_path):
    path = write(
        tmp_path,
        '[tile]\nh = 8\n[variation]\nscale = 0.5\ndistribution = "uniform"\n'
        "[variation.width_nm]\nglobal_sigma = 1.0\nlocal_sigma = 0.5\n"
        "[spec]\nmax_gemm_rel_error = 0.1\n[calibration]\nrepeats = 4\n",
    )
    study = load_study(path, layout="chip.json")
    assert study.chip.tile.h == 8 and study.layout == "chip.json"
    assert study.variation.scale == 0.5 and study.variation.distribution == "uniform"
    assert study.variation.width_nm == Spread(1.0, 0.5)
    assert study.spec == Spec(max_gemm_rel_error=0.1)
    assert study.calibration == CalibrationSettings(repeats=4)
    assert load_study(path, sigma_scale=2.0).variation.scale == 2.0


@pytest.mark.parametrize("table", STUDY_TABLES)
def test_an_unknown_key_in_every_study_table_is_refused(tmp_path, table):
    path = write(tmp_path, f"[{table}]\nhh = 3\n")
    with pytest.raises(UsageError, match=rf"^config {path}: \[{table}\] hh: unknown key; allowed: "):
        load_study(path)


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[variation]\nscale = -1\n", "[variation] scale: must be >= 0, got -1"),
        ("[variation]\nscale = true\n", "[variation] scale: must be a number, got true"),
        (
            '[variation]\ndistribution = "cauchy"\n',
            '[variation] distribution: must be one of normal, uniform, truncnormal, got "cauchy"',
        ),
        ("[variation]\ncrosstalk_at_100um = 1.5\n", "[variation] crosstalk_at_100um: must be < 1, got 1.5"),
        ("[variation]\nwidth_nm = 4.0\n", "[variation.width_nm]: must be a table, got 4.0"),
        (
            '[variation.ring_gap_nm]\nlocal_sigma = "3"\n',
            '[variation.ring_gap_nm] local_sigma: must be a number, got "3"',
        ),
        ("[spec]\nmax_residue_error_rate = -0.1\n", "[spec] max_residue_error_rate: must be >= 0, got -0.1"),
        ("[calibration]\nrepeats = 0\n", "[calibration] repeats: must be >= 1, got 0"),
        ("[calibration]\nrepeats = 16.0\n", "[calibration] repeats: must be an integer, got 16.0"),
        ("[tile]\nh = -3\n", "[tile] h: must be >= 1, got -3"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(tmp_path, toml, message):
    path = write(tmp_path, toml)
    with pytest.raises(UsageError) as info:
        load_study(path)
    assert str(info.value) == f"config {path}: {message}"


def test_a_negative_sigma_scale_is_refused():
    with pytest.raises(UsageError, match=r"^--sigma-scale must be >= 0 \(got -1.0\)$"):
        load_study(None, sigma_scale=-1.0)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_load(path):
    study = load_study(path)
    assert load_config(path) == study.chip


def test_cli_prints_the_whole_documented_file(capsys, tmp_path):
    assert main(["config", "--default"]) == 0
    out = capsys.readouterr().out
    assert out == default_toml()
    assert {"rns", "devices", "variation", "spec", "calibration"} <= set(tomllib.loads(out))
    assert main(["config", "--config", str(write(tmp_path, out))]) == 0
    assert capsys.readouterr().out == out


def test_cli_refuses_a_bad_study_section_with_one_line(capsys, tmp_path):
    path = write(tmp_path, "[variation.width_nm]\nglobal = 1.0\n")
    assert main(["config", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"mirage: error: config {path}: [variation.width_nm] global: unknown key; allowed: global_sigma, local_sigma\n"
    )


@pytest.mark.parametrize("name", list(VariationConfig().spreads()))
def test_a_partial_spread_keeps_the_default_of_the_other_sigma(tmp_path, name):
    default = getattr(VariationConfig(), name)
    study = load_study(str(write(tmp_path, f"[variation.{name}]\nlocal_sigma = 0.125\n")))
    assert getattr(study.variation, name) == Spread(default.global_sigma, 0.125)
