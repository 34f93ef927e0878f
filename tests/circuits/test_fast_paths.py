"""The vectorised forms the Monte Carlo reads through, against the direct forms they replace."""

import numpy as np
import pytest

from circuits.compiled import correct_iq, correct_iq_parts, mmu_tables, segment_sums
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign
from circuits.readout import Readout, _compact, _rotated_power
from photonics.photodetector import Photodetector, balanced_current_a, balanced_pairs_current_a


def test_rotated_power_is_the_rotated_fields_power():
    rng = np.random.default_rng(0)
    lo = rng.standard_normal((3, 1, 4)) + 1j * rng.standard_normal((3, 1, 4))
    fields = lo + 0.3 * (rng.standard_normal((3, 5, 4)) + 1j * rng.standard_normal((3, 5, 4)))
    theta = rng.standard_normal((7, 3, 5))
    direct = np.abs(lo + (fields - lo) * np.exp(1j * theta)[..., None]) ** 2
    got = _rotated_power(lo, fields, theta)  # detectors first
    np.testing.assert_allclose(np.moveaxis(got, 0, -1), direct, rtol=1e-13, atol=1e-14 * np.abs(direct).max())


def test_compact_keeps_each_distinct_value_once():
    base = np.arange(24.0).reshape(2, 3, 4)
    reps = np.broadcast_to(base, (5, 2, 3, 4))
    assert _compact(reps).shape == (1, 2, 3, 4)
    np.testing.assert_array_equal(np.broadcast_to(_compact(reps), reps.shape), reps)
    assert _compact(base) is base


def test_both_pairs_draw_and_read_as_two_balanced_pairs():
    """I's noise then Q's, the same draws and noise model as two balanced_current_a calls."""
    pd = Photodetector()
    power = np.random.default_rng(1).uniform(0.0, 2.0, (6, 9, 4))
    i_ref = balanced_current_a(power[..., 0], power[..., 1], pd, rng := np.random.default_rng(2))
    q_ref = balanced_current_a(power[..., 2], power[..., 3], pd, rng)
    i, q = balanced_pairs_current_a(np.moveaxis(power, -1, 0), pd, np.random.default_rng(2))
    np.testing.assert_allclose(i, i_ref, rtol=0, atol=1e-15 * np.abs(i_ref).max())
    np.testing.assert_allclose(q, q_ref, rtol=0, atol=1e-15 * np.abs(q_ref).max())
    i0, q0 = balanced_pairs_current_a(np.moveaxis(power, -1, 0), pd, None)  # noiseless: bit for bit
    np.testing.assert_array_equal(i0, balanced_current_a(power[..., 0], power[..., 1], pd, None))
    np.testing.assert_array_equal(q0, balanced_current_a(power[..., 2], power[..., 3], pd, None))


def test_correct_iq_is_the_matrix_times_the_offset_vector():
    """Both forms against matrix @ ((I, Q) - offset) by numpy's matmul, per readout, with broadcast corrections."""
    rng = np.random.default_rng(3)
    i, q = rng.standard_normal((2, 4, 5))
    offset, matrix = rng.standard_normal((4, 1, 2)), rng.standard_normal((4, 1, 2, 2))
    want = (matrix @ (np.stack([i, q], -1) - offset)[..., None])[..., 0]  # (4, 5, 2)
    z = correct_iq(i + 1j * q, offset, matrix)
    ci, cq = correct_iq_parts(i, q, offset, matrix)
    for got in (np.stack([z.real, z.imag], -1), np.stack([ci, cq], -1)):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("encoding", ["digital-product", "binary-length"])
