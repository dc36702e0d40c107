"""Indexing: basic (views) and advanced (copies), __setitem__, gather/scatter family."""

from __future__ import annotations

from .._tensor import Tensor
from .views import select, slice_dim, unsqueeze

__all__ = []


def _expand_index(x, idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis and not (
        isinstance(i, Tensor) and i._dtype.name == "bool"))
    if n_real > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    out = []
    for i in idx:
        if i is Ellipsis:
            out.extend([slice(None)] * (x.ndim - n_real))
        else:
            out.append(i)
    if Ellipsis not in idx:
        out.extend([slice(None)] * (x.ndim - n_real))
    return out


def getitem(x: Tensor, idx):
    """Basic indexing (ints, slices, None, ...) returns views."""
    items = _expand_index(x, idx)
    r = x
    d = 0
    for i in items:
        if i is None:
            r = unsqueeze(r, d)
            d += 1
        elif isinstance(i, slice):
            start, stop, step = i.start, i.stop, i.step
            step = 1 if step is None else int(step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            size = r._shape[d]
            start = 0 if start is None else int(start)
            stop = size if stop is None else int(stop)
            if (start, stop, step) != (0, size, 1):
                r = slice_dim(r, d, start, stop, step)
            d += 1
        elif isinstance(i, int) or hasattr(i, "__index__") and not isinstance(i, Tensor):
            size = r._shape[d]
            ii = int(i)
            if not -size <= ii < size:
                raise IndexError(f"index {ii} is out of bounds for dimension {d} with size "
                                 f"{size}")
            r = select(r, d, ii)
        else:
            raise IndexError(f"unsupported index type {type(i).__name__}")
    if r is x:
        from .views import view
        r = view(x, x._shape)
    return r


def setitem(x: Tensor, idx, value):
    from .inplace import copy_
    copy_(getitem(x, idx), value)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
