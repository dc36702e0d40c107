"""engine.linalg: PyTorch's torch.linalg (batched over leading dims, float32/float64).

Factorizations and solvers run their forward on the host through numpy.linalg (the engine's
LAPACK, see engine/ops/linalg.py) and raise NotImplementedError on CUDA tensors; norms,
cross, vecdot, multi_dot, matrix_power and diagonal are compositions of engine ops and run
on every device. Every result is differentiable (backward rules are engine ops).

>>> import engine as torch
>>> A = torch.tensor([[2., 1.], [1., 3.]])
>>> torch.linalg.solve(A, torch.tensor([1., 2.]))
tensor([0.2000, 0.6000])
"""

from __future__ import annotations

import collections
import math

import numpy as np

from . import _dtype as D
from ._tensor import Tensor
from .ops import linalg as P
from .ops.linalg import LinAlgError, check_float, check_square, solve_triangular
from .ops.linalg_np import lstsq_np as _lstsq_np

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "solve",
           "solve_ex", "solve_triangular", "lstsq", "det", "slogdet", "cholesky", "cholesky_ex",
           "qr", "eigh", "eigvalsh", "eig", "eigvals", "svd", "svdvals", "pinv", "matrix_rank",
           "matrix_power", "matrix_exp", "cross", "vecdot", "multi_dot", "cond", "diagonal",
           "lu_factor", "lu_factor_ex", "lu", "lu_solve", "tensorinv", "tensorsolve", "vander",
           "householder_product"]


def _rt(name, fields):
    base = collections.namedtuple(name, fields)

    def rep(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"
    return type(name, (base,), {"__repr__": rep, "__slots__": ()})


_Slogdet = _rt("linalg_slogdet", ["sign", "logabsdet"])
_QR = _rt("linalg_qr", ["Q", "R"])
_Eigh = _rt("linalg_eigh", ["eigenvalues", "eigenvectors"])
_Eig = _rt("linalg_eig", ["eigenvalues", "eigenvectors"])
_SVD = _rt("linalg_svd", ["U", "S", "Vh"])
_Lstsq = _rt("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_InvEx = _rt("linalg_inv_ex", ["inverse", "info"])
_SolveEx = _rt("linalg_solve_ex", ["result", "info"])
_CholEx = _rt("linalg_cholesky_ex", ["L", "info"])
_LUF = _rt("linalg_lu_factor", ["LU", "pivots"])
_LUFEx = _rt("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_LU = _rt("linalg_lu", ["P", "L", "U"])


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


# ----------------------------------------------------------------------------- norms
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """sum(|x|^ord)^(1/ord) over ``dim`` (all dims when None); ord may be inf, -inf, 0."""
    from .ops.reduce import norm as _vnorm, amin
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
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
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


# ----------------------------------------------------------------------------- inverses, solves
def inv_ex(A, *, check_errors=False, out=None):
    return _out(_InvEx(*P.inv_ex(A, check_errors)), out)


def inv(A, *, out=None):
    """A^{-1} for square (batched) A; singular A raises LinAlgError."""
    return _out(P.inv_ex(A, True)[0], out)


def _is_vector_rhs(A, B):
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _solve(A, B, left, op):
    check_square(op, A)
    check_float(op, B, "B")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{op}: Expected A and B to have the same dtype, but found A of "
                           f"type {A.dtype} and B of type {B.dtype} instead")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT(_solve(_mT(A), _mT(B), True, op))
    vec = _is_vector_rhs(A, B)
    Bm = B.unsqueeze(-1) if vec else B
    n = A.shape[-1]
    if Bm.shape[-2] != n:
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    from . import _strided as S
    batch = tuple(S.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2])))
    Ae = A.expand(*batch, n, n) if tuple(A.shape[:-2]) != batch else A
    Be = Bm.expand(*batch, *Bm.shape[-2:]) if tuple(Bm.shape[:-2]) != batch else Bm
    X = P.solve_prim(Ae, Be, op)
    return X.squeeze(-1) if vec else X


