"""CUDA storage: the engine's block cache in front of the caching device allocator, and the
host<->device copies.

Two levels, both keyed by size class (rounded up to 1/8 of the next power of two, at least
512 bytes):
* driver memory: ``engine.cuda._emm``, a Numba External Memory Management plugin installed
  before the first CUDA context, serves every Numba allocation from free lists and calls
  ``cuMemAlloc`` only on a miss;
* tensor blocks (here): a tensor's storage is a block (a uint8 device array plus its typed
  views) that goes back to a free list when the last tensor using it dies, so the next tensor
  of that size reuses the Python objects too (a slice of a device array costs ~10 us).
A training loop therefore asks the driver for nothing after its first step
(``memory_stats()['num_device_alloc']`` stays flat). Engine kernels all run on the default
stream, so a freed block is safe to hand out again at once: later kernels queue behind the
ones still reading it. ``empty_cache()`` gives both levels' cached blocks back to the driver;
an out-of-memory error empties the caches and retries once. Without the plugin (another
manager chosen, or a context that existed before the engine's first CUDA call) the block
cache alone keeps a training step free of driver allocations."""

from __future__ import annotations

import threading

import numpy as np

from .._storage import Storage

__all__ = [
    "CudaStorage",
    "check_kernel_errors",
    "check_tag",
    "cuda_storage",
    "device_to_host",
    "empty_cache",
    "host_to_device",
    "reset_peak",
    "stats",
    "wrap_device_array",
]

_MIN_BLOCK = 512
_lock = threading.Lock()


class _Pool:
    __slots__ = ("free", "st")

    def __init__(self):
        self.free: dict[int, list] = {}
        self.st = {"allocated_bytes": 0, "peak_allocated_bytes": 0, "reserved_bytes": 0,
                   "peak_reserved_bytes": 0, "cached_bytes": 0, "num_device_alloc": 0,
                   "num_device_free": 0, "num_pool_hits": 0, "num_ooms": 0,
                   "active_blocks": 0}


_pools: dict[int, _Pool] = {}


def _pool(idx: int) -> _Pool:
    p = _pools.get(idx)
    if p is None:
        p = _pools[idx] = _Pool()
    return p


def size_class(nbytes: int) -> int:
    """The block size served for a request of ``nbytes`` (shared with the EMM plugin)."""
    if nbytes <= _MIN_BLOCK:
        return _MIN_BLOCK
    p = 1 << (nbytes - 1).bit_length()
    step = max(p >> 3, _MIN_BLOCK)
    return (nbytes + step - 1) // step * step


class _Block:
    """One driver allocation (a uint8 device array) and its typed views, reused as-is when
    the same (numel, dtype) is requested again (a slice of a device array costs ~10 us)."""

    __slots__ = ("idx", "raw", "size", "views")

    def __init__(self, raw, size, idx):
        self.raw, self.size, self.idx, self.views = raw, size, idx, {}

    def view(self, n: int, np_dtype):
        key = (n, np_dtype)
        v = self.views.get(key)
        if v is None:
            if len(self.views) > 8:
                self.views.clear()
            v = self.raw[:n * np_dtype.itemsize].view(np_dtype)
            self.views[key] = v
        return v


def _driver_alloc(size: int, idx: int):
    from numba import cuda

    from . import _activate
    _activate(idx)
    return cuda.device_array(size, np.uint8)


def _is_oom(e: Exception) -> bool:
    s = f"{type(e).__name__} {e}"
    return "OUT_OF_MEMORY" in s or "out of memory" in s.lower()


