"""Index-along-a-dim ops: gather, scatter (+ add / reduce), index_select, index_add,
index_fill, index_copy, and their in-place forms. Each validates every index before it reads
or writes (a failed call leaves its inputs untouched); backward rules are engine ops.

>>> import engine
>>> engine.tensor([[1., 2.], [3., 4.]]).gather(1, engine.tensor([[1], [0]]))
tensor([[2.],
        [3.]])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _wrap_dim
from ..autograd.grad_mode import no_grad
from ..autograd.graph import record
from . import inplace as I
from ._common import empty_tensor, needs_grad, shape_str
from ._indexing import K, check_idx, host_index, idx_error, offsets, put_at, take_at, values_array

__all__ = [
    "gather",
    "index_add",
    "index_copy",
    "index_fill",
    "index_select",
    "scatter",
    "scatter_add",
    "scatter_reduce",
]

_REDUCE_MODE = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "amax",
                "amin": "amin"}


def _addr(t: Tensor, index: Tensor, d: int, op: str = "gather") -> np.ndarray:
    """Validated storage offsets that ``index`` (same ndim) addresses along ``d`` of ``t``
    (0-d tensors act as 1-element 1-D ones). On CUDA with a CUDA index: a device offsets
    tensor, the indices checked in the kernel (error at the next synchronisation)."""
    t1, i1 = _g1(t), _g1(index)
    if not t.is_cpu and not index.is_cpu:
        from ..cuda.indexing import dim_offsets
        return dim_offsets(t1, i1, d, op).reshape(i1._shape)
    size = t1._shape[d]
    offs, bad = K(t, "gather").dim_offsets(host_index(i1), d, size, t1._stride, t1._offset)
    if offs is None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    return offs.reshape(i1._shape)


def _clone(x: Tensor) -> Tensor:
    from .views import clone
    with no_grad():
        return clone(x)


def _g1(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


def _index_dtype(op: str, index: Tensor, kind=RuntimeError, msg=None) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._dtype.name not in ("int64", "int32"):
        raise kind(msg or f"{op}(): Expected dtype int64 for index")


def _pad_to(g: Tensor, shape) -> Tensor:
    """``g`` placed at the start of zeros(shape) (differentiable)."""
    if tuple(g._shape) == tuple(shape):
        return g
    from .views import scatter_view

    def viewfn(z):
        for i, s in enumerate(g._shape):
            z = z.narrow(i, 0, s)
        return z
    return scatter_view(g, shape, viewfn, "ConstantPadNd")


# ---- gather ---------------------------------------------------------------------------
def gather(x: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out=None):
    """``out[i][j] = x[i][index[i][j]]`` (for dim=1); index dims no larger than x's."""
    _index_dtype("gather", index)
    if max(x.ndim, 1) != max(index.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    d = _wrap_dim(dim, x.ndim)
    xs, ix = _g1(x), _g1(index)
    for k, (a, b) in enumerate(zip(ix._shape, xs._shape)):
        if k != d and a > b:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{shape_str(index._shape)} to be no larger than self "
                               f"{shape_str(x._shape)} apart from dimension {d}")
    out = take_at(xs, _addr(xs, ix, d), "gather").reshape(index._shape)
    if needs_grad(x):
        xshape = x._shape
        record("GatherBackward0", (x,), (out,), lambda n, g: (
            scatter_add(g.new_zeros(xshape), d, index, g),))
    return out


# ---- scatter family -------------------------------------------------------------------
def _check_scatter(op, x, dim, index, src):
    _index_dtype(op, index)
    nd = max(x.ndim, 1)
    if max(index.ndim, 1) != nd or (isinstance(src, Tensor) and max(src.ndim, 1) != nd):
        raise RuntimeError("Index tensor must have the same number of dimensions as self "
                           "tensor" + ("" if not isinstance(src, Tensor) else " and src"))
    d = _wrap_dim(dim, x.ndim)
    ishape, xshape = _g1(index)._shape, _g1(x)._shape
    sshape = _g1(src)._shape if isinstance(src, Tensor) else None
    for k in range(nd):
        if index.numel() and ((k != d and ishape[k] > xshape[k])
                              or (sshape is not None and ishape[k] > sshape[k])):
            raise RuntimeError(f"Expected index {shape_str(index._shape)} to be no larger than "
                               f"self {shape_str(x._shape)} apart from dimension {d}"
                               + ("" if sshape is None else " and to be no larger size than "
                                  f"src {shape_str(src._shape)}"))
    if isinstance(src, Tensor) and src._dtype is not x._dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got "
                           f"{x._dtype} and {src._dtype})")
    if not x.is_cpu and not index.is_cpu:
        return d, None  # CUDA: checked in the kernels, reported at the next synchronisation
    return d, _addr(x, index, d)  # validates the indices before anything is written


