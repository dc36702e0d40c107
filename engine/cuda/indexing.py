"""The CUDA twin of ``kernels.cpu.index`` as the index ops call it (``_indexing.K(t, op)``):
``take``/``put``/``remap_take``/``remap_put`` move data on the device; everything else
(index validation, offsets, nonzero, counting -- host-side helpers on host arrays) is the CPU
module's. Offsets and maps arrive as host int64 arrays (the ops validate indices on the host)
and go to the device through the caching allocator."""

from __future__ import annotations

import numpy as np

from kernels.cpu import index as _cpu
from kernels.cuda import _device as KD

PUT_MODES = _cpu.PUT_MODES


def __getattr__(name):  # host-side helpers: check_index, strided_offsets, nonzero, ...
    return getattr(_cpu, name)


def _flat(a):
    """1-D view of a contiguous device array (what ``Tensor._np()`` gives for CUDA)."""
    return a if a.ndim == 1 else a.reshape(-1)


def _to_dev(arr: np.ndarray, like_buf):
    """A pooled device copy of host array ``arr`` (kept alive by the returned tensor)."""
    from .. import _dtype as D
    from .._device import device
    from .._tensor import empty_tensor
    from . import current_device
    arr = np.ascontiguousarray(arr).reshape(-1)
    t = empty_tensor((max(arr.shape[0], 1),), D.from_numpy_dtype(arr.dtype),
                     device("cuda", current_device()))
    if arr.shape[0]:
        t._storage.data.copy_to_device(arr)
    return t


def _vals_dev(vals, dtype):
    """(device array, keepalive) of values: host arrays are converted and uploaded."""
    if isinstance(vals, np.ndarray):
        v = vals if vals.dtype == dtype else vals.astype(dtype)
        t = _to_dev(v, None)
        return t._storage.data, t
    return _flat(vals), None


def _err():
    from . import _memory
    return _memory.error_flag()


def _mark(op):
    from . import _memory
    _memory.mark_checked_launch(op, 0)


def _launch(kernel, n, *args):
    from ._backend import launch
    launch(kernel, *KD.launch_1d(n), *args)


def _seq_mode(buf, mode: str):
    """Normalise the mode for bool/float16 buffers as the CPU does; True when the ordered
    single-thread kernel is needed."""
    code = PUT_MODES[mode]
    if buf.dtype == np.bool_ and code in (1, 2):
        code = 3 if code == 1 else 4
    seq = code >= 2 or (code == 1 and buf.dtype in (np.float16, np.bool_, np.int8,
                                                     np.uint8, np.int16))
    return code, seq


def take(buf, offs: np.ndarray, out) -> None:
    from kernels.cuda import index as KI
    o = np.asarray(offs, np.int64).reshape(-1)
    n = o.shape[0]
    if not n:
        return
    od = _to_dev(o, buf)
    _launch(KI.take, n, buf, od._storage.data, _flat(out), n, _err())
    _mark("take")


def put(buf, offs: np.ndarray, vals, mode: str = "assign") -> None:
    from kernels.cuda import index as KI
    o = np.asarray(offs, np.int64).reshape(-1)
    n = o.shape[0]
    if not n:
        return
    code, seq = _seq_mode(buf, mode)
    if code == 0 and np.unique(o).shape[0] != n:
        seq = True  # repeated addresses: the last write wins, as on the CPU
    vd, keep = _vals_dev(vals, buf.dtype)
    scalar = vd.shape[0] == 1 and n != 1
    od = _to_dev(o, buf)
    k = KI.put_seq if seq else KI.put_par
    _launch(k, 1 if seq else n, buf, od._storage.data, vd, n, scalar, code, _err())
    _mark("put")
    del keep


def _pack(maps, strides):
    flat, starts, shape, st = _cpu._pack_maps(maps, strides)
    return (flat, tuple(int(s) for s in starts), tuple(int(s) for s in shape),
            tuple(int(s) for s in st))


def remap_take(buf, base: int, strides, maps, out) -> None:
    from kernels.cuda import index as KI
    flat, starts, shape, st = _pack(maps, strides)
    n = int(np.prod(shape)) if maps else 1
    if not n:
        return
    md = _to_dev(flat, buf)
    o = _flat(out)
    _launch(KI.remap_take, n, buf, int(base), st, starts, shape, md._storage.data, o, 0, n,
            _err())
    _mark("remap_take")


def remap_put(buf, base: int, strides, maps, vals, mode: str = "assign") -> None:
    from kernels.cuda import index as KI
    flat, starts, shape, st = _pack(maps, strides)
    n = int(np.prod(shape)) if maps else 1
    if not n:
        return
    code, seq = _seq_mode(buf, mode)
    if code == 0 and any(np.unique(np.asarray(m)).shape[0] != len(m) for m in maps):
        seq = True
    vd, keep = _vals_dev(vals, buf.dtype)
    if vd.shape[0] == 0:
        return
    scalar = vd.shape[0] == 1 and n != 1
    md = _to_dev(flat, buf)
    k = KI.remap_put_seq if seq else KI.remap_put_par
    _launch(k, 1 if seq else n, buf, int(base), st, starts, shape, md._storage.data, vd, 0, n,
            scalar, code, _err())
    _mark("remap_put")
    del keep
