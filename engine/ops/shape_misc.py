"""Triangles and diagonals (tril, triu, diagonal, diag, diag_embed, diagflat, trace),
unique / unique_consecutive, and searchsorted / bucketize.

>>> import engine
>>> engine.ones(2, 2).tril()
tensor([[1., 0.],
        [1., 1.]])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _wrap_dim
from ..autograd.grad_mode import no_grad
from ..autograd.graph import record
from ._common import empty_tensor, needs_grad, shape_str
from ._indexing import K, host_index

__all__ = [
    "bucketize",
    "diag",
    "diag_embed",
    "diagflat",
    "diagonal",
    "searchsorted",
    "trace",
    "tril",
    "tril_indices",
    "triu",
    "triu_indices",
    "unique",
    "unique_consecutive",
]


def _from_np(a: np.ndarray, device) -> Tensor:
    from .creation import from_numpy
    t = from_numpy(a if a.flags.c_contiguous else a.copy())  # keeps 0-d arrays 0-d
    return t if device.type == "cpu" else t.to(device)


# ---- triangles ------------------------------------------------------------------------
def _tri(x: Tensor, k: int, lower: bool, name: str) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    from .elementwise import where
    m, n = x._shape[-2:]
    jm_i = np.arange(n)[None, :] - np.arange(m)[:, None]
    mask = _from_np(jm_i <= k if lower else jm_i >= k, x.device)
    with no_grad():
        out = where(mask, x, x.new_zeros(()))
    if needs_grad(x):
        record(name.capitalize() + "Backward0", (x,), (out,), lambda nd, g: (_tri(
            g, k, lower, name),))
    return out


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (elements with j - i <= diagonal)."""
    return _tri(x, int(diagonal), True, "tril")


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (elements with j - i >= diagonal)."""
    return _tri(x, int(diagonal), False, "triu")


def _tri_indices(row, col, offset, lower, dtype, device):
    from .creation import tensor
    i, j = np.indices((row, col)).reshape(2, -1)
    keep = (j - i <= offset) if lower else (j - i >= offset)
    return tensor(np.stack([i[keep], j[keep]]), dtype=dtype or D.int64, device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, **_) -> Tensor:
    return _tri_indices(row, col, offset, True, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, **_) -> Tensor:
    return _tri_indices(row, col, offset, False, dtype, device)


# ---- diagonals ------------------------------------------------------------------------
def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal of the (dim1, dim2) planes, appended as the last dim."""
    from .views import make_view, scatter_view
    d1, d2 = _wrap_dim(dim1, x.ndim), _wrap_dim(dim2, x.ndim)  # IndexError below 2 dims
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    s1, s2 = x._shape[d1], x._shape[d2]
    st1, st2 = x._stride[d1], x._stride[d2]
    off = x._offset
    if offset >= 0:
        n = max(0, min(s1, s2 - offset))
        off += offset * st2 if n else 0
    else:
        n = max(0, min(s1 + offset, s2))
        off += -offset * st1 if n else 0
    keep = [d for d in range(x.ndim) if d not in (d1, d2)]
    shape = tuple(x._shape[d] for d in keep) + (n,)
    stride = tuple(x._stride[d] for d in keep) + (st1 + st2,)
    out = make_view(x, shape, stride, off)
    if needs_grad(x):
        xshape = x._shape
        record("DiagonalBackward0", (x,), (out,), lambda nd, g: (scatter_view(
            g, xshape, lambda z: diagonal(z, offset, d1, d2), "DiagonalBackward"),))
    return out


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims dim1, dim2 of the result) whose ``offset`` diagonal is ``x``'s last
    dim."""
    nd = x.ndim + 1
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = (x._shape[-1] if x.ndim else 1) + abs(offset)
    rest = iter(x._shape[:-1])
    shape = tuple(n if d in (d1, d2) else next(rest) for d in range(nd))
    out = empty_tensor(shape, x._dtype, x._storage.device)
    out._fill_nograd(0)
    diagonal(out, offset, d1, d2)._copy_nograd(x)
    if needs_grad(x):
        record("DiagEmbedBackward0", (x,), (out,), lambda nd_, g: (
            diagonal(g, offset, d1, d2),))
    return out


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with ``x`` on a diagonal; 2-D input: that diagonal."""
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


def diagflat(x: Tensor, offset: int = 0) -> Tensor:
    return diag_embed(x.reshape(-1), offset, 0, 1)


