"""``engine.backends.mkldnn``: no oneDNN here; ``is_available()`` is False."""

from __future__ import annotations

__all__ = ["deterministic", "enabled", "is_available"]

enabled = False
deterministic = False


def is_available() -> bool:
    """False: CPU kernels are the engine's own Numba code, not oneDNN."""
    return False
