"""engine.linalg: PyTorch's torch.linalg (batched over leading dims, float32/float64).

Factorizations and solvers run their forward on the tensors' device (engine/ops/linalg.py
asks the device backend): on the CPU through numpy.linalg (the engine's LAPACK), on CUDA with
numba.cuda kernels (LU, Cholesky, triangular solves, Householder QR, Jacobi eigh/svd), the
data staying on the device. eig/eigvals stay CPU-only and raise NotImplementedError on CUDA
tensors. Norms, cross, vecdot, multi_dot, matrix_power and diagonal are compositions
of engine ops and run on every device. Every result is differentiable (backward rules are
engine ops).

>>> import engine as torch
>>> A = torch.tensor([[2., 1.], [1., 3.]])
>>> torch.linalg.solve(A, torch.tensor([1., 2.]))
tensor([0.2000, 0.6000])
"""

from __future__ import annotations

import numpy as np

from . import _dtype as D
from ._tensor import Tensor
from .ops import linalg as P
from .ops.linalg import LinAlgError, check_float, check_square, solve_triangular
from .ops.linalg_compose import (
    _mT,
    _out,
    cross,
    diagonal,
    householder_product,
    matrix_norm,
    matrix_power,
    multi_dot,
    norm,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
    vector_norm,
)
from .ops.linalg_top import _rt  # torch.return_types-style named tuples

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]


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


def matrix_exp(A):
    """exp(A) (scaling and squaring, Pade 13); differentiable (block-matrix rule)."""
    return P.matrix_exp(A)


# ----------------------------------------------------------------------------- inverses, solves
def inv_ex(A, *, check_errors=False, out=None):
    return _out(_InvEx(*P.inv_ex(A, check_errors)), out)


def inv(A, *, out=None):
    """A^{-1} for square (batched) A; singular A raises LinAlgError."""
    return _out(P.inv_ex(A, True)[0], out)


def _is_vector_rhs(A, B):
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _solve(A, B, left, op, with_info=False):
    check_square(op, A)
    check_float(op, B, "B")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{op}: Expected A and B to have the same dtype, but found A of "
                           f"type {A.dtype} and B of type {B.dtype} instead")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        r = _solve(_mT(A), _mT(B), True, op, with_info)
        return (_mT(r[0]), r[1]) if with_info else _mT(r)
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
    r = P.solve_prim(Ae, Be, op, with_info)
    X = r[0] if with_info else r
    X = X.squeeze(-1) if vec else X
    return (X, r[1]) if with_info else X


def solve(A, B, *, left=True, out=None):
    """X with AX = B (left) or XA = B; B may be a (batched) vector; batch dims broadcast."""
    return _out(_solve(A, B, left, "linalg.solve"), out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info): info is the 1-based index of a zero pivot of A's LU (0: solved); a
    singular A gives info > 0 and nan rows unless check_errors."""
    if check_errors:
        X = _solve(A, B, left, "linalg.solve")
        from .ops.creation import zeros
        return _out(_SolveEx(X, zeros(tuple(A.shape[:-2]), dtype=D.int32,
                                      device=A.device)), out)
    X, info = _solve(A, B, left, "linalg.solve", True)
    return _out(_SolveEx(X, info), out)


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
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           f"gelsy, gelsd, gelss), got {driver}")
    eps = float(np.finfo(A.dtype.np).eps)
    x, res, rank, sv = P.forward(op, "lstsq", A, Bm)(
        A, Bm, rcond if rcond is not None else eps * max(A.shape[-2:]), op)
    from .ops.creation import empty
    # which fields torch's CPU drivers fill (the default is gelsy)
    if driver in (None, "gelsy", "gels"):
        sv = empty(0, dtype=A.dtype, device=A.device)
    if driver in (None, "gelsy"):
        res = empty(0, dtype=A.dtype, device=A.device)
    if driver == "gels":
        rank = empty(0, dtype=D.int64, device=A.device)
    X = x
    from .ops._common import needs_grad
    if needs_grad(A, Bm):
        X = pinv(A) @ Bm
    if vec:
        X = X.squeeze(-1)
    if vec and res.numel():
        res = res[..., 0]
    return _Lstsq(X, res, rank, sv)


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
    return _out(P.pinv_prim(A, atol, rtol, hermitian), out)


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


# ----------------------------------------------------------------------------- lu
def lu(A, *, pivot=True, out=None):
    p, lo, up, _, _ = P.lu_prim(A, pivot)
    return _out(_LU(p, lo, up), out)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    op = "linalg.lu_factor_ex"
    _p, lo, up, piv, info = P.lu_prim(A, pivot, op)
    m, n = A.shape[-2:]
    k = min(m, n)
    # packed LU: strict lower part of L (m x k) + U (k x n), as one m x n matrix
    from .ops.creation import zeros
    from .ops.shape import cat
    lo_s = lo.tril(-1)
    up_full = up if m <= n else cat([up, zeros(*up.shape[:-2], m - k, n, dtype=up.dtype,
                                               device=up.device)], -2)
    lo_full = lo_s if n <= m else cat([lo_s, zeros(*lo_s.shape[:-2], m, n - k,
                                                   dtype=lo.dtype, device=lo.device)], -1)
    LU = lo_full + up_full
    if check_errors:
        info_np = P.info_host(info).reshape(-1)
        if info_np.any():
            i = int(np.nonzero(info_np)[0][0])
            raise LinAlgError(f"torch.linalg.lu_factor_ex: {P.batch_prefix(A, i)}U[{info_np[i]}"
                              f",{info_np[i]}] is zero and using it on lu_solve would result in "
                              "a division by zero. If you still want to perform the "
                              "factorization, consider calling linalg.lu(A, pivot) or "
                              "linalg.lu_factor_ex(A, pivot)")
    return _out(_LUFEx(LU, piv, info), out)


def lu_factor(A, *, pivot=True, out=None):
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    info_np = P.info_host(info).reshape(-1)
    if info_np.any():
        i = int(np.nonzero(info_np)[0][0])
        v = int(info_np[i])
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
    Pm = P.forward(op, "perm_matrix", pivots)(pivots, n, LU.dtype, op)
    from .ops.creation import eye
    Lm = LU.tril(-1) + eye(n, dtype=LU.dtype, device=LU.device)
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
