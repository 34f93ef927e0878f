"""The noisy readout worked on in chunks: the same draws and codes as the whole read, against a direct reference."""

from dataclasses import replace

import numpy as np
import pytest

import circuits.readout as ro
from circuits.compiled import IqCorrection, compile_mdpu
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign
from circuits.readout import Readout, Receivers, read_arms, read_rows, read_rows_mean
from photonics.laser import phase_noise_variance_rad2, rin_relative_rms
from photonics.photodetector import adc_lsb_a

READOUTS = {
    "every source": Readout(),
    "no linewidth": Readout(laser=replace(Readout().laser, linewidth_khz=0.0)),
    "no drift": Readout(laser=replace(Readout().laser, frequency_drift_mhz_rms=0.0)),
    "no drive noise": Readout(drive_noise_mv_rms=0.0),
    "receiver noise only": Readout(
        laser=replace(Readout().laser, linewidth_khz=0.0, frequency_drift_mhz_rms=0.0), drive_noise_mv_rms=0.0
    ),
    "a noisy ADC": Readout(detector=replace(Readout().detector, adc_noise_lsb_rms=0.76)),  # ENOB 6.5 at 8 bits
}


def _case(readout: Readout, repeats: int = 9):
    """Two rows (one with an I/Q correction) read at three inputs each, ``repeats`` times (fields broadcast)."""
    row = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=5), h=2))
    rows = [row, replace(row, iq_correction=IqCorrection((1e-3, -2e-3), ((1.1, 0.05), (-0.02, 0.9))))]
    rec = Receivers.of(rows, readout).expand(1)
    x = np.array([[[0, 1], [2, 3], [4, 4]]] * 2)
    fields = np.stack([r.detector_fields(xi, xi) for r, xi in zip(rows, x)])  # (2, 3, 4)
    reps = np.broadcast_to(fields, (repeats,) + fields.shape)
    drive = np.broadcast_to(0.01, reps.shape[:-1]) if readout.drive_noise_mv_rms > 0 else None
    return rec, reps, drive


def _direct_codes(rec: Receivers, fields, readout: Readout, rng, drive, drift_hz):
    """ADC codes from the model's formulas, whole arrays, drawing in read_rows's documented order."""
    laser, det, shape = readout.laser, rec.detector, fields.shape[:-1]
    theta = np.zeros(shape)
    if laser.linewidth_khz > 0 or readout.drive_noise_mv_rms > 0:  # independent Gaussians: one of both variances
        variance = phase_noise_variance_rad2(laser, rec.delay_mismatch_s)
        if readout.drive_noise_mv_rms > 0:
            variance = variance + drive**2
        theta = theta + np.sqrt(variance) * rng.standard_normal(shape)
    if drift_hz is None and laser.frequency_drift_mhz_rms > 0:
        drift_hz = laser.frequency_drift_mhz_rms * 1e6 * rng.standard_normal()
    if drift_hz is not None:
        theta = theta + 2 * np.pi * drift_hz * rec.delay_mismatch_s
    lo = rec.lo_to_det
    rotated = lo + (fields - lo) * np.exp(1j * theta)[..., None]
    rin = 1 + rin_relative_rms(laser, det.bandwidth_ghz) * rng.standard_normal(shape)
    power_w = laser.power_mw * 1e-3 * rin[..., None] * np.abs(rotated) ** 2
    limit = det.saturation_current_ma * 1e-3 / 0.6124646942440785  # the tanh limit's 1-dB point
    current = limit * np.tanh(det.responsivity_a_per_w * power_w / limit) + det.dark_current_na * 1e-9
    codes = []
    for p, n in ((0, 1), (2, 3)):
        shot = 2 * 1.602176634e-19 * (current[..., p] + current[..., n]) * det.bandwidth_ghz * 1e9
        adc = (det.adc_noise_lsb_rms * adc_lsb_a(det)) ** 2  # the ADC's own noise, at its input
        sigma = np.sqrt(shot + (det.tia_noise_pa_rthz * 1e-12) ** 2 * det.bandwidth_ghz * 1e9 + adc)
        pair = current[..., p] - current[..., n] + sigma * rng.standard_normal(shape)
        half = 2 ** (det.adc_bits - 1)
        codes.append(np.clip(np.round(pair / adc_lsb_a(det)), -half, half - 1))
    return codes


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_chunks_read_as_the_whole_read(name, monkeypatch):
    """Chunks of 7 readouts (not a divisor of the read) against one chunk: codes, means and the Generator's state
    bit for bit; the mean over the repeats as read_rows's."""
    readout = READOUTS[name]
    rec, reps, drive = _case(readout)
    got = {}
    for chunk in (7, 10**9):
        monkeypatch.setattr(ro, "CHUNK_READOUTS", chunk)
        rng = np.random.default_rng(11)
        full = read_rows(rec, reps, readout, rng, drive_sigma_rad=drive)
        mean = read_rows_mean(rec, reps, readout, rng, drive_sigma_rad=drive, drift_hz=0.0)
        got[chunk] = (full.i_a, full.q_a, *mean, rng.standard_normal())
    for a, b in zip(got[7], got[10**9], strict=True):
        np.testing.assert_array_equal(a, b)
    i_a, q_a, i_mean, q_mean, _ = got[7]
    assert not np.allclose(i_a[0], i_a[1])  # noisy readings


