"""Energy per MAC: hand-computed default numbers, linearity in repeats, the matched repeat count."""

import dataclasses

import pytest

from mvm.config import ChipConfig, RnsConfig, TileConfig
from mvm.energy import (
    EnergyModel,
    analog_energy_per_mac_pj,
    energy_report,
    matched_repeats,
    rns_breakdown_pj_per_mac,
    rns_energy_per_mac_pj,
)
from photonics.laser import Laser

# Mirage's figures (docs/physics/energy.md): 10 GHz clock, TX 68 mW, ADC 11.5 mW, TIA 0.75 mW, wall-plug 20 %; 10 mW laser
# past a 1.7 dB edge coupler, h = 16 MMUs per row, R = 16 rows sharing each input DAC, weights reused over 128 readouts.
TX_PJ, ADC_PJ, TIA_PJ = 68 / 10, 11.5 / 10, 0.75 / 10
LASER_PJ = 10 / 10 ** (-1.7 / 10) / 0.2 / 10
H, ROWS, REUSE = 16, 16, 128


def config_of(**sections) -> ChipConfig:
    return dataclasses.replace(ChipConfig(), **sections)  # checked like a file


def electrode_pj_by_hand(cfg: ChipConfig, m: int) -> float:
    """One MMU's drive energy per symbol: C' * (its electrode length) * V_gap**2 / 4 (lumped or segmented), the gap
    swinging by one driver's swing, or two (differential: two antiphase drivers)."""
    mmu = cfg.mdpu_design(m).mmu
    c_pf = cfg.electrode.capacitance_pf_per_cm * mmu.segment_lengths_um().sum() * 1e-4
    gap_v = cfg.tile.drive_max_v * (2 if cfg.tile.drive == "differential" else 1)
    return c_pf * gap_v**2 / 4


def static_pj_by_hand(cfg: ChipConfig, clock_ghz: float = 10.0) -> float:
    """Heaters and trim DACs per MAC: each modulus's row spends 1.5 P_pi (LO bias at its mean P_pi, the quarter-wave
    heater at P_pi/2) and, with per-MMU trims, h DACs of 0.13 mW, over h MACs per cycle."""
    p_pi, h = cfg.heater.p_pi_mw, cfg.tile.h
    per_row_mw = 1.5 * p_pi + (
        h * cfg.actuators.trim_dac_power_uw * 1e-3 if cfg.actuators.drive_trim == "per-mmu" else 0
    )
    return len(cfg.all_moduli) * per_row_mw / clock_ghz / h


def rns_reference(cfg: ChipConfig, input_dacs_per_mmu=(1, 1, 1)):
    per_readout = sum(
        2 * ADC_PJ + 2 * TIA_PJ + LASER_PJ + H * d * TX_PJ / ROWS + H * TX_PJ / REUSE + H * electrode_pj_by_hand(cfg, m)
        for d, m in zip(input_dacs_per_mmu, cfg.all_moduli, strict=True)
    )
    return per_readout / H + static_pj_by_hand(cfg)


def analog_reference(repeats):
    return (repeats * (ADC_PJ + TIA_PJ + LASER_PJ + H * TX_PJ / ROWS) + H * TX_PJ / REUSE) / H


def test_default_numbers_by_hand():
    cfg = config_of(tile=TileConfig(encoding="binary-length", electrode="lumped"))
    assert rns_energy_per_mac_pj(cfg) == pytest.approx(rns_reference(cfg), rel=1e-12)
    for k in (1, 2, 5):
        assert analog_energy_per_mac_pj(cfg, k) == pytest.approx(analog_reference(k), rel=1e-12)


def test_modular_drive_needs_one_dac_per_segment():
    cfg = config_of(tile=TileConfig(encoding="modular-drive", electrode="lumped"))
    # segments ceil(log2 m): 5, 5, 6 for 31, 32, 33
    assert rns_energy_per_mac_pj(cfg) == pytest.approx(rns_reference(cfg, (5, 5, 6)), rel=1e-12)
    assert analog_energy_per_mac_pj(cfg) == pytest.approx(analog_reference(1), rel=1e-12)


