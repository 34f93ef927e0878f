"""photonics.jax_setup.persistent_jit: programs a later process loads whole, without tracing them again."""

import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from photonics import jax_setup
from photonics.jax_setup import CACHE_ENV, PROGRAM_PREFIX, enable_persistent_cache, persistent_jit

ROOT = Path(__file__).resolve().parents[2]


def program_files(directory: Path) -> set[str]:
    return {p.name for p in directory.rglob(f"{PROGRAM_PREFIX}*")}


class Traces:
    """Names of the functions JAX traces while this is open."""

    def __enter__(self):
        self.names = []
        self._listener = lambda event, start, end, **kw: (
            self.names.append(kw.get("fun_name")) if event.endswith("jaxpr_trace_duration") else None
        )
        jax.monitoring.register_event_time_span_listener(self._listener)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_time_span_listener(self._listener)


def mixed(x, pairs, *, scale, flip):
    """A program with float round-off, a pytree argument with a None in it and two static arguments."""
    a, b = pairs
    y = jnp.sin(x * scale) @ x.T + (0.0 if a is None else a.sum()) - b
    return -y if flip else y


def test_a_fresh_wrapper_loads_the_program_instead_of_tracing_it(jax_cache_dir):
    directory = enable_persistent_cache()
    x = np.random.default_rng(0).standard_normal((5, 3))
    args = (x, (None, 0.25))
    expected = np.asarray(jax.jit(mixed, static_argnames=("scale", "flip"))(*args, scale=3.0, flip=True))

    first = persistent_jit(static_argnames=("scale", "flip"), sources=("photonics",))(mixed)
    assert np.array_equal(first(*args, scale=3.0, flip=True), expected)
    written = program_files(directory)
    assert len(written) == 1

    again = persistent_jit(static_argnames=("scale", "flip"), sources=("photonics",))(mixed)  # as a new process
    with Traces() as traces:
        got = again(*args, scale=3.0, flip=True)
    assert "mixed" not in traces.names  # loaded, not traced
    assert np.array_equal(got, expected)  # the same program: the same bits
    assert program_files(directory) == written

    # another static argument, shape, dtype or pytree is another program
    again(*args, scale=2.0, flip=True)
    again(x[:4], (None, 0.25), scale=3.0, flip=True)
    again(x.astype(np.float32), (None, 0.25), scale=3.0, flip=True)
    again(x, (jnp.ones(2), 0.25), scale=3.0, flip=True)
    assert len(program_files(directory)) == 5


def test_every_kind_of_leaf_finds_its_own_program(jax_cache_dir):
    """A program seen before is found from cheap leaf signatures (a numpy array's shape and dtype, a Python scalar's
    type); what JAX types differently must still reach its own program: a Python int, float or complex, a numpy
    scalar, a numpy array of each dtype, a JAX array, a weakly typed JAX scalar. Each call's result is jax.jit's."""
    directory = enable_persistent_cache()

    def add(x, y):
        return x + y

    f = persistent_jit(sources=("photonics",))(add)
    reference = jax.jit(add)
    x = np.arange(3.0)
    kinds = [
        2,
        2.5,
        1 + 2j,
        True,
        np.float32(2.5),
        np.float64(2.5),
        np.arange(3),
        np.arange(3.0, dtype=np.float32),
        np.ones((1, 3)),
        jnp.arange(3.0),
        jnp.asarray(2.5),
        jnp.float32(2.5),
    ]
    for _ in range(2):  # the second pass finds every program from its signature
        for y in kinds:
            got, want = f(x, y), reference(x, y)
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), repr(y)
    assert len(f._files) == len({(jax.typeof(y)) for y in kinds}) == len(program_files(directory))
    # a tracer of an aval a concrete array has run with is inlined into its trace, not handed that program
    assert np.array_equal(jax.jit(lambda y: f(x, y) * 2.0)(jnp.arange(3.0)), (x + np.arange(3.0)) * 2.0)


