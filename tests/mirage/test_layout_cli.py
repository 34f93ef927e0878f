"""`mirage layout`: the GDS, the JSON sidecar, --json fields, --config, and one-line errors."""

import json

import klayout.db as kdb
import pytest

from tests.mirage.test_cli import run


def layout_json(capsys, *argv):
    code, out, err = run(capsys, "layout", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_json_summary_and_sidecar(capsys, tmp_path):
    gds = tmp_path / "out" / "tile.gds"
    r = layout_json(capsys, "--rows", "2", "--h", "3", "--moduli", "31,32", "--out", str(gds))
    assert {"gds", "cells", "instances", "width_um", "height_um"} <= set(r)
    assert r["gds"] == str(gds) and r["moduli"] == [31, 32] and r["rows"] == 2 and r["h"] == 3
    assert r["instances"] == 2 * ((3 * 6 + 12) + (3 * 6 + 12))
    layout = kdb.Layout()
    layout.read(str(gds))
    assert layout.cells() == r["cells"]
    assert layout.top_cell().dbbox().width() == pytest.approx(r["width_um"], abs=1e-3)
    assert layout.top_cell().dbbox().height() == pytest.approx(r["height_um"], abs=1e-3)
    sidecar = json.loads(gds.with_suffix(".json").read_text())
    assert len(sidecar["devices"]) == r["instances"]
    seg = next(
        d
        for d in sidecar["devices"]
        if d["role"] == "segment" and (d["modulus"], d["row"], d["j"], d["b"]) == (32, 1, 2, 4)
    )
    assert seg["cell"] == "phase_shifter_eo" and seg["name"] == "m32/r1/mmu2/seg4"
    assert isinstance(seg["x_um"], float) and isinstance(seg["y_um"], float)
    detectors = [d for d in sidecar["devices"] if d["role"] == "detector"]
    assert len(detectors) == 2 * 2 * 4 and all(d["j"] is None and d["b"] is None for d in detectors)


def test_text_summary(capsys, tmp_path):
    code, out, _ = run(capsys, "layout", "--rows", "1", "--h", "1", "--moduli", "7", "--out", str(tmp_path / "t.gds"))
    assert code == 0
    assert "1 rows x 1 MMUs per modulus, moduli 7" in out and "device instances" in out and "t.json" in out


def test_moduli_and_design_come_from_the_config(capsys, tmp_path):
    chip = tmp_path / "chip.toml"
    chip.write_text('[rns]\nmoduli = [5, 7]\n\n[bfp]\nmantissa_bits = 2\n\n[tile]\nh = 4\nencoding = "modular-drive"\n')
    r = layout_json(capsys, "--config", str(chip), "--rows", "1", "--h", "2", "--out", str(tmp_path / "t.gds"))
    assert r["moduli"] == [5, 7] and r["h"] == 2
    devices = json.loads((tmp_path / "t.json").read_text())["devices"]
    segs = [d for d in devices if d["role"] == "segment" and d["modulus"] == 7]
    assert len(segs) == 2 * 3
    assert len({d["gds_cell"] for d in segs}) == 1  # modular drive: equal segments, one cell


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--rows", "0", "--h", "2"], "--rows must be at least 1 (got 0)"),
        (["--rows", "1", "--h", "-1"], "--h must be at least 1 (got -1)"),
        (["--rows", "1", "--h", "1", "--moduli", "6,9"], "pairwise coprime: 6 and 9 share the factor 3"),
        (["--rows", "1", "--h", "1", "--moduli", "31,x"], "--moduli must be a comma-separated list of integers"),
        (["--rows", "1", "--h", "1", "--moduli", "1,31"], "moduli must be integers >= 2"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(capsys, tmp_path, argv, message):
    code, out, err = run(capsys, "layout", *argv, "--out", str(tmp_path / "t.gds"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "t.gds").exists()


def test_out_must_be_a_gds_file_and_is_required(capsys, tmp_path):
    code, _, err = run(capsys, "layout", "--rows", "1", "--h", "1", "--out", str(tmp_path / "t.json"))
    assert code == 2 and "must end in .gds" in err and err.count("\n") == 1
    code, _, err = run(capsys, "layout", "--rows", "1", "--h", "1")
    assert code == 2 and "--out" in err and err.count("\n") == 1
