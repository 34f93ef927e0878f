"""Bad input is one line and exit 2; a bug keeps its traceback; sizes that cannot fit are refused before allocating."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mirage import cli
from photonics.errors import UsageError, check_fits, physical_memory_bytes
from tests.mirage.test_cli import run

MIRAGE = Path(sys.executable).parent / "mirage"


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(args):
        raise ValueError("an internal invariant failed")  # not a UsageError: a bug

    monkeypatch.setattr(cli, "_cmd_devices", broken)
    with pytest.raises(ValueError, match="an internal invariant failed"):
        cli.main(["devices"])


def test_a_usage_error_is_one_line_and_exit_2(monkeypatch, capsys):
    def refuse(args):
        raise UsageError("--thing must be at least 1 (got 0)")

    monkeypatch.setattr(cli, "_cmd_devices", refuse)
    code, _, err = run(capsys, "devices")
    assert code == 2 and err == "mirage: error: --thing must be at least 1 (got 0)\n"


def test_check_fits_refuses_more_than_half_the_memory():
    half = physical_memory_bytes() / 2
    check_fits(half, "a size that just fits")
    with pytest.raises(UsageError, match=r"--m 9: the operands need about .* GiB.*choose a smaller size"):
        check_fits(half + 1, "--m 9: the operands")


def test_a_huge_modulus_is_refused_before_any_table_is_built():
    # The refusal comes from the memory estimate, not from a failed allocation: the process's peak memory stays
    # that of an idle interpreter with JAX loaded, far below the 4 TiB the tables would need. Peak memory, unlike
    # wall time, does not depend on how loaded the machine is. A fresh interpreter measures only this one child.
    measure = (
        "import resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, len(p.stdout)); "
        "print(p.stderr, end='')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", measure, str(MIRAGE), "mac", "--modulus", "100000", "--x", "1", "--w", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    status, output = proc.stdout.split("\n", 1)
    returncode, peak_kib, stdout_chars = map(int, status.split())
    assert returncode == 2 and stdout_chars == 0
    assert len(output.strip().splitlines()) == 1 and "modulus 100000" in output
    assert peak_kib < 2 * 1024**2, f"peak memory {peak_kib / 1024:.0f} MiB"


def test_a_huge_gemm_is_refused(capsys):
    code, _, err = run(capsys, "gemm", "--m", "200000", "--k", "200000", "--n", "200000")
    assert code == 2 and "--m 200000 --k 200000 --n 200000" in err and len(err.strip().splitlines()) == 1


def test_the_largest_modulus_stated_fits():
    from circuits.compiled import check_table_memory
    from circuits.mdpu import MdpuDesign
    from circuits.mmu import MmuDesign

    with pytest.raises(UsageError) as info:
        check_table_memory(MdpuDesign(mmu=MmuDesign(modulus=100000), h=1))
    largest = int(str(info.value).split("up to about ")[1].split()[0])
    check_table_memory(MdpuDesign(mmu=MmuDesign(modulus=largest), h=1))
    with pytest.raises(UsageError):
        check_table_memory(MdpuDesign(mmu=MmuDesign(modulus=2 * largest + 1), h=1))


def test_a_huge_sweep_is_refused(capsys):
    code, _, err = run(capsys, "sweep", "mzi", "--points", "100000000000")
    assert code == 2 and "--points 100000000000" in err and len(err.strip().splitlines()) == 1


def test_a_huge_layout_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "layout", "--rows", "100000", "--h", "1000", "--out", str(tmp_path / "t.gds"))
    assert code == 2 and "--rows 100000 --h 1000" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.gds").exists()


def test_the_layout_estimate_is_close_to_the_drawn_count(tmp_path):
    from dataclasses import replace

    from mirage.layout import instance_estimate, run
    from mvm.config import ChipConfig

    config = ChipConfig()
    result = run(config, 2, 4, None, str(tmp_path / "t.gds"))
    designs = [replace(config.mdpu_design(m), h=4) for m in config.all_moduli]
    assert instance_estimate(designs, 2) == pytest.approx(result["instances"], rel=0.2)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["montecarlo", "--chips", str(10**12), "--out", "{tmp}/mc"], "--chips 1000000000000"),
        (["mac", "--modulus", "31", "--x", "1", "--w", "2", "--plot", "{tmp}/mac.txt"], "--plot"),
        (["sweep", "mzi", "--plot", "{tmp}/s.docx"], "the file must end in one of"),
    ],
)
def test_more_bad_input_is_one_line(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # refused before writing anything


@pytest.mark.parametrize("array", [np.array([["a"]]), np.ones((2, 2), complex)])
def test_gemm_refuses_operands_that_are_not_real_numbers(capsys, tmp_path, array):
    np.save(tmp_path / "a.npy", array)
    code, _, err = run(capsys, "gemm", "--a", str(tmp_path / "a.npy"), "--b", str(tmp_path / "a.npy"))
    assert code == 2 and "must hold real numbers" in err


@pytest.mark.parametrize("variation", [[], ["--variation", "--calibrate"]])
def test_gemm_refuses_operands_that_are_not_matrices_before_building_a_chip(capsys, tmp_path, monkeypatch, variation):
    import calibration.calibrate
    import mvm.gemm

    def never(*args, **kwargs):
        raise AssertionError("a chip was built for operands that are refused")

    monkeypatch.setattr(mvm.gemm, "build_chip", never)
    monkeypatch.setattr(calibration.calibrate, "varied_chip", never)
    np.save(tmp_path / "a.npy", np.ones(3))
    np.save(tmp_path / "b.npy", np.ones((3, 2)))
    code, _, err = run(capsys, "gemm", "--a", str(tmp_path / "a.npy"), "--b", str(tmp_path / "b.npy"), *variation)
    assert code == 2 and "must be 2-D" in err and len(err.strip().splitlines()) == 1
