"""``engine.backends.cudnn``: flags only (the engine's CUDA kernels are Numba's, not cuDNN).

``benchmark``, ``deterministic``, ``enabled`` and ``allow_tf32`` can be set and read; they do
not change how ops run. ``is_available()`` is False (there is no cuDNN library in use)."""

from __future__ import annotations

import contextlib

__all__ = [
    "allow_tf32",
    "benchmark",
    "benchmark_limit",
    "deterministic",
    "enabled",
    "flags",
    "is_acceptable",
    "is_available",
    "version",
]

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True
benchmark_limit = 10


def is_available() -> bool:
    """False: the engine does not use cuDNN."""
    return False


def version():
    """None: no cuDNN library is loaded."""
    return


def is_acceptable(tensor) -> bool:
    return False


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True):
    """Set the flags inside a ``with`` block and restore them afterwards."""
    g = globals()
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    old = {n: g[n] for n in names}
    g.update(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
             deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        g.update(old)
