"""Indexing: ``x[idx]`` and ``x[idx] = v`` with PyTorch's rules, plus the index op family.

Basic indices (ints, slices with step > 0, None, ...) make views; advanced indices (integer
tensors / lists / numpy arrays, boolean masks) make copies through ``index`` / ``index_put``
(``engine.ops._indexing``). Advanced dims broadcast together; the broadcast block replaces the
indexed dims when they are adjacent, else it goes first (numpy's placement rule, applied after
the basic indices, as PyTorch does).

>>> import engine
>>> x = engine.arange(12).reshape(3, 4)
>>> x[[0, 2], 1:3]
tensor([[ 1,  2],
        [ 9, 10]])
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import _enabled
from . import inplace as I
from ._common import needs_grad, shape_str
from ._indexing import Trusted, host_index, index, index_put_into, make_spec
from ._indexing import index_put as _index_put
from .views import make_view, select, slice_dim, unsqueeze

__all__ = [  # noqa: RUF022  (this module's ops, then the gather family re-exported)
    "argwhere",
    "index_put",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "nonzero",
    "one_hot",
    "take",
    "take_along_dim",
    "where",
    "gather",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_select",
    "index_add",
    "index_fill",
    "index_copy",
]

_MASK = "mask"


# ---- parsing ---------------------------------------------------------------------------
def _as_tuple(idx) -> tuple:
    if isinstance(idx, tuple):
        return idx
    if isinstance(idx, list) and len(idx) < 32 and any(
            isinstance(e, (Tensor, list, tuple, slice, np.ndarray)) or e is None
            or e is Ellipsis for e in idx):
        return tuple(idx)  # legacy: a short list holding sequences/slices acts as a tuple
    return (idx,)


def _convert(i):
    """One index element -> int | slice | None | Ellipsis | (_MASK, bool Tensor) | Tensor."""
    if i is None or i is Ellipsis or isinstance(i, slice):
        return i
    if isinstance(i, (bool, np.bool_)):
        from .creation import tensor
        return (_MASK, tensor(bool(i)))
    if isinstance(i, numbers.Integral):
        return int(i)
    if isinstance(i, range):  # a Python range is an advanced (long) index, as in torch
        i = list(i)
    if isinstance(i, (list, tuple, np.ndarray)):
        from .creation import tensor
        t = tensor(i)
        if t.numel() == 0 and t._dtype.is_floating_point:
            t = t.long()
        i = t
    if isinstance(i, Tensor):
        name = i._dtype.name
        if name in ("bool", "uint8"):
            return (_MASK, i if name == "bool" else i.bool())
        if name not in ("int64", "int32"):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if i.ndim == 0:
            return int(i.item())  # a 0-d integer tensor selects, as an int does
        return i
    if hasattr(i, "__index__"):
        return int(i.__index__())
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(i).__name__})")


def _consumed(i) -> int:
    if i is None or i is Ellipsis:
        return 0
    if isinstance(i, tuple):
        return i[1].ndim
    return 1


def _basic(x: Tensor, idx):
    """Apply the basic part of ``idx``: returns (view, [(dim, int64 Tensor)] advanced)."""
    items = [_convert(i) for i in _as_tuple(idx)]
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    n_real = sum(_consumed(i) for i in items)
    if n_real > x.ndim:
        if x.ndim == 0 and any(isinstance(i, int) for i in items):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    r, d, adv, src = x, 0, [], 0  # d: dim in r; src: dim of x being indexed
    for i in items:
        if i is None:
            r = unsqueeze(r, d)
            d += 1
        elif i is Ellipsis:
            d += x.ndim - n_real
            src += x.ndim - n_real
        elif isinstance(i, slice):
            r = _slice(r, d, i)
            d += 1
            src += 1
        elif isinstance(i, int):
            size = r._shape[d]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {src} with size "
                                 f"{size}")
            r = select(r, d, i)
            src += 1
        elif isinstance(i, tuple):
            r, d = _mask(r, d, i[1], x, adv)
            src += i[1].ndim
        else:
            adv.append((d, i))
            d += 1
            src += 1
    return r, adv


def _slice(r: Tensor, d: int, s: slice) -> Tensor:
    step = 1 if s.step is None else int(s.step)
    if step <= 0:
        raise ValueError("step must be greater than zero")
    size = r._shape[d]
    start = 0 if s.start is None else int(s.start)
    stop = size if s.stop is None else int(s.stop)
    if (start, step) == (0, 1) and stop >= size:
        return r
    return slice_dim(r, d, start, stop, step)


def _mask(r: Tensor, d: int, m: Tensor, x: Tensor, adv: list):
    """A boolean mask over dims d..d+m.ndim-1 becomes one long index per dim (nonzero)."""
    if m.ndim == 0:
        r = unsqueeze(r, d)
        adv.append((d, Trusted(np.zeros(1 if m.item() else 0, np.int64))))
        return r, d + 1
    for j, s in enumerate(m._shape):
        if r._shape[d + j] != s:
            raise IndexError(f"The shape of the mask {shape_str(m._shape)} at index {j} does "
                             f"not match the shape of the indexed tensor "
                             f"{shape_str(r._shape)} at index {d + j}")
    from kernels.cpu import index as kern
    nz = kern.nonzero(host_index(m))
    for j in range(m.ndim):
        adv.append((d + j, Trusted(nz[:, j])))
    return r, d + m.ndim


def _spec(r: Tensor, adv):
    return make_spec(r._shape, adv, r._storage.device)


# ---- __getitem__ / __setitem__ --------------------------------------------------------
def getitem(x: Tensor, idx) -> Tensor:
    """``x[idx]``: views for basic indices, a copy when an advanced index is present."""
    t = type(idx)
    if t is int and x._shape:  # fast path: x[i]
        n = x._shape[0]
        if -n <= idx < n:
            return select(x, 0, idx)
    elif t is tuple and len(idx) <= x.ndim and all(type(i) is int for i in idx):
        r = x
        for d, i in enumerate(idx):  # fast path: x[i, j]
            n = r._shape[0]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            r = select(r, 0, i)
        if r is not x:
            return r
    if isinstance(idx, Tensor) and idx._dtype.name in ("int64", "int32") and idx.ndim \
            and x.ndim:
        return index(x, make_spec(x._shape, [(0, idx)], x._storage.device))  # x[long_tensor]
    r, adv = _basic(x, idx)
    if adv:
        return index(r, _spec(r, adv))
    if r is x:
        r = make_view(x, x._shape, x._stride, x._offset)
        if needs_grad(x):
            from ..autograd.graph import record
            record("AliasBackward0", (x,), (r,), lambda n, g: (g,))
    return r


def setitem(x: Tensor, idx, value) -> None:
    """``x[idx] = value``: ``value`` (scalar or tensor) broadcasts to the indexed shape."""
    if not isinstance(value, Tensor):
        if isinstance(value, (list, tuple, np.ndarray)):
            from .creation import tensor
            value = tensor(value, dtype=x._dtype, device=x.device)
        elif not isinstance(value, (numbers.Number, np.generic)):
            raise TypeError(f"can't assign a {type(value).__name__} to a tensor")
    I._check_leaf(x, "index_put_")
    if isinstance(idx, Tensor) and idx._dtype is D.bool_ and 0 < idx.ndim <= x.ndim and \
            idx._shape == x._shape[:idx.ndim] and not needs_grad(x) and (
            not isinstance(value, Tensor) or (value.ndim == 0 and not needs_grad(value))):
        from .masked import masked_fill  # x[mask] = scalar: one elementwise pass
        m = idx.reshape(idx._shape + (1,) * (x.ndim - idx.ndim)) if idx.ndim < x.ndim else idx
        masked_fill(x, m, value, _inplace=True)
        I._bump(x, "index_put_")
        return
    r, adv = _basic(x, idx)
    if adv:
        spec = _spec(r, adv)
        if needs_grad(r, value if isinstance(value, Tensor) else None):
            I.apply_inplace(r, _index_put(r, spec, value, False), "index_put_")
        else:
            index_put_into(r, spec, value, False)
            I._bump(r, "index_put_")
        return
    if r is x:
        r = make_view(x, x._shape, x._stride, x._offset)
    _assign(r, value)


def _assign(view: Tensor, value) -> None:
    """Copy ``value`` into ``view`` (a basic-index view) and rebase autograd history."""
    vt = value if isinstance(value, Tensor) else None
    if vt is not None:
        vs = vt._shape
        while len(vs) > view.ndim and vs[0] == 1:
            vs = vs[1:]
        from .. import _strided as S
        try:
            ok = tuple(S.broadcast_shapes(vs, view._shape)) == view._shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"shape mismatch: value tensor of shape {shape_str(vt._shape)} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{shape_str(view._shape)}")
        if vs != vt._shape:
            vt = vt.reshape(vs)
        if vt._storage is view._storage:
            vt = vt.clone()  # overlapping source: read it all before writing
    I._check_leaf(view, "copy_")
    I.copy_nograd(view, vt if vt is not None else value)
    I._bump(view, "copy_")
    if _enabled.get() and needs_grad(view, vt, view._base):
        from .elementwise import cast
        if vt is None:
            from .creation import zeros
            src = zeros(view._shape, dtype=view._dtype, device=view.device)
        else:
            src = vt.expand(view._shape) if vt._shape != view._shape else vt
            src = cast(src, view._dtype) if src._dtype is not view._dtype else src
        I._rebase(view, src)


# ---- functional forms -----------------------------------------------------------------
def _spec_from_list(x: Tensor, indices):
    idx = tuple(indices)
    if len(idx) > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {len(idx)})")
    r, adv = _basic(x, tuple(slice(None) if i is None else i for i in idx))
    if r is not x and r._shape != x._shape:
        raise IndexError("index_put: indices must be tensors (None for a full dim)")
    return _spec(x, adv)


def index_put(x: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """Out-of-place ``x[indices] = values`` (``+=`` when ``accumulate``).

    >>> engine.zeros(3).index_put((engine.tensor([0, 0]),), engine.tensor(1.), True)
    tensor([2., 0., 0.])
    """
    return _index_put(x, _spec_from_list(x, indices), values, accumulate)


def index_put_(x: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    I._check_leaf(x, "index_put_")
    spec = _spec_from_list(x, indices)
    if needs_grad(x, values if isinstance(values, Tensor) else None):
        return I.apply_inplace(x, _index_put(x, spec, values, accumulate), "index_put_")
    index_put_into(x, spec, values, accumulate)
    I._bump(x, "index_put_")
    return x


from .gather import (
    gather,
    index_add,
    index_copy,
    index_fill,
    index_select,
    scatter,
    scatter_add,
    scatter_reduce,
)
from .masked import (
    argwhere,
    masked_fill,
    masked_scatter,
    masked_select,
    nonzero,
    one_hot,
    take,
    take_along_dim,
    where,
)

Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
Tensor.index_put = index_put
Tensor.index_put_ = index_put_
