"""Energy per MAC: hand-computed default numbers, linearity in repeats, the matched repeat count."""

import dataclasses

import pytest

from mvm.config import ChipConfig, RnsConfig, TileConfig
from mvm.energy import (
    EnergyModel,
    analog_energy_per_mac_pj,
    energy_report,
    matched_repeats,
    rns_energy_per_mac_pj,
)
from photonics.laser import Laser

# Mirage's figures (docs/physics/energy.md): 10 GHz clock, TX 68 mW, ADC 11.5 mW, TIA 0.75 mW, wall-plug 20 %; 10 mW laser,
# h = 16 MMUs per row, R = 16 rows sharing each input DAC, weights reused over 128 readouts.
TX_PJ, ADC_PJ, TIA_PJ = 68 / 10, 11.5 / 10, 0.75 / 10
LASER_PJ = 10 / 0.2 / 10
H, ROWS, REUSE = 16, 16, 128


def config_of(**sections) -> ChipConfig:
    return dataclasses.replace(ChipConfig(), **sections)  # checked like a file


def rns_reference(input_dacs_per_mmu=(1, 1, 1)):
    per_readout = sum(
        2 * ADC_PJ + 2 * TIA_PJ + LASER_PJ + H * d * TX_PJ / ROWS + H * TX_PJ / REUSE for d in input_dacs_per_mmu
    )
    return per_readout / H


def analog_reference(repeats):
    return (repeats * (ADC_PJ + TIA_PJ + LASER_PJ + H * TX_PJ / ROWS) + H * TX_PJ / REUSE) / H


def test_default_numbers_by_hand():
    cfg = config_of()
    assert rns_energy_per_mac_pj(cfg) == pytest.approx(2.83125, rel=1e-12)
    assert rns_energy_per_mac_pj(cfg) == pytest.approx(rns_reference(), rel=1e-12)
    assert analog_energy_per_mac_pj(cfg) == pytest.approx(0.8671875, rel=1e-12)
    for k in (1, 2, 5):
        assert analog_energy_per_mac_pj(cfg, k) == pytest.approx(analog_reference(k), rel=1e-12)
    assert matched_repeats(cfg) == 3  # 2.495 <= 2.831 < 3.309 pJ


def test_modular_drive_needs_one_dac_per_segment():
    cfg = config_of(tile=TileConfig(encoding="modular-drive"))
    # segments ceil(log2 m): 5, 5, 6 for 31, 32, 33
    assert rns_energy_per_mac_pj(cfg) == pytest.approx(rns_reference((5, 5, 6)), rel=1e-12)
    assert analog_energy_per_mac_pj(cfg) == pytest.approx(analog_reference(1), rel=1e-12)


def test_redundant_moduli_add_their_own_tiles():
    base = config_of()
    extra = config_of(rns=RnsConfig(redundant_moduli=(37, 41)))
    assert rns_energy_per_mac_pj(extra) == pytest.approx(rns_energy_per_mac_pj(base) * 5 / 3, rel=1e-12)


def test_model_overrides():
    cfg = config_of()
    model = EnergyModel(dac_fanout=1, weight_reuse=1, clock_ghz=5.0)
    per_readout_pj = (2 * 11.5 + 2 * 0.75 + 50 + H * 68 + H * 68) / 5  # pJ at 5 GHz is mW / 5
    assert rns_energy_per_mac_pj(cfg, model) == pytest.approx(3 * per_readout_pj / H, rel=1e-12)


def test_the_clock_comes_from_the_chip_file_unless_the_model_sets_one():
    """Every part is power / clock: halving [tile] clock_ghz doubles every figure; a model's clock wins."""
    slow = config_of(tile=TileConfig(clock_ghz=5.0))
    assert TileConfig().clock_ghz == 10.0 and EnergyModel().clock_ghz is None
    assert rns_energy_per_mac_pj(slow) == pytest.approx(2 * rns_energy_per_mac_pj(config_of()), rel=1e-12)
    assert analog_energy_per_mac_pj(slow, 3) == pytest.approx(2 * analog_energy_per_mac_pj(config_of(), 3), rel=1e-12)
    assert rns_energy_per_mac_pj(slow, EnergyModel(clock_ghz=10.0)) == rns_energy_per_mac_pj(config_of())
    assert energy_report(slow)["model"]["clock_ghz"] == 5.0
    with pytest.raises(ValueError, match="clock_ghz"):
        TileConfig(clock_ghz=0.0)


@pytest.mark.parametrize("model", [EnergyModel(), EnergyModel(weight_reuse=1), EnergyModel(dac_fanout=4)])
def test_analog_energy_is_affine_in_repeats(model):
    cfg = config_of()
    e1, e2 = analog_energy_per_mac_pj(cfg, 1, model), analog_energy_per_mac_pj(cfg, 2, model)
    for k in range(1, 12):
        assert analog_energy_per_mac_pj(cfg, k, model) == pytest.approx(e1 + (k - 1) * (e2 - e1), rel=1e-12)
    weights = H * TX_PJ / model.weight_reuse / H
    assert e2 - e1 == pytest.approx(e1 - weights, rel=1e-12)  # every part but the weight load repeats


@pytest.mark.parametrize(
    "sections, model",
    [
        ({}, EnergyModel()),
        ({"laser": Laser(power_mw=1.0)}, EnergyModel()),
        ({"laser": Laser(power_mw=100.0)}, EnergyModel()),
        ({"tile": TileConfig(encoding="modular-drive")}, EnergyModel()),
        ({"rns": RnsConfig(redundant_moduli=(37, 41))}, EnergyModel(adc_power_mw=50.0)),
        ({}, EnergyModel(tx_power_mw=0.0, weight_reuse=1)),
        ({}, EnergyModel(adc_power_mw=500.0)),
    ],
)
def test_matched_repeats_brackets_the_rns_energy(sections, model):
    cfg = config_of(**sections)
    k = matched_repeats(cfg, model)
    rns = rns_energy_per_mac_pj(cfg, model)
    assert k >= 1
    assert analog_energy_per_mac_pj(cfg, k + 1, model) > rns
    if k > 1:
        assert analog_energy_per_mac_pj(cfg, k, model) <= rns


def test_energy_report_is_consistent():
    cfg = config_of()
    report = energy_report(cfg)
    assert report["matched_repeats"] == 3
    assert report["rns_pj_per_mac"]["total"] == pytest.approx(
        sum(v for n, v in report["rns_pj_per_mac"].items() if n != "total")
    )
    assert report["analog_matched_pj_per_mac"]["total"] == pytest.approx(analog_energy_per_mac_pj(cfg, 3))
    assert report["model"]["dac_fanout"] == ROWS


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"weight_reuse": 0}, "weight_reuse"),
        ({"dac_fanout": 0}, "dac_fanout"),
        ({"clock_ghz": 0.0}, "clock_ghz"),
        ({"adc_power_mw": -1.0}, "adc_power_mw"),
    ],
)
def test_bad_model_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        EnergyModel(**kwargs)


def test_bad_repeats_raise():
    with pytest.raises(ValueError, match="repeats"):
        analog_energy_per_mac_pj(config_of(), 0)
