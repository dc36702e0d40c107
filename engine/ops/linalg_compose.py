"""engine.linalg's compositions of engine ops (norms, matrix_power, cross, vecdot, multi_dot,
householder_product, tensorinv/tensorsolve, vander): no host round trip, so they run on every
device, and autograd comes from the ops they are made of."""

from __future__ import annotations

import math

from .. import _dtype as D
from .._tensor import Tensor
from .linalg import check_float

__all__ = [
    "cross",
    "diagonal",
    "householder_product",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]


def _out(res, out):
    if out is None:
        return res
    if isinstance(res, tuple):
        for o, r in zip(out, res):
            o.resize_(r.shape) if tuple(o.shape) != tuple(r.shape) else None
            o.copy_(r)
        return out
    if tuple(out.shape) != tuple(res.shape):
        out.resize_(res.shape)
    out.copy_(res)
    return out


def _mT(t):
    return t.transpose(-2, -1)


def _la():
    from .. import linalg
    return linalg


# ----------------------------------------------------------------------------- norms
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """sum(|x|^ord)^(1/ord) over ``dim`` (all dims when None); ord may be inf, -inf, 0."""
    from .reduce import amin
    from .reduce import norm as _vnorm
    check_float("linalg.vector_norm", x, "x")
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(dim, int):
        dim = (dim,)
    if ord == -math.inf:
        r = amin(x.abs(), () if dim is None else dim, keepdim) if x.ndim else x.abs()
    elif ord == 0:
        r = (x != 0).to(x.dtype).sum(dim, keepdim) if dim is not None else \
            (x != 0).to(x.dtype).sum()
    elif isinstance(ord, (int, float)) and ord < 0:
        r = (x.abs() ** ord).sum(dim, keepdim) ** (1.0 / ord) if dim is not None else \
            (x.abs() ** ord).sum() ** (1.0 / ord)
    else:
        r = _vnorm(x, ord, dim, keepdim)
    if keepdim and dim is None and r.ndim != x.ndim:
        r = r.reshape((1,) * x.ndim)
    return _out(r, out)


def _mdims(A, dim, op):
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (d % A.ndim for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norms: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2 over the two dims ``dim``."""
    op = "linalg.matrix_norm"
    check_float(op, A)
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = _mdims(A, dim, op)
    if ord == "fro":
        r = vector_norm(A, 2, (d0, d1), keepdim)
    elif ord in ("nuc", 2, -2):
        s = _la().svdvals(A.movedim((d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
    elif ord in (1, -1, math.inf, -math.inf):
        red, keep = (d0, d1) if ord in (1, -1) else (d1, d0)
        s = A.abs().sum(red, keepdim=True)
        r = s.amax(keep, keepdim=True) if ord > 0 else s.amin(keep, keepdim=True)
        if not keepdim:
            r = r.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    else:
        raise RuntimeError(f"{op}: Order {ord} not supported.")
    return _out(r, out)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """torch.linalg.norm: a vector norm, or a matrix norm when ``ord`` is a string or ``dim``
    has two entries (or A is 2-D and ord is given with dim=None)."""
    check_float("linalg.norm", A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or (dim is None and ord is not None and A.ndim == 2)\
            or isinstance(ord, str):
        if dim is None:
            if A.ndim != 2:
                raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input "
                                   f"must be 1D or 2D. Got {A.ndim}D.")
            dim = (-2, -1)
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if dim is None and ord is not None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)


# ----------------------------------------------------------------------------- composites
def matrix_power(A, n, *, out=None):
    """A^n by repeated squaring (engine matmuls: any device); n < 0 uses inv(A)^|n|."""
    op = "linalg.matrix_power"
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if not isinstance(n, int):
        raise TypeError(f"{op}(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:
        from .creation import eye
        e = eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return _out(e.expand(*A.shape).clone(), out)
    if n < 0:
        A, n = _la().inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return _out(result if result is not A else A.clone(), out)


def cross(input, other, *, dim=-1, out=None):
    from .. import _strided as S
    from .extra import cross as _cross
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[dim]} and {other.shape[dim]}")
    shape = tuple(S.broadcast_shapes(tuple(input.shape), tuple(other.shape)))
    a = input.expand(*shape) if tuple(input.shape) != shape else input
    b = other.expand(*shape) if tuple(other.shape) != shape else other
    return _out(_cross(a, b, dim=dim), out)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(x * y, dim) with broadcasting (real dtypes: no conjugation)."""
    if x.shape[dim] != y.shape[dim] if x.ndim and y.ndim else False:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same size along dim "
                           f"{dim}, but got {x.shape[dim]} and {y.shape[dim]}")
    return _out((x * y).sum(dim), out)


def multi_dot(tensors, *, out=None):
    """A chain of matmuls in the cheapest order (first/last may be 1-D)."""
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    ts = list(tensors)
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    for i in range(n - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{list(ts[i].shape)} and {list(ts[i + 1].shape)} cannot be "
                               "multiplied")
    dims = [ts[0].shape[0]] + [t.shape[1] for t in ts]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for ln in range(1, n):
        for i in range(n - ln):
            j = i + ln
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i, j):
        if i == j:
            return ts[i]
        k = split[i][j]
        return chain(i, k) @ chain(k + 1, j)
    r = chain(0, n - 1)
    if first_vec:
        r = r.squeeze(0)
    if last_vec:
        r = r.squeeze(-1)
    return _out(r, out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


def vander(x, *, N=None):
    n = x.shape[-1] if N is None else N
    from .creation import arange
    return x.unsqueeze(-1) ** arange(n, device=x.device).to(x.dtype if x.dtype.is_floating_point
                                                            else D.int64)


# ----------------------------------------------------------------------------- tensor forms
def tensorinv(A, ind=2, *, out=None):
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape = tuple(A.shape[:ind])
    rest = tuple(A.shape[ind:])
    pa = math.prod(out_shape)
    if pa != math.prod(rest):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(rest)} != {pa}")
    return _out(_la().inv(A.reshape(pa, pa)).reshape(*rest, *out_shape), out)


def tensorsolve(A, B, dims=None, *, out=None):
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    res = tuple(A.shape[B.ndim:])
    n = math.prod(res)
    return _out(_la().solve(A.reshape(-1, n), B.reshape(-1)).reshape(res), out)


def householder_product(A, tau, *, out=None):
    """Q = H_1 ... H_k with H_i = I - tau_i v_i v_i^T (v_i: column i of A below the diagonal,
    unit diagonal), composed from engine ops (any device, differentiable)."""
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    from .creation import eye
    ident = eye(m, n, dtype=A.dtype, device=A.device)
    V = A.tril(-1) + eye(m, n, dtype=A.dtype, device=A.device)
    Q = ident.expand(*A.shape).clone() if A.ndim > 2 else ident
    for i in range(k - 1, -1, -1):
        v = _zero_above(V[..., :, i:i + 1], i)
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * (v @ (_mT(v) @ Q))
    return _out(Q, out)


def _zero_above(v, i):
    from .creation import arange
    mask = (arange(v.shape[-2], device=v.device) >= i).to(v.dtype).unsqueeze(-1)
    return v * mask
