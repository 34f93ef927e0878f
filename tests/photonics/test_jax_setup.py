"""photonics.jax_setup: the persistent compilation cache's directory and use, and compile_timer."""

import json
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from photonics import jax_setup
from photonics.jax_setup import CACHE_ENV, cache_dir, compile_timer, enable_persistent_cache, machine_tag

ROOT = Path(__file__).resolve().parents[2]

# A fresh process: enable the cache, run a tiny jitted function, report the cache hits JAX counted.
FRESH = """
import json, jax, jax.numpy as jnp
from photonics.jax_setup import enable_persistent_cache
hits = []
jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if event.endswith("cache_hits") else None)
directory = enable_persistent_cache()
jax.jit(lambda x: jnp.sin(x) * 3.0 + x)(jnp.arange(5.0)).block_until_ready()
print(json.dumps({"dir": None if directory is None else str(directory), "hits": len(hits),
                  "config": jax.config.jax_compilation_cache_dir}))
"""


def fresh(env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", FRESH], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "stderr": out.stderr}


def files(directory: Path) -> set[str]:
    return {p.name for p in directory.rglob("*") if p.is_file()} if directory.exists() else set()


def test_cache_dir_follows_the_xdg_rule_and_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "mirage-photonics" / "jax"
    for unset in ("", "relative/dir"):  # empty or relative: invalid under the XDG rule, ~/.cache instead
        monkeypatch.setenv("XDG_CACHE_HOME", unset)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert cache_dir() == tmp_path / "home" / ".cache" / "mirage-photonics" / "jax"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv(CACHE_ENV, "~/elsewhere")
    assert cache_dir() == tmp_path / "home" / "elsewhere"
    for off in ("", "off", "OFF", " off "):
        monkeypatch.setenv(CACHE_ENV, off)
        assert cache_dir() is None


def test_a_second_fresh_process_loads_what_the_first_compiled(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    first = fresh({CACHE_ENV: str(directory)})
    written = files(directory)
    assert first["dir"] == first["config"] == str(directory / machine_tag())
    assert first["hits"] == 0 and written  # compiled, and written however short the compile
    second = fresh({CACHE_ENV: str(directory)})
    assert second["hits"] >= 1  # the jitted function came from the directory
    assert files(directory) == written  # and nothing had to be compiled again
    assert "cpu_aot_loader" not in second["stderr"]  # XLA's false alarm on loading (see enable_persistent_cache)


def test_machine_tag_names_the_architecture_and_is_stable():
    tag = machine_tag()
    arch, digest = tag.rsplit("-", 1)
    assert arch == (platform.machine() or "cpu") and len(digest) == 12 and int(digest, 16) >= 0
    assert machine_tag() == tag


def test_off_disables_the_cache(tmp_path):
    home = tmp_path / "home"
    result = fresh({CACHE_ENV: "off", "HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert {k: result[k] for k in ("dir", "hits", "config")} == {"dir": None, "hits": 0, "config": None}
    assert not home.exists() and not (tmp_path / "xdg").exists()


def test_enable_in_process_writes_to_the_directory(jax_cache_dir):
    assert enable_persistent_cache() == jax_cache_dir / machine_tag()
    assert jax.config.jax_compilation_cache_dir == str(jax_cache_dir / machine_tag())
    before = files(jax_cache_dir)
    jax.jit(lambda x: jnp.cos(x) - 2.5 * x)(jnp.arange(7.0)).block_until_ready()
    assert files(jax_cache_dir) - before


def test_compile_timer_counts_a_fresh_jit_and_not_a_cached_call():
    f = jax.jit(lambda x: jnp.tanh(x) @ x.T + 1.25)
    x = jnp.ones((6, 4))
    with compile_timer() as cold:
        f(x).block_until_ready()
    with compile_timer() as warm:
        f(x).block_until_ready()
    assert cold.seconds > 0
    assert warm.seconds == 0.0  # no tracing, lowering or compiling at all
    timer = compile_timer.start()
    f(jnp.ones((3, 5))).block_until_ready()  # a new shape compiles again
    assert timer.stop() > 0 and timer.seconds == timer.stop()


def test_compile_timer_nests_and_ignores_other_threads():
    def compile_elsewhere():
        jax.jit(lambda x: x * 7.5 - 1.0)(jnp.arange(11.0)).block_until_ready()

    with compile_timer() as outer:
        worker = threading.Thread(target=compile_elsewhere)
        worker.start()
        worker.join()
        after_thread = outer._spans[:]
        with compile_timer() as inner:
            jax.jit(lambda x: x**3 + 0.5)(jnp.arange(9.0)).block_until_ready()
    assert after_thread == []  # the other thread's compilation is not this thread's
    assert inner.seconds > 0
    assert outer.seconds == pytest.approx(inner.seconds)


def test_union_of_spans_against_a_fine_grid():
    rng = np.random.default_rng(3)
    starts = rng.uniform(0, 10, 30)
    spans = [(s, s + d) for s, d in zip(starts, rng.exponential(0.5, 30), strict=True)]
    grid = np.linspace(-1, 20, 2_100_001)
    step = grid[1] - grid[0]
    covered = np.zeros(grid.shape, bool)
    for s, e in spans:
        covered |= (grid >= s) & (grid < e)
    assert jax_setup._union_seconds(spans) == pytest.approx(covered.sum() * step, abs=30 * 2 * step)
    assert jax_setup._union_seconds([(0.0, 3.0), (1.0, 2.0), (2.5, 4.0)]) == pytest.approx(4.0)


def test_prune_deletes_least_recently_read_entries_down_to_half(tmp_path):
    for i in range(10):
        path = tmp_path / f"entry{i}-cache"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # entry0 read longest ago
    assert jax_setup.prune(tmp_path, 1000) == 0  # at the bound: kept
    assert jax_setup.prune(tmp_path, 900) == 6  # 1000 bytes > 900: down to 450 or less
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"entry{i}-cache" for i in range(6, 10)]