def _src_values(src, ishape, dst: Tensor):
    """The part of ``src`` that ``index`` addresses, as a contiguous array."""
    if not isinstance(src, Tensor):
        return values_array(src, dst._dtype, ())
    if not src.is_cpu and not dst.is_cpu:
        from ..cuda.indexing import values_dev
        s = _g1(src).detach()
        for i, n in enumerate(ishape):
            s = s.narrow(i, 0, n) if s._shape[i] != n else s
        return values_dev(s, dst._dtype, ishape, dst)
    a = _g1(src)._np() if src.is_cpu else _g1(src).cpu()._np()
    a = a[tuple(slice(0, s) for s in ishape)]
    return np.array(a, dtype=dst._dtype.np)  # a copy: src may alias dst


def _scatter_into(dst, d, index, src, mode, op):
    put_at(dst, _addr(dst, index, d, op), _src_values(src, _g1(index)._shape, dst), mode, op)


def scatter(x: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce=None,
            _inplace=False) -> Tensor:
    """Out-of-place ``scatter_``: ``out[i][index[i][j]] = src[i][j]`` (dim=1); ``src`` may be
    a scalar; ``reduce='add'|'multiply'`` combines instead of overwriting."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): missing argument 'src' or 'value'")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    d, _ = _check_scatter("scatter", x, dim, index, src)
    out = x if _inplace else _clone(x)
    _scatter_into(out, d, index, src, reduce or "assign", "scatter")
    st = src if isinstance(src, Tensor) else None
    if not _inplace and needs_grad(x, st):
        if reduce is not None:
            def bw(n, g):
                raise RuntimeError("the derivative for 'scatter' with reduce= is not "
                                   "implemented; use scatter_reduce")
            record("NotImplemented", (x, st), (out,), bw)
        elif st is None:
            record("ScatterBackward1", (x,), (out,), lambda n, g: (scatter(g, d, index, 0),))
        else:
            sshape = st._shape
            record("ScatterBackward0", (x, st), (out,), lambda n, g: (
                scatter(g, d, index, 0), _pad_to(gather(g, d, index), sshape)))
    return out


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor, *, _inplace=False):
    """Out-of-place ``scatter_add_``: ``out[i][index[i][j]] += src[i][j]`` (dim=1)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not "
                        f"{type(src).__name__}")
    d, _ = _check_scatter("scatter_add", x, dim, index, src)
    out = x if _inplace else _clone(x)
    _scatter_into(out, d, index, src, "add", "scatter_add")
    if not _inplace and needs_grad(x, src):
        sshape = src._shape
        record("ScatterAddBackward0", (x, src), (out,), lambda n, g: (
            g, _pad_to(gather(g, d, index), sshape)))
    return out


