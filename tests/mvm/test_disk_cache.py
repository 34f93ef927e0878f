"""mvm.disk_cache: a result computed once is loaded whole by a later call; another key or source recomputes."""

import os
import pickle
import time

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


def test_digest_tells_apart_any_change_of_an_array_or_a_field():
    from circuits.readout import Readout
    from photonics.laser import Laser

    values = (np.arange(6.0).reshape(2, 3), Readout(), 1e-15)
    same = (np.arange(6.0).reshape(2, 3).copy(), Readout(), 1e-15)
    assert disk_cache.digest(*values) == disk_cache.digest(*same)  # equal values, other objects
    changed = [
        (np.arange(6.0).reshape(3, 2), Readout(), 1e-15),  # shape
        (np.arange(6.0, dtype=np.float32).reshape(2, 3), Readout(), 1e-15),  # dtype
        (np.arange(6.0).reshape(2, 3) + np.array([0, 0, 0, 0, 0, 1e-12]).reshape(2, 3), Readout(), 1e-15),  # a bit
        (values[0], Readout(laser=Laser(power_mw=Laser().power_mw * (1 + 1e-15))), 1e-15),  # a nested field
        (values[0], Readout(noise=False), 1e-15),
        (values[0], Readout(), 2e-15),
    ]
    digests = {disk_cache.digest(*v) for v in changed}
    assert len(digests) == len(changed) and disk_cache.digest(*values) not in digests


def test_entries_beyond_the_size_limit_go_least_recently_used_first(tmp_path, monkeypatch):
    monkeypatch.setattr(disk_cache, "directory", lambda: tmp_path)
    value = np.zeros(1000)  # about 8 kB pickled
    files = {}
    for age, key in enumerate("abc", start=1):
        before = set(tmp_path.glob("*.pkl"))
        disk_cache.cached("demo", key, lambda: value)
        (files[key],) = set(tmp_path.glob("*.pkl")) - before
        os.utime(files[key], ns=(age * 10**9, age * 10**9))  # each written a second after the last
    assert disk_cache.cached("demo", "a", lambda: None) is not None  # loaded: a is now the most recently used
    monkeypatch.setattr(disk_cache, "MAX_BYTES", 3 * files["a"].stat().st_size)  # room for three entries
    computed = []
    disk_cache.cached("demo", "d", lambda: computed.append(1) or value)
    assert computed and not files["b"].exists()  # the least recently used went
    assert files["a"].exists() and files["c"].exists() and len(list(tmp_path.glob("*.pkl"))) == 3
    monkeypatch.setattr(disk_cache, "MAX_BYTES", 1)  # smaller than any entry: all go but the one just written
    before = set(tmp_path.glob("*.pkl"))
    disk_cache.cached("demo", "e", lambda: value)
    (kept,) = tmp_path.glob("*.pkl")
    assert kept not in before


def test_temporary_files_of_killed_writers_are_collected(tmp_path, monkeypatch):
    monkeypatch.setattr(disk_cache, "directory", lambda: tmp_path)
    now_ns = time.time_ns()
    old, fresh = tmp_path / ".demo-old.tmp", tmp_path / ".demo-fresh.tmp"
    for path, age_s in ((old, disk_cache.STALE_TMP_S + 60), (fresh, 1)):
        path.write_bytes(b"half a pickle")
        os.utime(path, ns=(now_ns - age_s * 10**9,) * 2)
    disk_cache.cached("demo", "a", lambda: np.zeros(3))
    assert not old.exists()  # its writer died an hour ago
    assert fresh.exists()  # may be another process's write in progress
    assert len(list(tmp_path.glob("*.pkl"))) == 1
