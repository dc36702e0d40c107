"""``engine.backends.openmp``: Numba's threading layer runs the parallel kernels."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    return True
