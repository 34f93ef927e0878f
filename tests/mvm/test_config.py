"""Chip configuration: the documented default file round-trips, and every bad file is one line naming the key."""

import dataclasses
import tomllib

import numpy as np
import pytest

from circuits.compiled import compile_mdpu
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign, default_ring
from circuits.readout import ranged_detector, read
from mirage.cli import main
from mvm.config import BfpConfig, ChipConfig, NoiseConfig, TileConfig, config_from_dict, default_toml, load_config
from photonics.electrode import Electrode
from photonics.errors import UsageError
from photonics.heater import Heater
from photonics.laser import Laser
from photonics.phase_shifter_eo import PhaseShifterEO
from photonics.photodetector import Photodetector, adc_lsb_a
from tests.helpers import folded_path_um

DEFAULT = tomllib.loads(default_toml())


def _tables(data: dict, prefix: str = "") -> list[str]:
    """Every table of a parsed TOML file, as dotted paths."""
    out = []
    for name, value in data.items():
        if isinstance(value, dict):
            path = f"{prefix}{name}"
            out += [path, *_tables(value, path + ".")]
    return out


def _with(data: dict, path: str, key: str, value) -> dict:
    """``data`` with ``key = value`` set in the table at dotted ``path``."""
    out = dict(data)
    table, *rest = path.split(".")
    out[table] = _with(out.get(table, {}), ".".join(rest), key, value) if rest else {**out.get(table, {}), key: value}
    return out


