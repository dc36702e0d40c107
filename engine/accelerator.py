"""``engine.accelerator``: PyTorch's device-agnostic accelerator API (CUDA is engine's only one).

>>> import engine
>>> dev = engine.accelerator.current_accelerator() if engine.accelerator.is_available() else "cpu"
"""

from __future__ import annotations

from ._device import device as _device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "device_count",
    "is_available",
    "set_device_idx",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    """True when a CUDA device can run kernels."""
    from . import cuda
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """``device(type='cuda')`` (None with ``check_available=True`` and no GPU)."""
    if check_available and not is_available():
        return None
    return _device("cuda")


def device_count() -> int:
    from . import cuda
    return cuda.device_count() if cuda.is_available() else 0


def current_device_index() -> int:
    from . import cuda
    return cuda.current_device()


current_device_idx = current_device_index


def set_device_index(index) -> None:
    from . import cuda
    cuda.set_device(index)


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    from . import cuda
    if cuda.is_available():
        cuda.synchronize()
