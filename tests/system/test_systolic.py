"""The systolic baseline: cycles, utilisation, traffic and energy against hand counts."""

import pytest

from photonics.errors import UsageError
from system.memory import Memory
from system.systolic import Systolic
from system.workloads import Gemm


def test_a_gemm_that_fills_the_arrays_runs_at_utilisation_1_in_the_hand_counted_cycles():
    array = Systolic(arrays=2)
    gemm = Gemm("fc", "forward", m=500, k=256, n=128)  # two 128 x 128 blocks, one round on two arrays
    r = array.step([gemm])
    assert r.utilisation == 1.0
    assert r.cycles == 500 + (128 + 128 - 1) + 128  # stream, skew fill, first weight load
    assert r.time_s == pytest.approx(r.cycles / 0.94e9, rel=1e-12)
    assert r.energy_breakdown_j["mac"] == pytest.approx(gemm.macs * 2.0e-12, rel=1e-12)


def test_buffer_and_memory_traffic_by_hand():
    memory = Memory()
    gemm = Gemm("fc", "forward", m=10, k=300, n=200)  # 3 chunks along k, 2 blocks along n
    r = Systolic(memory=memory).step([gemm])
    sram_bytes = 2 * (10 * 300 * 2 + 300 * 200) + 4 * 10 * 200 * (2 * 3 - 1)
    dram_bytes = 2 * (10 * 300 + 300 * 200 + 10 * 200)
    assert r.energy_breakdown_j["sram"] == pytest.approx(sram_bytes * 2.5e-12, rel=1e-12)
    assert r.energy_breakdown_j["dram"] == pytest.approx(dram_bytes * 8 * 3.9e-12, rel=1e-12)


def test_a_memory_bound_gemm_takes_its_dram_transfer_time():
    gemm = Gemm("gemv", "forward", m=1, k=4096, n=4096)
    r = Systolic(arrays=64).step([gemm])
    assert r.time_s == pytest.approx(2 * (4096 + 4096 * 4096 + 4096) / 900e9, rel=1e-12)


def test_bad_sizes_are_refused():
    with pytest.raises(UsageError, match="arrays"):
        Systolic(arrays=0)
    with pytest.raises(UsageError, match="mac_pj"):
        Systolic(mac_pj=0.0)