def test_a_jax_arrays_signature_lives_and_dies_with_it(jax_cache_dir):
    """A concrete JAX array is known by its identity while it lives (equal avals share one program); a freed
    array's entry goes with it, and arrays made after it, of other shapes (at its address, perhaps), reach
    their own programs."""
    import gc

    enable_persistent_cache()

    def add_one(x):
        return x + 1.0

    f = persistent_jit(sources=("photonics",))(add_one)
    gc.collect()
    before = len(jax_setup._array_numbers)
    for n in (1, 2, 1, 3, 2):  # equal shapes again: found by the shared number
        y = jnp.arange(float(n))
        assert np.array_equal(f(y), np.arange(float(n)) + 1.0)
        assert np.array_equal(f(y), np.arange(float(n)) + 1.0)  # the same array again: by its identity
        del y
    gc.collect()
    assert len(jax_setup._array_numbers) == before
    assert len(f._files) == 3
    kept = [jnp.zeros(k) for k in range(4, 8)]  # arrays that live: each remembered once
    for k, y in enumerate(kept, start=4):
        assert f(y).shape == (k,)
    assert len(jax_setup._array_numbers) == before + len(kept)


def test_an_edit_to_the_sources_compiles_again(jax_cache_dir, monkeypatch):
    directory = enable_persistent_cache()
    f = persistent_jit(sources=("photonics",))(lambda x: jnp.cos(x) * 2.0)
    f(jnp.arange(3.0))
    monkeypatch.setitem(jax_setup._digests, ("photonics",), "another source")
    g = persistent_jit(sources=("photonics",))(f.__wrapped__)
    with Traces() as traces:
        g(jnp.arange(3.0))
    assert "<lambda>" in traces.names
    assert len(program_files(directory)) == 2


def test_another_key_compiles_again(jax_cache_dir):
    directory = enable_persistent_cache()
    registry = {"model": "a"}

    def f(x):
        return x * 5.0

    def wrapped():  # as a fresh process would
        return persistent_jit(sources=("photonics",), key=lambda: registry["model"])(f)

    wrapped()(jnp.arange(3.0))
    wrapped()(jnp.arange(3.0))
    assert len(program_files(directory)) == 1
    registry["model"] = "b"  # what the trace reads has changed
    with Traces() as traces:
        wrapped()(jnp.arange(3.0))
    assert "f" in traces.names and len(program_files(directory)) == 2


