"""Joining and rearranging-with-copy ops: cat / stack / hstack / vstack / dstack, repeat,
tile, repeat_interleave, flip, roll, rot90, pad, broadcast helpers, meshgrid, atleast_nd.

Rearrangements that pick input elements per dim (flip, roll, repeat, tile, repeat_interleave,
reflect/replicate/circular pad) are one "separable remap": output coordinate j along dim d
reads input coordinate ``maps[d][j]``; its backward scatter-adds the gradient back.

>>> import engine
>>> engine.cat([engine.zeros(1, 2), engine.ones(1, 2)]).shape
torch.Size([2, 2])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .. import _strided as S
from .._size import Size
from .._tensor import Tensor, _wrap_dim
from ..autograd.graph import record
from ._common import check_same_device, empty_tensor, needs_grad, normalize_dims, shape_str
from ._indexing import K

__all__ = [  # noqa: RUF022
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_shapes",
    "broadcast_tensors",
    "broadcast_to",
    "cat",
    "column_stack",
    "concat",
    "concatenate",
    "dstack",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "meshgrid",
    "pad",
    "repeat",
    "repeat_interleave",
    "roll",
    "rot90",
    "row_stack",
    "stack",
    "tile",
    "vstack",
    # re-exported from shape_misc
    "tril", "triu", "diagonal", "diag", "diag_embed", "diagflat", "trace", "unique",
    "unique_consecutive", "searchsorted", "bucketize", "tril_indices", "triu_indices",
]


# ---- cat / stack ----------------------------------------------------------------------
def _tensors(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not Tensor")
    ts = list(tensors)
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected a sequence of Tensors, got "
                            f"{type(t).__name__}")
    return ts


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors along an existing dim, promoting dtypes (1-D empty tensors are skipped,
    as in PyTorch)."""
    ts = _tensors("cat", tensors)
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    check_same_device("cat", *ts)
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    keep = [i for i, t in enumerate(ts) if not (t.ndim == 1 and t._shape[0] == 0)] or [0]
    parts = [ts[i] for i in keep]
    ref = parts[0]
    d = _wrap_dim(dim, ref.ndim)
    for i, t in zip(keep, parts):
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for k, (a, b) in enumerate(zip(ref._shape, t._shape)):
            if k != d and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {a} but got size {b} for tensor number {i} "
                                   "in the list.")
    dt = D.result_type(*ts)
    total = sum(t._shape[d] for t in parts)
    shape = ref._shape[:d] + (total,) + ref._shape[d + 1:]
    res = empty_tensor(shape, dt, ref._storage.device)
    from .views import slice_dim
    pos, bounds = 0, []
    for t in parts:
        n = t._shape[d]
        if n:
            slice_dim(res, d, pos, pos + n, 1)._copy_nograd(t)
        bounds.append((pos, pos + n))
        pos += n
    if needs_grad(*ts):  # skipped empty inputs get empty gradients, as in torch
        dts = [t._dtype for t in ts]
        where_of = dict(zip(keep, bounds))

        def bw(node, g):
            return tuple(_cast(slice_dim(g, d, *where_of[i], 1), t_dt) if i in where_of
                         else _cast(g.new_zeros((0,)), t_dt) for i, t_dt in enumerate(dts))
        record("CatBackward0", ts, (res,), bw)
    if out is not None:
        out.copy_(res)
        return out
    return res