def solve(A, B, *, left=True, out=None):
    """X with AX = B (left) or XA = B; B may be a (batched) vector; batch dims broadcast."""
    return _out(_solve(A, B, left, "linalg.solve"), out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info): info is the 1-based index of a zero pivot of A's LU (0: solved); a
    singular A gives info > 0 and nan rows unless check_errors."""
    from .ops.creation import zeros
    try:
        X = _solve(A, B, left, "linalg.solve")
        return _out(_SolveEx(X, zeros(tuple(A.shape[:-2]), dtype=D.int32)), out)
    except LinAlgError:
        if check_errors:
            raise
    from .ops.linalg_np import singular_info
    (a,) = P.host("linalg.solve_ex", A)
    info = P.wrap(singular_info(a), D.int32)
    shape = _solve_shape(A, B, left)
    from .ops.creation import full
    return _out(_SolveEx(full(shape, math.nan, dtype=A.dtype), info), out)


def _solve_shape(A, B, left):
    from . import _strided as S
    if not left:  # X A = B: X has B's matrix shape, batch dims broadcast
        return tuple(S.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))) + \
            tuple(B.shape[-2:])
    if _is_vector_rhs(A, B):
        return tuple(S.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-1]))) + \
            (B.shape[-1],)
    return tuple(S.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))) + \
        tuple(B.shape[-2:])


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of AX = B: (solution, residuals, rank, singular_values). The
    solution's gradient is pinv(A) B's (PyTorch's rule)."""
    op = "linalg.lstsq"
    check_float(op, A)
    check_float(op, B, "B")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions.")
    vec = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{op}: input.size(-2) should match other.size(-2). Got "
                           f"{A.shape[-2]} and {Bm.shape[-2]}")
    a, b = P.host(op, A, Bm)
    eps = np.finfo(a.dtype).eps
    x, res, rank, sv = _lstsq_np(a, b, rcond if rcond is not None
                                         else eps * max(a.shape[-2:]))
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           f"gelsy, gelsd, gelss), got {driver}")
    # which fields torch's CPU drivers fill (the default is gelsy)
    if driver in (None, "gelsy", "gels"):
        sv = np.zeros((0,), a.dtype)
    if driver in (None, "gelsy"):
        res = np.zeros((0,), a.dtype)
    if driver == "gels":
        rank = np.zeros((0,), np.int64)
    X = P.wrap(x, A.dtype)
    from .ops._common import needs_grad
    if needs_grad(A, Bm):
        X = pinv(A) @ Bm
    if vec:
        X = X.squeeze(-1)
    if vec and res.size:
        res = res[..., 0]
    return _Lstsq(X, P.wrap(res, A.dtype), P.wrap(rank, D.int64), P.wrap(sv, A.dtype))


# ----------------------------------------------------------------------------- determinants
def det(A, *, out=None):
    return _out(P.det_prim(A), out)


def slogdet(A, *, out=None):
    return _out(_Slogdet(*P.slogdet_prim(A)), out)


def _logdet(A):
    s, la = P.slogdet_prim(A, "logdet")
    return la + s.log()


# ----------------------------------------------------------------------------- cholesky, qr
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    return _out(_CholEx(*P.cholesky_ex(A, upper, check_errors)), out)


def cholesky(A, *, upper=False, out=None):
    """L with A = L L^T (upper=True: U with A = U^T U); not positive-definite: LinAlgError."""
    return _out(P.cholesky_ex(A, upper, True)[0], out)


def qr(A, mode="reduced", *, out=None):
    return _out(_QR(*P.qr(A, mode)), out)


