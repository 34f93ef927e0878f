"""`mirage design`: --json fields, the text table, --strict, and one-line errors for a bad file."""

import json

import pytest

from tests.mirage.test_cli import run

SMALL = "[tile]\nh = 4\nrows = 2\n"  # the default chip, small enough to report in a few seconds: it meets its file
# the same chip asked to run at 100 GBd: its 0.8 mm electrode sections (tens of GHz) cannot follow
TIGHT = SMALL + "clock_ghz = 100\n"


def _file(tmp_path, text: str):
    path = tmp_path / "chip.toml"
    path.write_text(text)
    return str(path)


def test_json_report(capsys, tmp_path):
    code, out, err = run(capsys, "design", "--config", _file(tmp_path, TIGHT), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["clock_ghz"] == 100.0 and r["rows"] == 2 and r["h"] == 4
    assert 10.0 <= r["max_clock_ghz"] < r["clock_ghz"]
    assert set(r["noise_rad"]) == {"receiver", "laser_phase_noise", "frequency_drift", "drive"}
    energy = r["energy_pj_per_mac"]
    assert energy["total"] == pytest.approx(sum(v for name, v in energy.items() if name != "total"))
    assert any(v.startswith("clock:") for v in r["violations"])


def test_text_report_is_a_table_with_the_violations(capsys, tmp_path):
    code, out, err = run(capsys, "design", "--config", _file(tmp_path, TIGHT))
    assert code == 0, err
    assert "max clock (GBd)" in out and "m = 33" in out and "energy per MAC" in out
    assert "violations (" in out and "  - clock:" in out


def test_strict_exits_1_only_with_violations(capsys, tmp_path):
    code, _, _ = run(capsys, "design", "--config", _file(tmp_path, TIGHT), "--strict")
    assert code == 1
    code, out, err = run(capsys, "design", "--config", _file(tmp_path, SMALL), "--strict", "--json")
    assert code == 0, err
    assert json.loads(out)["violations"] == []


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[tile]\nelectrode = "coax"\n', "[tile] electrode: must be one of lumped, travelling-wave"),
        ("[design]\ntarget_error_rate = 2\n", "[design] target_error_rate: must be < 1"),
        ("[devices.electrode]\nrf_index = -1\n", "[devices.electrode] rf_index"),
    ],
)
def test_a_bad_file_is_one_line_exit_2(capsys, tmp_path, toml, message):
    code, out, err = run(capsys, "design", "--config", _file(tmp_path, toml))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