def _cast(g: Tensor, dt: D.dtype) -> Tensor:
    return g if g._dtype is dt else g.to(dt)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join same-shape tensors along a new dim."""
    ts = _tensors("stack", tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(ts):
        if t._shape != ts[0]._shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{shape_str(ts[0]._shape)} at entry 0 and {shape_str(t._shape)}"
                               f" at entry {i}")
    d = _wrap_dim(dim, ts[0].ndim + 1)
    if out is not None or not needs_grad(*ts):
        return cat([t.unsqueeze(d) for t in ts], d, out=out)
    from ..autograd.grad_mode import no_grad
    with no_grad():
        res = cat([t.unsqueeze(d) for t in ts], d)
    dts = [t._dtype for t in ts]
    record("StackBackward0", ts, (res,), lambda node, g: tuple(
        _cast(g.select(d, i), dt) for i, dt in enumerate(dts)))
    return res


def _atleast(ts, n: int):
    single = len(ts) == 1 and isinstance(ts[0], Tensor)
    seq = ts if not (len(ts) == 1 and isinstance(ts[0], (list, tuple))) else ts[0]
    out = []
    for t in seq:
        if t.ndim >= n:
            out.append(t)
        elif n == 1 or t.ndim == 0:
            out.append(t.reshape((1,) * n))
        elif n == 2:
            out.append(t.unsqueeze(0))
        else:
            out.append(t.reshape((1,) + t._shape + (1,)) if t.ndim == 1 else t.unsqueeze(-1))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Views with at least 1 dim (a tuple when given several tensors)."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    return _atleast(tensors, 3)


def hstack(tensors, *, out=None) -> Tensor:
    ts = [atleast_1d(t) for t in _tensors("hstack", tensors)]
    return cat(ts, 0 if ts and all(t.ndim == 1 for t in ts) else 1, out=out)


def vstack(tensors, *, out=None) -> Tensor:
    return cat([atleast_2d(t) for t in _tensors("vstack", tensors)], 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None) -> Tensor:
    return cat([atleast_3d(t) for t in _tensors("dstack", tensors)], 2, out=out)


def column_stack(tensors, *, out=None) -> Tensor:
    ts = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in _tensors("column_stack", tensors)]
    return cat(ts, 1, out=out)


# ---- separable remap ------------------------------------------------------------------
def remap(x: Tensor, maps, name: str) -> Tensor:
    """out[j0, j1, ...] = x[maps[0][j0], maps[1][j1], ...] (maps already validated)."""
    out = empty_tensor(tuple(len(m) for m in maps), x._dtype, x._storage.device)
    K(x, name).remap_take(x._storage.data, x._offset, x._stride, maps, out._np())
    if needs_grad(x):
        xshape = x._shape
        record(name, (x,), (out,), lambda n, g: (_unmap(g, xshape, maps, name),))
    return out


def _unmap(g: Tensor, shape, maps, name) -> Tensor:
    """The adjoint of ``remap``: scatter-add ``g`` back into zeros(shape)."""
    z = empty_tensor(tuple(shape), g._dtype, g._storage.device)
    z._fill_nograd(0)
    K(z, name).remap_put(z._storage.data, 0, z._stride, maps, g._np(), "add")
    if needs_grad(g):
        record(name.replace("Backward0", "BackwardBackward0"), (g,), (z,),
               lambda n, gg: (remap(gg, maps, name),))
    return z


def _ar(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def flip(x: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy)."""
    dims = [dims] if isinstance(dims, int) else list(dims)
    w = [_wrap_dim(d, x.ndim) for d in dims]
    if len(set(w)) != len(w):
        raise RuntimeError(f"dim {w[0]} appears multiple times in the list of dims")
    if x.ndim == 0:
        return x.clone()
    maps = [_ar(n)[::-1] if d in w else _ar(n) for d, n in enumerate(x._shape)]
    return remap(x, maps, "FlipBackward0")


def fliplr(x: Tensor) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, [1])


def flipud(x: Tensor) -> Tensor:
    if x.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, [0])


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts`` (flattened when ``dims`` is None)."""
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        return roll(x.reshape(-1), shifts, 0).reshape(x._shape)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    if x.ndim == 0:
        raise IndexError(f"roll: Dimension specified as {dims[0]} but tensor has no dimensions "
                         "(roll a 0-d tensor without dims)")
    maps = [_ar(n) for n in x._shape]
    for s, d in zip(shifts, dims):
        d = _wrap_dim(d, x.ndim)
        n = x._shape[d]
        if n:
            maps[d] = (maps[d] - int(s)) % n
    return remap(x, maps, "RollBackward0")


def rot90(x: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (first towards second)."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = _wrap_dim(dims[0], x.ndim), _wrap_dim(dims[1], x.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return flip(x, [d1]).transpose(d0, d1)
    if k == 2:
        return flip(x, [d0, d1])
    if k == 3:
        return flip(x, [d0]).transpose(d0, d1)
    return x.clone()


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along each dim (new leading dims allowed)."""
    if len(sizes) == 1 and not isinstance(sizes[0], int):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    xs = x.reshape((1,) * (len(sizes) - x.ndim) + x._shape) if len(sizes) > x.ndim else x
    maps = [_ar(n * r) % n if n else _ar(0) for n, r in zip(xs._shape, sizes)]
    return remap(xs, maps, "RepeatBackward0")