def test_an_unreadable_entry_is_compiled_again_with_a_warning(jax_cache_dir):
    directory = enable_persistent_cache()

    def f(x):
        return x * 3.0 + 1.0

    persistent_jit(sources=("photonics",))(f)(jnp.arange(4.0))
    (entry,) = directory.rglob(f"{PROGRAM_PREFIX}*")
    entry.write_bytes(b"not a program")
    with pytest.warns(UserWarning, match=r"compiling .*\.f again: cannot load"):
        out = persistent_jit(sources=("photonics",))(f)(jnp.arange(4.0))
    assert np.array_equal(out, np.arange(4.0) * 3.0 + 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rewritten whole: the next process loads it
        persistent_jit(sources=("photonics",))(f)(jnp.arange(4.0))


def test_plain_jit_when_the_cache_is_off_or_inside_a_trace(jax_cache_dir):
    f = persistent_jit(static_argnames=("n",), sources=("photonics",))(lambda x, *, n: x**n)
    assert jax.config.jax_compilation_cache_dir is None  # conftest: the cache is off
    assert float(f(jnp.float64(1.5), n=3)) == 1.5**3
    directory = enable_persistent_cache()
    outer = jax.jit(lambda x: f(x, n=2) + 1.0)  # traced into the outer program, not loaded on its own
    assert float(outer(jnp.float64(3.0))) == 10.0
    assert not program_files(directory)


def test_preloading_loads_a_tasks_programs_in_the_background(jax_cache_dir, monkeypatch):
    """A task's run lists the programs it ran, in the order it ran them; the next run (a fresh process) loads
    them on the background thread, not on the caller's, and gets the same programs; a list naming a missing
    file costs nothing; the list is what the last process's runs of the task ran, in the order first run, written
    when it differs from the one the process last read or wrote."""
    directory = enable_persistent_cache()
    monkeypatch.setattr(jax_setup, "_ran_here", {})  # this test's processes start with no runs of the task

    def f(x):
        return jnp.sin(x) * 2.0 + x

    def g(x):
        return jnp.cos(x) - x

    def run():  # g first, then f, then g again; new wrappers, as a fresh process has
        wrappers = [persistent_jit(sources=("photonics",))(fun) for fun in (g, f)]
        out = [np.asarray(wrappers[0](x)), np.asarray(wrappers[1](x)), np.asarray(wrappers[0](x))]
        return out, [next(iter(w._programs.values())) for w in wrappers]

    x = np.linspace(0.0, 1.0, 7)
    with jax_setup.preloading("the task"):
        expected, names = run()
    (listing,) = directory.glob(f"{jax_setup.TASK_PREFIX}*")
    assert json.loads(listing.read_text()) == names and set(names) == program_files(directory)

    threads = []
    read = jax_setup._read_program
    monkeypatch.setattr(
        jax_setup, "_read_program", lambda path: threads.append((threading.current_thread(), path.name)) or read(path)
    )
    monkeypatch.setattr(jax_setup, "_loaded", set())  # as a fresh process: nothing loaded yet, no list read
    monkeypatch.setattr(jax_setup, "_listings", {})
    monkeypatch.setattr(jax_setup, "_ran_here", {})
    with Traces() as traces, jax_setup.preloading("the task"):
        got, _ = run()
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert "f" not in traces.names and "g" not in traces.names
    assert [(t.name.startswith("mirage-preload"), name) for t, name in threads] == [(True, n) for n in names]

    listing.write_text(json.dumps([f"{PROGRAM_PREFIX}gone"]))  # a list naming a file that is no longer there
    monkeypatch.setattr(jax_setup, "_loaded", set())
    monkeypatch.setattr(jax_setup, "_listings", {})
    monkeypatch.setattr(jax_setup, "_ran_here", {})
    threads.clear()
    with jax_setup.preloading("the task"):
        got, _ = run()
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert len(threads) == 3  # the missing file tried in the background, the two programs read in the caller
    assert json.loads(listing.read_text()) == names  # the missing file dropped

    writes = []  # the same process, a run of f alone: nothing this process's runs of the task ran is new
    write = jax_setup._write_atomic
    monkeypatch.setattr(jax_setup, "_write_atomic", lambda path, data: writes.append(path) or write(path, data))
    with jax_setup.preloading("the task"):
        persistent_jit(sources=("photonics",))(f)(x)
    assert json.loads(listing.read_text()) == names and not writes

    monkeypatch.setattr(jax_setup, "_listings", {})  # a fresh process's run of f alone: the list is its program only
    monkeypatch.setattr(jax_setup, "_ran_here", {})
    with jax_setup.preloading("the task"):
        persistent_jit(sources=("photonics",))(f)(x)
    assert json.loads(listing.read_text()) == names[1:] and writes == [listing]
    with jax_setup.preloading("the task"):  # then g in the same process: the union, in the order first run
        persistent_jit(sources=("photonics",))(g)(x)
    assert json.loads(listing.read_text()) == [names[1], names[0]] and writes == [listing] * 2

    reads = []  # the same process again: the list it wrote, from memory (a training run enters a block a product)
    monkeypatch.setattr(jax_setup.json, "loads", lambda text, loads=json.loads: reads.append(text) or loads(text))
    with jax_setup.preloading("the task"):
        persistent_jit(sources=("photonics",))(f)(x)
    assert not reads


def test_prefetch_loads_a_tasks_programs_for_its_later_block_and_records_nothing(jax_cache_dir, monkeypatch):
    """A caller that knows its task early (``mirage gemm``, before sampling its chip) starts the loads; the block
    of that task later takes them instead of reading the files again, and work in between is listed nowhere."""
    directory = enable_persistent_cache()

    def f(x):
        return jnp.sin(x) * 3.0

    x = np.linspace(0.0, 1.0, 5)
    with jax_setup.preloading("a later task"):
        wrapper = persistent_jit(sources=("photonics",))(f)
        expected = np.asarray(wrapper(x))
    (name,) = wrapper._programs.values()
    (listing,) = directory.glob(f"{jax_setup.TASK_PREFIX}*")
    listed = listing.read_text()

    reads = []
    read = jax_setup._read_program
    monkeypatch.setattr(
        jax_setup, "_read_program", lambda path: reads.append((threading.current_thread(), path.name)) or read(path)
    )
    monkeypatch.setattr(jax_setup, "_loaded", set())  # as a fresh process
    monkeypatch.setattr(jax_setup, "_listings", {})
    monkeypatch.setattr(jax_setup, "_ran_here", {})
    monkeypatch.setattr(jax_setup, "_preloaded", {})
    jax_setup.prefetch("a later task")
    assert list(jax_setup._preloaded) == [name]  # its load under way before the block
    persistent_jit(sources=("photonics",))(lambda v: v - 1.0)(x)  # the caller's own work meanwhile
    with jax_setup.preloading("a later task"):
        got = np.asarray(persistent_jit(sources=("photonics",))(f)(x))
    assert np.array_equal(got, expected)
    ours = [t.name for t, n in reads if n == name]
    assert len(ours) == 1 and ours[0].startswith("mirage-preload")  # read once, in the background
    assert listing.read_text() == listed and len(list(directory.glob(f"{jax_setup.TASK_PREFIX}*"))) == 1


def test_preloading_does_nothing_with_the_cache_off(jax_cache_dir):
    assert jax.config.jax_compilation_cache_dir is None  # conftest: the cache is off
    with jax_setup.preloading("the task"):
        assert float(persistent_jit(sources=("photonics",))(lambda v: v + 1.0)(jnp.float64(1.0))) == 2.0
    assert not jax_cache_dir.exists() or not any(jax_cache_dir.rglob(f"{jax_setup.TASK_PREFIX}*"))


def test_static_arguments_must_be_keyword_only():
    with pytest.raises(TypeError, match="'n' .* must be keyword-only"):
        persistent_jit(static_argnames=("n",), sources=())(lambda x, n: x * n)


# Fresh processes running the GEMM's exact chunk sums: through plain jax.jit (argument "plain": only JAX's
# persistent cache keeps it), or through persistent_jit.
FRESH = """
import json, sys, jax, numpy as np
from photonics.jax_setup import enable_persistent_cache
enable_persistent_cache()
traced = []
jax.monitoring.register_event_time_span_listener(
    lambda event, start, end, **kw: traced.append(kw.get("fun_name")) if event.endswith("trace_duration") else None)
from mvm.digital import exact_chunk_sums
f = exact_chunk_sums.jitted if sys.argv[1:] == ["plain"] else exact_chunk_sums
rng = np.random.default_rng(5)
out = np.asarray(f(rng.integers(-127, 128, (6, 32)), rng.integers(-127, 128, (32, 7)), h=16))
print(json.dumps({"traced": traced, "out": out.tolist()}))
"""


def test_a_second_process_runs_the_program_without_tracing(tmp_path):
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache")}

    def run(*argv) -> dict:
        out = subprocess.run([sys.executable, "-c", FRESH, *argv], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    # JAX's cache holds the program first: persistent_jit compiles its own copy all the same (one JAX loaded
    # would be written without its code, and the next process could not run it)
    plain = run("plain")
    first, second = run(), run()
    assert "exact_chunk_sums" in first["traced"]
    assert second["traced"] == []
    rng = np.random.default_rng(5)
    am, bm = rng.integers(-127, 128, (6, 32)), rng.integers(-127, 128, (32, 7))
    reference = np.stack([am[:, c * 16 : (c + 1) * 16] @ bm[c * 16 : (c + 1) * 16] for c in range(2)])
    assert np.array_equal(second["out"], reference) and second["out"] == first["out"] == plain["out"]


# A fresh process accumulating twice: first into a numpy array, then into the program's own output.
TWICE = """
import json, numpy as np
from photonics import jax_setup
from photonics.jax_setup import enable_persistent_cache
enable_persistent_cache()
from mvm.digital import accumulate_groups
reads = []  # the files loaded (a missing file raises before it is counted)
read = jax_setup._read_program
jax_setup._read_program = lambda path: (read(path), reads.append(path.name))[0]
values, exp_a, exp_b = np.ones((2, 3, 4), np.float32), np.zeros((3, 2), np.int32), np.zeros((2, 4), np.int32)
out = np.zeros((3, 4))
for _ in range(2):
    out = accumulate_groups(values, exp_a, exp_b, out, per_group=1, by_product=True)
print(json.dumps({"reads": reads, "out": np.asarray(out).tolist()}))
"""


def test_a_loaded_programs_output_fed_back_reads_its_file_once(tmp_path):
    """The output of a program loaded from another process's file carries that process's hash of its sharding
    (JAX pickles it), so its aval hashes apart from a numpy array's while comparing equal: two keys of the
    wrapper's table, and still one file, read once."""
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache")}

    def run() -> dict:
        out = subprocess.run([sys.executable, "-c", TWICE], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second = run(), run()
    assert first["reads"] == [] and len(second["reads"]) == 1  # the first compiles; the second loads once
    assert second["out"] == first["out"] == np.full((3, 4), 4.0).tolist()


def test_a_closure_is_refused():
    scale = 2.0
    with pytest.raises(TypeError, match="closure"):
        persistent_jit(sources=())(lambda x: x * scale)
