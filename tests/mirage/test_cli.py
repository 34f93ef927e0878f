"""The `mirage` CLI: devices, sweep, and one-line errors with exit status 2."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import photonics
from mirage.cli import main

ROOT = Path(__file__).resolve().parents[2]
MIRAGE = Path(sys.executable).parent / "mirage"


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors and --version
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_devices_lists_every_model_with_parameters_and_units(capsys):
    code, out, _ = run(capsys, "devices")
    assert code == 0
    for name, device in photonics.devices().items():
        assert f"{name} [{device.kind}]" in out
    assert "length_um" in out and "dB/cm" in out and "V*cm" in out


def test_devices_json(capsys):
    code, out, _ = run(capsys, "devices", "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == set(photonics.devices())
    kappa = next(p for p in data["coupler"]["parameters"] if p["name"] == "kappa")
    assert kappa["default"] == 0.5 and kappa["range"] == ">= 0 and <= 1"


def test_sweep_json_matches_model(capsys):
    code, out, _ = run(
        capsys,
        "sweep",
        "mzi",
        "--set",
        "delta_length_um=20",
        "--wl-start",
        "1.54",
        "--wl-stop",
        "1.56",
        "--points",
        "11",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    wl = np.array(data["wl_um"])
    np.testing.assert_allclose(wl, np.linspace(1.54, 1.56, 11))
    s = photonics.evaluate("mzi", wl=wl, delta_length_um=20.0)
    np.testing.assert_allclose(
        data["transmission"]["o1->o3"]["db"], 10 * np.log10(np.abs(s["o1", "o3"]) ** 2), atol=1e-9
    )
    np.testing.assert_allclose(data["transmission"]["o1->o3"]["phase_rad"], np.angle(s["o1", "o3"]), atol=1e-12)
    assert data["settings"] == {"delta_length_um": 20.0}


def test_sweep_writes_csv_and_png(capsys, tmp_path):
    csv_path, png_path = tmp_path / "a" / "ring.csv", tmp_path / "ring.png"
    code, out, _ = run(
        capsys, "sweep", "ring_add_drop", "--points", "50", "--csv", str(csv_path), "--plot", str(png_path)
    )
    assert code == 0 and "wrote csv" in out
    rows = list(csv.reader(csv_path.open()))
    assert rows[0][:3] == ["wl_um", "o1->o2 dB", "o1->o2 phase_rad"]
    assert len(rows) == 51 and len(rows[0]) == 1 + 2 * 8
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sweep", "nonesuch"], "unknown device 'nonesuch'"),
        (["sweep", "coupler", "--set", "gap=0.2"], "unknown parameter 'gap' for coupler"),
        (["sweep", "coupler", "--set", "kappa=1.5"], "coupler: kappa must be <= 1"),
        (["sweep", "straight", "--set", "length_um=-3"], "straight: length_um must be >= 0 um"),
        (["sweep", "straight", "--set", "loss_db_cm=-1"], "loss_db_cm must be >= 0"),
        (["sweep", "coupler", "--set", "kappa"], "expected NAME=VALUE"),
        (["sweep", "coupler", "--set", "kappa=abc"], "value of kappa must be a number"),
        (["sweep", "coupler", "--wl-start", "1.6", "--wl-stop", "1.5"], "--wl-stop must be greater"),
        (["sweep", "coupler", "--points", "1"], "--points must be at least 2"),
        (["sweep", "laser"], "'laser' is a source"),
        (["sweep", "coupler", "--points", "ten"], "invalid int value"),
        (["bogus"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and out == ""


def test_console_script_version_and_error_without_traceback():
    ok = subprocess.run([str(MIRAGE), "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("mirage ")
    bad = subprocess.run([str(MIRAGE), "sweep", "coupler", "--set", "kappa=2"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "mirage: error: coupler: kappa must be <= 1 (got 2)"
    assert "Traceback" not in bad.stderr


def test_ci_script_fails_when_tests_fail(tmp_path):
    """.ci/run propagates the failure of the README's test command (make test)."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "Makefile").write_text("test:\n\t@echo '1 failed'; exit 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, env=env)
    assert result.returncode != 0