def tile(x: Tensor, dims) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element ``repeats`` times (an int or a 1-D tensor of counts) along
    ``dim`` (the flattened input when None). ``repeat_interleave(counts)`` gives indices."""
    if repeats is None:
        c = _counts_np(x, None)
        from .creation import from_numpy
        return from_numpy(np.repeat(_ar(len(c)), c)).to(x.device)
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = _wrap_dim(dim, x.ndim)
    n = x._shape[d] if x.ndim else 1
    xs = x.reshape(1) if x.ndim == 0 else x
    c = _counts_np(repeats, n)
    maps = [_ar(s) for s in xs._shape]
    maps[d] = np.repeat(_ar(n), c)
    return remap(xs, maps, "IndexSelectBackward0")


def _counts_np(repeats, n) -> np.ndarray:
    if isinstance(repeats, Tensor):
        if repeats._dtype.name not in ("int64", "int32"):
            raise RuntimeError("repeat_interleave: repeats has to be Long or Int tensor")
        if repeats.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        c = repeats._host().reshape(-1).astype(np.int64)
    else:
        c = np.array([int(repeats)], np.int64)
    if n is not None:
        if len(c) == 1:
            c = np.full(n, c[0], np.int64)
        elif len(c) != n:
            raise RuntimeError("repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {len(c)} and input.size({0}) = {n}")
    if (c < 0).any():
        raise RuntimeError("repeats can not be negative")
    return c


# ---- pad ------------------------------------------------------------------------------
def pad(x: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_prev, ...)``.
    Modes: constant (negative pads crop), reflect, replicate, circular."""
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the input "
                           f"dims; got {len(pad)} for a {x.ndim}-D input")
    k = len(pad) // 2
    pads = [(pad[2 * i], pad[2 * i + 1]) for i in range(k)]  # last dim first
    if mode == "constant":
        return _pad_constant(x, pads, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode '{mode}' is not supported (constant, reflect, "
                                  "replicate, circular)")
    maps = [_ar(n) for n in x._shape]
    for i, (lo, hi) in enumerate(pads):
        d = x.ndim - 1 - i
        n = x._shape[d]
        j = np.arange(-lo, n + hi, dtype=np.int64)
        if mode == "reflect":
            if lo >= n or hi >= n:
                raise RuntimeError(f"Argument #4: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension {d} of input {shape_str(x._shape)}")
            j = np.abs(j)
            j = np.where(j >= n, 2 * (n - 1) - j, j)
        elif mode == "replicate":
            if n == 0:
                raise RuntimeError("pad: replicate padding of an empty dim")
            j = np.clip(j, 0, n - 1)
        else:
            if lo > n or hi > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            j = j % n
        maps[d] = j
    name = {"reflect": "Reflection", "replicate": "Replication", "circular": "Circular"}[mode]
    return remap(x, maps, f"{name}Pad{k}dBackward0")


def _pad_constant(x: Tensor, pads, value) -> Tensor:
    for i, (lo, hi) in enumerate(pads):  # negative pads crop first
        d = x.ndim - 1 - i
        if lo < 0 or hi < 0:
            n = x._shape[d]
            a, b = max(-lo, 0), n - max(-hi, 0)
            if b < a:
                raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} "
                                   f"resulted in a negative output size")
            x = x.narrow(d, a, b - a)
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    shape = list(x._shape)
    for i, (lo, hi) in enumerate(pads):
        shape[x.ndim - 1 - i] += lo + hi
    out = empty_tensor(tuple(shape), x._dtype, x._storage.device)
    out._fill_nograd(value)

    def region(t):
        for i, (lo, hi) in enumerate(pads):
            d = t.ndim - 1 - i
            t = t.narrow(d, lo, t._shape[d] - lo - hi)
        return t
    if x.numel():
        region(out)._copy_nograd(x)
    if needs_grad(x):
        record("ConstantPadNdBackward0", (x,), (out,), lambda n, g: (region(g),))
    return out


# ---- broadcasting helpers -------------------------------------------------------------
def broadcast_shapes(*shapes) -> Size:
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return Size(S.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{', '.join(shape_str(s) for s in shapes)}") from None


def broadcast_to(x: Tensor, size) -> Tensor:
    return x.expand(tuple(size))


def broadcast_tensors(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    shape = tuple(broadcast_shapes(*(t._shape for t in ts)))
    return tuple(t if t._shape == shape else t.expand(shape) for t in ts)


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids (views) from 1-D tensors; ``indexing='ij'`` (default) or ``'xy'``."""
    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) \
        else list(tensors)
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t._shape[0] for t in ts)
    n = len(ts)
    out = [t.reshape((1,) * i + (-1,) + (1,) * (n - i - 1)).expand(shape)
           for i, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _bind():
    T = Tensor
    T.repeat = repeat
    T.tile = tile
    T.repeat_interleave = repeat_interleave
    T.flip = lambda x, *dims: flip(x, dims[0] if len(dims) == 1 and not isinstance(
        dims[0], int) else dims)
    T.fliplr, T.flipud, T.roll, T.rot90 = fliplr, flipud, roll, rot90
    T.broadcast_to = broadcast_to


_bind()
from .shape_misc import (
    bucketize,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    searchsorted,
    trace,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unique,
    unique_consecutive,
)

del normalize_dims
