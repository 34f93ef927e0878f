"""The readout engine against its independent references (issue 13, item 2).

- residues: the compiled gather path (``path="reference"``, :mod:`mvm.gather`), every readout in full, with noise off
  on varied (uncalibrated), calibrated, drifted and ring-assisted chips;
- fields: the sax solution of the whole hierarchical netlist, fed each varied row's own device settings;
- error rates with noise on: the reference's, within a binomial tolerance.

Chips are small (4 rows per tile) and sampled once per module: sampling and compiling a varied chip is most of the
time these tests take.
"""

import dataclasses

import numpy as np
import pytest

from calibration.calibrate import calibrate
from calibration.chip import build_chip, nominal_trims, row_params, sample_chip
from calibration.variation import VariationConfig
from circuits.mdpu import DETECTORS, SaxMdpu
from mvm.config import ChipConfig, TileConfig
from mvm.digital import exact_chunk_sums
from mvm.engine import read_block, tile_engine
from mvm.gather import read_block_gathered
from mvm.gemm import Chip, rns_gemm
from mvm.gemm import build_chip as ideal_chip

# The default chip on 4 rows per tile (h = 16 as drawn).
STRAIGHT = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=4))
# Ring-assisted MMUs on 4 x 4 tiles; the direct LO spares the matched LO's layout, and h = 4 the sax netlist's
# compilation (the engine depends on neither).
RING = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=4, h=4, element="ring-assisted", lo_path="direct"))
SHAPE = (16, 48, 24)
CHIPS = ("uncalibrated", "calibrated", "drifted", "drifted_slightly", "ring_ideal", "ring_varied")
# Drifts after calibration (the default chip turns by about 0.68 rad/K, the default drift is 0.2 K rms): at
# 0.2 K every readout turns past its residue's boundary (pi/m); at 0.115 K a few residues move and many readouts
# come near a boundary. The slight drift sits on a steep edge that moves with the calibration's residual error: on
# this chip, 0.11 / 0.115 / 0.12 K move 1 / 18 / 51 of SHAPE's 3456 residues with noise off, and noise then
# changes 3e-3 / 9e-3 / 2e-2 of them.
DRIFT_K, SLIGHT_DRIFT_K = 0.2, 0.115
# A run's laser frequency drift, given (0.8 sigma of the default 1.5 MHz): the engine thins only with the drift known
DRIFT_HZ = 1.2e6


@pytest.fixture(scope="module")
def straight_sample():
    return sample_chip(STRAIGHT, VariationConfig(), np.random.default_rng(1))


@pytest.fixture(scope="module")
def calibrated_trims(straight_sample):
    trims, report = calibrate(straight_sample, np.random.default_rng(2))
    assert report.phase_error_after_rad < 0.05, report  # calibrated for real: the chip the tests call calibrated
    return trims


@pytest.fixture(scope="module")
def ring_sample():
    return sample_chip(RING, VariationConfig(), np.random.default_rng(3))


@pytest.fixture(scope="module")
def chips(straight_sample, calibrated_trims, ring_sample) -> dict[str, Chip]:
    return {
        "uncalibrated": build_chip(straight_sample, nominal_trims(STRAIGHT)),
        "calibrated": build_chip(straight_sample, calibrated_trims),
        "drifted": build_chip(dataclasses.replace(straight_sample, drift_k=DRIFT_K), calibrated_trims, with_drift=True),
        "drifted_slightly": build_chip(
            dataclasses.replace(straight_sample, drift_k=SLIGHT_DRIFT_K), calibrated_trims, with_drift=True
        ),
        "ring_ideal": ideal_chip(RING),
        "ring_varied": build_chip(ring_sample, nominal_trims(RING)),  # ring chips are refused by calibration
    }


def operands(shape, seed):
    rng = np.random.default_rng(seed)
    m, k, n = shape
    return rng.standard_normal((m, k)) * rng.uniform(0.1, 10), rng.standard_normal((k, n))


