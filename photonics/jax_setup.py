"""JAX's process-wide settings: float64, the persistent compilation cache, compile timing.

- :func:`configure` switches on float64 (``photonics`` calls it once on import).
- :func:`enable_persistent_cache` points JAX's persistent compilation cache at
  :func:`cache_dir`, so that a fresh process loads the executables an earlier one
  compiled instead of compiling them again. Only the entry points call it (the
  ``mirage`` CLI and the benchmarks): importing the library writes nothing to the
  user's home.
- :func:`persistent_jit` is ``jax.jit`` whose compiled programs a later process
  loads from that cache without tracing or lowering them again (JAX's own cache
  needs both to find an entry: in a fresh process they cost more than loading).
- :func:`preloading` loads, in a background thread, the programs a task ran the last
  time, while the task prepares its data (a fresh process's loads overlap its work).
- :func:`compile_timer` measures the seconds a block of code spends in JAX's
  compilation (tracing, lowering, XLA compile or persistent-cache load).

The cache directory is ``$MIRAGE_JAX_CACHE`` when that is set (empty or ``off``
disables the cache), else ``$XDG_CACHE_HOME/mirage-photonics/jax`` with
``XDG_CACHE_HOME`` defaulting to ``~/.cache`` (the XDG Base Directory rule).
Entries go in one subdirectory per CPU (:func:`machine_tag`), so that a home
shared between machines never hands one CPU's code to another.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import itertools
import json
import os
import pickle
import platform
import tempfile
import threading
import time
import warnings
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path

import jax
import numpy as np

try:  # JAX's settings that change what a trace produces (x64, promotion, ...): what jax.jit keys its programs on
    from jax._src.config import trace_context as _trace_context
except ImportError:  # another JAX: every setting

    def _trace_context() -> str:
        return repr(sorted((k, repr(v)) for k, v in jax.config.values.items()))


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
        "/mirage/program_load_duration",  # persistent_jit loading a program a previous process compiled
    }
)
PROGRAM_PREFIX = "program-"  # persistent_jit's files in the cache directory (pruned with JAX's)
PROGRAM_FORMAT = 1  # bump when what persistent_jit writes changes
TASK_PREFIX = "task-"  # preloading's lists of the program files a task ran (pruned with the rest)
LOAD_ERRORS = (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, RuntimeError)  # a file not loadable


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


def source_digest(names: tuple[str, ...]) -> str:
    """sha256 of the source of the modules ``names`` (a package: every module in it), found, not imported
    (circuits.layout would import gdsfactory); computed once per process."""
    if names not in _digests:
        h = hashlib.sha256()
        for name in names:
            spec = find_spec(name)
            h.update(name.encode())
            if spec is None:
                continue
            for root in spec.submodule_search_locations or ():  # a package: every module in it
                for path in sorted(Path(root).rglob("*.py")):
                    h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
            if not spec.submodule_search_locations and spec.origin and Path(spec.origin).is_file():
                h.update(Path(spec.origin).read_bytes())
        _digests[names] = h.hexdigest()
    return _digests[names]


_digests: dict[tuple[str, ...], str] = {}
_compiling = threading.Lock()


def _compile_uncached(lowered):
    """``lowered.compile()`` by XLA itself, JAX's persistent cache aside: an executable that cache loaded
    serialises without its code (XLA:CPU, jax 0.9: a later load fails with "Function ... not found")."""
    from jax.experimental.compilation_cache import compilation_cache

    with _compiling:
        enabled = jax.config.jax_enable_compilation_cache
        jax.config.update("jax_enable_compilation_cache", False)
        compilation_cache.reset_cache()  # JAX decides once whether its cache is on: asked again now, and after
        try:
            return lowered.compile()
        finally:
            jax.config.update("jax_enable_compilation_cache", enabled)
            compilation_cache.reset_cache()


def file_digest(fun) -> str:
    """sha256 of the file that defines ``fun`` (whether or not its package is among the sources)."""
    path = inspect.getsourcefile(fun)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path and Path(path).is_file() else ""


def persistent_jit(*, static_argnames: tuple[str, ...] = (), sources: tuple[str, ...], key=None):
    """``jax.jit(fun, static_argnames=...)`` whose programs persist whole across processes (a decorator).

    JAX's persistent cache finds a program by a digest of its lowered module, so a
    fresh process traces and lowers every program before it can load it; for the
    GEMM's programs that cost several times the load. Here a program is found by
    what determines it: the function (its name and its file), the source of the
    packages its trace can run (``sources``), the static arguments, the
    arguments' pytree, shapes and dtypes, and the versions and settings of JAX,
    numpy and XLA. The executable XLA compiled is stored in the cache directory
    (:func:`enable_persistent_cache`) and loaded as it is
    (``jax.experimental.serialize_executable``): the same program, the same
    results.

    ``key``: a function returning a string that stands for whatever else the
    trace reads (a registry of models, say), evaluated once per program and
    process and made part of the key.

    With the persistent cache off, or when called inside another traced
    function, it is plain ``jax.jit``. Static arguments must be keyword-only,
    and ``fun`` no closure (what it captured is not part of the key).
    """

    def wrap(fun):
        return _PersistentJit(fun, tuple(static_argnames), tuple(sources), key)

    return wrap


def _leaf_signature(x):
    """What decides a leaf's abstract value under a fixed trace context, found cheaply: a numpy array's shape and
    dtype, a Python scalar's type (JAX types it weakly), a concrete JAX array's number (:func:`_array_signature`),
    else (a numpy scalar, a tracer) its type and aval (a tracer's type keeps it from the program of a concrete array
    of its aval: it is inlined instead)."""
    kind = type(x)
    if kind is np.ndarray:
        return (x.shape, x.dtype)
    if kind in _PYTHON_SCALARS:
        return kind
    if kind is _ARRAY_TYPE:
        return _array_signature(x)
    return (kind, jax.typeof(x))


def _array_signature(x) -> int:
    """A concrete JAX array's (type, aval) as a small number, remembered per array while it lives.

    A product passes the same device tables (about thirty arrays) on every call: asking JAX for each one's aval
    (3 us) and hashing the avals in the key cost a tenth of a millisecond a call. An array never changes its aval,
    so its number is found by its identity (the weak reference checks that the id is still this array's), and
    equal (type, aval) pairs share one number, so keys compare as they would with the avals themselves.
    """
    known = _array_numbers.get(id(x))
    if known is not None and known[0]() is x:
        return known[1]
    signature = (type(x), jax.typeof(x))
    number = _signature_numbers.get(signature)
    if number is None:  # a number no other thread can take as well (setdefault and the counter are atomic)
        number = _signature_numbers.setdefault(signature, next(_next_number))
    key = id(x)
    _array_numbers[key] = (weakref.ref(x, lambda ref: _forget_array(key, ref)), number)
    return number


def _forget_array(key: int, ref) -> None:
    """Drop a freed array's entry (unless its id already names a newer array's)."""
    known = _array_numbers.get(key)
    if known is not None and known[0] is ref:
        del _array_numbers[key]


try:  # the type of a concrete JAX array (a tracer is another type)
    from jax._src.array import ArrayImpl as _ARRAY_TYPE
except ImportError:  # another JAX: every JAX leaf by its type and aval
    _ARRAY_TYPE = None
_array_numbers: dict[int, tuple] = {}  # id of a live JAX array -> (weak reference to it, its signature's number)
_signature_numbers: dict = {}  # (type, aval) -> its number
_next_number = itertools.count()
_PYTHON_SCALARS = frozenset({bool, int, float, complex})


class _PersistentJit:
    def __init__(self, fun, static_argnames: tuple[str, ...], sources: tuple[str, ...], key=None) -> None:
        if fun.__closure__:
            raise TypeError(
                f"persistent_jit: {fun.__qualname__} is a closure; its programs are found by its name, which does "
                "not tell the values it captured apart"
            )
        parameters = inspect.signature(fun).parameters
        for name in static_argnames:
            if name not in parameters or parameters[name].kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"persistent_jit: static argument {name!r} of {fun.__qualname__} must be keyword-only")
        self.jitted = jax.jit(fun, static_argnames=static_argnames)
        self._fun, self._static, self._sources, self._key = fun, static_argnames, sources, key
        # (tree, static arguments, avals, trace context) -> the name of its program's file
        self._programs: dict = {}
        # file name -> jax.stages.Compiled. Keys that compare equal can hash apart (the output of a program loaded
        # from another process's file carries that process's hash of its sharding, which JAX pickles): two keys,
        # one file, loaded once
        self._files: dict = {}
        # (tree, static arguments, leaf signatures, trace context) -> (file name, program): a key seen before, found
        # without asking JAX for every leaf's type (jax.typeof costs microseconds a leaf; a model has a dozen leaves)
        self._seen: dict = {}
        functools.update_wrapper(self, fun)

    def __getattr__(self, name):  # lower, trace, eval_shape, ... as jax.jit's
        return getattr(self.jitted, name)

    def __call__(self, *args, **kwargs):
        directory = jax.config.jax_compilation_cache_dir
        if not directory:
            return self.jitted(*args, **kwargs)
        static = tuple((name, kwargs.pop(name)) for name in self._static if name in kwargs)
        leaves, tree = jax.tree_util.tree_flatten((args, kwargs))
        context = _trace_context()
        signature = (tree, static, tuple(map(_leaf_signature, leaves)), context)
        seen = self._seen.get(signature)
        if seen is None:
            if any(isinstance(x, jax.core.Tracer) for x in leaves):  # inside another trace: inlined there
                return self.jitted(*args, **kwargs, **dict(static))
            key = (tree, static, tuple(jax.typeof(x) for x in leaves), context)
            name = self._programs.get(key)
            if name is None:
                name = self._programs[key] = self._program(Path(directory), key, args, kwargs, dict(static))
            seen = self._seen[signature] = (name, self._files[name])
        name, program = seen
        if _running:  # a preloading block is open: the task runs this program
            with _preload_lock:
                for names in _running:
                    names.setdefault(name)
        return program(*args, **kwargs)

    def _program(self, directory: Path, key, args, kwargs, static) -> str:
        """The file name of a key not seen yet, its program in ``_files``: this process's if it has the file's,
        else loaded or compiled (:meth:`_load_or_compile`)."""
        path = self._path(directory, key)
        if path.name not in self._files:
            self._files[path.name] = self._load_or_compile(path, args, kwargs, static)
        return path.name

    def _path(self, directory: Path, key) -> Path:
        """The file of a key's program: named by everything that decides the compiled program."""
        tree, statics, avals, context = key
        device = jax.devices()[0]
        backend = device.client
        identity = "\0".join(
            str(part)
            for part in (
                PROGRAM_FORMAT,
                self._fun.__module__,
                self._fun.__qualname__,
                source_digest(self._sources),
                file_digest(self._fun),
                "" if self._key is None else self._key(),
                tree,
                statics,
                avals,
                context,
                jax.__version__,
                np.__version__,
                backend.platform,
                backend.platform_version,
                device.device_kind,  # an accelerator's model (the directory names the CPU only)
                len(jax.devices()),
                sorted((k, repr(v)) for k, v in jax.config.values.items()),
                os.environ.get("XLA_FLAGS", ""),
            )
        )
        return directory / f"{PROGRAM_PREFIX}{hashlib.sha256(identity.encode()).hexdigest()[:40]}"

    def _load_or_compile(self, path: Path, args, kwargs, static):
        """The program stored at ``path`` (loaded in the background by a preloading block, or here), else compiled
        and stored there."""
        from jax.experimental import serialize_executable

        _loaded.add(path.name)
        start = time.time()
        program = _take_preloaded(path.name)  # loaded in the background by a preloading block, if it was
        if program is None:
            try:
                program = _read_program(path)
            except FileNotFoundError:
                program = None
            except LOAD_ERRORS as exc:
                # unreadable, or no longer loadable (XLA's format changed under the same versions): compiled again
                warnings.warn(f"compiling {self._fun.__qualname__} again: cannot load {path} ({exc})", stacklevel=4)
                program = None
        if program is not None:
            jax.monitoring.record_event_time_span("/mirage/program_load_duration", start, time.time())
            return program
        program = _compile_uncached(self.jitted.lower(*args, **kwargs, **static))
        try:
            payload = pickle.dumps(serialize_executable.serialize(program), protocol=pickle.HIGHEST_PROTOCOL)
        except (ValueError, NotImplementedError):  # a program XLA cannot serialise: kept in this process only
            return program
        _write_atomic(path, payload)  # processes writing the same program at once leave one whole file
        return program