def _take(size: int, idx: int) -> _Block:
    pool = _pool(idx)
    st = pool.st
    with _lock:
        lst = pool.free.get(size)
        if lst:
            blk = lst.pop()
            st["cached_bytes"] -= size
            st["num_pool_hits"] += 1
        else:
            blk = None
    if blk is None:
        try:
            raw = _driver_alloc(size, idx)
        except Exception as e:
            if not _is_oom(e):
                raise
            st["num_ooms"] += 1
            empty_cache()
            try:
                raw = _driver_alloc(size, idx)
            except Exception as e2:
                if not _is_oom(e2):
                    raise
                raise RuntimeError(
                    f"CUDA out of memory. Tried to allocate {size / 2**20:.2f} MiB on cuda:{idx} "
                    f"({st['allocated_bytes'] / 2**30:.2f} GiB already allocated by engine "
                    "tensors). Free tensors, use smaller batches, or call "
                    "engine.cuda.empty_cache().") from None
        blk = _Block(raw, size, idx)
        with _lock:
            st["num_device_alloc"] += 1
            st["reserved_bytes"] += size
            st["peak_reserved_bytes"] = max(st["peak_reserved_bytes"], st["reserved_bytes"])
    with _lock:
        st["allocated_bytes"] += size
        st["active_blocks"] += 1
        st["peak_allocated_bytes"] = max(st["peak_allocated_bytes"], st["allocated_bytes"])
    return blk


def _give_back(blk: _Block) -> None:
    pool = _pools.get(blk.idx)
    if pool is None:
        return
    st = pool.st
    with _lock:
        pool.free.setdefault(blk.size, []).append(blk)
        st["allocated_bytes"] -= blk.size
        st["active_blocks"] -= 1
        st["cached_bytes"] += blk.size


class CudaStorage(Storage):
    """A Storage whose ``data`` is a 1-D Numba device array; ``raw`` is its pool block (None
    for memory the engine does not own, e.g. imported through ``__cuda_array_interface__``)."""

    __slots__ = ()

    def __del__(self):
        blk = self.raw
        if type(blk) is _Block and _give_back is not None:
            self.raw = None
            self.data = None
            _give_back(blk)


def cuda_storage(n: int, dtype, device) -> CudaStorage:
    """Storage for ``n`` elements of engine dtype ``dtype`` on ``device`` (from the pool)."""
    from . import _index
    idx = _index(device)
    if device.index is None:
        from .._device import device as _dev
        device = _dev("cuda", idx)
    npd = dtype.np
    blk = _take(size_class(max(n * npd.itemsize, 1)), idx)
    return CudaStorage(blk.view(n, npd), device, blk)


def wrap_device_array(arr, device, owner=None) -> CudaStorage:
    """Storage over a device array the engine does not own (kept alive through ``owner``)."""
    st = CudaStorage(arr, device, None)
    return st


# ---- host <-> device ---------------------------------------------------------------------
def host_to_device(x, dev):
    """A contiguous copy of tensor ``x`` (CPU, or CUDA on another device) on ``dev``."""
    from .._device import device as _dev
    from .._tensor import empty_tensor
    if dev.index is None:
        from . import current_device
        dev = _dev("cuda", current_device())
    if x.is_cuda:  # across devices: through the host (peer copies are a later optimisation)
        x = device_to_host(x)
    out = empty_tensor(x._shape, x._dtype, dev)
    n = out.numel()
    if n:
        src = np.ascontiguousarray(x._np()).reshape(-1)
        out._storage.data.copy_to_device(src)
    return out


def device_to_host(x):
    """A contiguous CPU copy of CUDA tensor ``x`` (waits for queued kernels)."""
    from .._device import CPU
    from .._tensor import empty_tensor
    if not x._contig:
        from ..autograd.grad_mode import no_grad
        with no_grad():
            x = x.contiguous()
    out = empty_tensor(x._shape, x._dtype, CPU)
    n = out.numel()
    if n:
        d = x._storage.data
        src = d if (x._offset == 0 and d.shape[0] == n) else d[x._offset:x._offset + n]
        src.copy_to_host(out._storage.data[:n])
    check_kernel_errors()
    return out


# ---- deferred kernel errors (bounds checks in index kernels) -----------------------------
_err = {"flag": None, "dirty": False, "msg": {}, "tags": {}, "tag_list": [None]}
_FLAG_LEN = 3


