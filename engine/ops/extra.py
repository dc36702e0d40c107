"""Small PyTorch functions composed from existing engine ops (so autograd and devices come for
free): aliases (``t``, ``swapaxes``, ``moveaxis``, ``ravel``), ``diff``, ``cross``, ``kron``,
``tensor_split``, ``bincount``, ``logaddexp``, ``nanmean``, ``inner``, ...

>>> import engine
>>> engine.diff(engine.tensor([1, 4, 9]))
tensor([3, 5])
"""

from __future__ import annotations

import math
import numbers

from .. import _dtype as D
from .._tensor import Tensor, _wrap_dim
from ._common import shape_str

__all__ = ["bincount", "cross", "deg2rad", "diff", "dsplit", "hsplit", "inner", "is_nonzero",
           "kron", "logaddexp", "moveaxis", "nanmean", "positive", "rad2deg", "ravel",
           "swapaxes", "swapdims", "t", "tensor_split", "vdot", "vsplit"]


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    return input.t()


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    return input.transpose(axis0, axis1)


swapdims = swapaxes


def moveaxis(input: Tensor, source, destination) -> Tensor:
    return input.movedim(source, destination)


def ravel(input: Tensor) -> Tensor:
    """A 1-D view when possible (else a copy): ``reshape(-1)``."""
    return input.reshape(-1)


def positive(input: Tensor) -> Tensor:
    if input.dtype is D.bool_:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def is_nonzero(input: Tensor) -> bool:
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                           f"(is_nonzero got a tensor of shape {shape_str(input.shape)})")
    return bool(input.item())


def deg2rad(input: Tensor) -> Tensor:
    return _float(input) * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    return _float(input) * (180.0 / math.pi)


