"""The design report: its figures against hand formulas and the circuit functions, and its violations."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from circuits.compiled import compile_mdpu
from circuits.layout import layout_design
from circuits.link_budget import workload_residues
from circuits.readout import drive_phase_sigma_rad, phase_sigma_rad, predicted_error_rate
from mvm.config import ChipConfig, config_from_dict
from mvm.design import SOURCES, design_report, modulus_figures
from mvm.energy import rns_breakdown_pj_per_mac
from photonics import constants as k

SMALL = {"tile": {"h": 4, "rows": 2}}  # a chip small enough to report in a few seconds
TIGHT = {  # limits that the small default chip breaks: a 100 GHz clock, 1 mm^2, 0.01 mW per row
    "tile": {"clock_ghz": 100.0},
    "design": {"max_area_mm2": 1.0, "max_laser_power_mw_per_row": 0.01},
}
OLD = {  # the old default's design (examples/mirage_2023.toml) on the small chip
    "tile": {"encoding": "binary-length", "electrode": "lumped", "lo_path": "direct"},
    "devices": {"phase_shifter_eo": {"section_max_um": 5000.0}},
}
FIELDS = {
    "clock_ghz",
    "max_clock_ghz",
    "receiver_max_clock_ghz",
    "tile_area_mm2",
    "signal_arm_length_mm",
    "signal_arm_loss_db",
    "lo_delay_mismatch_ps",
    "drive_swing_v",
    "laser_power_mw_per_row",
    "predicted_residue_error_rate",
    "noise_rad",
    "energy_pj_per_mac",
    "violations",
    "moduli",
}


@pytest.fixture(scope="module")
def default_report():
    return design_report(ChipConfig())


def _small(extra: dict | None = None) -> ChipConfig:
    data = {section: dict(table) for section, table in SMALL.items()}
    for section, table in (extra or {}).items():
        data[section] = {**data.get(section, {}), **table}
    return config_from_dict(data)


def test_the_report_has_every_field(default_report):
    assert FIELDS <= set(default_report)
    assert set(default_report["noise_rad"]) == set(SOURCES)
    assert set(default_report["moduli"]) == {"31", "32", "33"}
    assert all(isinstance(v, str) and "\n" not in v for v in default_report["violations"])


def test_energy_total_is_the_sum_of_its_parts_and_the_electrodes_cost_cv2_over_4(default_report):
    config = ChipConfig()
    energy = default_report["energy_pj_per_mac"]
    parts = {name: v for name, v in energy.items() if name != "total"}
    assert energy["total"] == pytest.approx(sum(parts.values()), rel=1e-12)
    model = {name: v for name, v in rns_breakdown_pj_per_mac(config).items() if name != "total"}
    assert {name: v for name, v in parts.items() if name != "laser"} == pytest.approx(
        {name: v for name, v in model.items() if name != "laser"}
    )
    # the laser emits the link budget's power (the file's where none reaches the target), over the wall-plug efficiency
    emitted = [
        f["laser_power_mw_per_row"] or config.laser.power_mw / config.edge_coupler.transmission
        for f in default_report["moduli"].values()
    ]
    laser_pj = sum(p / config.laser.wall_plug_efficiency / config.tile.clock_ghz for p in emitted) / config.tile.h
    assert parts["laser"] == pytest.approx(laser_pj, rel=1e-12)
    # by hand: each MMU's electrodes, C' * (total segment length), charged to the full swing, C*V**2/4 per MAC
    by_hand = 0.0
    for m in config.all_moduli:
        mmu = config.mdpu_design(m).mmu
        c_pf = config.electrode.capacitance_pf_per_cm * mmu.segment_lengths_um().sum() * 1e-4
        gap_v = config.tile.drive_max_v * (2 if config.tile.drive == "differential" else 1)  # antiphase drivers
        by_hand += c_pf * gap_v**2 / 4
    assert parts["electrode_drive"] == pytest.approx(by_hand, rel=1e-9)


def test_segmented_max_clock_is_the_rc_bandwidth_of_the_longest_section(default_report):
    """Each section of a segmented electrode has its own driver: the slowest is the longest section's RC."""
    config = ChipConfig()
    assert config.tile.electrode == "segmented"
    eo = config.phase_shifter_eo
    slowest = math.inf
    for m in config.all_moduli:
        for length_um in config.mdpu_design(m).mmu.segment_lengths_um():
            sections = 2 * max(1, math.ceil(length_um / (2 * eo.section_max_um)))  # an even number, each <= the max
            c_farad = config.electrode.capacitance_pf_per_cm * 1e-12 * (length_um / sections) * 1e-4
            f3db_ghz = 1 / (2 * math.pi * config.electrode.source_impedance_ohm * c_farad) / 1e9
            slowest = min(slowest, f3db_ghz / k.BANDWIDTH_PER_BAUD)
    assert default_report["max_clock_ghz"] == pytest.approx(slowest, rel=1e-9)