# ----------------------------------------------------------------------------- eigen, svd
def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric A (one triangle
    read, per UPLO)."""
    return _out(_Eigh(*P.eigh(A, UPLO)), out)


def eigvalsh(A, UPLO="L", *, out=None):
    from .ops._common import needs_grad
    if needs_grad(A):
        return _out(P.eigh(A, UPLO, "linalg.eigvalsh")[0], out)
    return _out(P.eigh(A, UPLO, "linalg.eigvalsh")[0].detach(), out)


def _eig_np(A, op):
    check_square(op, A)
    (a,) = P.host(op, A)
    from .ops._common import needs_grad
    if needs_grad(A):
        raise NotImplementedError(f"{op}: the derivative is not implemented (the engine has no "
                                  "complex dtype). Use linalg.eigh for symmetric matrices.")
    w, v = np.linalg.eig(a)
    if np.iscomplexobj(w) and np.any(w.imag != 0):
        raise NotImplementedError(f"{op}: the input has complex eigenvalues and the engine has "
                                  "no complex dtype; use linalg.eigh for symmetric matrices or "
                                  "numpy.linalg.eig on A.numpy().")
    return P.wrap(w.real, A.dtype), P.wrap(v.real, A.dtype)


def eig(A, *, out=None):
    """Real-only eig: returns real eigenvalues/eigenvectors (PyTorch returns complex dtypes);
    raises NotImplementedError when some eigenvalue is complex."""
    return _out(_Eig(*_eig_np(A, "linalg.eig")), out)


def eigvals(A, *, out=None):
    return _out(_eig_np(A, "linalg.eigvals")[0], out)


def svd(A, full_matrices=True, *, driver=None, out=None):
    return _out(_SVD(*P.svd_prim(A, full_matrices)), out)


def svdvals(A, *, driver=None, out=None):
    """Singular values (descending); differentiable through svd's backward."""
    from .ops._common import needs_grad
    if needs_grad(A):
        return _out(P.svd_prim(A, False, "linalg.svdvals")[1], out)
    from .autograd.grad_mode import no_grad
    with no_grad():
        return _out(P.svd_prim(A, False, "linalg.svdvals")[1], out)


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None, rcond=None):
    if rcond is not None:
        rtol = rcond
    at = atol.detach().numpy() if isinstance(atol, Tensor) else atol
    rt = rtol.detach().numpy() if isinstance(rtol, Tensor) else rtol
    return _out(P.pinv_prim(A, at, rt, hermitian), out)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None, out=None):
    op = "linalg.matrix_rank"
    check_float(op, A)
    if tol is not None:
        atol, rtol = tol, 0.0
    s = svdvals(A).detach()
    m, n = A.shape[-2:]
    smax = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    at = 0.0 if atol is None else atol
    if rtol is None:
        rtol = 0.0 if (atol is not None and (float(atol) if not isinstance(atol, Tensor)
                                             else atol.max().item()) > 0) \
            else max(m, n) * D.finfo(A.dtype).eps
    if isinstance(at, Tensor):
        at = at.unsqueeze(-1)
    if isinstance(rtol, Tensor):
        rtol = rtol.unsqueeze(-1)
    from .ops.elementwise import binary
    thr = binary("maximum", smax * rtol, at) if isinstance(at, Tensor) or at else smax * rtol
    return _out((s > thr).sum(-1), out)


def cond(A, p=None, *, out=None):
    """Condition number: ratio of extreme singular values (p None/2/-2), else
    norm(A, p) * norm(inv(A), p)."""
    check_float("linalg.cond", A)
    if p in (None, 2, -2):
        s = svdvals(A)
        r = s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
        return _out(r, out)
    return _out(matrix_norm(A, p) * matrix_norm(inv(A), p), out)


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
        from .ops.creation import eye
        e = eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return _out(e.expand(*A.shape).clone(), out)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return _out(result if result is not A else A.clone(), out)


def matrix_exp(A):
    return P.matrix_exp(A)


def cross(input, other, *, dim=-1, out=None):
    from .ops.extra import cross as _cross
    from . import _strided as S
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
    from .ops.creation import arange
    return x.unsqueeze(-1) ** arange(n, device=x.device).to(x.dtype if x.dtype.is_floating_point
                                                            else D.int64)


