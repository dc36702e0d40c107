"""Storage: one flat buffer per device, shared by every view of it, plus the CPU caching
allocator. Large fresh buffers cost page faults (~1.5 us per 4 KiB page), so freed large
blocks are kept by size and handed out again."""

from __future__ import annotations

import contextvars
import sys
import threading

import numpy as np

__all__ = ["Storage", "PooledStorage", "cpu_storage", "cpu_empty", "cpu_allocator_stats", "cpu_empty_cache"]

_POOL_MIN = 1 << 20          # pool only blocks >= 1 MiB: small ones are cheap from malloc
_POOL_CAP = 2 << 30          # never hold more than 2 GiB of idle blocks
_pool: dict[int, list[np.ndarray]] = {}
_pool_bytes = [0]
_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}
# inference mode (engine.autograd.grad_mode.inference_mode sets it): a Storage allocated
# while it is on holds inference tensors (Tensor.is_inference(), as PyTorch)
_inference = contextvars.ContextVar("engine_inference_mode", default=False)


def _size_class(nbytes: int) -> int:
    # round up to 1/8 of the next power of two: bounded waste, good reuse
    p = 1 << (nbytes - 1).bit_length()
    step = max(p >> 3, 4096)
    return (nbytes + step - 1) // step * step


def cpu_empty(numel: int, np_dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """A typed 1-D buffer of ``numel`` elements and the raw block it came from (pooled) or None."""
    nbytes = numel * np_dtype.itemsize
    if nbytes < _POOL_MIN:
        return np.empty(numel, np_dtype), None
    cls = _size_class(nbytes)
    raw = None
    with _lock:
        blocks = _pool.get(cls)
        if blocks:
            raw = blocks.pop()
            _pool_bytes[0] -= cls
    if raw is None:
        _stats["misses"] += 1
        raw = np.empty(cls, np.uint8)
    else:
        _stats["hits"] += 1
    return raw[:nbytes].view(np_dtype), raw


def _release(raw: np.ndarray) -> None:
    cls = raw.nbytes
    with _lock:
        if _pool_bytes[0] + cls <= _POOL_CAP:
            _pool.setdefault(cls, []).append(raw)
            _pool_bytes[0] += cls


def cpu_empty_cache() -> None:
    """Drop every idle pooled block (returns memory to the OS)."""
    with _lock:
        _pool.clear()
        _pool_bytes[0] = 0


def cpu_allocator_stats() -> dict:
    return dict(_stats, pooled_bytes=_pool_bytes[0])


class Storage:
    """A flat buffer (numpy array on CPU, Numba device array on CUDA) and the version
    counter that in-place ops bump, shared by all views of the buffer."""

    __slots__ = ("data", "raw", "device", "version", "inference", "__weakref__")

    def __init__(self, data, device, raw=None):
        self.data = data
        self.raw = raw
        self.device = device
        self.version = 0
        self.inference = _inference.get()

    def data_ptr(self) -> int:
        d = self.data
        return d.ctypes.data if self.device.type == "cpu" else d.device_ctypes_pointer.value

    def nbytes(self) -> int:
        return self.data.nbytes

    def size(self) -> int:
        return self.data.size



class PooledStorage(Storage):
    """A Storage whose buffer came from the pool: returned to it when freed. (Only these
    have a ``__del__``: a Python-level finalizer on every small tensor costs ~0.2 us.)"""

    __slots__ = ()

    def __del__(self):
        # raw's refcount 3 = this slot + data.base + the call's argument (no local may hold
        # it while counting): no numpy view of the block escaped, so it is safe to reuse.
        if (sys is not None and sys.getrefcount(self.raw) == 3
                and sys.getrefcount(self.data) == 2):
            raw = self.raw
            self.data = None
            _release(raw)


def cpu_storage(data, device, raw):
    """The Storage for a ``cpu_empty`` result (pooled blocks go back to the pool when freed)."""
    return Storage(data, device) if raw is None else PooledStorage(data, device, raw)
