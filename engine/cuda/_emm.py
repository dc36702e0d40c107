"""The engine's caching device allocator as a Numba External Memory Management (EMM) plugin.

Numba asks its context's memory manager for every device allocation (``cuda.device_array``,
``cuda.to_device``, the arrays it makes for kernel arguments). Installed before the first
CUDA context exists (``install()``, called when the engine first touches CUDA), this plugin
answers from per-size-class free lists and calls ``cuMemAlloc`` only on a miss, so a training
loop stops allocating from the driver after its first step. A freed buffer goes back on its
free list at once: the engine launches every kernel on the default stream, so later work
queues behind the kernels still reading it (as with PyTorch's allocator, code that uses a
buffer on another stream must keep it alive until that stream is done).

On out-of-memory the free lists and Numba's pending frees are released and the allocation is
retried once. ``release_cached()`` (``engine.cuda.empty_cache()``) gives the cached blocks
back to the driver. ``ENGINE_CUDA_ALLOCATOR=numba`` keeps Numba's own manager, and a manager
chosen through ``NUMBA_CUDA_MEMORY_MANAGER`` (e.g. RMM) is left in place. Host (pinned and
mapped) allocations stay Numba's (``HostOnlyCUDAMemoryManager``)."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref

from numba.cuda.cudadrv import driver as _drv

from ._memory import size_class

__all__ = ["CachingMemoryManager", "active_manager", "install", "release_all"]

_managers: dict[int, weakref.ref] = {}   # device id -> manager of that device's context
_OOM = _drv.binding.CUresult.CUDA_ERROR_OUT_OF_MEMORY


def _new_stats() -> dict:
    return {"reserved_bytes": 0, "peak_reserved_bytes": 0, "cached_bytes": 0,
            "in_use_bytes": 0, "num_device_alloc": 0, "num_device_free": 0,
            "num_pool_hits": 0, "num_ooms": 0}


def _returner(mgr_ref, ptr, cls: int, generation: int):
    """The finalizer of one handed-out buffer: back on its free list (never the buffer itself
    in the closure, or it could not be collected)."""
    def back():
        mgr = mgr_ref()
        if mgr is not None:
            mgr._put_back(ptr, cls, generation)
    return back


class CachingMemoryManager(_drv.GetIpcHandleMixin, _drv.HostOnlyCUDAMemoryManager):
    """Device memory from size-class free lists (sizes as ``engine.cuda._memory``: 512 bytes
    and up, rounded to an eighth of the next power of two); ``stats`` counts driver calls."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._free: dict[int, list] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self.stats = _new_stats()
        ctx = self.context
        if ctx is not None:  # numba builds one with context=None to read interface_version
            _managers[int(ctx.device.id)] = weakref.ref(self)

    @property
    def interface_version(self):
        return 1

    def initialize(self):
        # as Numba's own manager: size the pending-frees queue of host allocations
        d = self.deallocations
        if d.memory_capacity == _drv._SizeNotSet:
            d.memory_capacity = self.get_memory_info().total

    def get_memory_info(self):
        free, total = _drv.driver.cuMemGetInfo()
        return _drv.MemoryInfo(free=free, total=total)

    # the two driver calls (replaced by a fake driver in the tests)
    def _cu_alloc(self, nbytes: int):
        return _drv.driver.cuMemAlloc(nbytes)

    def _cu_free(self, ptr) -> None:
        _drv.driver.cuMemFree(ptr)

    def memalloc(self, size):
        cls = size_class(max(int(size), 1))
        st = self.stats
        with self._lock:
            lst = self._free.get(cls)
            ptr = lst.pop() if lst else None
            if ptr is not None:
                st["cached_bytes"] -= cls
                st["num_pool_hits"] += 1
            gen = self._generation
        if ptr is None:
            ptr = self._driver_alloc(cls)
        with self._lock:
            st["in_use_bytes"] += cls
        back = _returner(weakref.ref(self), ptr, cls, gen)
        return _drv.MemoryPointer(weakref.proxy(self.context), ptr, size, finalizer=back)

    def _driver_alloc(self, cls: int):
        st = self.stats
        try:
            ptr = self._cu_alloc(cls)
        except _drv.CudaAPIError as e:
            if e.code != _OOM:
                raise
            st["num_ooms"] += 1
            self.release_cached()
            self.deallocations.clear()
            ptr = self._cu_alloc(cls)   # a second out-of-memory error propagates
        with self._lock:
            st["num_device_alloc"] += 1
            st["reserved_bytes"] += cls
            st["peak_reserved_bytes"] = max(st["peak_reserved_bytes"], st["reserved_bytes"])
        return ptr

    def _put_back(self, ptr, cls: int, generation: int) -> None:
        with self._lock:
            if generation != self._generation:  # the context was reset: the memory is gone
                return
            self._free.setdefault(cls, []).append(ptr)
            self.stats["in_use_bytes"] -= cls
            self.stats["cached_bytes"] += cls

    def release_cached(self) -> int:
        """cuMemFree every cached block; returns the bytes given back."""
        with self._lock:
            blocks = [(cls, p) for cls, lst in self._free.items() for p in lst]
            self._free = {}
        if not blocks:
            return 0
        ctx = self.context
        pushed = False
        try:
            if ctx is not None and hasattr(ctx, "push"):
                ctx.push()
                pushed = True
            for _, p in blocks:
                self._cu_free(p)
        finally:
            if pushed:
                ctx.pop()
        freed = sum(cls for cls, _ in blocks)
        with self._lock:
            st = self.stats
            st["num_device_free"] += len(blocks)
            st["reserved_bytes"] -= freed
            st["cached_bytes"] -= freed
        return freed

    def reset(self):
        """The context is being reset (its memory goes with it): drop the free lists and
        ignore buffers handed out before now when they come back."""
        with contextlib.suppress(Exception):  # the reset frees the memory anyway
            self.release_cached()
        with self._lock:
            self._free = {}
            self._generation += 1
            self.stats = _new_stats()
        super().reset()


def active_manager(device_id: int):
    """The engine's manager of device ``device_id``'s context, or None (another manager, or
    no context yet)."""
    r = _managers.get(int(device_id))
    return r() if r is not None else None


def release_all() -> None:
    for r in list(_managers.values()):
        m = r()
        if m is not None:
            m.release_cached()


def install() -> bool:
    """Make the plugin Numba's memory manager if no context exists yet and nobody chose
    another one; returns whether the engine's manager is (now) the one in use."""
    if os.environ.get("ENGINE_CUDA_ALLOCATOR", "").lower() == "numba":
        return False
    current = _drv._memory_manager
    if current is CachingMemoryManager:
        return True
    if current is not None:   # a context exists already, or the user set a manager
        return False
    from numba.cuda.core import config
    if getattr(config, "CUDA_MEMORY_MANAGER", "default") != "default":
        return False
    _drv.set_memory_manager(CachingMemoryManager)
    return True