# ----------------------------------------------------------------------------- lu
def lu(A, *, pivot=True, out=None):
    p, lo, up, _ = P.lu_prim(A, pivot)
    return _out(_LU(p, lo, up), out)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    op = "linalg.lu_factor_ex"
    p, lo, up, piv = P.lu_prim(A, pivot, op)
    m, n = A.shape[-2:]
    k = min(m, n)
    # packed LU: strict lower part of L (m x k) + U (k x n), as one m x n matrix
    from .ops.shape import cat
    from .ops.creation import zeros
    lo_s = lo.tril(-1)
    up_full = up if m <= n else cat([up, zeros(*up.shape[:-2], m - k, n, dtype=up.dtype)], -2)
    lo_full = lo_s if n <= m else cat([lo_s, zeros(*lo_s.shape[:-2], m, n - k,
                                                   dtype=lo.dtype)], -1)
    LU = lo_full + up_full
    (u_np,) = P.host(op, up.detach())
    d = np.diagonal(u_np, axis1=-2, axis2=-1)
    info = np.where((d == 0).any(-1), (d == 0).argmax(-1) + 1, 0).astype(np.int32)
    if check_errors and info.any():
        i = int(np.nonzero(info.reshape(-1))[0][0])
        raise LinAlgError(f"torch.linalg.lu_factor_ex: {P.batch_prefix(A, i)}U[{info.reshape(-1)[i]}"
                          f",{info.reshape(-1)[i]}] is zero and using it on lu_solve would result "
                          "in a division by zero. If you still want to perform the factorization, "
                          "consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return _out(_LUFEx(LU, piv, P.wrap(info, D.int32)), out)


def lu_factor(A, *, pivot=True, out=None):
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    if info.numel() and bool((info != 0).any()):
        i = int(np.nonzero(info.numpy().reshape(-1))[0][0])
        v = int(info.numpy().reshape(-1)[i])
        raise LinAlgError(f"torch.linalg.lu_factor: {P.batch_prefix(A, i)}U[{v},{v}] is zero "
                          "and using it on lu_solve would result in a division by zero. If you "
                          "still want to perform the factorization, consider calling "
                          "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return _out(_LUF(LU, piv), out)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """Solve with a packed LU factorization (from lu_factor); differentiable wrt LU and B."""
    op = "linalg.lu_solve"
    check_square(op, LU, "LU")
    n = LU.shape[-1]
    (piv,) = P.host(op, pivots)
    perm = P._perm_from_piv(piv.astype(np.int64), n)
    pm = np.zeros(perm.shape[:-1] + (n, n), LU.dtype.np)
    np.put_along_axis(pm, perm[..., None, :], 1, axis=-2)
    Pm = P.wrap(pm, LU.dtype)
    Lm = LU.tril(-1) + P.wrap(np.eye(n), LU.dtype)
    Um = LU.triu()
    if left and not adjoint:     # A = P L U: X = U^{-1} L^{-1} P^T B
        y = solve_triangular(Lm, _mT(Pm) @ B, upper=False, unitriangular=True)
        return _out(solve_triangular(Um, y, upper=True), out)
    if left and adjoint:         # A^T X = B: X = P L^{-T} U^{-T} B
        y = solve_triangular(_mT(Um), B, upper=False)
        return _out(Pm @ solve_triangular(_mT(Lm), y, upper=True, unitriangular=True), out)
    if not adjoint:              # X A = B: X = B U^{-1} L^{-1} P^T
        y = solve_triangular(Um, B, upper=True, left=False)
        return _out(solve_triangular(Lm, y, upper=False, left=False, unitriangular=True)
                    @ _mT(Pm), out)
    y = B @ Pm                   # X A^T = B: X = B P L^{-T} U^{-T}
    y = solve_triangular(_mT(Lm), y, upper=True, left=False, unitriangular=True)
    return _out(solve_triangular(_mT(Um), y, upper=False, left=False), out)


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
    return _out(inv(A.reshape(pa, pa)).reshape(*rest, *out_shape), out)


def tensorsolve(A, B, dims=None, *, out=None):
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    res = tuple(A.shape[B.ndim:])
    n = math.prod(res)
    return _out(solve(A.reshape(-1, n), B.reshape(-1)).reshape(res), out)


def householder_product(A, tau, *, out=None):
    """Q = H_1 ... H_k with H_i = I - tau_i v_i v_i^T (v_i: column i of A below the diagonal,
    unit diagonal), composed from engine ops (any device, differentiable)."""
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    from .ops.creation import eye
    ident = eye(m, n, dtype=A.dtype, device=A.device)
    V = A.tril(-1) + eye(m, n, dtype=A.dtype, device=A.device)
    Q = ident.expand(*A.shape).clone() if A.ndim > 2 else ident
    for i in range(k - 1, -1, -1):
        v = _zero_above(V[..., :, i:i + 1], i)
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * (v @ (_mT(v) @ Q))
    return _out(Q, out)


def _zero_above(v, i):
    from .ops.creation import arange
    mask = (arange(v.shape[-2], device=v.device) >= i).to(v.dtype).unsqueeze(-1)
    return v * mask