def error_flag(idx: int = 0):
    """A 3-element int64 device array kernels set (code, value, tag) on a bad index (the
    first report wins); checked at the next synchronisation. Call ``mark_checked_launch()``
    after such a launch. Codes: 1 bad address (value), 2 bad index (value; ``tag`` from
    ``check_tag`` names the op and the error to raise)."""
    f = _err["flag"]
    if f is None:
        from numba import cuda
        f = _err["flag"] = cuda.to_device(np.zeros(_FLAG_LEN, np.int64))
    return f


def check_tag(op: str, kind: type, template: str) -> int:
    """The tag a kernel reports with a bad index: at synchronisation it raises
    ``kind(template with {v} replaced by the index)``, naming ``op``."""
    key = (op, kind, template)
    t = _err["tags"].get(key)
    if t is None:
        t = _err["tags"][key] = len(_err["tag_list"])
        _err["tag_list"].append(key)
    return t


def mark_checked_launch(op: str, size: int) -> None:
    _err["dirty"] = True
    _err["msg"][op] = size


def check_kernel_errors() -> None:
    if not _err["dirty"]:
        return
    _err["dirty"] = False
    f = _err["flag"]
    h = f.copy_to_host()
    ops = ", ".join(_err["msg"])
    _err["msg"] = {}
    if h[0]:
        f.copy_to_device(np.zeros(_FLAG_LEN, np.int64))
    lst = _err["tag_list"]
    entry = lst[int(h[2])] if h[0] == 2 and 0 < h[2] < len(lst) else None
    if len(lst) > 4096:  # many distinct messages: start over (nothing is pending now)
        _err["tags"], _err["tag_list"] = {}, [None]
    if entry is not None:
        op, kind, template = entry
        raise kind(f"{template.replace('{v}', str(int(h[1])))} (raised by the CUDA kernel of "
                   f"{op}, reported at synchronisation; the result of {op} is invalid)")
    if h[0]:
        raise IndexError(f"index {int(h[1])} is out of bounds in a CUDA kernel of {ops} "
                         "(reported at synchronisation; the result of that op is invalid)")


# ---- stats ----------------------------------------------------------------------------
def stats(idx: int) -> dict:
    """Counters of device ``idx``: tensor bytes from the block cache; driver-level counts
    (reserved bytes, driver allocations and frees) from the EMM plugin when it is in use."""
    out = dict(_pool(idx).st)
    out["allocator"] = "engine block cache"
    mgr = _emm_manager(idx)
    if mgr is not None:
        m = mgr.stats
        out["allocator"] = "engine block cache + engine EMM plugin"
        for k in ("reserved_bytes", "peak_reserved_bytes", "num_device_alloc",
                  "num_device_free"):
            out[k] = m[k]
        out["num_ooms"] += m["num_ooms"]
        out["emm_cached_bytes"] = m["cached_bytes"]
        out["emm_pool_hits"] = m["num_pool_hits"]
    return out


def _emm_manager(idx: int):
    from . import is_simulator
    if is_simulator():
        return None
    from . import _emm
    return _emm.active_manager(idx)


def reset_peak(idx: int) -> None:
    st = _pool(idx).st
    st["peak_allocated_bytes"] = st["allocated_bytes"]
    st["peak_reserved_bytes"] = st["reserved_bytes"]
    mgr = _emm_manager(idx)
    if mgr is not None:
        mgr.stats["peak_reserved_bytes"] = mgr.stats["reserved_bytes"]


def empty_cache() -> None:
    with _lock:
        for pool in _pools.values():
            n = sum(len(v) for v in pool.free.values())
            freed = sum(k * len(v) for k, v in pool.free.items())
            pool.free.clear()
            pool.st["num_device_free"] += n
            pool.st["reserved_bytes"] -= freed
            pool.st["cached_bytes"] = 0
    # the blocks' device arrays are gone now, so their memory is on the plugin's free lists
    from . import is_simulator
    if not is_simulator():
        from . import _emm
        _emm.release_all()
