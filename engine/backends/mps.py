"""``engine.backends.mps``: Apple's Metal backend (never available here)."""

from __future__ import annotations

__all__ = ["is_available", "is_built", "is_macos13_or_newer", "is_macos_or_newer"]


def is_available() -> bool:
    """Always False: the engine has no Metal backend."""
    return False


def is_built() -> bool:
    """Always False: the engine has no Metal backend."""
    return False


def is_macos13_or_newer(minor: int = 0) -> bool:
    return False


def is_macos_or_newer(major: int, minor: int) -> bool:
    return False