def _float(x: Tensor) -> Tensor:
    return x if x.dtype.is_floating_point else x.to(D.get_default_dtype())


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) without overflow (floating inputs; ``inf`` with ``inf`` and
    ``-inf`` with ``-inf`` give themselves, as torch)."""
    from .elementwise import binary, cast, where
    dt = D.result_type(input, other)
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"logaddexp_cpu\" not implemented for '{dt}' (logaddexp "
                                  f"of {getattr(input, 'dtype', type(input).__name__)} and "
                                  f"{getattr(other, 'dtype', type(other).__name__)}: convert "
                                  f"the inputs with .float())")
    a = cast(input, dt) if isinstance(input, Tensor) and input.dtype is not dt else input
    b = cast(other, dt) if isinstance(other, Tensor) and other.dtype is not dt else other
    m = binary("maximum", a, b)
    r = m + (-(a - b).abs()).exp().log1p()
    return where((a == b) & m.isinf(), m, r)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over the non-NaN elements."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got "
                           f"{input.dtype}")
    from .reduce import nansum
    from .reduce import sum as _sum
    keep = ~input.isnan()
    cnt = _sum(keep, dim, keepdim) if dim is not None else keep.sum()
    s = nansum(input, dim, keepdim) if dim is not None else nansum(input)
    r = s / cnt
    return r.to(dtype) if dtype is not None else r


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims (scalars multiply)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    from .matmul import tensordot
    return tensordot(input, other, dims=([-1 % input.ndim], [-1 % other.ndim]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    from .matmul import dot
    return dot(input, other)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """n-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
    from .shape import cat
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _wrap_dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if len(parts) > 1:
        parts = [p if isinstance(p, Tensor) else input.new_tensor(p) for p in parts]
        parts = [p.expand(tuple(input.shape[:d]) + (1,) + tuple(input.shape[d + 1:]))
                 if p.ndim == 0 else p for p in parts]
        input = cat(parts, d)
    for _ in range(n):
        size = input.shape[d]
        if size == 0:
            break
        a, b = input.narrow(d, 1, size - 1), input.narrow(d, 0, size - 1)
        input = (a ^ b) if input.dtype is D.bool_ else a - b
    return input


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the first dim of size 3 if None)."""
    if dim is None:
        sizes = [i for i, s in enumerate(input.shape) if s == 3]
        if not sizes:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape "
                               f"{shape_str(input.shape)}")
        dim = sizes[0]
    d = _wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d if other.ndim == input.ndim else dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[dim]}")
    return input.roll(-1, d) * other.roll(-2, d) - input.roll(-2, d) * other.roll(-1, d)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product (dims aligned from the right)."""
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    ea, eb = [], []
    for i in range(nd):
        ea += [a.shape[i], 1]
        eb += [1, b.shape[i]]
    out = a.reshape(ea) * b.reshape(eb)
    return out.reshape(tuple(a.shape[i] * b.shape[i] for i in range(nd)))


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0):
    """Split into ``n`` nearly equal parts, or at the given indices (views)."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = _wrap_dim(dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, numbers.Integral):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            start += q + (1 if i < r else 0)
            bounds.append(start)
        bounds = bounds[:-1]
    else:
        bounds = [int(i) for i in indices_or_sections]
    out, start = [], 0
    for stop in bounds + [size]:
        lo, hi = min(max(start, 0), size), min(max(stop, 0), size)
        out.append(input.narrow(d, lo, max(hi - lo, 0)))
        start = stop
    return tuple(out)


def _split_dim(name, input, sections, dim, min_dims):
    if input.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, "
                           f"but got a tensor with {input.ndim} dimensions!")
    if isinstance(sections, numbers.Integral) and input.shape[dim] % sections:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size "
                           f"of the dimension {input.shape[dim]} is not divisible by the split_size "
                           f"{sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, sections):
    return _split_dim("hsplit", input, sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input: Tensor, sections):
    return _split_dim("vsplit", input, sections, 0, 2)


def dsplit(input: Tensor, sections):
    return _split_dim("dsplit", input, sections, 2, 3)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count of each value in a 1-D non-negative integer tensor (weighted if ``weights``)."""
    from .creation import zeros
    if input.dtype.is_floating_point or input.dtype is D.bool_:
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{input.dtype}' "
                                  f"(bincount counts non-negative integers; convert with "
                                  f".long())")
    if input.ndim != 1:
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs (got "
                           f"shape {shape_str(input.shape)}, dtype {input.dtype})")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if input.numel() and int(input.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    n = max(int(input.max()) + 1 if input.numel() else 0, minlength)
    if weights is None:
        src, dt = input.new_ones(tuple(input.shape), dtype=D.int64), D.int64
    else:
        if tuple(weights.shape) != tuple(input.shape):
            raise RuntimeError(f"bincount: weights should have the input's shape "
                               f"{shape_str(input.shape)}, got {shape_str(weights.shape)}")
        dt = weights.dtype if weights.dtype.is_floating_point else D.float64
        src = weights.to(dt)
    return zeros(n, dtype=dt, device=input.device).index_add(0, input.long(), src)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: a view of every ``size``-long window along ``dimension`` (windows
    ``step`` apart), as a new last dim."""
    from .views import _record_view, make_view
    nd = input.ndim
    d = _wrap_dim(dimension, max(nd, 1))
    n = input.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size "
                           f"is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    shape, stride = list(input.shape), list(input.stride())
    if nd:
        k, st = (n - size) // step + 1, stride[d]
        shape[d], stride[d] = k, st * step
    else:
        k, st = 1, 1
    out = make_view(input, shape + [size], stride + [st], input.storage_offset())
    in_shape = tuple(input.shape)

    def bw(node, g):  # scatter-add every window back: index_add over the window positions
        from .creation import arange, zeros
        if not nd:
            return (g.reshape(()),)
        idx = (arange(k, device=g.device).unsqueeze(1) * step +
               arange(size, device=g.device).unsqueeze(0)).reshape(-1)
        g2 = g.movedim(-1, d + 1)
        g2 = g2.reshape(tuple(g2.shape[:d]) + (k * size,) + tuple(g2.shape[d + 2:]))
        return (zeros(in_shape, dtype=g.dtype, device=g.device).index_add(d, idx, g2),)
    return _record_view("UnfoldBackward0", input, out, bw)


for _n in ("unfold", "ravel", "positive", "is_nonzero", "deg2rad", "rad2deg", "logaddexp", "nanmean",
           "inner", "vdot", "diff", "cross", "kron", "tensor_split", "hsplit", "vsplit",
           "dsplit", "bincount"):
    if not hasattr(Tensor, _n):
        setattr(Tensor, _n, globals()[_n])
del _n
