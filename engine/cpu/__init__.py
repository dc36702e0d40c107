"""``engine.cpu``: PyTorch's ``torch.cpu`` namespace (device queries and ``cpu.amp``).

>>> import engine as torch
>>> torch.cpu.is_available()
True
"""

from __future__ import annotations

from . import amp

__all__ = [
    "Stream",
    "amp",
    "current_device",
    "current_stream",
    "device_count",
    "is_available",
    "stream",
    "synchronize",
]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """CPU ops are synchronous: nothing to wait for."""


class Stream:
    """CPU work runs in order; a Stream is a placeholder with PyTorch's API."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream) -> None:
        pass

    def synchronize(self) -> None:
        pass


_default = Stream()


def current_stream(device=None) -> Stream:
    return _default


class stream:
    def __init__(self, stream) -> None:
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        return False