def mantissas(chip: Chip, shape, seed):
    """Signed mantissas over the whole 6-bit range (every residue of every modulus) and their exact chunk sums."""
    rng = np.random.default_rng(seed)
    m, k, n = shape
    top = 2 ** (chip.config.bfp.mantissa_bits - 1) - 1
    am, bm = rng.integers(-top, top + 1, (m, k)), rng.integers(-top, top + 1, (k, n))
    h = chip.config.tile.h
    exact = exact_chunk_sums(am, bm, h=h)
    return am, bm, exact


@pytest.mark.parametrize("name", CHIPS)
def test_engine_reads_the_references_residues_with_noise_off(chips, name):
    chip = chips[name]
    readout = chip.config.readout(False)
    p = chip.config.noise.skip_probability
    am, bm, exact = mantissas(chip, (12, 64, 20), seed=5)
    got, simulated = read_block(chip.prepare("engine", readout, p), am, bm, exact, readout, None)
    if got is None:  # every residue proven to equal the exact one
        got = [np.mod(np.asarray(exact).astype(np.int64), m) for m in chip.moduli]
    want, everyone = read_block_gathered(chip.prepare("reference", readout, p), am, bm, exact, readout, None)[:2]
    for i, m in enumerate(chip.moduli):
        differ = np.count_nonzero(np.asarray(got[i]) != want[i])
        assert differ == 0, f"{name}: modulus {m}: {differ} of {want[i].size} residues differ from the reference"
    assert everyone == sum(r.size for r in want)
    if name == "calibrated":
        assert simulated < everyone / 2, "the engine proves most readouts of a calibrated chip"