def refused(data: dict) -> str:
    with pytest.raises(UsageError) as info:
        config_from_dict(data, "config chip.toml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_default_toml_loads_back_to_the_default(tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text(default_toml())
    assert load_config(path) == ChipConfig()
    assert load_config(None) == ChipConfig()


def test_default_file_documents_every_key():
    lines = [line for line in default_toml().splitlines() if " = " in line]
    assert lines and all(" # " in line for line in lines)


def test_sections_override_defaults():
    cfg = config_from_dict(
        {
            "rns": {"moduli": [63, 64, 65], "redundant_moduli": [67, 71]},
            "bfp": {"mantissa_bits": 7},
            "tile": {"h": 16, "rows": 8, "element": "ring-assisted"},
            "laser": {"power_mw": 2.5},
            "devices": {"heater": {"p_pi_mw": 25.0}},
        }
    )
    assert cfg.all_moduli == (63, 64, 65, 67, 71)
    assert cfg.laser.power_mw == 2.5 and cfg.heater.p_pi_mw == 25.0
    assert cfg.mdpu_design(63).mmu.element == "ring-assisted"


def test_a_device_table_overrides_only_its_keys():
    ring = config_from_dict({"devices": {"ring": {"kappa": 0.5}}}).ring
    assert ring == dataclasses.replace(default_ring(), kappa=0.5)  # the rest stays the chip's ring, not the class's


def test_phase_shifter_loss_reaches_every_mmu():
    from circuits.compiled import compile_mdpu

    lossy = config_from_dict({"devices": {"phase_shifter_eo": {"loss_db_cm": 1.0}}})
    eo = lossy.mdpu_design(31).mmu.eo
    assert eo.loss_db_cm == 1.0
    # the zero-input transmission of one MMU's segments falls by the extra 0.75 dB/cm over their optical path:
    # each segment's electrode folded into an even number of sections <= section_max_um, a half-turn of radius r each
    path_cm = folded_path_um(ChipConfig().mdpu_design(31).mmu.segment_lengths_um(), eo).sum() * 1e-4
    t = [abs(compile_mdpu(c.mdpu_design(31)).segment_t[0, :, 0].prod()) for c in (ChipConfig(), lossy)]
    assert 20 * np.log10(t[0] / t[1]) == pytest.approx((1.0 - ChipConfig().phase_shifter_eo.loss_db_cm) * path_cm)
    # and the file says so
    line = next(line for line in default_toml().splitlines() if line.startswith("loss_db_cm = "))
    assert "propagation loss of the LN ridge" in line


def test_the_lasers_wavelength_reaches_every_solve():
    """[laser] wl_um is the wavelength the MDPU is solved at: 0.1 nm off the design wavelength, each segment's
    transmission turns by its group delay, -2 pi n_g L d(wl) / wl^2 over its folded optical path."""
    shifted = config_from_dict({"laser": {"wl_um": 1.5501}})
    design, nominal = shifted.mdpu_design(31), ChipConfig().mdpu_design(31)
    assert design.wl_um == 1.5501 and nominal.wl_um == Laser().wl_um == 1.55
    eo = nominal.mmu.eo
    path_um = folded_path_um(nominal.mmu.segment_lengths_um(), eo)
    predicted = -2 * np.pi * eo.ng * path_um * 1e-4 / 1.55**2
    t0, t1 = (compile_mdpu(d).segment_t[0, :, 0] for d in (nominal, design))  # MMU 0's segments at level 0
    np.testing.assert_allclose(np.exp(1j * np.angle(t1 / t0)), np.exp(1j * predicted), atol=1e-3)
    assert np.abs(predicted).min() > 0.1  # a turn the test can see


@pytest.mark.parametrize(
    "section, params, default",
    [
        ("laser", Laser, Laser()),
        ("detector", Photodetector, Photodetector()),
        ("devices.phase_shifter_eo", PhaseShifterEO, PhaseShifterEO()),
        ("devices.heater", Heater, Heater()),
        ("devices.ring", type(default_ring()), default_ring()),
        ("devices.electrode", Electrode, Electrode()),
    ],
)
def test_device_tables_are_the_params_dataclasses(section, params, default):
    table = DEFAULT
    for part in section.split("."):
        table = table[part]
    assert tuple(table) == params.names()
    assert table == pytest.approx(default.settings())


def test_defaults_come_from_the_circuit_designs():
    tile = TileConfig()
    assert tile.h == MdpuDesign().h
    assert (tile.encoding, tile.element, tile.drive_max_v) == (
        MmuDesign().encoding,
        MmuDesign().element,
        MmuDesign().drive_max_v,
    )


@pytest.mark.parametrize("table", _tables(DEFAULT))
def test_an_unknown_key_in_every_table_is_refused(table):
    message = refused(_with(DEFAULT, table, "hh", 3))
    assert message.startswith(f"config chip.toml: [{table}] hh: unknown key; allowed: ")


def test_a_replaced_key_names_what_replaced_it():
    """An earlier chip file's [noise] drive_noise_mv_rms (a fixed rms) is now a density: the line says so, and the
    density it gives reads back as the old default's 1 mV."""
    message = refused({"noise": {"drive_noise_mv_rms": 1.0}})
    assert message.startswith(
        "config chip.toml: [noise] drive_noise_mv_rms: unknown key, replaced by drive_noise_nv_rthz"
    )
    density = float(message.split("a noise density: ")[1].split(" nV/rtHz")[0])
    rms_mv = ChipConfig(noise=NoiseConfig(drive_noise_nv_rthz=density)).readout().drive_noise_mv_rms
    assert rms_mv == pytest.approx(1.0, rel=5e-3)  # the hint's three digits


def test_unknown_sections_are_refused():
    assert refused({"chip": {}}) == (
        "config chip.toml: [chip]: unknown section; allowed: rns, bfp, tile, laser, detector, noise, design, devices,"
        " actuators, variation, spec, calibration"
    )
    assert refused({"devices": {"laser": {}}}) == (
        "config chip.toml: [devices.laser]: unknown section; allowed: phase_shifter_eo, heater, ring, electrode,"
        " edge_coupler"
    )


def test_the_calibration_layers_sections_are_let_through():
    assert config_from_dict({"variation": {"scale": 0.5}, "calibration": {"repeats": 4}}) == ChipConfig()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"tile": {"h": -3}}, "[tile] h: must be >= 1, got -3"),
        ({"tile": {"h": 2.5}}, "[tile] h: must be an integer, got 2.5"),
        ({"tile": {"h": 4.0}}, "[tile] h: must be an integer, got 4.0"),
        ({"tile": {"h": "3"}}, '[tile] h: must be an integer, got "3"'),
        ({"tile": {"h": True}}, "[tile] h: must be an integer, got true"),
        ({"tile": {"drive_max_v": True}}, "[tile] drive_max_v: must be a number, got true"),
        ({"tile": {"drive_max_v": 0}}, "[tile] drive_max_v: must be > 0, got 0"),
        ({"tile": 3}, "[tile]: must be a table, got 3"),
        (
            {"tile": {"encoding": "unary"}},
            '[tile] encoding: must be one of binary-length, modular-drive, digital-product, got "unary"',
        ),
        ({"bfp": {"mantissa_bits": 1}}, "[bfp] mantissa_bits: must be >= 2, got 1"),
        ({"bfp": {"rounding": "up"}}, '[bfp] rounding: must be one of nearest, stochastic, got "up"'),
        ({"rns": {"moduli": [30, 32, 33]}}, "[rns] moduli: must be pairwise coprime: 30 and 32 share the factor 2"),
        ({"rns": {"moduli": "31"}}, '[rns] moduli: must be a list, got "31"'),
        ({"rns": {"moduli": [31, 32.0]}}, "[rns] moduli[1]: must be an integer, got 32.0"),
        ({"tile": {"h": 40}}, "[tile] h: h = 40 could overflow moduli (31, 32, 33)"),
        ({"bfp": {"group": 24}}, "[bfp] group: must be 0 (equal to tile.h) or a multiple of tile.h = 16, got 24"),
        ({"noise": {"enabled": "yes"}}, '[noise] enabled: must be true or false, got "yes"'),
        ({"noise": {"skip_probability": 0.1}}, "[noise] skip_probability: must be < 1e-06, got 0.1"),
        ({"laser": {"power_mw": -1}}, "[laser] power_mw: must be >= 0 mW (got -1)"),
        ({"laser": {"power_mw": False}}, "[laser] power_mw: must be a number, got false"),
        ({"detector": {"adc_bits": 8.0}}, "[detector] adc_bits: must be an integer, got 8.0"),
        ({"detector": {"adc_bits": 30}}, "[detector] adc_bits: must be <= 24 bit (got 30)"),
        ({"devices": {"ring": {"kappa": 2}}}, "[devices.ring] kappa: must be <= 1 (got 2)"),
        ({"devices": {"heater": {"p_pi_mw": "a"}}}, '[devices.heater] p_pi_mw: must be a number, got "a"'),
    ],
)
def test_bad_values_are_one_line_naming_the_key(data, message):
    assert refused(data).startswith(f"config chip.toml: {message}")


