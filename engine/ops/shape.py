"""Joining and reshaping-with-copy ops: cat, stack, ..."""

from __future__ import annotations

from .. import _dtype as D
from .._tensor import Tensor, _wrap_dim
from ..autograd.graph import record
from ._common import needs_grad, empty_tensor, shape_str, check_same_device

__all__ = ["cat", "concat", "concatenate", "stack"]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, as in PyTorch)."""
    ts = [t for t in tensors]
    if not ts:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"cat(): expected a sequence of Tensors, got {type(t).__name__}")
    check_same_device("cat", *ts)
    parts = [t for t in ts if not (t.ndim == 1 and t._shape[0] == 0)] or ts[:1]
    ref = parts[0]
    if ref.ndim == 0:
        raise RuntimeError("cat(): zero-dimensional tensor cannot be concatenated")
    d = _wrap_dim(dim, ref.ndim)
    for t in parts:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t._shape, ref._shape))
                                     if i != d):
            raise RuntimeError(f"cat(): Sizes of tensors must match except in dimension {d}. "
                               f"Expected shape {shape_str(ref._shape)} (any size at dim {d}) but"
                               f" got {shape_str(t._shape)}")
    dt = D.result_type(*[t for t in parts])
    total = 0
    for t in parts:
        total += t._shape[d]
    shape = ref._shape[:d] + (total,) + ref._shape[d + 1:]
    out = empty_tensor(shape, dt, ref._storage.device)
    from .views import slice_dim
    pos = 0
    bounds = []
    for t in parts:
        n = t._shape[d]
        slice_dim(out, d, pos, pos + n, 1)._copy_nograd(t)
        bounds.append((pos, pos + n))
        pos += n
    if needs_grad(*parts):
        def bw(node, g):
            return tuple(slice_dim(g, d, a, b, 1) for a, b in bounds)
        record("CatBackward0", parts, (out,), bw)
    return out


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    ts = list(tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"stack(): expected a sequence of Tensors, got {type(t).__name__}")
        if t._shape != ts[0]._shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{shape_str(ts[0]._shape)} at entry 0 and {shape_str(t._shape)}"
                               f" at entry {ts.index(t)}")
    nd = ts[0].ndim + 1
    d = _wrap_dim(dim, nd)
    return cat([t.unsqueeze(d) for t in ts], d)