def _identity(reduce, dt: D.dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dt.is_floating_point:
        return -np.inf if reduce == "amax" else np.inf
    if dt is D.bool_:
        return reduce == "amin"
    info = np.iinfo(dt.np)
    return int(info.min if reduce == "amax" else info.max)


def scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, _inplace=False) -> Tensor:
    """Reduce ``src`` into ``x`` at ``index`` along ``dim`` with sum/prod/mean/amax/amin."""
    if reduce not in _REDUCE_MODE:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d, _ = _check_scatter("scatter_reduce", x, dim, index, src)
    out = x if _inplace else _clone(x)
    o1, ishape = _g1(out), _g1(index)._shape
    offs = _addr(out, index, d, "scatter_reduce")
    vals = _src_values(src, ishape, out)
    kern = K(out, "scatter_reduce")
    if not include_self:
        put_at(o1, offs, values_array(_identity(reduce, out._dtype), out._dtype, ()),
               "assign", "scatter_reduce")
    kern.put(o1._storage.data, offs, vals, _REDUCE_MODE[reduce])
    cnt = None
    if reduce == "mean" and not isinstance(offs, np.ndarray):  # CUDA: counts on the device
        with no_grad():
            cdt = out._dtype if out._dtype.is_floating_point else D.int64
            cnt = o1.new_zeros(o1._shape, dtype=cdt).scatter_add(
                d, _g1(index), o1.new_ones(ishape, dtype=cdt))
            cnt = (cnt + 1 if include_self else cnt).clamp(min=1)
            o1._copy_nograd(o1 / cnt if out._dtype.is_floating_point else o1 // cnt)
    elif reduce == "mean":
        cnt = _counts(o1, offs, include_self)
        a = o1._np()
        a[...] = a / cnt if out._dtype.is_floating_point else a // cnt
    if not _inplace and needs_grad(x, src):
        _record_scatter_reduce(x, d, index, src, reduce, include_self, out, cnt, offs)
    return out


def _counts(o1: Tensor, offs: np.ndarray, include_self: bool) -> np.ndarray:
    """How many values were reduced into each element of ``o1`` (>= 1)."""
    from kernels.cpu import index as kern
    pos = offsets(o1)
    hits = kern.count_hits(offs - o1._offset if o1._offset else offs,
                           int(pos.max()) + 1 if pos.size else 0)
    c = hits[pos - o1._offset] + (1 if include_self else 0)
    return np.maximum(c, 1).astype(o1._dtype.np if o1._dtype.is_floating_point else np.int64)


def _record_scatter_reduce(x, d, index, src, reduce, include_self, out, cnt, offs):
    from .creation import from_numpy
    sshape, xshape = src._shape, x._shape
    hit = None
    if not include_self:
        hit = scatter(x.new_zeros(xshape, dtype=D.bool_), d, index, True)

    def bw(n, g):
        xs = n.saved_tensor(0)
        ss = n.saved_tensor(1)
        res = n.saved_tensor(2)
        keep = g if include_self else g.masked_fill(hit, 0)
        if reduce == "sum":
            return keep, _pad_to(gather(g, d, index), sshape)
        if reduce == "mean":
            c = (cnt if isinstance(cnt, Tensor) else from_numpy(np.ascontiguousarray(cnt))
                 ).to(g._dtype).reshape(xshape)
            gn = g / c
            return (gn if include_self else keep), _pad_to(gather(gn, d, index), sshape)
        if reduce == "prod":
            return _prod_grads(g, xs, _crop(ss, index), res, d, index, include_self, keep,
                               sshape)
        ms = (xs == res) if include_self else xs.new_zeros(xshape, dtype=D.bool_)
        sc = _crop(ss, index)
        msrc = sc == gather(res, d, index)
        count = ms.to(g._dtype) + scatter_add(g.new_zeros(xshape), d, index, msrc.to(g._dtype))
        gc = g / count.clamp(min=1)
        gx = gc * ms if include_self else keep
        return gx, _pad_to(gather(gc, d, index) * msrc, sshape)
    record("ScatterReduceBackward0", (x, src), (out,), bw,
           saved=((x, False), (src, False), (out, True)))


def _prod_grads(g, xs, sc, res, d, index, include_self, keep, sshape):
    """PyTorch's zero-safe gradient of a scatter product (one zero in a group is exact)."""
    from .masked import where
    one = g.new_ones(())
    mself = xs.masked_fill(xs == 0, 1)
    gx = g * scatter_reduce(mself, d, index, sc, "prod", include_self=include_self) / mself
    szero = sc == 0
    nz = gather(scatter_add(g.new_zeros(xs._shape), d, index, szero.to(g._dtype)), d, index)
    single = szero & (nz == 1)
    mres = scatter_reduce(xs, d, index, sc.masked_fill(single, one), "prod",
                          include_self=include_self)
    gs = where(single, gather(g * mres, d, index),
               gather(g * res, d, index) / sc.masked_fill(szero, one))
    return (gx if include_self else keep), _pad_to(gs, sshape)


def _crop(s: Tensor, index: Tensor) -> Tensor:
    for i, n in enumerate(index._shape):
        if s._shape[i] != n:
            s = s.narrow(i, 0, n)
    return s


# ---- index_* along one dim ------------------------------------------------------------
_LONG_INDEX_ONLY = {  # ops whose index torch takes only as int64 (index_select/add: int32 too)
    "index_copy": (RuntimeError, "index_copy_(): Expected a long tensor for index, but got Int"),
    "index_fill": (IndexError, "index_fill_(): Expected dtype int64 for index."),
}


def _vec_index(op, x, dim, index, wrap, kind=RuntimeError, prefix=""):
    """Validate a 1-D (or 0-d) index along ``dim`` of ``x``: (d, int64 array)."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    if index._dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{op}(): Expected dtype int32 or int64 for index")
    if index._dtype.name != "int64" and op in _LONG_INDEX_ONLY:  # torch's own rule per op
        exc, msg = _LONG_INDEX_ONLY[op]
        raise exc(f"{msg} (index dtype {index._dtype}; convert it with index.long())")
    d = _wrap_dim(dim, x.ndim)
    size = _g1(x)._shape[d]
    err = idx_error(prefix, d, size, kind)
    if op == "index_select":
        def err(bad):  # torch's CPU kernel: its dim-1 path raises RuntimeError
            if d == 1 and x.ndim > 1:
                return RuntimeError(f"INDICES element is out of DATA bounds, id={int(bad)} "
                                    f"axis_dim={size}")
            return IndexError("index out of range in self")
    if not x.is_cpu and not index.is_cpu:  # CUDA: checked in the kernel (deferred error)
        from ..cuda.indexing import DevIndex
        e = IndexError(f"index_select(): index {{v}} is out of range for dimension {d} "
                       f"with size {size}") if op == "index_select" else err("{v}")
        return d, DevIndex(index.reshape(-1), size, wrap, type(e), str(e))
    return d, check_idx(index.reshape(-1), size, wrap, err)


def _sel_maps(t: Tensor, d: int, idx: np.ndarray) -> list:
    return [idx.reshape(-1) if k == d else np.arange(n, dtype=np.int64)
            for k, n in enumerate(_g1(t)._shape)]


def _sel_take(x: Tensor, d: int, idx: np.ndarray, op: str) -> Tensor:
    if not isinstance(idx, np.ndarray):  # a DevIndex: offsets built on the device
        from ..cuda.indexing import sel_take
        return sel_take(_g1(x), d, idx, op)
    maps = _sel_maps(x, d, idx)
    out = empty_tensor(tuple(len(m) for m in maps), x._dtype, x._storage.device)
    K(x, op).remap_take(x._storage.data, x._offset, _g1(x)._stride, maps, out._np())
    return out


def _sel_put(dst: Tensor, d: int, idx: np.ndarray, vals: np.ndarray, mode: str, op: str):
    if not isinstance(idx, np.ndarray):  # a DevIndex
        from ..cuda.indexing import sel_put
        return sel_put(_g1(dst), d, idx, vals, mode, op)
    K(dst, op).remap_put(dst._storage.data, dst._offset, _g1(dst)._stride,
                         _sel_maps(dst, d, idx), vals, mode)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """Rows (for dim=0) of ``x`` picked by a 1-D ``index``."""
    d, idx = _vec_index("index_select", x, dim, index, False)
    out = _sel_take(x, d, idx, "index_select")
    if x.ndim == 0:
        out = out.reshape(())
    if needs_grad(x):
        xshape = x._shape
        record("IndexSelectBackward0", (x,), (out,), lambda n, g: (
            index_add(g.new_zeros(xshape), d, index, g),))
    return out


def _check_source(op, x, d, n_idx, source):
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    xs, ss = _g1(x)._shape, _g1(source)._shape
    if len(xs) != len(ss) or any(a != b for k, (a, b) in enumerate(zip(xs, ss)) if k != d):
        if op == "index_copy_" and len(xs) == len(ss):
            k = next(k for k, (a, b) in enumerate(zip(xs, ss)) if k != d and a != b)
            raise RuntimeError(f"index_copy_(): Source/destination tensor must have same "
                               f"slice shapes. Destination slice shape: {xs[k]} at dimension "
                               f"{k} and source slice shape: {ss[k]} at dimension {k}.")
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {shape_str(x._shape)} "
                           f"source.shape = {shape_str(source._shape)}")
    if ss[d] != n_idx:
        sep = ":" if op == "index_add_" else ""
        raise RuntimeError(f"{op}(): Number of indices ({n_idx}) should be equal to "
                           f"source.size(dim){sep} ({ss[d]})" +
                           (f", for dim: {d}" if op == "index_add_" else ""))
    if source._dtype is not x._dtype:
        raise RuntimeError(f"{op}(): self ({x._dtype.name}) and source "
                           f"({source._dtype.name}) must have the same scalar type")


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1,
              _inplace=False) -> Tensor:
    """Out-of-place ``index_add_``: ``out[index[i]] += alpha * source[i]`` (dim=0)."""
    d, idx = _vec_index("index_add", x, dim, index, False)
    _check_source("index_add_", x, d, len(idx), source)
    out = x if _inplace else _clone(x)
    s = source if alpha == 1 else source.detach() * alpha
    _sel_put(out, d, idx, values_array(s, out._dtype, s._shape, out), "add", "index_add")
    if not _inplace and needs_grad(x, source):
        record("IndexAddBackward0", (x, source), (out,), lambda n, g: (
            g, _reshape_like(index_select(g, d, index), source._shape) * alpha
            if alpha != 1 else _reshape_like(index_select(g, d, index), source._shape)))
    return out


def _reshape_like(t: Tensor, shape) -> Tensor:
    return t if t._shape == tuple(shape) else t.reshape(shape)


def index_copy(x: Tensor, dim: int, index: Tensor, source: Tensor, *, _inplace=False):
    """Out-of-place ``index_copy_``: ``out[index[i]] = source[i]`` (dim=0)."""
    d, idx = _vec_index("index_copy", x, dim, index, False, IndexError, "index_copy_(): ")
    _check_source("index_copy_", x, d, len(idx), source)
    out = x if _inplace else _clone(x)
    _sel_put(out, d, idx, values_array(source, out._dtype, source._shape, out), "assign",
             "index_copy")
    if not _inplace and needs_grad(x, source):
        record("IndexCopyBackward0", (x, source), (out,), lambda n, g: (
            index_fill(g, d, index, 0), _reshape_like(index_select(g, d, index),
                                                      source._shape)))
    return out


def index_fill(x: Tensor, dim: int, index: Tensor, value, *, _inplace=False) -> Tensor:
    """Out-of-place ``index_fill_``: ``out[index[i]] = value`` (dim=0)."""
    d, idx = _vec_index("index_fill", x, dim, index, True, IndexError)
    vt = value if isinstance(value, Tensor) else None
    if vt is not None and vt.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {vt.ndim} dimension(s).")
    if vt is not None and not vt.is_cpu and not x.is_cpu:
        v = vt  # CUDA: the value stays on the device
    else:
        v = vt.item() if vt is not None else value
    out = x if _inplace else _clone(x)
    _sel_put(out, d, idx, values_array(v, out._dtype, (), out), "assign", "index_fill")
    if not _inplace and needs_grad(x, vt):
        def bw(n, g):
            gx = index_fill(g, d, index, 0)
            return gx, ((g - gx).sum().to(vt._dtype) if vt is not None else None)
        record("IndexFillBackward0", (x, vt), (out,), bw)
    return out


# ---- in-place forms -------------------------------------------------------------------
def _make_inplace(fn, name):
    saves_self = fn is scatter_reduce  # its backward reads the original self: keep a copy

    def method(x, *args, **kwargs):
        I._check_leaf(x, name)
        ts = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        if needs_grad(x, *ts):
            return I.apply_inplace(x, fn(x.clone() if saves_self else x, *args, **kwargs),
                                   name)
        fn(x, *args, _inplace=True, **kwargs)
        I._bump(x, name)
        return x
    method.__name__ = name
    method.__doc__ = f"In-place form of ``{fn.__name__}``."
    return method


for _f in (scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill):
    setattr(Tensor, _f.__name__, _f)
    setattr(Tensor, _f.__name__ + "_", _make_inplace(_f, _f.__name__ + "_"))
Tensor.gather = gather
Tensor.index_select = index_select
