"""The Mirage accelerator model: cycles, utilisation and energy of hand-sized GEMMs against hand counts."""

import math

import pytest

from photonics.errors import UsageError
from system.accelerator import CONVERTER_CYCLES, STATIC_PARTS, STREAMING_PARTS, ChipFigures, Mirage
from system.workloads import Gemm

ENERGY_PJ = dict(
    adc=0.4,
    tia=0.03,
    laser=0.03,
    input_dac=0.0,
    weight_dac=0.16,
    electrode_drive=2.0,
    product_logic=0.5,
    heaters=0.5,
    trim_dacs=0.04,
)


def small_chip(**changes) -> ChipFigures:
    """A hand-made chip: 4 rows x 8 MMUs, three moduli, 10 GHz, a 100 mm^2 tile in a 250 mm^2 reticle."""
    figures = dict(
        clock_ghz=10.0,
        rows=4,
        h=8,
        moduli=(31, 32, 33),
        tile_area_mm2=100.0,
        max_area_mm2=250.0,
        trim_area_mm2=5.0,
        energy_pj_per_mac=ENERGY_PJ,
        weight_reuse=128,
        transit_cycles=3,
        wall_plug_efficiency=0.2,
    )
    return ChipFigures(**(figures | changes))


def test_tiles_are_as_many_as_fit_in_the_reticle():
    assert Mirage(small_chip()).units == 2  # 250 // 100
    assert Mirage(small_chip(), tiles=5).units == 5
    with pytest.raises(UsageError, match="does not fit"):
        Mirage(small_chip(tile_area_mm2=300.0))


def test_a_gemm_that_fills_the_tiles_runs_at_utilisation_1_in_the_hand_counted_cycles():
    chip = small_chip()
    gemm = Gemm("fc", "forward", m=128, k=2 * chip.h, n=2 * chip.rows)  # 4 passes of h x R, two rounds on 2 tiles
    fill = chip.transit_cycles + CONVERTER_CYCLES
    r = Mirage(chip).step([gemm])
    assert r.utilisation == 1.0
    assert r.cycles == 2 * 128 + fill + chip.h  # two rounds of m rows, the fill, the first (exposed) weight load
    assert r.time_s == pytest.approx(r.cycles / 10e9, rel=1e-12)
    exposed = Mirage(chip, overlap_load=False).step([gemm])
    assert exposed.cycles == 2 * (128 + chip.h) + fill


def test_padding_lowers_utilisation_by_the_hand_ratio():
    chip = small_chip()
    gemm = Gemm("odd", "forward", m=64, k=chip.h + 1, n=chip.rows - 1)  # 2 chunks x 1 block: 2 passes, one round
    r = Mirage(chip).step([gemm])
    assert r.utilisation == pytest.approx((chip.h + 1) * (chip.rows - 1) / (2 * chip.h * chip.rows))


def test_energy_of_a_full_gemm_is_the_chips_energy_per_mac_times_its_macs():
    chip = small_chip()
    gemm = Gemm("fc", "forward", m=chip.weight_reuse, k=4 * chip.h, n=2 * chip.rows)  # m = the energy model's reuse
    mirage = Mirage(chip)
    r = mirage.step([gemm])
    e = r.energy_breakdown_j
    for part in STREAMING_PARTS + ("weight_dac",):  # the per-MAC figure, every slot busy, one load per reuse rows
        assert e[part] == pytest.approx(ENERGY_PJ[part] * gemm.macs * 1e-12, rel=1e-12)
    units = mirage.units
    for part in STATIC_PARTS:  # continuous power over the step
        power_w = ENERGY_PJ[part] * chip.rows * chip.h * units * chip.clock_ghz * 1e-3
        assert e[part] == pytest.approx(power_w * r.time_s, rel=1e-12)
    readouts = gemm.macs / chip.h
    bits = math.ceil(math.log2(31 * 32 * 33))  # 15
    crt_pj = 4 * 0.2 * (bits / 8) ** 2 + 3 * 0.1  # Horowitz's figures by hand
    assert e["crt"] == pytest.approx(crt_pj * readouts * 1e-12, rel=1e-12)
    assert r.energy_j == pytest.approx(sum(e.values()), rel=1e-12)
    assert set(r.area_breakdown_mm2) == {"photonic_tiles", "trim_dacs", "sram"}
    assert r.area_breakdown_mm2["photonic_tiles"] == 2 * chip.tile_area_mm2


def test_peak_power_is_energy_per_mac_times_mac_rate():
    chip = small_chip()
    expected = sum(ENERGY_PJ.values()) * 1e-12 * (2 * chip.rows * chip.h) * chip.clock_ghz * 1e9
    assert Mirage(chip).peak_power_w() == pytest.approx(expected, rel=1e-12)


def test_a_clock_change_scales_power_over_clock_parts_only():
    fast = small_chip().with_clock(20.0)
    assert fast.energy_pj_per_mac["adc"] == pytest.approx(ENERGY_PJ["adc"] / 2)
    assert fast.energy_pj_per_mac["electrode_drive"] == ENERGY_PJ["electrode_drive"]  # C V^2 per symbol


def _mlp(batch: int) -> list[Gemm]:
    """The three products of one linear layer's training step, weight-stationary orientation."""
    return [
        Gemm("fc", "forward", m=batch, k=1024, n=1024),
        Gemm("fc", "data_grad", m=batch, k=1024, n=1024),
        Gemm("fc", "weight_grad", m=1024, k=batch, n=1024),
    ]


def test_doubling_the_batch_of_a_compute_bound_model_doubles_the_step_time():
    mirage = Mirage(small_chip())
    one, two = mirage.step(_mlp(4096)), mirage.step(_mlp(8192))
    dram_s = sum(2 * (g.m * g.k + g.k * g.n + g.m * g.n) for g in _mlp(8192)) / 900e9
    assert dram_s < 0.1 * two.time_s  # compute-bound
    assert two.time_s / one.time_s == pytest.approx(2.0, rel=2e-3)  # the fill and first load do not double
