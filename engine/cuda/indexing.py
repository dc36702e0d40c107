"""The CUDA twin of ``kernels.cpu.index`` as the index ops call it (``_indexing.K(t, op)``):
``take``/``put``/``remap_take``/``remap_put`` move data on the device; the host-side helpers
(nonzero, counting, ...) are the CPU module's.

Index tensors that live on the device stay there: ``DevIndex`` wraps one with what its
bounds error says, and ``build_offsets`` turns a strided walk plus such indices into a device
int64 offsets tensor, checking every index in the kernel (a bad one is raised as the op's
IndexError/RuntimeError at the next synchronisation, ``_memory.check_kernel_errors``).
``take``/``put`` accept those offsets tensors, host offsets arrays (indices validated on the
host) and value tensors that live on the device. Nothing here copies device memory to the
host."""

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


def _is_tensor(a) -> bool:
    from .._tensor import Tensor
    return isinstance(a, Tensor)


def _dflat(t):
    """The elements of contiguous CUDA tensor ``t`` as a 1-D device array."""
    d = t._storage.data
    n = t.numel()
    return d if (t._offset == 0 and d.shape[0] == n) else d[t._offset:t._offset + n]


def _vals_dev(vals, dtype):
    """(device array, keepalive) of values: host arrays are converted and uploaded; CUDA
    tensors (contiguous, of ``dtype``: ``values_dev``) are used in place."""
    if isinstance(vals, np.ndarray):
        v = vals if vals.dtype == dtype else vals.astype(dtype)
        t = _to_dev(v, None)
        return t._storage.data, t
    if _is_tensor(vals):
        return _dflat(vals), vals
    return _flat(vals), None


def values_dev(values, dtype, shape, dst=None):
    """``values`` (a CUDA tensor broadcastable to ``shape``) as a contiguous CUDA tensor of
    ``dtype`` and ``shape``, never aliasing ``dst`` (the device ``values_array``)."""
    from ..autograd.grad_mode import no_grad
    with no_grad():
        v = values.detach()
        if v._dtype is not dtype:
            v = v.to(dtype)
        if tuple(v._shape) != tuple(shape):
            v = v.expand(tuple(shape))
        v = v.contiguous()
        if dst is not None and v._storage is dst._storage:
            v = v.clone()  # the source aliases the destination: read it before writing
    return v


# ---- device-built offsets -----------------------------------------------------------------
class DevIndex:
    """A CUDA integer index tensor checked inside the kernels: indices in [0, size) (negative
    ones wrap first when ``wrap``); a bad one raises ``kind(template)`` ({v}: the index) at
    the next synchronisation, naming ``op`` (default: the op that builds the offsets)."""

    __slots__ = ("kind", "op", "size", "t", "template", "wrap")

    def __init__(self, t, size: int, wrap: bool, kind: type, template: str, op=None):
        self.t, self.size, self.wrap, self.kind, self.template = t, int(size), wrap, kind, \
            template
        self.op = op

    @property
    def shape(self):
        return tuple(self.t._shape)

    @property
    def ndim(self):
        return len(self.t._shape)

    def __len__(self):
        return self.t.numel()


def _i64_empty(n: int, device):
    from .. import _dtype as D
    from .._tensor import empty_tensor
    return empty_tensor((n,), D.int64, device)


def _upload_index(a: np.ndarray, device):
    """A host int64 index array (validated on the host) as a CUDA tensor."""
    from .. import _dtype as D
    from .._tensor import empty_tensor
    a = np.ascontiguousarray(a, np.int64)
    t = empty_tensor(a.shape, D.int64, device)
    if a.size:
        t._storage.data.copy_to_device(a.reshape(-1))
    return t


def _read_strides(t, nd: int, p: int):
    """Strides reading index tensor ``t`` over an ``nd``-dim walk with its dims at
    p..p+t.ndim-1 (size-1 dims and all other dims broadcast: stride 0)."""
    ist = [0] * nd
    for i, (s, st) in enumerate(zip(t._shape, t._stride)):
        if s != 1:
            ist[p + i] = int(st)
    return tuple(ist)


