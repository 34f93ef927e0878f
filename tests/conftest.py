"""Test-session settings.

The `mirage` CLI enables JAX's persistent compilation cache in the user's cache
directory; tests run it in-process and as subprocesses (which inherit this
environment), and must not write to the user's home: the cache is off unless a
test points ``MIRAGE_JAX_CACHE`` at a temporary directory itself.
"""

import os

import pytest

from photonics.jax_setup import CACHE_ENV

os.environ[CACHE_ENV] = "off"


@pytest.fixture
def jax_cache_dir(tmp_path, monkeypatch):
    """A temporary MIRAGE_JAX_CACHE; JAX's cache settings are restored after the test."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    names = (
        "jax_compilation_cache_dir",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes",
    )
    saved = {name: getattr(jax.config, name) for name in names}
    directory = tmp_path / "jax-cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    yield directory
    for name, value in saved.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()
    from jax._src.lib import utils

    utils.absl_set_min_log_level(int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1")))  # as `import jax` left it
