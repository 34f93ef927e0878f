"""`mirage arch` and `mirage arch-table`: the JSON object, the table, and one-line usage errors."""

import json
import math

import pytest

import system.accelerator
import system.workloads
from system.workloads import Gemm
from tests.mirage.test_cli import run
from tests.system.test_accelerator import small_chip

KEYS = {"time_s", "energy_j", "edp_js", "power_w", "area_mm2", "utilisation", "energy_breakdown_j"}


@pytest.fixture
def hand_chip(monkeypatch):
    """The chip's figures by hand (its design report takes tens of seconds) and a one-layer model."""
    monkeypatch.setattr(system.accelerator, "chip_figures", lambda config: small_chip(rows=32, h=32))
    real = system.workloads.training_step

    def step(model, batch, **options):
        if model != "resnet18":
            return real(model, batch, **options)  # the name and batch checks stay the real ones
        if batch < 1:
            return real(model, batch)
        return [Gemm("fc", p, m=batch, k=512, n=1000) for p in ("forward", "data_grad")] + [
            Gemm("fc", "weight_grad", m=512, k=batch, n=1000)
        ]

    monkeypatch.setattr(system.workloads, "training_step", step)


def test_json_object_with_both_accelerators_and_breakdowns_that_sum(capsys, hand_chip):
    code, out, err = run(capsys, "arch", "--model", "resnet18", "--batch", "32", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["scenario"] == "iso-energy"
    for side in ("mirage", "systolic"):
        assert KEYS <= set(r[side])
        total = math.fsum(r[side]["energy_breakdown_j"].values())
        assert abs(total - r[side]["energy_j"]) <= 1e-9 * r[side]["energy_j"]
    assert r["speedup"] == pytest.approx(r["systolic"]["time_s"] / r["mirage"]["time_s"])
    assert r["edp_ratio"] == pytest.approx(r["systolic"]["edp_js"] / r["mirage"]["edp_js"])
    assert r["power_ratio"] == pytest.approx(r["systolic"]["power_w"] / r["mirage"]["power_w"])


def test_text_and_plot(capsys, hand_chip, tmp_path):
    plot = tmp_path / "arch.png"
    code, out, err = run(capsys, "arch", "--model", "resnet18", "--scenario", "iso-area", "--plot", str(plot))
    assert code == 0, err
    assert "iso-area" in out and "speedup" in out and plot.stat().st_size > 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "alexnet"], "model must be one of resnet18"),
        (["--model", "resnet18", "--batch", "0"], "batch must be a positive integer"),
        (["--model", "resnet18", "--batch", "-4"], "batch must be a positive integer"),
        (["--model", "resnet18", "--scenario", "iso-power"], "scenario must be one of iso-energy, iso-area"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, hand_chip, argv, message):
    code, out, err = run(capsys, "arch", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_a_scenario_with_no_baseline_is_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(system.accelerator, "chip_figures", lambda config: small_chip())  # 2.3 W: no array
    monkeypatch.setattr(system.workloads, "training_step", lambda model, batch: [Gemm("fc", "forward", 8, 8, 8)])
    code, out, err = run(capsys, "arch", "--model", "resnet18")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no baseline fits" in err


@pytest.mark.slow
def test_default_chip_resnet18_batch_32(capsys):
    code, out, err = run(capsys, "arch", "--model", "resnet18", "--batch", "32", "--json")
    assert code == 0, err
    r = json.loads(out)
    for side in ("mirage", "systolic"):
        assert KEYS <= set(r[side])
        assert (
            abs(math.fsum(r[side]["energy_breakdown_j"].values()) - r[side]["energy_j"]) <= 1e-9 * r[side]["energy_j"]
        )
    assert r["mirage"]["macs"] == r["systolic"]["macs"] > 1e11


@pytest.mark.slow
def test_table_of_every_model_and_the_tornado(capsys, tmp_path):
    out_md, plot = tmp_path / "table.md", tmp_path / "tornado.png"
    code, out, err = run(capsys, "arch-table", "--out", str(out_md), "--plot", str(plot), "--batch", "8")
    assert code == 0, err
    text = out_md.read_text()
    for model in ("resnet18", "resnet50", "vgg16", "mobilenet_v2", "bert_base"):
        assert text.count(f"| {model} |") == 2
    assert "(paper 23.8x)" in text and "(paper 42.8x)" in text and plot.stat().st_size > 0