def build_offsets(shape, base: int, strides, terms, op: str, device):
    """Contiguous int64 CUDA tensor (numel ``prod(shape)``) of the storage offsets
    ``base + sum_k c_k * strides[k] + sum_terms idx * stride`` over ``shape`` in C order.
    ``terms``: (index, p, stride) with ``index`` a ``DevIndex`` (checked in the kernel) or a
    host array of validated indices, its dims at p.. of ``shape`` (broadcast). Entries with a
    bad index are -1 (skipped by ``take``/``put``)."""
    from kernels.cuda import index as KI

    from ._memory import check_tag
    shape = tuple(int(s) for s in shape)
    n = 1
    for s in shape:
        n *= s
    out = _i64_empty(n, device)
    if not n:
        return out
    sh = shape or (1,)
    st = tuple(int(s) for s in strides) or (0,)
    od = out._storage.data
    _launch(KI.init_offsets, n, int(base), st, sh, od, n)
    err = _err()
    for ix, p, stride in terms:
        if isinstance(ix, DevIndex):
            t, size, wrap = ix.t, ix.size, ix.wrap
            tag = check_tag(ix.op or op, ix.kind, ix.template)
        else:  # validated (and wrapped) on the host
            t, size, wrap, tag = _upload_index(ix, device), 1 << 62, False, 0
        _launch(KI.add_index, n, t._storage.data, int(t._offset), _read_strides(t, len(sh), p),
                sh, int(size), int(stride), bool(wrap), od, n, err, int(tag))
    _mark(op)
    return out


def check_range(t, lo: int, hi: int, skip, kind: type, template: str, op: str) -> None:
    """Deferred check that every value of CUDA integer tensor ``t`` is in [lo, hi) or equals
    ``skip`` (None: no exception): ``kind(template)`` at the next synchronisation."""
    from kernels.cuda import index as KI

    from ._memory import check_tag
    n = t.numel()
    if not n:
        return
    sh = tuple(t._shape) or (1,)
    _launch(KI.check_range, n, t._storage.data, int(t._offset), _read_strides(t, len(sh), 0),
            sh, int(lo), int(hi), int(skip if skip is not None else 0), skip is not None, n,
            _err(), check_tag(op, kind, template))
    _mark(op)


def dim_offsets(t, index, d: int, op: str):
    """Offsets of ``t``'s elements that ``index`` (same ndim, on the device) addresses along
    ``d`` (gather / scatter), checked in the kernel (RuntimeError as on the CPU)."""
    size = t._shape[d]
    st = list(t._stride)
    st[d] = 0
    ix = DevIndex(index, size, False, RuntimeError,
                  f"index {{v}} is out of bounds for dimension {d} with size {size}")
    return build_offsets(index._shape, t._offset, st, [(ix, 0, t._stride[d])], op,
                         t._storage.device)


def _sel_offsets(t, d: int, ix: DevIndex, op: str):
    shape = list(t._shape)
    shape[d] = len(ix)
    st = list(t._stride)
    st[d] = 0
    return tuple(shape), build_offsets(shape, t._offset, st, [(ix, d, t._stride[d])], op,
                                       t._storage.device)


def sel_take(t, d: int, ix: DevIndex, op: str):
    """``t`` (at least 1-D) indexed along ``d`` by the 1-D device index ``ix``."""
    from .._tensor import empty_tensor
    shape, offs = _sel_offsets(t, d, ix, op)
    out = empty_tensor(shape, t._dtype, t._storage.device)
    take(t._storage.data, offs, out._np())
    return out


def sel_put(dst, d: int, ix: DevIndex, vals, mode: str, op: str) -> None:
    """Write (or add) ``vals`` (contiguous, of the selected shape, or one value) at the
    places of ``dst`` that ``ix`` selects along ``d``."""
    _, offs = _sel_offsets(dst, d, ix, op)
    put(dst._storage.data, offs, vals, mode)


