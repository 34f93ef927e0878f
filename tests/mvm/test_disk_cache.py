"""mvm.disk_cache: a result computed once is loaded whole by a later call; another key or source recomputes."""

import pickle

import numpy as np

from mvm import disk_cache


def test_cached_loads_what_was_computed(tmp_path, monkeypatch):
    monkeypatch.setattr(disk_cache, "directory", lambda: tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"factor": np.random.default_rng(0).standard_normal((5, 3))}

    first = disk_cache.cached("demo", "key-a", compute, ("mvm.config",))
    second = disk_cache.cached("demo", "key-a", compute, ("mvm.config",))
    assert len(calls) == 1  # the second call read the file
    assert first["factor"].tobytes() == second["factor"].tobytes()  # bit for bit
    (entry,) = tmp_path.glob("demo-*.pkl")
    assert pickle.loads(entry.read_bytes())["factor"].tobytes() == first["factor"].tobytes()
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    disk_cache.cached("demo", "key-b", compute, ("mvm.config",))  # another input
    disk_cache.cached("demo", "key-a", compute, ("mvm.schema",))  # other code computing it
    assert len(calls) == 3
    assert len(list(tmp_path.glob("demo-*.pkl"))) == 3


def test_cached_recomputes_a_damaged_entry_and_is_off_without_a_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(disk_cache, "directory", lambda: tmp_path)
    disk_cache.cached("demo", "k", lambda: 1)
    (entry,) = tmp_path.glob("demo-*.pkl")
    entry.write_bytes(b"\x80")  # truncated pickle (a disk that filled mid-write elsewhere)
    assert disk_cache.cached("demo", "k", lambda: 2) == 2
    assert disk_cache.cached("demo", "k", lambda: 3) == 2  # rewritten whole
    monkeypatch.setattr(disk_cache, "directory", lambda: None)
    assert disk_cache.cached("demo", "k", lambda: 4) == 4  # the cache off: always computed