def test_lumped_max_clock_is_the_rc_bandwidth_of_one_dac_driving_every_row():
    """The old default (examples/mirage_2023.toml): one input DAC per column charges every segment of R MMUs."""
    from mvm.config import load_config

    config = load_config(Path(__file__).parents[2] / "examples" / "mirage_2023.toml")
    slowest = math.inf
    for m in config.all_moduli:
        mmu = config.mdpu_design(m).mmu
        c_farad = config.electrode.capacitance_pf_per_cm * 1e-12 * mmu.segment_lengths_um().sum() * 1e-4
        f3db_ghz = 1 / (2 * math.pi * config.electrode.source_impedance_ohm * c_farad * config.tile.rows) / 1e9
        slowest = min(slowest, f3db_ghz / k.BANDWIDTH_PER_BAUD)
    assert modulus_figures(config, 33)["max_clock_ghz"] == pytest.approx(slowest, rel=1e-9)


def test_the_default_chip_meets_every_constraint_of_its_file(default_report):
    """The issue's sign-off: 10 GHz, one reticle, the drivers' swing, 1e-6 at <= 10 mW per row, every noise source on."""
    r = default_report
    assert r["violations"] == []
    assert r["clock_ghz"] == 10 and r["max_clock_ghz"] >= r["clock_ghz"]
    assert r["tile_area_mm2"] <= 858 and r["tile_area_mm2"] == pytest.approx(r["tile_width_mm"] * r["tile_height_mm"])
    assert r["drive_swing_v"] <= r["drive_max_v"] <= 4
    assert r["predicted_residue_error_rate"] <= 1e-6
    assert r["laser_power_mw_per_row"] <= r["max_laser_power_mw_per_row"] == 10
    assert {"laser_phase_noise", "drive"} <= set(r["noise_rad"]) and r["noise_rad"]["drive"] > 0
    config = ChipConfig()
    assert (
        config.laser.linewidth_khz > 0
        and config.laser.frequency_drift_mhz_rms > 0
        and config.noise.drive_noise_nv_rthz > 0
    )


def test_the_old_default_kept_as_an_example_fails_as_the_review_found():
    """examples/mirage_2023.toml: MHz electrodes, tens of thousands of mm^2, tens of ns of LO mismatch; a DFB-class
    1000 kHz laser over that mismatch makes the error rate miss the target, and the violations say so."""
    from mvm.config import load_config

    path = Path(__file__).parents[2] / "examples" / "mirage_2023.toml"
    config = load_config(path)
    dfb = dataclasses.replace(config, laser=dataclasses.replace(config.laser, linewidth_khz=1000.0))
    r = design_report(dfb)
    assert r["max_clock_ghz"] < 0.01 and r["tile_area_mm2"] > 10_000
    assert abs(r["lo_delay_mismatch_ps"]) > 30_000  # 36.8 ns at m = 31
    assert r["predicted_residue_error_rate"] > r["target_error_rate"]
    assert r["noise_rad"]["laser_phase_noise"] ** 2 == pytest.approx(
        2 * math.pi * 1e6 * abs(r["lo_delay_mismatch_ps"]) * 1e-12, rel=1e-9
    )
    found = r["violations"]
    for kind in ("clock:", "area:", "error rate:", "transit:"):
        assert any(v.startswith(kind) for v in found), kind


def test_the_noise_entries_make_up_the_sigma_behind_the_predicted_rate():
    config = _small(
        {"laser": {"linewidth_khz": 10.0, "frequency_drift_mhz_rms": 0.1}, "noise": {"drive_noise_nv_rthz": 14.0}}
    )
    m = 31
    f = modulus_figures(config, m)
    noise = f["noise_rad"]
    assert all(noise[s] > 0 for s in SOURCES)
    # the laser's entries by hand: 2*pi*linewidth*|tau| and 2*pi*drift*tau over the circuit's own delay mismatch
    tau = f["lo_delay_mismatch_ps"] * 1e-12
    assert noise["laser_phase_noise"] == pytest.approx(math.sqrt(2 * math.pi * 10e3 * abs(tau)), rel=1e-9)
    assert noise["frequency_drift"] == pytest.approx(2 * math.pi * 0.1e6 * abs(tau), rel=1e-9)
    # independently: the circuit's analytic sigma of every readout of the workload
    compiled = compile_mdpu(layout_design(config.mdpu_design(m)))
    x, w = workload_residues(compiled)
    fields = compiled.detector_fields(x, w)
    readout = config.readout(noise=True)
    sigma = phase_sigma_rad(compiled, fields, readout, drive_phase_sigma_rad(compiled, x, w, readout))
    assert np.mean(sigma**2) == pytest.approx(f["phase_sigma_rad"] ** 2, rel=1e-9)
    assert f["predicted_residue_error_rate"] == pytest.approx(np.mean(predicted_error_rate(m, sigma)), rel=1e-9)