def test_segment_sums_match_the_product_tables(encoding):
    """Phase and log amplitude of every MMU against its (0, 0) entry, summed per segment for each level
    combination, against the angle and log of the (x, w) product table itself (mmu_tables), on random segment
    tables; the combinations give back the encoding's level table and the product residues."""
    design = MdpuDesign(mmu=MmuDesign(modulus=7, encoding=encoding), h=3)
    b, m = design.mmu.segments, design.modulus
    rng = np.random.default_rng(4)
    seg = rng.uniform(0.5, 1.0, (2, 3, b, m)) * np.exp(1j * rng.uniform(-np.pi, np.pi, (2, 3, b, m)))
    heater = np.exp(1j * rng.uniform(-np.pi, np.pi, (2, 3)))
    t = mmu_tables(seg, heater, design)
    patterns, index, residue = design.mmu.level_patterns
    np.testing.assert_array_equal(patterns[index].reshape(m, m, b), design.mmu.level_table)
    np.testing.assert_array_equal(residue[index], (np.arange(m)[:, None] * np.arange(m) % m).ravel())
    phase, log_amp, ref = segment_sums(seg, heater, design.mmu)  # per level combination
    phase, log_amp = (np.take(a, index, axis=-1).reshape(2, 3, m, m) for a in (phase, log_amp))
    np.testing.assert_array_equal(ref, t[..., 0, 0])
    ratio = t / t[..., :1, :1]
    np.testing.assert_allclose(np.angle(np.exp(1j * phase) / ratio), 0, atol=1e-12)  # equal mod 2*pi
    np.testing.assert_allclose(log_amp, np.log(np.abs(ratio)), atol=1e-12)


def test_read_result_phase_and_residue():
    from circuits.readout import ReadResult

    r = ReadResult(np.array([1.0, 0.0, -1.0]), np.array([0.0, 1.0, -1e-9]), 4)
    np.testing.assert_allclose(r.phase_rad, [0, np.pi / 2, np.pi + 1e-9])
    np.testing.assert_array_equal(r.residue, [0, 1, 2])
    assert Readout().noise


def test_mean_reading_is_the_mean_of_the_readings():
    """read_rows_mean: the same draws as read_rows, its corrected (I, Q) averaged over the repeats."""
    from dataclasses import replace

    from circuits.compiled import IqCorrection, compile_mdpu
    from circuits.readout import Receivers, read_rows, read_rows_mean

    row = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=5), h=2))
    rows = [row, replace(row, iq_correction=IqCorrection((1e-3, -2e-3), ((1.1, 0.05), (-0.02, 0.9))))]
    readout = Readout()
    rec = Receivers.of(rows, readout).expand(1)
    x = np.array([[[0, 1], [2, 3], [4, 4]]] * 2)
    fields = np.stack([r.detector_fields(xi, xi) for r, xi in zip(rows, x)])  # (2, 3, 4)
    reps = np.broadcast_to(fields, (16,) + fields.shape)
    drive = np.broadcast_to(0.01, reps.shape[:-1])
    full = read_rows(rec, reps, readout, np.random.default_rng(5), drive_sigma_rad=drive, drift_hz=0.0)
    i, q = read_rows_mean(rec, reps, readout, np.random.default_rng(5), drive_sigma_rad=drive, drift_hz=0.0)
    scale = np.abs(full.i_a).max()
    np.testing.assert_allclose(i, full.i_a.mean(0), rtol=0, atol=1e-14 * scale)
    np.testing.assert_allclose(q, full.q_a.mean(0), rtol=0, atol=1e-14 * scale)
    assert not np.allclose(full.i_a[0], full.i_a[1])  # the readings are noisy: the mean averages something


def test_one_noisy_reading_keeps_its_shape():
    """A single readout (fields (4,)) reads as 0-d arrays, with noise as without (the CLI's one-MAC read)."""
    from circuits.compiled import compile_mdpu
    from circuits.readout import read

    row = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=5), h=1))
    fields = row.detector_fields(np.array([3]), np.array([4]))
    for readout, rng in ((Readout(), np.random.default_rng(0)), (Readout(noise=False), None)):
        r = read(row, fields, readout, rng, drive_sigma_rad=np.float64(0.01))
        assert np.shape(r.i_a) == np.shape(r.q_a) == np.shape(r.residue) == ()
