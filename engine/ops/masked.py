"""Mask and flat-index ops: nonzero / argwhere / where(cond), masked_fill / masked_select /
masked_scatter, take / take_along_dim / put, and one_hot.

>>> import engine
>>> x = engine.tensor([1., -2., 3.])
>>> x.masked_fill(x < 0, 0.)
tensor([1., 0., 3.])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .. import _strided as S
from .._tensor import Tensor, _wrap_dim
from ..autograd.grad_mode import no_grad
from ..autograd.graph import record
from . import inplace as I
from ._common import needs_grad, shape_str, sum_to
from ._indexing import IndexSpec, K, Trusted, check_idx, host_index, make_spec
from ._indexing import index as _index
from ._indexing import index_put as _index_put

__all__ = [
    "argwhere",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "nonzero",
    "one_hot",
    "put",
    "take",
    "take_along_dim",
    "where",
]


def _from_np(a: np.ndarray, device) -> Tensor:
    from .creation import from_numpy
    t = from_numpy(a if a.flags.c_contiguous else a.copy())  # keeps 0-d arrays 0-d
    return t if device.type == "cpu" else t.to(device)


def _bool_np(x: Tensor) -> np.ndarray:
    a = host_index(x)
    return a if a.dtype == np.bool_ else a != 0


# ---- nonzero / where ------------------------------------------------------------------
def nonzero(x: Tensor, *, as_tuple: bool = False, out=None):
    """Coordinates of the nonzero elements: (n, ndim) int64, or a tuple of ndim 1-D tensors.

    >>> engine.nonzero(engine.tensor([0, 3, 0, 4]))
    tensor([[1],
            [3]])
    """
    nz = K(x, "nonzero").nonzero(_bool_np(x))
    if as_tuple:
        if x.ndim == 0:
            return (_from_np(np.zeros(len(nz) if nz.size or _bool_np(x).item() else 0,
                                      np.int64), x.device),)
        return tuple(_from_np(nz[:, j], x.device) for j in range(x.ndim))
    if x.ndim == 0:
        nz = np.zeros((1 if _bool_np(x).item() else 0, 0), np.int64)
    return _from_np(nz, x.device)


def argwhere(x: Tensor) -> Tensor:
    """``nonzero(x)``: (n, ndim) coordinates of the nonzero elements."""
    return nonzero(x)


def where(condition, input=None, other=None):
    """``where(cond, a, b)`` picks elementwise; ``where(cond)`` is ``nonzero(cond, as_tuple=True)``."""
    from .elementwise import where as ew_where
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() expects a condition and both input and other, or only a "
                        "condition")
    return ew_where(condition, input, other)


# ---- masked_* -------------------------------------------------------------------------
def _check_mask(op: str, mask) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._dtype is not D.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{mask._dtype.name}")
    return mask


def _bshape(op, *shapes):
    try:
        return tuple(S.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"{op}: shapes {', '.join(shape_str(s) for s in shapes)} are not "
                           "broadcastable") from None


def masked_fill(x: Tensor, mask: Tensor, value, *, _inplace=False) -> Tensor:
    """Elements of ``x`` where ``mask`` is True replaced by ``value`` (scalar or 0-d tensor);
    ``mask`` broadcasts."""
    from .elementwise import cast
    from .elementwise import where as ew_where
    _check_mask("masked_fill_", mask)
    vt = value if isinstance(value, Tensor) else None
    if vt is not None and vt.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {vt.ndim} dimension(s).")
    shape = _bshape("masked_fill", x._shape, mask._shape)
    if _inplace and shape != x._shape:
        raise RuntimeError(f"masked_fill_: output with shape {shape_str(x._shape)} doesn't "
                           f"match the broadcast shape {shape_str(shape)}")
    v = vt.item() if vt is not None else value
    from .inplace import _check_fits
    _check_fits(x._dtype, v)  # (torch: RuntimeError for a value out of an int dtype's range)
    if x._dtype.is_floating_point is False and isinstance(v, float) and x._dtype is not D.bool_:
        v = int(v)
    with no_grad():
        r = ew_where(mask, np.array(v, dtype=np.int64 if isinstance(v, int) else None)
                     .astype(x._dtype.np).item() if x._dtype is not D.bool_ else bool(v), x)
        if r._dtype is not x._dtype:
            r = cast(r, x._dtype)
    if _inplace:
        x._copy_nograd(r)
        return x
    if needs_grad(x, vt):
        xshape = x._shape

        def bw(n, g):
            z = g.new_zeros(())
            gx = sum_to(ew_where(mask, z, g), xshape)
            gv = ew_where(mask, g, z).sum().to(vt._dtype) if vt is not None else None
            return gx, gv
        record("MaskedFillBackward0", (x, vt), (r,), bw)
    return r


def _mask_spec(mask: Tensor, shape) -> IndexSpec:
    m = host_index(mask)
    if m.shape != tuple(shape):
        m = np.broadcast_to(m, shape)
    nz = K(mask, "masked").nonzero(m)
    return make_spec(shape, [(j, Trusted(nz[:, j])) for j in range(len(shape))]) \
        if len(shape) else make_spec((1,), [(0, Trusted(np.zeros(1 if m.item() else 0,
                                                                   np.int64)))])


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """1-D tensor of the elements of ``x`` (broadcast with ``mask``) where ``mask`` holds."""
    if not isinstance(mask, Tensor) or mask._dtype is not D.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = _bshape("masked_select", x._shape, mask._shape)
    xb = x.expand(shape) if shape != x._shape else x
    if not shape:
        xb = xb.reshape(1)
    return _index(xb, _mask_spec(mask, shape))


def masked_scatter(x: Tensor, mask: Tensor, source: Tensor, *, _inplace=False) -> Tensor:
    """Copy consecutive elements of ``source`` into ``x`` where ``mask`` holds."""
    _check_mask("masked_scatter_", mask)
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    if source._dtype is not x._dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got {x._dtype.name} and {source._dtype.name}")
    shape = _bshape("masked_scatter", x._shape, mask._shape)
    if _inplace and shape != x._shape:
        raise RuntimeError(f"masked_scatter_: output with shape {shape_str(x._shape)} doesn't "
                           f"match the broadcast shape {shape_str(shape)}")
    spec = _mask_spec(mask, shape)
    k = spec.out_shape[0]
    if source.numel() < k:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    vals = source.reshape(-1)[:k]
    xb = x.expand(shape) if shape != x._shape else x
    xb = xb.reshape(1) if not shape else xb
    if _inplace:
        from ._indexing import index_put_into
        index_put_into(x.reshape(1) if not shape else x, spec, vals.detach(), False)
        return x
    out = _index_put(xb, spec, vals, False)
    return out.reshape(()) if not shape else out


# ---- take / put / take_along_dim ------------------------------------------------------
def _flat_spec(x: Tensor, index: Tensor, op: str = "take") -> IndexSpec:
    if not isinstance(index, Tensor) or index._dtype.name != "int64":
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got "
                           f"{getattr(index, 'dtype', type(index).__name__)} (convert it with "
                           f"index.long())")
    n = x.numel()

    def err(bad):
        return IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                          "elements.")
    if not x.is_cpu and not index.is_cpu:  # CUDA: checked in the kernel (deferred)
        from ..cuda.indexing import DevIndex
        ix = DevIndex(index, n, True, IndexError, str(err("{v}")), op)
        return IndexSpec((n,), [0], [ix], ix.shape)
    idx = check_idx(index, n, True, err)
    return IndexSpec((n,), [0], [idx], idx.shape)


def take(x: Tensor, index: Tensor) -> Tensor:
    """Elements of ``x`` as if flattened, at ``index`` (negative indices wrap)."""
    spec = _flat_spec(x, index)
    return _index(x.reshape(-1), spec)


def put(x: Tensor, index: Tensor, source: Tensor, accumulate: bool = False, *,
        _inplace=False) -> Tensor:
    """Out-of-place ``put_``: ``x.flatten()[index] = source`` (``+=`` with accumulate)."""
    spec = _flat_spec(x, index, "put_")
    if not isinstance(source, Tensor) or source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = "
                         f"{getattr(source, 'numel', lambda: '?')()}, index.numel() = "
                         f"{index.numel()}")
    if source._dtype is not x._dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but "
                           f"got self.dtype = {x._dtype.name} and source.dtype = "
                           f"{source._dtype.name}")
    src = source.reshape(spec.out_shape)
    if _inplace:
        from ._indexing import K as _K
        from ._indexing import offsets, values_array
        if isinstance(spec.idx[0], np.ndarray):
            offs = offsets(x).reshape(-1)[spec.idx[0]]
        else:  # CUDA: all element offsets built on the device, picked by the checked index
            from ..cuda.indexing import build_offsets
            offs = _index(build_offsets(x._shape, x._offset, x._stride, [], "put_",
                                        x._storage.device), spec)
        _K(x, "put_").put(x._storage.data, offs, values_array(src.detach(), x._dtype,
                                                                  spec.out_shape, x),
                          "add" if accumulate else "assign")
        return x
    return _index_put(x.reshape(-1), spec, src, accumulate).reshape(x._shape)


def take_along_dim(x: Tensor, indices: Tensor, dim=None) -> Tensor:
    """``gather`` after broadcasting ``x`` and ``indices`` except along ``dim``
    (``dim=None``: on the flattened ``x``)."""
    from .gather import gather
    if not isinstance(indices, Tensor) or indices._dtype.name != "int64":
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if dim is None:
        x, indices, d = x.reshape(-1), indices.reshape(-1), 0
    else:
        if x.ndim != indices.ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the "
                               f"same number of dimensions, but got {x.ndim} dimensions for "
                               f"input, and {indices.ndim} dimensions for indices")
        d = _wrap_dim(dim, x.ndim)
        xs, js = list(x._shape), list(indices._shape)
        xs[d] = js[d] = 1
        b = _bshape("take_along_dim", tuple(xs), tuple(js))
        sx, si = list(b), list(b)
        sx[d], si[d] = x._shape[d], indices._shape[d]
        x = x.expand(sx) if tuple(sx) != x._shape else x
        indices = indices.expand(si) if tuple(si) != indices._shape else indices
    size = x._shape[d] if x.ndim else 1
    if indices.numel() and not x.is_cpu and not indices.is_cpu:  # CUDA: checked in a kernel
        from ..cuda.indexing import check_range
        from .elementwise import where as ew_where
        check_range(indices, -size, size, None, IndexError,
                    f"index {{v}} is out of bounds for dimension {d} with size {size}",
                    "take_along_dim")
        with no_grad():
            indices = ew_where(indices < 0, indices + size, indices)
    elif indices.numel():
        w = check_idx(indices, size, True, lambda bad: IndexError(
            f"index {bad} is out of bounds for dimension {d} with size {size}"))
        indices = _from_np(w, x.device)
    return gather(x, d, indices)


# ---- one_hot --------------------------------------------------------------------------
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of ``num_classes`` (inferred when -1).

    >>> engine.nn.functional.one_hot(engine.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor) or tensor._dtype is not D.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = host_index(tensor)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    from .creation import zeros
    out = zeros(tensor._shape + (int(num_classes),), dtype=D.int64, device=tensor.device)
    if a.size:
        flat = out.reshape(-1, int(num_classes))
        offs = (np.arange(a.size, dtype=np.int64) * int(num_classes) + a.reshape(-1))
        K(out, "one_hot").put(flat._storage.data, offs, np.ones(1, np.int64), "assign")
    return out


def _mk_inplace(fn, name):
    def method(x, *args, **kwargs):
        I._check_leaf(x, name)
        ts = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)
              and a._dtype.is_floating_point]
        if needs_grad(x, *ts):
            return I.apply_inplace(x, fn(x, *args, **kwargs), name)
        fn(x, *args, _inplace=True, **kwargs)
        I._bump(x, name)
        return x
    method.__name__ = name
    return method


Tensor.nonzero = nonzero
Tensor.argwhere = argwhere
Tensor.masked_select = masked_select
Tensor.take = take
Tensor.take_along_dim = take_along_dim
for _f in (masked_fill, masked_scatter, put):
    setattr(Tensor, _f.__name__, _f)
    setattr(Tensor, _f.__name__ + "_", _mk_inplace(_f, _f.__name__ + "_"))
del _f
