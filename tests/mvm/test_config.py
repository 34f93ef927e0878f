"""Chip configuration: TOML round trip, and one-line errors naming the key."""

import numpy as np
import pytest

from mvm.config import ChipConfig, config_from_dict, default_toml, load_config


def test_default_toml_loads_back_to_the_default(tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text(default_toml())
    assert load_config(path) == ChipConfig()


def test_sections_override_defaults():
    cfg = config_from_dict({
        "rns": {"moduli": [63, 64, 65], "redundant_moduli": [67, 71]},
        "bfp": {"mantissa_bits": 7},
        "tile": {"h": 16, "rows": 8, "element": "ring-assisted"},
        "laser": {"power_mw": 2.5},
        "devices": {"heater": {"p_pi_mw": 25.0}},
    })
    assert cfg.all_moduli == (63, 64, 65, 67, 71)
    assert cfg.laser.power_mw == 2.5 and cfg.heater.p_pi_mw == 25.0
    assert cfg.mdpu_design(63).mmu.element == "ring-assisted"


def test_phase_shifter_loss_reaches_every_mmu():
    from circuits.compiled import compile_mdpu

    lossy = config_from_dict({"devices": {"phase_shifter_eo": {"loss_db": 3.0}}})
    assert lossy.mdpu_design(31).mmu.loss_db == 3.0
    # the zero-input transmission of one MMU's segments falls by the extra 3 - 0.91 dB
    t = [abs(compile_mdpu(c.mdpu_design(31)).segment_t[0, :, 0].prod()) for c in (ChipConfig(), lossy)]
    assert 20 * np.log10(t[0] / t[1]) == pytest.approx(3.0 - 0.91, rel=1e-6)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"tile": {"foo": 1}}, "unknown key 'tile.foo'; allowed: h, rows"),
        ({"chip": {}}, "unknown section 'chip'"),
        ({"tile": {"h": 0}}, "tile.h must be an integer >= 1"),
        ({"tile": {"h": 2.5}}, "tile.h must be an integer"),
        ({"tile": {"encoding": "unary"}}, "tile.encoding must be one of binary-length, modular-drive"),
        ({"rns": {"moduli": [30, 32, 33]}}, "rns: moduli must be pairwise coprime: 30 and 32"),
        ({"rns": {"moduli": "31"}}, "rns.moduli must be a list of integers"),
        ({"tile": {"h": 40}}, "the largest safe h is 17"),
        ({"bfp": {"group": 24}}, r"bfp.group must be 0 \(equal to tile.h\) or a multiple of tile.h = 16"),
        ({"laser": {"power_mw": -1}}, "laser.power_mw must be >= 0 mW"),
        ({"laser": {"colour": "red"}}, "unknown key 'laser.colour'"),
        ({"devices": {"ring": {"kappa": 2}}}, "devices.ring.kappa must be <= 1"),
        ({"devices": {"laser": {}}}, "unknown key 'devices.laser'"),
        ({"noise": {"enabled": "yes"}}, "noise.enabled must be true or false"),
    ],
)
def test_bad_configs_name_the_key(data, message):
    with pytest.raises(ValueError, match=message):
        config_from_dict(data)


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[tile\nh = 3")
    with pytest.raises(ValueError, match="is not valid TOML"):
        load_config(bad)
