"""Results that a fresh process would otherwise compute again, kept on disk beside JAX's compiled programs.

A Monte Carlo worker starts with nothing: the layout's route lengths (gdsfactory)
and the variation's correlation factor (an ``eigh`` of the tile's positions)
took most of its warm-up. :func:`cached` keeps such a result in a file named by a
digest of everything it depends on (the caller's key, this package's version,
the source of the modules that compute it, the CPU, :func:`photonics.jax_setup.machine_tag`)
so a later process, or a worker of a Dask cluster sharing the home, loads it
instead. A result loaded is the one computed (pickled whole), so a row of
results does not depend on which process filled the cache.

The cache is on exactly when JAX's persistent compilation cache is
(:func:`photonics.jax_setup.enable_persistent_cache`, which only the entry
points call): files go in ``<that cache's parent>/derived/<machine tag>``.
Entries are written atomically (a temporary file moved into place), so
processes filling the same entry at once leave one whole file. The directory
holds at most ``MAX_BYTES``: writing an entry deletes the least recently used
beyond it (a load marks its entry used), since keys such as a chip's receiver
maps (about 0.4 MB a chip) grow with every chip a user runs, and the temporary
files of processes killed mid-write (older than ``STALE_TMP_S``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import jax

from photonics.jax_setup import machine_tag, source_digest

PACKAGE = "mirage-photonics"
MAX_BYTES = 256 << 20  # the entries' total size beyond which the least recently used go
# A temporary file this much older than a write is a process's killed mid-write (a pickle takes milliseconds)
STALE_TMP_S = 3600


def directory() -> Path | None:
    """Where entries live; None while JAX's persistent compilation cache is off."""
    jax_dir = jax.config.jax_compilation_cache_dir
    if not jax_dir:
        return None
    return Path(jax_dir).parent / "derived" / machine_tag()


def digest(*values) -> str:
    """A key for values that are arrays and dataclasses of them: the sha256 of their pickle.

    Equal digests mean equal values (an array pickles its dtype, shape and bytes; a
    dataclass each field), so an entry found is the one these inputs compute; equal
    values that pickle differently only miss.
    """
    return hashlib.sha256(pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


@functools.cache
def _versions(packages: tuple[str, ...]) -> str:  # once per process: importlib.metadata reads files (1-5 ms)
    out = []
    for name in packages:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} unknown")
    return ", ".join(out)


def cached(
    name: str,
    key: str,
    compute: Callable[[], object],
    modules: tuple[str, ...] = (),
    packages: tuple[str, ...] = (),
) -> object:
    """``compute()``, or the result an earlier process stored for the same ``name``, ``key`` and sources.

    ``key``: a string that determines the result (a ``repr`` of the inputs);
    ``modules``: the modules or packages whose code computes it (their source is
    part of the key, so an edit there recomputes); ``packages``: the distributions it uses
    (their versions are part of the key; numpy's always is, and this package's).
    With the cache off, just ``compute()``.
    """
    where = directory()
    if where is None:
        return compute()
    entry = hashlib.sha256(
        "\0".join((name, key, _versions((PACKAGE, "numpy", *packages)), source_digest((__name__, *modules)))).encode()
    ).hexdigest()
    path = where / f"{name}-{entry[:32]}.pkl"
    try:
        with open(path, "rb") as f:
            value = pickle.load(f)
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: the last to go
        return value
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    value = compute()
    try:
        where.mkdir(parents=True, exist_ok=True)
        _collect_stale_tmp(where)  # before writing: a disk they fill would fail the write
        fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        _prune(where, keep=path)
    except OSError:
        pass  # a read-only or full disk: the result stands, uncached
    return value


def _collect_stale_tmp(where: Path) -> None:
    """Delete the temporary files in ``where`` last modified more than ``STALE_TMP_S`` ago: their writers died (a
    live one replaces its file within the write, milliseconds)."""
    stale = time.time_ns() - STALE_TMP_S * 10**9
    for path in where.glob(".*.tmp"):
        with contextlib.suppress(OSError):  # another process may remove one meanwhile
            if path.stat().st_mtime_ns < stale:
                path.unlink()


def _prune(where: Path, keep: Path) -> None:
    """Delete the least recently used entries (oldest modification time) until those in ``where`` total at most
    ``MAX_BYTES``; ``keep``, the entry just written, stays."""
    entries = []
    for path in where.glob("*.pkl"):
        with contextlib.suppress(OSError):  # another process may remove one meanwhile
            st = path.stat()
            entries.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= MAX_BYTES:
            break
        if path != keep:
            path.unlink(missing_ok=True)
            total -= size