@pytest.mark.parametrize("name", ["uncalibrated", "drifted_slightly", "ring_varied"])
def test_flagged_cells_read_what_whole_flagged_chunks_read(chips, name, monkeypatch):
    """The decision reads a flagged readout's cell again (FLAG_COLUMNS columns of its chunk), not its chunk: cells
    one tile pass wide (neighbours merged, as read; or each block its own cell, so that a chunk's simulated readouts
    come from several cells and must be put in order) give, with noise on and the same draws, the residues and the
    count of simulated readouts that whole chunks give (a cell wider than the product), and with noise off the
    reference's residues."""
    import mvm.engine

    def block_by_block(blocks, width, n):  # every flagged block its own cell, neighbours not merged
        for j, row in enumerate(blocks):
            for b in np.flatnonzero(row):
                yield j, b * width, min(n, (b + 1) * width)

    chip = chips[name]
    noisy, quiet = chip.config.readout(True), chip.config.readout(False)
    p = chip.config.noise.skip_probability
    am, bm, exact = mantissas(chip, (24, 64, 56), seed=9)  # 56 columns: cells of 16, 16, 16 and 8
    rows = chip.config.tile.rows
    reads = {}
    with monkeypatch.context() as patch:
        patch.setattr(mvm.engine, "_cells", block_by_block)
        patch.setattr(mvm.engine, "FLAG_COLUMNS", rows)
        reads["blocks"] = read_block(
            chip.prepare("engine", noisy, p), am, bm, exact, noisy, np.random.default_rng(4), DRIFT_HZ
        )
    for width in (rows, 10**6):
        monkeypatch.setattr(mvm.engine, "FLAG_COLUMNS", width)
        reads[width] = read_block(
            chip.prepare("engine", noisy, p), am, bm, exact, noisy, np.random.default_rng(4), DRIFT_HZ
        )
        quiet_read, _ = read_block(chip.prepare("engine", quiet, p), am, bm, exact, quiet, None)
        want = read_block_gathered(chip.prepare("reference", quiet, p), am, bm, exact, quiet, None)[0]
        got = quiet_read or [np.mod(np.asarray(exact).astype(np.int64), m) for m in chip.moduli]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w)
    (narrow, n_sim), (whole, w_sim) = reads[rows], reads[10**6]
    assert 0 < n_sim == w_sim <= exact.size * len(chip.moduli)  # all of them on the ring chip (no receiver map)
    assert narrow is not None and any(np.any(np.asarray(r) != np.mod(exact, m)) for r, m in zip(narrow, chip.moduli))
    for a, b in zip(narrow, whole, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    blocks, b_sim = reads["blocks"]
    assert b_sim == w_sim
    for a, b in zip(blocks, whole, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_cells_merge_neighbouring_blocks_and_their_readouts_sort_into_read_order():
    """A chunk's run of flagged blocks is one cell (a chunk flagged throughout, one cell of all its columns, the last
    cut at N); readouts gathered cell by cell come back in (chunk, row, column) order, as np.lexsort orders them."""
    from mvm.engine import _cells, _read_order

    blocks = np.array([[1, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1]], bool)
    assert list(_cells(blocks, 8, 30)) == [(0, 0, 16), (0, 24, 30), (2, 0, 30), (3, 8, 16), (3, 24, 30)]
    rng = np.random.default_rng(0)
    parts = []
    for j, first, stop in _cells(blocks, 8, 30):
        unsafe = rng.random((5, stop - first)) < 0.3  # (rows of A, the cell's columns)
        i_idx, n_idx = np.nonzero(unsafe)
        parts.append((np.full(len(i_idx), j), i_idx, n_idx + first))
    c_idx, i_idx, n_idx = (np.concatenate(a) for a in zip(*parts))
    order = _read_order(c_idx, i_idx, 5)
    np.testing.assert_array_equal(order, np.lexsort((n_idx, i_idx, c_idx)))
    one_cell = [p for p, (j, _, _) in zip(parts, _cells(blocks, 8, 30)) if j == 2]
    assert _read_order(*one_cell[0][:2], 5) is None  # already in order


@pytest.mark.parametrize("name", CHIPS)
def test_engine_gemm_equals_the_reference_gemm_with_noise_off(chips, name):
    chip = chips[name]
    a, b = operands(SHAPE, seed=7)
    c_engine, r_engine = rns_gemm(a, b, chip, noise=False)
    c_ref, r_ref = rns_gemm(a, b, chip, noise=False, path="reference")
    c_full, r_full = rns_gemm(a, b, chip, noise=False, path="full")
    np.testing.assert_array_equal(c_engine, c_ref)
    np.testing.assert_array_equal(c_full, c_ref)
    assert r_full.simulated_readouts == r_full.readouts and r_full.residue_errors == r_ref.residue_errors
    assert (r_engine.residue_errors, r_engine.chunk_errors) == (r_ref.residue_errors, r_ref.chunk_errors)
    every = len(chip.tiles) * -(-SHAPE[1] // chip.config.tile.h) * SHAPE[0] * SHAPE[2]  # tiles x chunks x M x N
    assert r_engine.deterministic_readouts == r_engine.readouts == r_ref.readouts == every
    assert r_ref.simulated_readouts == r_ref.readouts
    if name == "calibrated":
        assert r_engine.simulated_readouts < r_engine.readouts
    if name in ("uncalibrated", "drifted", "drifted_slightly", "ring_varied"):
        assert r_ref.residue_errors > 0  # the devices are off enough to read wrong residues: those must agree too
    if name == "drifted_slightly":
        assert r_ref.residue_errors < r_ref.readouts / 2 and r_engine.simulated_readouts > 0


def sax_fields(sample, index: int, trims, row: int, x, w) -> np.ndarray:
    """Detector fields of one varied row from the sax solution of the whole netlist, every device's own settings.

    The row's segment, MMU heater and front-end settings (:func:`calibration.chip.row_params`) are passed to the
    hierarchical sax circuit instance by instance; detector responsivity scales each field by sqrt(R/R0).
    """
    design, p = row_params(sample, index, trims)
    levels = design.mmu.segment_levels(x, w)  # (n, h, B)
    h, segments = levels.shape[-2:]
    volts = p.level_voltages_v[row][np.arange(h)[:, None], np.arange(segments)[None, :], levels]
    settings = {}
    for j in range(h):
        mmu = {
            f"seg{b}": {"voltage_v": volts[:, j, b], **{k: float(v[row, j, b]) for k, v in p.segment.items()}}
            for b in range(segments)
        }
        mmu["heater"] = {k: float(v[row, j]) for k, v in p.mmu_heater.items()}
        settings[f"mmu{j}"] = mmu
    settings.update({name: {k: float(v[row]) for k, v in s.items()} for name, s in p.front.items()})
    # the LO heaters' powers come with the settings, so one circuit serves every row's LO bias
    s = SaxMdpu(dataclasses.replace(design, lo_bias_power_mw=0.0)).circuit(wl=design.wl_um, **settings)
    fields = np.stack([np.broadcast_to(np.asarray(s[(d, "in")]), x.shape[:-1]) for d in DETECTORS], -1)
    return fields * np.sqrt(p.detector_gain[row])


@pytest.mark.parametrize("kind", ["straight", "ring"])
def test_fields_of_varied_rows_match_the_sax_netlist(straight_sample, ring_sample, chips, kind):
    sample, chip = (
        (straight_sample, chips["uncalibrated"]) if kind == "straight" else (ring_sample, chips["ring_varied"])
    )
    tile = chip.tiles[0]
    engine = tile_engine(tile, chip.config.readout(False), chip.config.noise.skip_probability)  # fields: no map
    rng = np.random.default_rng(11)
    m, h = tile.modulus, tile.h
    x, w = rng.integers(0, m, (32, h)), rng.integers(0, m, (32, h))
    nominal = ideal_chip(chip.config).tiles[0].rows[0].detector_fields(x, w)  # the drawing
    for row in (0, 3):
        want = sax_fields(sample, 0, nominal_trims(chip.config), row, x, w)
        got = engine.fields(np.full(len(x), row), x, w)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=f"{kind} row {row}")
        assert np.abs(want - nominal).max() > 1e-2  # the row is varied: its own settings did reach sax


@pytest.mark.parametrize("name", ["calibrated", "drifted", "ring_varied"])
def test_fields_equal_the_compiled_per_mmu_product(chips, name):
    """Every row and tile: the engine's deviation tables rebuild the compiled product to round-off."""
    rng = np.random.default_rng(13)
    for tile in chips[name].tiles:
        engine = tile_engine(tile, chips[name].config.readout(False), chips[name].config.noise.skip_probability)
        x, w = rng.integers(0, tile.modulus, (500, tile.h)), rng.integers(0, tile.modulus, (500, tile.h))
        rows = rng.integers(0, tile.size, 500)
        want = np.stack([tile.rows[r].detector_fields(x[i], w[i]) for i, r in enumerate(rows)])
        got = engine.fields(rows, x, w)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


# Noise on. A readout the engine proves reads its noiseless residue; the others it simulates in full. On a calibrated
# chip every readout sits near the middle of its decision interval, so at a power where about 1 % of residues err the
# noise is too strong for any margin (8 sigma > half a level) and both paths simulate every readout: nothing of the
# engine's own would be tested. The chips below put many readouts near a boundary (the devices' own offsets), so at
# the default power the engine proves some readouts and simulates the rest, and about 1 % of residues change.


def within_binomial(count_a: int, count_b: int) -> bool:
    """Two error counts agree: given the inputs (and one laser drift draw, shared), each is a sum of independent
    Bernoulli trials, so their difference has a variance of at most the sum of the counts' means. 4.5 standard
    errors: a false alarm about once in 1e5 runs."""
    return abs(count_a - count_b) <= 4.5 * np.sqrt(max(count_a + count_b, 1))


@pytest.mark.parametrize(
    "name, adc_noise_lsb_rms, power_mw",
    [("uncalibrated", 0.0, None), ("drifted_slightly", 0.0, None), ("calibrated", 0.76, 0.15)],
)
def test_noise_changes_as_many_residues_on_both_paths(chips, name, adc_noise_lsb_rms, power_mw):
    """Residues that noise moves away from the noiseless ones: as many through the engine as through the reference.

    The calibrated chip with an ADC of ENOB 6.5 (0.76 LSB of its own noise) at 0.15 mW: its readouts lie near
    enough to their boundaries that the margin proves few, and exact thinning (:class:`circuits.readout.NoiseBall`)
    simulates about a third of them (0.12 / 0.17 mW: 24,569 / 11,373 of 49,152, moving 1,214 / 192 residues
    against the reference's 1,225 / 216)."""
    chip = chips[name]
    noisy = chip.config.readout(True)
    noisy = dataclasses.replace(
        noisy, detector=dataclasses.replace(noisy.detector, adc_noise_lsb_rms=adc_noise_lsb_rms)
    )
    if power_mw is not None:
        noisy = noisy.with_laser_power(power_mw)
    quiet = dataclasses.replace(noisy, noise=False)
    p = chip.config.noise.skip_probability
    am, bm, exact = mantissas(chip, (32, 256, 32), seed=21)
    noiseless = np.stack(read_block_gathered(chip.prepare("reference", quiet, p), am, bm, exact, quiet, None)[0])
    moved = {"engine": 0, "reference": 0}
    simulated = 0
    for seed in range(3):
        drift_hz = noisy.laser.frequency_drift_mhz_rms * 1e6 * np.random.default_rng(100 + seed).standard_normal()
        engine = read_block(
            chip.prepare("engine", noisy, p), am, bm, exact, noisy, np.random.default_rng(seed), drift_hz
        )
        reference = read_block_gathered(
            chip.prepare("reference", noisy, p), am, bm, exact, noisy, np.random.default_rng(seed), drift_hz
        )
        moved["engine"] += np.count_nonzero(np.stack([np.asarray(r) for r in engine[0]]) != noiseless)
        moved["reference"] += np.count_nonzero(np.asarray(reference[0]) != noiseless)
        simulated += engine[1]
    readouts = 3 * noiseless.size
    assert 0 < simulated < readouts, "the engine both proves and simulates readouts here"
    if adc_noise_lsb_rms:
        assert simulated < readouts / 2, "thinning spares most readouts here"
    assert 3e-3 < moved["reference"] / readouts < 3e-2, f"not near a 1e-2 rate: {moved}"
    assert within_binomial(moved["engine"], moved["reference"]), (moved, readouts)


def test_noisy_gemm_error_rates_equal_the_references(chips):
    """rns_gemm's residue error rate at the default power on the slightly drifted chip (about 1e-2), several seeds."""
    chip = chips["drifted_slightly"]
    a, b = operands((32, 128, 32), seed=17)
    errors = {"engine": 0, "full": 0, "reference": 0}
    simulated = readouts = 0
    for seed in range(4):
        for path in errors:
            _, report = rns_gemm(a, b, chip, noise=True, seed=seed, path=path)
            errors[path] += report.residue_errors
            if path == "engine":
                simulated += report.simulated_readouts
                readouts += report.readouts
    assert 0 < simulated < readouts
    # a rate where the binomial comparison has power and nothing saturates (1e-2 with the calibration of this tree)
    assert 3e-3 < errors["reference"] / readouts < 1e-1, f"not a 1e-2-scale rate: {errors}"
    assert within_binomial(errors["engine"], errors["reference"]), (errors, readouts)
    assert within_binomial(errors["full"], errors["reference"]), (errors, readouts)


def test_the_full_path_builds_no_receiver_map_and_shares_the_engines_tables(chips):
    """path="full" reads every readout in full from the engine's tables and builds no receiver map; the engine
    path then reads the same preparation, its maps built when it first proves readouts."""
    chip = dataclasses.replace(chips["calibrated"], prepared={})
    a, b = operands(SHAPE, seed=3)
    _, report = rns_gemm(a, b, chip, noise=True, path="full")
    every = len(chip.tiles) * -(-SHAPE[1] // chip.config.tile.h) * SHAPE[0] * SHAPE[2]  # tiles x chunks x M x N
    assert report.simulated_readouts == report.deterministic_readouts == report.readouts == every
    (engine,) = chip.prepared.values()
    assert not any("receiver" in t.__dict__ for t in engine.tiles)  # never built
    _, report = rns_gemm(a, b, chip, noise=True)
    assert list(chip.prepared.values()) == [engine]
    assert all("receiver" in t.__dict__ for t in engine.tiles) and report.simulated_readouts < report.readouts


@pytest.mark.parametrize("name", ["calibrated", "drifted_slightly", "drifted"])
def test_the_even_flags_cover_every_readout_the_decision_flags(chips, name):
    """The flag pass decides an even tile's readouts from E alone (_even_flags, with flag_limits): every readout
    the decision (_decide, from S mod m + E) flags must be flagged, on the chip's own E and on E placed at the
    rows' margins and boundaries, to within float32 rounding (1e-6 levels either way)."""
    import jax.numpy as jnp

    from mvm.engine import _decide, _even_flags, _tile_arm_errors

    chip = chips[name]
    engine = chip.prepare("engine", chip.config.readout(True), chip.config.noise.skip_probability)
    am, bm, exact = mantissas(chip, (12, 64, 20), seed=7)
    rows = chip.tiles[0].size
    cols = jnp.arange(bm.shape[1]) % rows
    rng = np.random.default_rng(8)
    even = [i for i, t in enumerate(engine.tiles) if engine.even[i] and not t.tables.uniform]
    assert even, "no even tile to check"
    checked = 0
    for i in even:
        t, (eps, receiver, limit) = engine.tiles[i], engine.arguments(i)
        m = t.tile.modulus
        chip_e = _tile_arm_errors(jnp.asarray(am, jnp.int32), jnp.asarray(bm, jnp.int32), eps, modulus=m, rows=rows)
        r = t.receiver
        edge = np.where(np.isfinite(r.margin_levels), 0.5 - r.spread - r.margin_levels, 0.5)[np.asarray(cols)]
        sign = rng.choice([-1.0, 1.0], np.shape(exact))
        jitter = rng.uniform(-1e-6, 1e-6, np.shape(exact))
        whole = rng.integers(-2, 3, np.shape(exact))
        placed = r.offset[np.asarray(cols)] + whole + sign * np.where(rng.random(np.shape(exact)) < 0.5, edge, 0.5)
        for e in (chip_e, jnp.asarray((placed + jitter).astype(np.float32))):
            ((residue, unsafe, s, _),) = _decide(exact, (e,), (receiver,), (m,), rows, (True,))
            decided = np.asarray(unsafe | (residue != s))
            flagged = np.asarray(_even_flags(e, receiver, limit, m, cols))
            assert not (decided & ~flagged).any(), (name, m, int((decided & ~flagged).sum()))
            checked += int(decided.sum())
            # no more than rounding adds: readouts flagged here only lie within the limit's rounding allowance
            # (edge - limit: 1.6e-5 levels on this chip's m = 31 tile, FLAG_ROUNDING times its bound) of a margin
            # or boundary, or within 1e-5 of one (float32)
            u = np.asarray(e, np.float64) - r.offset[np.asarray(cols)]
            allowance = np.maximum(edge - np.asarray(limit, np.float64)[np.asarray(cols)], 0) + 1e-5
            near = np.abs(np.abs(u - np.rint(u)) - edge) < allowance
            assert not (flagged & ~decided & ~near).any(), (name, m)
    assert checked > 0  # the placed readouts put some on the flagged side


@pytest.mark.parametrize("power_mw", [10.0, 0.3])
def test_a_tile_proven_exact_has_no_readout_flagged(power_mw):
    """proven_exact skips a uniform tile's per-readout pass: check it against that pass (every residue of the
    6-bit range on every row), and that a laser too weak to prove anything is not skipped."""
    from mvm.engine import _tiles_flagged
    from photonics.laser import Laser

    chip = ideal_chip(dataclasses.replace(STRAIGHT, laser=Laser(power_mw=power_mw)))
    readout = chip.config.readout(True)
    engine = chip.prepare("engine", readout, chip.config.noise.skip_probability)
    am, bm, exact = mantissas(chip, (12, 64, 20), seed=6)
    for i, t in enumerate(engine.tiles):
        flagged = bool(
            _tiles_flagged(am, bm, exact, (engine.arguments(i),), moduli=(t.tile.modulus,), rows=t.tile.size).any()
        )
        assert t.tables.uniform
        assert engine.proven[i] == (not flagged) == (power_mw > 1), (power_mw, t.tile.modulus)


def test_the_thinnings_uniforms_are_uniform_and_the_same_however_the_product_is_cut():
    """The decision's uniforms (:func:`mvm.engine.counter_uniforms`): uniform on [0, 1) (KS, and the mean and
    variance of a million), different seeds independent (correlation), and a cell's uniforms the full block's at
    the cell's place: a readout's draw depends on its place alone."""
    from scipy.stats import kstest

    from mvm.engine import counter_uniforms

    seed, first, columns = np.uint64(12345), np.uint64(7 * 1000 * 1000), np.uint64(1000)
    u = np.asarray(counter_uniforms(seed, first, columns, (1000, 1000)))
    assert u.dtype == np.float64 and 0 <= u.min() and u.max() < 1
    assert kstest(u.ravel(), "uniform").pvalue > 1e-4
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size) and abs(u.var() - 1 / 12) < 1e-3
    other = np.asarray(counter_uniforms(seed + np.uint64(1), first, columns, (1000, 1000)))
    assert abs(np.corrcoef(u.ravel(), other.ravel())[0, 1]) < 5e-3
    cell = np.asarray(counter_uniforms(seed, first + np.uint64(40 * 1000 + 256), columns, (30, 128)))
    np.testing.assert_array_equal(cell, u[40:70, 256:384])


def test_the_runs_drift_comes_off_each_readouts_distance_before_thinning():
    """With the LO routed straight to the hybrid (0.57 ns of arm delay mismatch), a 12 MHz drift (4 sigma of 3 MHz)
    turns every arm by 0.21 level: readouts that close to a boundary on the drift's side are read wrong by the drift
    alone, and the thinning must simulate them (their distance less the drift's shift, :class:`mvm.engine._Thinning`).
    The only random noise left is the receiver's (no laser phase noise or drive noise), so the balls are large: a
    thinning that ignored the drift reads those readouts' noiseless residues (measured: 1,505 moved against the
    reference's 2,623; with the shift 2,637)."""
    config = dataclasses.replace(ChipConfig(), tile=TileConfig(rows=4, lo_path="direct"))
    chip = build_chip(sample_chip(config, VariationConfig(), np.random.default_rng(5)), nominal_trims(config))
    base = chip.config.readout(True)
    laser = dataclasses.replace(base.laser, linewidth_khz=0.0, frequency_drift_mhz_rms=3.0)
    noisy = dataclasses.replace(base, laser=laser, drive_noise_mv_rms=0.0)
    quiet = dataclasses.replace(noisy, noise=False)
    p = chip.config.noise.skip_probability
    am, bm, exact = mantissas(chip, (32, 64, 32), seed=23)
    noiseless = np.stack(read_block_gathered(chip.prepare("reference", quiet, p), am, bm, exact, quiet, None)[0])
    drift_hz = 12e6
    engine, simulated = read_block(
        chip.prepare("engine", noisy, p), am, bm, exact, noisy, np.random.default_rng(1), drift_hz
    )
    reference = read_block_gathered(
        chip.prepare("reference", noisy, p), am, bm, exact, noisy, np.random.default_rng(1), drift_hz
    )[0]
    moved = np.count_nonzero(np.stack([np.asarray(r) for r in engine]) != noiseless)
    want = np.count_nonzero(np.asarray(reference) != noiseless)
    assert want > 100, want  # the drift moves many readouts
    assert simulated < 0.8 * noiseless.size  # and the thinning still spares some (8,341 of 12,288 simulated)
    assert within_binomial(moved, want), (moved, want, simulated)
