"""`mirage mac`: one MAC, exhaustive pairs, noisy trials, plot, and one-line errors."""

import json

import pytest

from tests.mirage.test_cli import run


def mac_json(capsys, *argv):
    code, out, err = run(capsys, "mac", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("element", ["straight", "ring-assisted"])
@pytest.mark.parametrize("encoding", ["binary-length", "modular-drive"])
def test_one_mac(capsys, element, encoding):
    r = mac_json(capsys, "--modulus", "31", "--x", "5", "--w", "7", "--element", element, "--encoding", encoding)
    assert r["exact"] == 35 % 31 == r["residue"]
    assert {"phase_rad", "i", "q"} <= set(r)
    assert r["phase_rad"] == pytest.approx(2 * 3.141592653589793 * 4 / 31, abs=0.05)


def test_exhaustive_without_noise_has_no_errors(capsys):
    r = mac_json(capsys, "--modulus", "13", "--exhaustive", "--no-noise")
    assert r == {"modulus": 13, "pairs": 169, "errors": 0, "error_rate": 0.0, "noise": False, "laser_power_mw": 10.0}


RECEIVER_ONLY = "[laser]\nlinewidth_khz = 0\nfrequency_drift_mhz_rms = 0\n\n[noise]\ndrive_noise_nv_rthz = 0\n"


def test_trials_report_measured_and_predicted_rates(capsys, tmp_path):
    chip = tmp_path / "receiver_only.toml"
    chip.write_text(RECEIVER_ONLY)  # a chip file sets the laser's phase noise, drift and drive noise to 0
    # 0.1 mW: about 2 % of residues wrong on the default ~1 cm row (its 1e-6 takes about twice the power)
    args = ("--modulus", "31", "--h", "16", "--trials", "40000", "--laser-power-mw", "0.1", "--seed", "3")
    r = mac_json(capsys, *args, "--config", str(chip))
    assert r["trials"] == 40000 and r["errors"] == round(r["error_rate"] * 40000)
    assert 1e-3 < r["predicted_error_rate"] < 1e-1
    assert r["predicted_error_rate"] / 2 <= r["error_rate"] <= 2 * r["predicted_error_rate"]
    assert r["link_budget"]["target_error_rate"] == 1e-6
    assert r["link_budget"]["laser_power_mw"] > 0.1
    assert r["link_budget"]["laser_power_mw"] < r["saturation_laser_power_mw"]
    # The other sources at 0: the receiver is all of the variance.
    assert r["phase_variance_share"] == {
        "receiver": 1.0,
        "laser_phase_noise": 0.0,
        "frequency_drift": 0.0,
        "drive": 0.0,
    }
    # the default path-matched LO leaves only the drive levels' own delay: tens of fs at h = 16, not the direct
    # route's nanoseconds
    assert 0 < abs(r["delay_mismatch_s"]) < 1e-12


def test_trials_share_the_variance_among_every_default_source(capsys):
    r = mac_json(capsys, "--modulus", "31", "--h", "4", "--trials", "2000", "--seed", "3")
    shares, variances = r["phase_variance_share"], r["phase_variance_rad2"]
    assert set(shares) == {"receiver", "laser_phase_noise", "frequency_drift", "drive"}
    assert all(v > 0 for v in variances.values())  # every source is on by default
    total = sum(variances.values())
    for source, share in shares.items():
        assert share == pytest.approx(variances[source] / total, rel=1e-12)
    # the laser's phase noise over the arms' delay: 2*pi*linewidth*|tau| (10 kHz default laser)
    assert variances["laser_phase_noise"] == pytest.approx(2 * 3.141592653589793 * 10e3 * abs(r["delay_mismatch_s"]))


def test_same_seed_same_result(capsys):
    args = ("--modulus", "31", "--h", "8", "--trials", "2000", "--laser-power-mw", "0.15", "--seed", "11")
    assert mac_json(capsys, *args) == mac_json(capsys, *args)


def test_plot(capsys, tmp_path):
    png = tmp_path / "mac.png"
    code, out, _ = run(capsys, "mac", "--modulus", "7", "--h", "4", "--trials", "2000", "--plot", str(png))
    assert code == 0 and "wrote plot" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--modulus", "1", "--x", "0", "--w", "0"], "--modulus must be at least 2 (got 1)"),
        (["--modulus", "31", "--x", "31", "--w", "0"], "--x must lie in [0, 31) (got 31)"),
        (["--modulus", "31", "--x", "1", "--w", "-2"], "--w must lie in [0, 31) (got -2)"),
        (["--modulus", "31", "--h", "0", "--trials", "5"], "--h must be at least 1 (got 0)"),
        (["--modulus", "31", "--trials", "5", "--laser-power-mw", "-1"], "--laser-power-mw must be >= 0"),
        (["--modulus", "31", "--trials", "0"], "--trials must be at least 1"),
        (["--modulus", "31"], "choose one of"),
        (["--modulus", "31", "--x", "2"], "one MAC needs both --x and --w"),
        (["--modulus", "31", "--trials", "9", "--target-error-rate", "2"], "target_error_rate must lie in (0, 1)"),
        (["--modulus", "31", "--x", "1", "--w", "1", "--element", "mzi"], "invalid choice: 'mzi'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "mac", *argv)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and out == ""