def test_a_tenfold_linewidth_raises_the_laser_phase_noise_by_sqrt_10():
    low, high = (modulus_figures(_small({"laser": {"linewidth_khz": nu}}), 31) for nu in (20.0, 200.0))
    assert low["lo_delay_mismatch_ps"] != 0
    assert high["noise_rad"]["laser_phase_noise"] == pytest.approx(
        math.sqrt(10) * low["noise_rad"]["laser_phase_noise"], rel=1e-9
    )
    # and it is the Wiener increment over the delay mismatch: 2*pi*linewidth*|tau|
    tau_s = abs(low["lo_delay_mismatch_ps"]) * 1e-12
    assert low["noise_rad"]["laser_phase_noise"] ** 2 == pytest.approx(2 * math.pi * 20e3 * tau_s, rel=1e-9)
    assert low["noise_rad"]["receiver"] == pytest.approx(high["noise_rad"]["receiver"])


def test_tight_limits_are_violated_and_the_files_limits_are_met():
    tight = design_report(_small(TIGHT))
    met = design_report(_small())
    assert met["violations"] == []
    found = {v.split(":")[0] for v in tight["violations"]}
    assert {"clock", "area", "link budget"} <= found
    assert tight["max_clock_ghz"] == pytest.approx(met["max_clock_ghz"])  # the electrodes are the same


def _receiver_clock_violations(report: dict) -> list[str]:
    return [v for v in report["violations"] if v.startswith("clock:") and "of the receiver" in v]


def test_a_clock_above_the_receivers_symbol_rate_is_a_violation(default_report):
    """The receiver reads one symbol a clock: its -3 dB bandwidth must be at least 0.7x the clock, as the electrodes'
    must, and [detector] bandwidth_ghz is its noise bandwidth, 1.1107x the -3 dB one for a second-order Butterworth
    front end ((pi/4) / sin(pi/4)); the default's 10 GHz receiver reads up to 10 / 1.1107 / 0.7 = 12.86 GBd."""
    butterworth2 = (math.pi / 4) / math.sin(math.pi / 4)
    assert default_report["receiver_max_clock_ghz"] == pytest.approx(10.0 / butterworth2 / 0.7, rel=1e-12)
    assert default_report["receiver_max_clock_ghz"] == pytest.approx(12.86, abs=0.01)
    assert _receiver_clock_violations(default_report) == []
    # a 5 GHz receiver at the 10 GHz clock (the MMUs still fast enough): only the receiver is too slow
    narrow = design_report(_small({"detector": {"bandwidth_ghz": 5.0}}))
    assert narrow["receiver_max_clock_ghz"] == pytest.approx(5.0 / butterworth2 / 0.7, rel=1e-12)
    (line,) = _receiver_clock_violations(narrow)
    assert "[detector] bandwidth_ghz = 5 GHz" in line and "at least 7.78 GHz" in line  # 10 * 0.7 * 1.1107 = 7.775
    assert narrow["max_clock_ghz"] >= narrow["clock_ghz"]  # the electrodes are not what it names
    # 7.8 GHz of noise bandwidth keeps up with 10 GHz; a 13 GHz clock outruns the default receiver
    assert _receiver_clock_violations(design_report(_small({"detector": {"bandwidth_ghz": 7.8}}))) == []
    assert len(_receiver_clock_violations(design_report(_small({"tile": {"clock_ghz": 13.0}})))) == 1


def test_an_unreachable_link_budget_is_a_violation_not_a_crash():
    # a DFB laser over the ~0.3 ns by which an LO routed straight to the hybrid trails the signal arm
    r = design_report(_small({"laser": {"linewidth_khz": 1000.0}, "tile": {"lo_path": "direct"}}))
    assert r["laser_power_mw_per_row"] is None
    assert any(v.startswith("link budget:") and "unreachable" in v for v in r["violations"])
    assert any(v.startswith("error rate:") for v in r["violations"])


def test_a_drive_above_drive_max_v_is_a_violation():
    config = _small({"tile": {"element": "ring-assisted", "clock_ghz": 1.0}})
    r = design_report(config)
    # one driver's swing: the gap's, halved where two antiphase drivers share it (the default differential drive)
    halves = 2 if config.tile.drive == "differential" else 1
    swings = [np.ptp(config.mdpu_design(m).mmu.level_voltages_v()) / halves for m in config.all_moduli]
    assert r["drive_swing_v"] == pytest.approx(max(swings))
    assert r["drive_swing_v"] > config.tile.drive_max_v
    assert sum(v.startswith("drive:") for v in r["violations"]) == sum(s > config.tile.drive_max_v for s in swings)
    assert not any(v.startswith("clock:") for v in r["violations"])  # 1 GHz is below the ring's linewidth cap
    linewidth = r["moduli"]["31"]["linewidth_ghz"]
    assert r["max_clock_ghz"] <= linewidth / k.BANDWIDTH_PER_BAUD * (1 + 1e-12)


def test_travelling_wave_electrodes_are_faster_and_skip_the_transit_check():
    old = {**OLD, "tile": {**OLD["tile"], "clock_ghz": 10.0}}  # 15 cm segments: light crosses one in 1.2 ns
    lumped, tw = (
        design_report(_small({**old, "tile": {**old["tile"], "electrode": kind}}))
        for kind in ("lumped", "travelling-wave")
    )
    assert tw["max_clock_ghz"] > lumped["max_clock_ghz"]
    assert any(v.startswith("transit:") for v in lumped["violations"])
    assert not any(v.startswith("transit:") for v in tw["violations"])