@pytest.mark.parametrize("name", sorted(READOUTS))
@pytest.mark.parametrize("drift_hz", [None, 0.0, 3e6])
def test_codes_match_the_direct_model(name, drift_hz, monkeypatch):
    """The chunked codes against the formulas evaluated directly (|lo + d e^(j theta)|^2 unexpanded): the same
    draws in the same order give the same codes, to a code where round-off lands on a rounding boundary."""
    monkeypatch.setattr(ro, "CHUNK_READOUTS", 5)
    readout = READOUTS[name]
    rec, reps, drive = _case(readout, repeats=200)
    codes = ro._read_codes(rec, ro._Fields(rec, reps), readout, np.random.default_rng(3), drive, drift_hz)
    want = _direct_codes(rec, reps, readout, np.random.default_rng(3), drive, drift_hz)
    for got, ref in zip(codes, want, strict=True):
        diff = np.abs(got - ref)
        assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3
        assert np.ptp(ref) > 3  # the noise spreads the codes: the comparison sees the draws


def _values(rec: Receivers, fields, readout: Readout, drive, monkeypatch) -> np.ndarray:
    """The chain's ADC inputs before rounding, in codes (2, readings, 2 rows, 3 inputs): each reading alone along an
    inner axis of a summed read whose first axis has one entry, with the ADC's rounding taken out."""
    monkeypatch.setattr(ro, "quantise_codes", lambda value, pd, out=None: value)
    i, q = ro._read_codes(rec, ro._Fields(rec, fields), readout, np.random.default_rng(5), drive, None, summed=True)
    return np.stack([i, q])


@pytest.mark.parametrize("name", ["every source", "receiver noise only"])
def test_float32_chain_stays_within_its_roundoff_of_float64(name, monkeypatch):
    """The noisy chain in float32 (what Receivers choose for these rows) against float64 from the same draws: the
    ADC inputs differ by at most CODE_ROUNDOFF codes, and do differ (the float32 chain is the one that ran)."""
    readout = READOUTS[name]
    rec, reps, drive = _case(readout, repeats=4000)
    assert rec.code_dtype is np.float32
    fields = reps[None]  # (1, readings, rows, inputs, 4): one summed entry, every reading apart
    drive = None if drive is None else drive[None]
    single = _values(rec, fields, readout, drive, monkeypatch)
    double = _values(replace(rec, code_dtype=np.float64), fields, readout, drive, monkeypatch)
    diff = np.abs(single - double)
    assert 0 < diff.max() <= ro.CODE_ROUNDOFF
    assert np.ptp(double) > 3  # noisy values over several codes


def test_a_fine_adc_takes_the_float64_chain(monkeypatch):
    """With a 16-bit ADC a code is 256 times finer than at 8 bits: float32's rounding would reach more than
    CODE_ROUNDOFF codes (measured by forcing it), so the receivers choose float64."""
    readout = replace(Readout(), detector=replace(Readout().detector, adc_bits=16))
    rec, reps, drive = _case(readout, repeats=4000)
    assert rec.code_dtype is np.float64
    fields, drive = reps[None], drive[None]
    forced = _values(replace(rec, code_dtype=np.float32), fields, readout, drive, monkeypatch)
    double = _values(rec, fields, readout, drive, monkeypatch)
    assert np.abs(forced - double).max() > ro.CODE_ROUNDOFF


@pytest.mark.parametrize("name", sorted(READOUTS))
@pytest.mark.parametrize("noise", [True, False])
def test_arms_read_as_their_fields(name, noise):
    """read_arms (which never builds the fields) against read_rows of the fields lo + s * arm, from the same draws:
    the same codes, but where the two round a value differently across a code boundary (the rotation's terms come
    from |s|^2 |arm|^2 and conj(lo) s arm instead of from the fields); noiseless, bit for bit."""
    readout = replace(READOUTS[name], noise=noise)
    row = compile_mdpu(MdpuDesign(mmu=MmuDesign(modulus=5), h=2))
    rows = [row, replace(row, iq_correction=IqCorrection((1e-3, -2e-3), ((1.1, 0.05), (-0.02, 0.9))))]
    rec = Receivers.of(rows, readout).expand(2)
    rng = np.random.default_rng(4)
    arm = row.mmu_t[0][rng.integers(0, 5, (2, 300, 3)), rng.integers(0, 5, (2, 300, 3))] * 0.9  # (rows, 300, 3)
    fields = rec.lo_to_det + rec.signal_to_det * arm[..., None]
    drive = np.full(arm.shape, 0.01) if readout.drive_noise_mv_rms > 0 else None
    got = read_arms(rec, arm, readout, np.random.default_rng(6), drive_sigma_rad=drive)
    want = read_rows(rec, fields, readout, np.random.default_rng(6), drive_sigma_rad=drive)
    lsb = adc_lsb_a(rec.detector)
    for g, w in ((got.i_a, want.i_a), (got.q_a, want.q_a)):
        codes = np.abs(g - w) / lsb
        assert codes.max() <= 1.0 + 1e-9 and np.mean(codes > 0.5) < 1e-3
    if not noise:
        np.testing.assert_array_equal(got.i_a, want.i_a)
    assert np.mean(got.residue == want.residue) > 0.999
