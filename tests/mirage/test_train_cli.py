"""`mirage train` and `mirage train-table`: JSON fields, files, the RNS run, one-line errors."""

import csv
import json

import pytest

from tests.mirage.test_cli import run
from training.run import markdown_table


def train_json(capsys, tmp_path, *argv):
    code, out, err = run(capsys, "train", *argv, "--out", str(tmp_path), "--json")
    assert code == 0, err
    return json.loads(out)


def test_fp32_run_writes_history_plot_and_result(capsys, tmp_path):
    r = train_json(capsys, tmp_path, "--backend", "fp32", "--epochs", "2", "--seed", "3")
    assert r["backend"] == "fp32" and r["epochs"] == 2 and r["seed"] == 3 and r["seconds"] > 0
    assert 0.8 < r["test_accuracy"] <= 1
    assert r["gemm_rel_error"] < 1e-6  # float32
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert float(rows[-1]["test_accuracy"]) == pytest.approx(r["test_accuracy"])
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "result.json").read_text())["test_accuracy"] == r["test_accuracy"]


@pytest.mark.slow  # a calibrated chip and an RNS epoch through the CLI (26 s); the RNS product is tested fast in tests/training
def test_rns_run_goes_through_a_calibrated_chip(capsys, tmp_path):
    r = train_json(capsys, tmp_path, "--backend", "rns", "--epochs", "1")
    assert r["test_accuracy"] > 0.7  # one epoch; chance is 0.1
    assert r["hardware"]["calibrated"] and r["hardware"]["energy_per_mac_pj"] > 0
    steps = 1437 // 32
    # per step: forward of both layers, dx of layer 2, dw of both layers; then the test set's forward pass
    assert r["tally"]["products"] == 5 * steps + 2
    assert r["tally"]["readouts"] > 0 and r["tally"]["chunk_errors"] <= r["tally"]["residue_errors"]
    assert 0.03 < r["gemm_rel_error"] < 0.06  # the BFP quantisation error of 6-bit mantissas, about 0.043


