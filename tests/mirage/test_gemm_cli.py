"""`mirage gemm` and `mirage config`: JSON fields, files, --config everywhere, one-line errors."""

import json

import jax
import numpy as np
import pytest

from mvm.config import ChipConfig, load_config
from photonics.jax_setup import machine_tag
from tests.mirage.test_cli import run


def gemm_json(capsys, *argv):
    code, out, err = run(capsys, "gemm", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_gemm_noise_off_matches_integer_reference(capsys):
    r = gemm_json(capsys, "--m", "30", "--k", "50", "--n", "20", "--no-noise")
    assert r["exact_match_int_reference"] is True
    assert r["rel_error_vs_float64"] == pytest.approx(r["bfp_rel_error"], rel=1e-12)
    assert r["residue_error_rate"] == 0 and r["seconds"] > 0 and r["macs_per_second"] > 0
    assert r["shape"] == [30, 50, 20]


@pytest.mark.slow  # a 512^3 product on a sampled, calibrated chip (about 10 s warm, more while its programs compile)
def test_the_varied_calibrated_512_cube_reads_every_readout_and_errs_as_bfp_does(capsys):
    """The GEMM issue's sign-off: on the varied, calibrated chip of seed 1, every readout's fields are computed (the
    count is the tiles x chunks x M x N of the product) and the product's error is within 10 % of the error that the
    BFP quantisation alone makes."""
    r = gemm_json(capsys, "--m", "512", "--k", "512", "--n", "512", "--variation", "--calibrate", "--seed", "1")
    config = ChipConfig()
    expected = len(config.all_moduli) * (512 // config.tile.h) * 512 * 512
    assert r["deterministic_readouts"] == r["readouts"] == expected
    assert r["rel_error_vs_float64"] == pytest.approx(r["bfp_rel_error"], rel=0.10)


def test_gemm_files(capsys, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 20)), rng.standard_normal((20, 4))
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / "c.npy"
    r = gemm_json(
        capsys, "--a", str(tmp_path / "a.npy"), "--b", str(tmp_path / "b.npy"), "--out", str(out), "--no-noise"
    )
    c = np.load(out)
    assert c.shape == (6, 4)
    assert np.linalg.norm(c - a @ b) / np.linalg.norm(a @ b) == pytest.approx(r["rel_error_vs_float64"])


def test_config_default_prints_loadable_toml(capsys, tmp_path):
    code, out, _ = run(capsys, "config", "--default")
    assert code == 0 and "[rns]" in out and "moduli = [31, 32, 33]" in out
    path = tmp_path / "chip.toml"
    path.write_text(out)
    assert load_config(path) == ChipConfig()


def test_every_command_takes_config(capsys, tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text("[laser]\npower_mw = 0.3\n[tile]\nh = 8\n[devices.heater]\np_pi_mw = 40.0\n")
    r = gemm_json(capsys, "--m", "8", "--k", "16", "--n", "8", "--config", str(path))
    assert r["readouts"] == 3 * 2 * 8 * 8  # h = 8 from the file
    code, out, _ = run(
        capsys, "mac", "--modulus", "31", "--h", "16", "--trials", "3000", "--json", "--config", str(path)
    )
    assert code == 0 and json.loads(out)["laser_power_mw"] == 0.3
    code, out, _ = run(capsys, "sweep", "heater", "--points", "3", "--json", "--config", str(path))
    assert code == 0
    code, _, _ = run(capsys, "devices", "--config", str(path))
    assert code == 0


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[rns]\nmoduli = [30, 32, 33]\n", "[rns] moduli: must be pairwise coprime: 30 and 32 share the factor 2"),
        ("[tile]\nh = 40\n", "[tile] h: h = 40 could overflow"),
        ("[tile]\nh = 40\n", "the largest safe h is 17"),
        ("[tile]\nwidth = 3\n", "[tile] width: unknown key; allowed: h, rows"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(capsys, tmp_path, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    for argv in (
        ["gemm", "--m", "2", "--k", "2", "--n", "2"],
        ["mac", "--modulus", "31", "--x", "1", "--w", "1"],
        ["config"],
    ):
        code, out, err = run(capsys, *argv, "--config", str(path))
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize(
    "arrays, message",
    [
        ((np.array([[1.0, np.nan]]), np.ones((2, 2))), "A must be finite"),
        ((np.ones((2, 3)), np.ones((2, 2))), "shapes do not match: A is 2 x 3, B is 2 x 2"),
    ],
)
def test_bad_operands_are_one_line_and_exit_2(capsys, tmp_path, arrays, message):
    for name, x in zip("ab", arrays):
        np.save(tmp_path / f"{name}.npy", x)
    code, out, err = run(capsys, "gemm", "--a", str(tmp_path / "a.npy"), "--b", str(tmp_path / "b.npy"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_missing_sizes(capsys):
    code, _, err = run(capsys, "gemm", "--m", "3", "--k", "3")
    assert code == 2 and "--n must be a positive integer" in err


def test_gemm_reports_compile_seconds_and_caches_in_mirage_jax_cache(capsys, jax_cache_dir):
    r = gemm_json(capsys, "--m", "8", "--k", "16", "--n", "8")
    assert r["seconds"] >= r["compile_seconds"] >= 0
    # main enabled the persistent cache where the variable points (its writing: tests/photonics/test_jax_setup.py)
    assert jax.config.jax_compilation_cache_dir == str(jax_cache_dir / machine_tag())
    assert (jax_cache_dir / machine_tag()).is_dir()
    code, out, _ = run(capsys, "gemm", "--m", "8", "--k", "16", "--n", "8")
    assert code == 0 and "s of it compiling" in out