def test_digital_product_has_no_dac_and_pays_its_cmos_product():
    cfg = config_of(tile=TileConfig(encoding="digital-product", electrode="segmented"))
    parts = rns_breakdown_pj_per_mac(cfg)
    assert parts["input_dac"] == 0
    # 2 * 0.2 pJ * (B/8)**2 per MAC and modulus: B = 5, 5, 6
    assert parts["product_logic"] == pytest.approx(0.4 * (2 * (5 / 8) ** 2 + (6 / 8) ** 2), rel=1e-12)
    # segmented sections sum to the whole electrode: C' * L * V**2 / 4, whatever the section length
    assert parts["electrode_drive"] == pytest.approx(
        sum(electrode_pj_by_hand(cfg, m) for m in cfg.all_moduli), rel=1e-9
    )
    assert parts["total"] == pytest.approx(sum(v for n, v in parts.items() if n != "total"), rel=1e-12)


def test_a_laser_power_per_modulus_replaces_the_files():
    cfg = config_of()
    base = rns_breakdown_pj_per_mac(cfg)
    given = rns_breakdown_pj_per_mac(cfg, laser_power_mw={31: 1.0, 32: 2.0})
    by_hand = (1.0 + 2.0) / 0.2 / 10 / H + LASER_PJ / H  # m = 33 keeps the file's power
    assert given["laser"] == pytest.approx(by_hand, rel=1e-12)
    assert {n: v for n, v in given.items() if n not in ("laser", "total")} == {
        n: v for n, v in base.items() if n not in ("laser", "total")
    }


def test_redundant_moduli_add_their_own_tiles():
    old = TileConfig(encoding="binary-length", electrode="lumped")  # one input DAC per MMU
    base = config_of(tile=old)
    extra = config_of(tile=old, rns=RnsConfig(redundant_moduli=(37, 41)))
    assert rns_energy_per_mac_pj(extra) == pytest.approx(rns_reference(extra, (1,) * 5), rel=1e-12)
    assert rns_energy_per_mac_pj(extra) > rns_energy_per_mac_pj(base) * 5 / 3  # the larger moduli need longer MMUs


def test_model_overrides():
    cfg = config_of(tile=TileConfig(encoding="binary-length", electrode="lumped"))
    model = EnergyModel(dac_fanout=1, weight_reuse=1, clock_ghz=5.0)
    per_readout_pj = (2 * 11.5 + 2 * 0.75 + LASER_PJ * 10 + H * 68 + H * 68) / 5  # pJ at 5 GHz is mW / 5
    electrodes = sum(electrode_pj_by_hand(cfg, m) for m in cfg.all_moduli)  # C*V**2/4: no clock in it
    assert rns_energy_per_mac_pj(cfg, model) == pytest.approx(
        3 * per_readout_pj / H + electrodes + static_pj_by_hand(cfg, 5.0), rel=1e-12
    )


def test_the_clock_comes_from_the_chip_file_unless_the_model_sets_one():
    """Every power-over-clock part doubles when [tile] clock_ghz halves (the charge a lumped electrode or a CMOS
    product takes per symbol does not); a model's clock wins."""
    slow = config_of(tile=TileConfig(clock_ghz=5.0))
    assert TileConfig().clock_ghz == 10.0 and EnergyModel().clock_ghz is None
    per_symbol = ("electrode_drive", "product_logic", "total")
    fast_parts, slow_parts = rns_breakdown_pj_per_mac(config_of()), rns_breakdown_pj_per_mac(slow)
    for name in set(fast_parts) - set(per_symbol):
        assert slow_parts[name] == pytest.approx(2 * fast_parts[name], rel=1e-12)
    for name in per_symbol[:2]:
        assert slow_parts[name] == pytest.approx(fast_parts[name], rel=1e-12)
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
    k = report["matched_repeats"]
    assert analog_energy_per_mac_pj(cfg, k) <= report["rns_pj_per_mac"]["total"] < analog_energy_per_mac_pj(cfg, k + 1)
    assert report["rns_pj_per_mac"]["total"] == pytest.approx(
        sum(v for n, v in report["rns_pj_per_mac"].items() if n != "total")
    )
    assert report["analog_matched_pj_per_mac"]["total"] == pytest.approx(analog_energy_per_mac_pj(cfg, k))
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