def _read_program(path: Path):
    """The program persistent_jit stored at ``path``, loaded (raises what open, pickle or XLA raise)."""
    from jax.experimental import serialize_executable

    with open(path, "rb") as f:
        return serialize_executable.deserialize_and_load(*pickle.load(f))


def _read_quietly(path: Path):
    """:func:`_read_program`, None where the file cannot be loaded (the caller then loads it and says why)."""
    try:
        return _read_program(path)
    except LOAD_ERRORS:
        return None


_preload_lock = threading.Lock()
_preloaded: dict[str, Future] = {}  # program file name -> its load in the background
_loaded: set[str] = set()  # program files this process has loaded or compiled (never preloaded again)
_running: list[dict[str, None]] = []  # per open preloading block: the program files its task ran, in order
_listings: dict[Path, list[str]] = {}  # a task's list file -> its list, as this process last read or wrote it
_ran_here: dict[Path, dict[str, None]] = {}  # a task's list file -> the programs this process's runs of it ran


@functools.cache
def _loader() -> ThreadPoolExecutor:
    """The background loader: one thread, started on first use."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirage-preload")


def _take_preloaded(name: str):
    """The program in file ``name`` if a preloading block started loading it (waiting for the load), else None."""
    with _preload_lock:
        future = _preloaded.pop(name, None)
    return None if future is None else future.result()


def _task_file(directory: Path, task: str) -> Path:
    return directory / f"{TASK_PREFIX}{hashlib.sha256(task.encode()).hexdigest()[:40]}"


@contextlib.contextmanager
def preloading(task: str):
    """Load the program files ``task`` ran the last time, in a background thread, while the block runs.

    A fresh process spends milliseconds loading each program it runs (24 ms for
    the GEMM's flag pass); loaded in the background, that time overlaps the
    task's own work before its first program (XLA's load releases the GIL). The
    block records the files the task's persistent_jit programs run, in the order
    it first runs them, and keeps as the task's list in the cache directory the
    programs this process's runs of the task have run: a program loaded in the
    background but not run costs CPU the task could use. The list is written
    when it differs from the one this process last read or wrote, so runs of
    one task that differ (a Monte Carlo chip's products before and after
    calibration) do not rewrite it each time.
    ``task`` names what decides the programs (a function and its shapes, say);
    a list that is wrong costs loads, never results: a program is still found
    by its own key. With the persistent cache off, the block does nothing.
    """
    directory = jax.config.jax_compilation_cache_dir
    if not directory:
        yield
        return
    listing, pending = _start_loads(Path(directory), task)
    ran: dict[str, None] = {}
    with _preload_lock:
        _running.append(ran)
    try:
        yield
    finally:
        with _preload_lock:
            del _running[next(i for i, r in enumerate(_running) if r is ran)]  # this block's, not an equal one
            for name in pending:  # loads the task did not reach: not started, they are dropped
                if name in _preloaded and _preloaded[name].cancel():
                    del _preloaded[name]
            here = _ran_here.setdefault(listing, {})
            here.update(ran)
            # this process's list replaces the one it last read or wrote (_start_loads keeps it): a program no run of
            # the task here ran is not loaded next time. Written under the lock, so the file is the last list kept.
            if ran and list(here) != _listings.get(listing):
                _listings[listing] = list(here)
                _write_atomic(listing, json.dumps(_listings[listing]).encode())


def prefetch(task: str) -> None:
    """Start loading the programs ``task`` ran the last time in the background, for a :func:`preloading` block of
    the same task later in this process; records nothing.

    For a caller that knows its task well before it can run it: ``mirage gemm``
    samples and calibrates its chip (about a second) before its product, whose
    flag pass otherwise waited 9-19 ms for its program's load in a fresh process.
    With the persistent cache off, nothing.
    """
    directory = jax.config.jax_compilation_cache_dir
    if directory:
        _start_loads(Path(directory), task)


def _start_loads(directory: Path, task: str) -> tuple[Path, list[str]]:
    """The task's list file and the programs of its list (read once a process: a training run's products enter a
    block each) loading in the background, in the list's order: started here, or earlier (by :func:`prefetch`), so
    that a block drops those its task does not reach."""
    listing = _task_file(directory, task)
    listed = _listings.get(listing)
    if listed is None:
        try:
            listed = [str(name) for name in json.loads(listing.read_text())]
        except (OSError, ValueError, TypeError):  # no list yet, or an unreadable one (written again by the block)
            listed = []
        _listings[listing] = listed
    pending = []
    with _preload_lock:
        for name in listed:  # in the order the task first ran them: each load is ready as early as it can be
            if name not in _loaded and name not in _preloaded:
                _preloaded[name] = _loader().submit(_read_quietly, directory / name)
            if name in _preloaded:
                pending.append(name)
    return listing, pending


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (not at all on a read-only or full disk: the caller goes on without)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass


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
