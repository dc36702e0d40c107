"""``engine.backends.cpu``: the CPU capability string (no SIMD dispatch here)."""

from __future__ import annotations

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """PyTorch reports its ATen SIMD level; Numba compiles for the host, reported as 'DEFAULT'."""
    return "DEFAULT"