def make_spec(shape, items):
    """``_indexing.make_spec`` for a CUDA tensor: CUDA index tensors become ``DevIndex``
    (checked in the kernels), host ones are validated here as on the CPU."""
    from ..ops._common import shape_str
    from ..ops._indexing import INDEX_DTYPES, IndexSpec, Trusted, check_idx, host_index, idx_error
    arrs = []
    for _, ix in items:
        if _is_tensor(ix):
            if ix._dtype.name not in INDEX_DTYPES:
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
            arrs.append(ix if not ix.is_cpu else host_index(ix))
        elif isinstance(ix, Trusted):
            arrs.append(ix.a)
        else:
            arrs.append(np.asarray(ix))
    try:
        bshape = np.broadcast_shapes(*(tuple(a.shape) for a in arrs))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         "with shapes " + ", ".join(shape_str(tuple(a.shape)) for a in arrs)) \
            from None
    dims, idx = [], []
    for k, ((d, ix), a) in enumerate(zip(items, arrs)):
        size = shape[d]
        err = idx_error("", k, size, IndexError)
        if _is_tensor(a):
            w = DevIndex(a, size, True, IndexError, str(err("{v}")))
        else:
            w = a if isinstance(ix, Trusted) else check_idx(a, size, True, err)
        dims.append(d)
        idx.append(w)
    order = sorted(range(len(dims)), key=lambda i: dims[i])
    if len(set(dims)) != len(dims):
        raise IndexError("each dimension can be indexed by at most one index tensor")
    return IndexSpec(shape, [dims[i] for i in order], [idx[i] for i in order], bshape)


def _spec_offsets(spec, t, op: str):
    rest = [d for d in range(len(spec.shape)) if d not in spec.dims]
    nb = len(spec.bshape)
    strides = [t._stride[d] for d in rest]
    strides[spec.pos:spec.pos] = [0] * nb
    terms = []
    for d, ix in zip(spec.dims, spec.idx):
        nd = ix.ndim if isinstance(ix, DevIndex) else np.ndim(ix)
        terms.append((ix, spec.pos + nb - nd, t._stride[d]))
    return build_offsets(spec.out_shape, t._offset, strides, terms, op, t._storage.device)


def spec_take(spec, t):
    """``t[indices]`` of an ``IndexSpec`` on the device."""
    from .._tensor import empty_tensor
    offs = _spec_offsets(spec, t, "index")
    out = empty_tensor(spec.out_shape, t._dtype, t._storage.device)
    take(t._storage.data, offs, out._np())
    return out


def spec_put(spec, t, vals, mode: str) -> None:
    """``t[indices] = vals`` (or +=) of an ``IndexSpec`` on the device."""
    offs = _spec_offsets(spec, t, "index_put_")
    put(t._storage.data, offs, vals, mode)


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


def take(buf, offs, out) -> None:
    from kernels.cuda import index as KI
    if _is_tensor(offs):  # built on the device
        n = offs.numel()
        if n:
            _launch(KI.take, n, buf, _dflat(offs), _flat(out), n, _err())
            _mark("take")
        return
    o = np.asarray(offs, np.int64).reshape(-1)
    n = o.shape[0]
    if not n:
        return
    od = _to_dev(o, buf)
    _launch(KI.take, n, buf, od._storage.data, _flat(out), n, _err())
    _mark("take")


def _put_dev(buf, offs, vals, mode: str) -> None:
    """``put`` with offsets built on the device. Assign with possibly repeated addresses
    keeps the CPU's last-write-wins through a per-address winner table (atomic max of the
    write's position) when the buffer is not much larger than the write; otherwise one
    ordered thread (small writes) or, for huge scattered writes into a huge buffer, unordered
    parallel writes (PyTorch's CUDA rule: which repeated write wins is undefined)."""
    from kernels.cuda import index as KI
    n = offs.numel()
    if not n:
        return
    code, seq = _seq_mode(buf, mode)
    vd, keep = _vals_dev(vals, buf.dtype)
    if vd.shape[0] == 0:
        return
    scalar = vd.shape[0] == 1 and n != 1
    od = _dflat(offs)
    nb = buf.shape[0]
    if seq or (code == 0 and nb > 8 * n + (1 << 22) and n <= (1 << 16)):
        _launch(KI.put_seq, 1, buf, od, vd, n, scalar, code, _err())
    elif code == 0 and nb <= 8 * n + (1 << 22):
        win = _i64_empty(nb, offs._storage.device)
        wd = win._storage.data
        _launch(KI.fill_i64, nb, wd, nb, -1)
        _launch(KI.mark_last, n, od, n, wd)
        _launch(KI.put_last, n, buf, od, vd, n, scalar, wd, _err())
        del win
    else:
        _launch(KI.put_par, n, buf, od, vd, n, scalar, code, _err())
    _mark("put")
    del keep


def put(buf, offs, vals, mode: str = "assign") -> None:
    from kernels.cuda import index as KI
    if _is_tensor(offs):
        _put_dev(buf, offs, vals, mode)
        return
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
