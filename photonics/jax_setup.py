"""JAX's process-wide settings: float64, the persistent compilation cache, compile timing.

- :func:`configure` switches on float64 (``photonics`` calls it once on import).
- :func:`enable_persistent_cache` points JAX's persistent compilation cache at
  :func:`cache_dir`, so that a fresh process loads the executables an earlier one
  compiled instead of compiling them again. Only the entry points call it (the
  ``mirage`` CLI and the benchmarks): importing the library writes nothing to the
  user's home.
- :func:`compile_timer` measures the seconds a block of code spends in JAX's
  compilation (tracing, lowering, XLA compile or persistent-cache load).

The cache directory is ``$MIRAGE_JAX_CACHE`` when that is set (empty or ``off``
disables the cache), else ``$XDG_CACHE_HOME/mirage-photonics/jax`` with
``XDG_CACHE_HOME`` defaulting to ``~/.cache`` (the XDG Base Directory rule).
Entries go in one subdirectory per CPU (:func:`machine_tag`), so that a home
shared between machines never hands one CPU's code to another.
"""

from __future__ import annotations

import hashlib
import os
import platform
import threading
import warnings
import weakref
from pathlib import Path

import jax

CACHE_ENV = "MIRAGE_JAX_CACHE"
CACHE_OFF = ("", "off")  # values of CACHE_ENV that disable the cache
APP_DIR = "mirage-photonics"
# The cache's size bound: beyond it, entries least recently read go first, down to half of it. JAX's own
# bound (jax_compilation_cache_max_size) needs the `filelock` package; sax circuits on the klu backend add
# entries that never hit (a KLU handle of the process is a constant of the program, so the key differs).
CACHE_MAX_BYTES = 512 * 2**20

# jax.monitoring events that time compilation, as named in JAX's dispatch module: tracing to a jaxpr,
# lowering to an MLIR module, and the XLA compile, which includes looking up (and loading from) the
# persistent cache. Spans nest (a jit traced inside another's trace), so a timer sums their union.
COMPILE_EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    }
)


def configure() -> None:
    """Process-wide JAX settings every model needs.

    The models need float64: unitarity to 1e-12 and sax's klu backend (which
    crashes in float32) both depend on it. sax switches this on too on import.
    """
    jax.config.update("jax_enable_x64", True)


def user_cache_dir(env: str, name: str) -> Path | None:
    """A cache directory of this package: ``$env`` when set (None when it is empty or ``off``: no cache), else
    ``$XDG_CACHE_HOME`` (when absolute; the XDG rule ignores a relative one) or ``~/.cache``, then
    ``mirage-photonics/name``."""
    override = os.environ.get(env)
    if override is not None:
        return None if override.strip().lower() in CACHE_OFF else Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / APP_DIR / name


def cache_dir() -> Path | None:
    """Where the persistent compilation cache lives; None when ``MIRAGE_JAX_CACHE`` disables it."""
    return user_cache_dir(CACHE_ENV, "jax")


def machine_tag() -> str:
    """This CPU's architecture and a digest of its instruction-set features (Linux: /proc/cpuinfo flags)."""
    try:
        with open("/proc/cpuinfo") as f:
            features = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        features = ""
    features = features or platform.processor()
    return f"{platform.machine() or 'cpu'}-{hashlib.sha256(features.encode()).hexdigest()[:12]}"


def enable_persistent_cache() -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir`/:func:`machine_tag`; None if disabled.

    Returns the directory. Every compiled program is written (no minimum compile
    time or size): a GEMM compiles many small programs whose sum is most of a
    fresh process's time. A directory that cannot be created leaves the cache
    off, with a warning.

    XLA:CPU logs an error and a warning for every program it loads from the
    cache, because it counts two LLVM tuning preferences (+prefer-no-gather,
    +prefer-no-scatter) among the CPU features a program needs and the host's
    feature list never has them (jax-ml/jax#38445, openxla/xla#44565); the
    program loads and runs. Since every entry here was compiled on this CPU (the
    machine tag), XLA's C++ log is limited to fatal messages while the cache is
    on, unless ``TF_CPP_MIN_LOG_LEVEL`` sets another level than JAX's default
    (1, warnings); failures still raise.
    """
    base = cache_dir()
    if base is None:
        return None
    directory = base / machine_tag()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warnings.warn(f"JAX compilation cache off: cannot create {directory} ({exc.strerror})", stacklevel=2)
        return None
    if jax.config.jax_compilation_cache_dir != str(directory):
        from jax.experimental.compilation_cache import compilation_cache

        jax.config.update("jax_compilation_cache_dir", str(directory))
        compilation_cache.reset_cache()  # a cache opened at another directory is reopened at this one
    prune(directory, CACHE_MAX_BYTES)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1") == "1":  # `import jax` sets 1 unless the user chose
        from jax._src.lib import utils

        utils.absl_set_min_log_level(3)  # absl's levels: 0 info, 1 warning, 2 error, 3 fatal
    return directory


def prune(directory: Path, max_bytes: int) -> int:
    """If the files in ``directory`` exceed ``max_bytes``, delete the least recently read (then modified) ones
    until they fill at most half of it; return how many were deleted."""
    entries = []
    for path in directory.iterdir():
        try:
            st = path.stat()
        except OSError:  # deleted meanwhile by another process
            continue
        if path.is_file():
            entries.append((max(st.st_atime, st.st_mtime), st.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total <= max_bytes:
        return 0
    deleted = 0
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total <= max_bytes // 2:
            break
        path.unlink(missing_ok=True)
        total -= size
        deleted += 1
    return deleted


# thread id -> timers running on it; weak, so that a timer never stopped (an exception) goes with its owner
_active: dict[int, weakref.WeakSet[compile_timer]] = {}
_lock = threading.Lock()
_listening = False


def _on_span(event: str, start_time: float, end_time: float, **_) -> None:
    if event in COMPILE_EVENTS:
        for timer in list(_active.get(threading.get_ident(), ())):
            timer._spans.append((start_time, end_time))


class compile_timer:  # noqa: N801 (used like a function: `with compile_timer() as compiled`)
    """Seconds spent compiling (JAX tracing, lowering, XLA compile or cache load) on this thread.

    ``with compile_timer() as compiled: ...`` then ``compiled.seconds``; or
    ``compiled = compile_timer.start()`` ... ``seconds = compiled.stop()``. Only
    compilation that happens on the thread that started the timer counts;
    timers may nest.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._spans: list[tuple[float, float]] = []
        self._thread: int | None = None

    @classmethod
    def start(cls) -> compile_timer:
        return cls().__enter__()

    def stop(self) -> float:
        self.__exit__(None, None, None)
        return self.seconds

    def __enter__(self) -> compile_timer:
        global _listening
        with _lock:
            if not _listening:  # one listener for every timer, registered on first use
                jax.monitoring.register_event_time_span_listener(_on_span)
                _listening = True
            self._thread = threading.get_ident()
            _active.setdefault(self._thread, weakref.WeakSet()).add(self)
        return self

    def __exit__(self, *exc) -> None:
        with _lock:
            timers = _active.get(self._thread, weakref.WeakSet())
            timers.discard(self)
            if not timers:
                _active.pop(self._thread, None)
        self.seconds = _union_seconds(self._spans)


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    """Total length of the union of intervals (nested or overlapping spans counted once)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total