def test_configs_built_in_code_are_checked_too():
    with pytest.raises(UsageError, match="^TileConfig: h: must be >= 1, got 0$"):
        TileConfig(h=0)
    with pytest.raises(UsageError, match=r"^ChipConfig: \[bfp\] group: must be 0 .* got 24$"):
        dataclasses.replace(ChipConfig(), bfp=BfpConfig(group=24))
    assert dataclasses.replace(ChipConfig(), tile=TileConfig(h=8)).group == 8


def test_bad_files(tmp_path):
    with pytest.raises(UsageError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[tile\nh = 3")
    with pytest.raises(UsageError, match="is not valid TOML"):
        load_config(bad)
    bad.write_text("[tile]\nh = -3\n")
    with pytest.raises(UsageError, match=rf"^config {bad}: \[tile\] h: must be >= 1, got -3$"):
        load_config(bad)


@pytest.mark.parametrize("toml", ["[tile]\nhh = 3\n", "[tile]\nh = 2.5\n", "[laser]\npower_mw = -1\n", "[nope]\n"])
def test_cli_refuses_a_bad_file_with_one_line(capsys, tmp_path, toml):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    assert main(["config", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"mirage: error: config {path}: [")


@pytest.mark.parametrize("text", ["[design]\nmax_area_mm2 = inf\n", "[laser]\nlinewidth_khz = nan\n"])
def test_infinite_or_nan_values_are_refused(tmp_path, text):
    path = tmp_path / "chip.toml"
    path.write_text(text)
    with pytest.raises(UsageError):
        load_config(path)


def test_an_absurd_rf_loss_is_refused_not_a_traceback(tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text("[devices.electrode]\nrf_loss_db_cm_rtghz = 1e300\n")
    with pytest.raises(UsageError, match=r"rf_loss_db_cm_rtghz: must be <= 100"):
        load_config(path)


@pytest.mark.parametrize("headroom", [1.0, 1.25, 2.0])
def test_the_chip_files_adc_headroom_sets_the_largest_code(headroom):
    """``[detector] adc_headroom`` H puts the ADC's full scale at H times the largest signal excursion: read
    without noise around the whole circle, the largest |code| of I and Q is the full scale's 2**(bits-1) codes
    over H (to within the rounding and the m phases' sampling of the circle)."""
    config = config_from_dict({"detector": {"adc_headroom": headroom}})
    readout = config.readout(noise=False).with_laser_power(1.0)
    assert readout.adc_headroom == headroom
    compiled = compile_mdpu(config.mdpu_design(31))
    m, h = compiled.design.modulus, compiled.design.h
    w = np.zeros((m, h), dtype=np.int64)
    w[:, 0] = np.arange(m)  # MMU 0 at every product x * w = p: the phase around the circle
    x = np.ones_like(w)
    got = read(compiled, compiled.detector_fields(x, w), readout)
    lsb = adc_lsb_a(ranged_detector(compiled, readout))
    largest = np.abs(np.concatenate([got.i_a, got.q_a])).max() / lsb
    half = 2 ** (readout.detector.adc_bits - 1)
    assert np.cos(np.pi / m) * half / headroom - 1 <= largest <= min(half / headroom + 0.5, half)