def trace(x: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return diagonal(x).sum()


# ---- unique ---------------------------------------------------------------------------
def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim=None):
    """Sorted unique elements (or slices along ``dim``), optionally with the inverse indices
    and counts.

    >>> engine.unique(engine.tensor([3, 1, 3]), return_counts=True)
    (tensor([1, 3]), tensor([1, 2]))
    """
    kern = K(x, "unique")
    a = host_index(x)
    if dim is None:
        vals, inv, counts = kern.unique_sorted(a)
        inv = inv.reshape(x._shape)
    else:
        d = _wrap_dim(dim, x.ndim)
        rows = np.moveaxis(a, d, 0).reshape(a.shape[d], -1) if a.ndim else a.reshape(1, 1)
        if rows.shape[0] == 0:
            vals, inv, counts = rows, np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            vals, inv, counts = np.unique(rows, axis=0, return_inverse=True,
                                          return_counts=True)
        rest = [s for i, s in enumerate(a.shape) if i != d]
        vals = np.moveaxis(vals.reshape([vals.shape[0]] + rest), 0, d)
        inv = inv.reshape(-1)
    return _pack(x, vals, inv, counts, return_inverse, return_counts)


def _pack(x, vals, inv, counts, return_inverse, return_counts):
    out = [_from_np(np.asarray(vals, x._dtype.np), x.device)]
    if return_inverse:
        out.append(_from_np(inv.astype(np.int64), x.device))
    if return_counts:
        out.append(_from_np(counts.astype(np.int64), x.device))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(x: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    a = host_index(x)
    if dim is None:
        rows = a.reshape(-1, 1)
    else:
        d = _wrap_dim(dim, x.ndim)
        rows = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
    n = rows.shape[0]
    new = np.ones(n, bool)
    if n > 1:
        new[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    inv = np.cumsum(new) - 1
    counts = np.diff(np.append(starts, n))
    if dim is None:
        vals = a.reshape(-1)[starts]
        inv = inv.reshape(x._shape)
    else:
        vals = np.take(a, starts, axis=d)
    return _pack(x, vals, inv, counts, return_inverse, return_counts)


# ---- searchsorted / bucketize ---------------------------------------------------------
def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side=None, sorter=None, out=None) -> Tensor:
    """Insertion points of ``input`` in the innermost dim of ``sorted_sequence``."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites")
        right = side == "right"
    seq = sorted_sequence
    if sorter is not None:
        seq = seq.gather(-1, sorter)
    scalar = not isinstance(input, Tensor)
    if scalar:
        from .creation import tensor
        input = tensor(input, device=seq.device)
    dt = D.promote_types(seq._dtype, input._dtype)
    s = host_index(seq).astype(dt.np)
    v = host_index(input).astype(dt.np)
    if s.ndim == 1:
        s2, v2 = s.reshape(1, -1), v.reshape(1, -1)
    else:
        if s.shape[:-1] != v.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension "
                               f"or the first N-1 dimensions of boundaries tensor and input "
                               f"value tensor must match, but we got boundaries tensor "
                               f"{shape_str(s.shape)} and input value tensor "
                               f"{shape_str(v.shape)}")
        s2, v2 = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1] if v.ndim else 1)
    res = np.empty(v2.shape, np.int64)
    K(seq, "searchsorted").searchsorted_rows(np.ascontiguousarray(s2),
                                             np.ascontiguousarray(v2), bool(right), res)
    res = res.reshape(v.shape).astype(np.int32 if out_int32 else np.int64)
    return _from_np(res, seq.device)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out=None) -> Tensor:
    """Bucket index of each element of ``input`` among 1-D ``boundaries``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def _bind():
    T = Tensor
    T.tril, T.triu, T.diagonal, T.diag, T.diag_embed, T.trace = (tril, triu, diagonal, diag,
                                                                 diag_embed, trace)
    T.diagflat = diagflat
    T.unique = lambda x, sorted=True, return_inverse=False, return_counts=False, dim=None: \
        unique(x, sorted, return_inverse, return_counts, dim)
    T.unique_consecutive = unique_consecutive
    T.tril_ = lambda x, diagonal=0: _inplace(x, tril(x, diagonal), "tril_")
    T.triu_ = lambda x, diagonal=0: _inplace(x, triu(x, diagonal), "triu_")


def _inplace(x, r, name):
    from . import inplace as I
    I._check_leaf(x, name)
    return I.apply_inplace(x, r, name)


_bind()