def test_text_report(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--backend", "fp32", "--epochs", "1", "--out", str(tmp_path))
    assert code == 0 and "test accuracy" in out and "history.csv" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--backend", "tpu"], "--backend"),
        (["--backend", "fp32", "--epochs", "0"], "epochs"),
        (["--backend", "rns", "--repeats", "3"], "repeats"),
        (["--backend", "analog-repeat", "--repeats", "0"], "repeats"),
        (["--backend", "fp32", "--learning-rate", "-1"], "learning_rate"),
        (["--backend", "fp32", "--dataset", "cifar"], "--dataset"),
        (["--backend", "fp32", "--model", "rnn"], "--model"),
        (["--backend", "fp32", "--model", "cnn", "--learning-rate", "1.5"], "learning_rate"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, tmp_path, argv, needle):
    code, out, err = run(capsys, "train", *argv, "--out", str(tmp_path / "never"))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""
    assert not (tmp_path / "never").exists()


def test_table_command_and_its_statistics(capsys, tmp_path):
    code, out, err = run(
        capsys,
        "train-table",
        "--backends",
        "fp32",
        "--datasets",
        "digits",
        "--seeds",
        "0,1",
        "--epochs",
        "1",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    runs = [json.loads((tmp_path / "digits" / f"fp32-seed{s}" / "result.json").read_text()) for s in (0, 1)]
    acc = [100 * r["test_accuracy"] for r in runs]
    mean = sum(acc) / 2
    std = abs(acc[0] - acc[1]) / 2**0.5  # sample standard deviation of two values
    assert f"| fp32 | {mean:.2f} ± {std:.2f} |" in out
    assert (tmp_path / "table.md").read_text().strip() in out
    bad = run(capsys, "train-table", "--backends", "fp32,gpu", "--out", str(tmp_path))
    assert bad[0] == 2 and "--backends" in bad[2]


def test_markdown_table_compares_with_fp32():
    def result(backend, seed, acc, **hw):
        return {
            "backend": backend,
            "seed": seed,
            "test_accuracy": acc,
            "epochs": 20,
            "seconds": 1.0,
            "gemm_rel_error": 0.01 * (seed + 1),
            "hardware": hw,
        }

    table = markdown_table(
        [
            result("fp32", 0, 0.9),
            result("fp32", 1, 0.95),
            result("analog-repeat", 0, 0.8, repeats=4, energy_per_mac_pj=1.5),
            result("analog-repeat", 1, 0.9, repeats=4, energy_per_mac_pj=1.5),
        ]
    )
    assert "| analog-repeat (K = 4) | 85.00 ± 7.07 | 80.00-90.00 | -7.50 | 0.015 | 1.5 |" in table


def test_markdown_table_says_which_backend_ran_on_fewer_seeds():
    def result(backend, seed, acc):
        return dict(
            backend=backend, seed=seed, test_accuracy=acc, epochs=20, seconds=1.0, gemm_rel_error=0.1, hardware={}
        )

    table = markdown_table([result("fp32", 0, 0.9), result("fp32", 1, 0.8), result("analog", 1, 0.7)])
    assert "| analog (seed 1 only) | 70.00 ± 0.00 | 70.00-70.00 | -15.00 |" in table
    assert "| fp32 | 85.00" in table and "Seeds 0, 1;" in table


ANALOG_REPEAT_RUN = ("--backend", "analog-repeat", "--repeats", "2", "--epochs", "1", "--seed", "4")


@pytest.mark.slow
def test_analog_run_is_reproducible(capsys, tmp_path):
    """The whole run twice (about 10 s each); the fast siblings: the analog GEMM's same seed, same result
    (tests/mvm/test_analog.py), float32 training's reproducibility (tests/training/test_mlp.py) and the run below."""
    a = train_json(capsys, tmp_path / "a", *ANALOG_REPEAT_RUN)
    b = train_json(capsys, tmp_path / "b", *ANALOG_REPEAT_RUN)
    assert a["test_accuracy"] == b["test_accuracy"] and a["final_train_loss"] == b["final_train_loss"]


def test_analog_run_counts_repeats(capsys, tmp_path):
    a = train_json(capsys, tmp_path, *ANALOG_REPEAT_RUN)
    assert a["hardware"]["repeats"] == 2 and a["test_accuracy"] > 0.7
    # every readout of every product repeated twice: readouts = 2 * sum over products of M * N * ceil(K / h)
    steps = 1437 // 32  # h = 16
    per_step = 32 * 128 * 4 + 32 * 10 * 8 + 32 * 128 * 1 + 128 * 10 * 2 + 64 * 128 * 2
    test = 360 * 128 * 4 + 360 * 10 * 8
    assert a["tally"]["readouts"] == 2 * (steps * per_step + test)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seed", "-1"], "seed"),
        (["--seed", str(2**32)], "seed"),
    ],
)
def test_bad_seed(capsys, tmp_path, argv, needle):
    code, _, err = run(capsys, "train", "--backend", "fp32", *argv, "--out", str(tmp_path / "never"))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_out_that_is_a_file_is_refused_before_training(capsys, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    code, _, err = run(capsys, "train", "--backend", "rns", "--out", str(target))
    assert code == 2 and "--out" in err and target.read_text() == "keep me"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seeds", "0,0"], "--seeds"),
        (["--seeds", "0,-1"], "seed"),
        (["--backends", "fp32,fp32"], "--backends"),
        (["--datasets", "digits,cifar"], "--datasets"),
        (["--datasets", "mnist1d,mnist1d"], "--datasets"),
    ],
)
def test_table_refuses_before_the_first_run(capsys, tmp_path, argv, needle):
    code, _, err = run(capsys, "train-table", "--backends", "fp32", *argv, "--out", str(tmp_path / "t"))
    assert code == 2 and needle in err
    assert not (tmp_path / "t" / "digits").exists() and not (tmp_path / "t" / "mnist1d").exists()


def test_mnist1d_trains_the_cnn_by_default(capsys, tmp_path):
    r = train_json(capsys, tmp_path, "--backend", "fp32", "--dataset", "mnist1d", "--epochs", "1")
    assert r["model"] == "cnn" and r["dataset"] == "mnist1d" and r["settings"]["learning_rate"] == 1e-2
    assert r["train_examples"] == 4000 and r["test_examples"] == 1000
    assert 0.2 < r["test_accuracy"] <= 1  # one epoch; chance is 0.1
    argv = ["--backend", "fp32", "--dataset", "mnist1d", "--model", "mlp", "--epochs", "1"]
    code, out, _ = run(capsys, "train", *argv, "--out", str(tmp_path / "mlp"))
    assert code == 0 and out.startswith("MLP 40-128-10 on mnist1d")


def test_markdown_table_has_one_section_per_dataset():
    def result(dataset, model, backend, acc):
        return {
            "backend": backend,
            "dataset": dataset,
            "model": model,
            "model_description": model.upper(),
            "test_examples": {"digits": 360, "mnist1d": 1000}[dataset],
            "seed": 0,
            "test_accuracy": acc,
            "epochs": 20,
            "seconds": 1.0,
            "gemm_rel_error": 0.04,
            "hardware": {},
        }

    table = markdown_table(
        [
            result("digits", "mlp", "fp32", 0.97),
            result("digits", "mlp", "rns", 0.975),
            result("mnist1d", "cnn", "fp32", 0.92),
            result("mnist1d", "cnn", "rns", 0.91),
        ]
    )
    digits, mnist1d = table.split("**CNN on mnist1d**")
    assert "**MLP on digits**" in digits and "| rns | 97.50 ± 0.00 | 97.50-97.50 | +0.50 |" in digits
    assert "| rns | 91.00 ± 0.00 | 91.00-91.00 | -1.00 |" in mnist1d
    assert "1000 held-out MNIST-1D sequences (one example is 0.1 pp)" in mnist1d
