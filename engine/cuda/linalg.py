"""The CUDA forwards of engine.linalg's primitives (the same functions as
``engine/ops/linalg_cpu.py``): each copies its input into a fresh contiguous device buffer
and runs the ``kernels/cuda/linalg.py`` / ``linalg_spectral.py`` kernels on it in place, one
thread block per matrix; the rest (L/U unpacking, R = triu, pinv/lstsq from the SVD, matrix_exp's Pade steps) is
engine ops on the device. Nothing here copies device memory to the host except three scalars:
matrix_exp's squaring count, svd's "input has a NaN" flag (the CPU's LAPACK raises there) and
lstsq's "all full-rank" flag (it decides whether residuals are returned).

The primitives in engine/ops/linalg.py own the argument checks, the error messages (they
read the int32 ``info`` on the host when they must raise) and the backward rules; they call
these under no_grad."""

from __future__ import annotations

import math

import numpy as np

from kernels.cuda import _device as KD

from .. import _dtype as D
from .._tensor import empty_tensor

__all__ = [
    "cholesky",
    "det",
    "eigh",
    "inv",
    "lstsq",
    "lu",
    "matrix_exp",
    "perm_matrix",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
]

_MAX_SWEEPS = 60


def _K():
    from kernels.cuda import linalg as K
    return K


def _KS():
    from kernels.cuda import linalg_spectral as KS
    return KS


def _B():
    from . import _backend
    return _backend


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _run(kernel, NB, threads, *args) -> None:
    """One block of ``threads`` per matrix (grid-stride over the batch of NB)."""
    if NB:
        grid = max(1, min(NB, 4 if KD.SIM else 65535))
        _B().launch(kernel, grid, threads, *args)


def _run_1d(kernel, NB, *args) -> None:
    """One thread per matrix."""
    if NB:
        _B().launch(kernel, *KD.launch_1d(NB), *args)


def _empty(shape, dtype, like):
    return empty_tensor(tuple(shape), dtype, like._storage.device)


def _copy(t):
    """A fresh contiguous device copy of ``t`` (offset 0; the kernels write it in place)."""
    out = _empty(t._shape, t._dtype, t)
    if out.numel():
        _B()._activate(out)
        _B().copy_cast(t, out)
    return out


def _fill(t, v):
    if t.numel():
        _B().fill(t, v)
    return t


def _eye(m, k, batch, dtype, like):
    from ..ops.creation import eye
    e = eye(m, k, dtype=dtype, device=like.device)
    return _copy(e.expand(*batch, m, k)) if batch else e


def _mT(t):
    return t.transpose(-2, -1)


def _eps(dtype) -> float:
    return float(np.finfo(dtype.np).eps)


# ---------------------------------------------------------------------------------- LU
def lu(A, op, pivot=True):
    """(packed LU, 1-based pivots int32, info int32) with partial pivoting (or none)."""
    *batch, m, n = A._shape
    k = min(m, n)
    a = _copy(A)
    piv = _empty((*batch, k), D.int32, A)
    info = _fill(_empty(batch, D.int32, A), 0)
    NB = _prod(batch)
    if k:
        _B()._activate(a)
        _run(_K().getrf, NB, _K().block_for(m, n), a._storage.data, NB, m, n,
             piv._storage.data, info._storage.data, bool(pivot))
    return a, piv, info


def perm_matrix(piv, m, dtype, op):
    """P (*, m, m) with A = P L U from the 1-based row swaps ``piv`` (*, k)."""
    p = piv if piv._contig and not piv._offset else _copy(piv)
    *batch, k = p._shape
    out = _empty((*batch, m, m), dtype, p)
    NB = _prod(batch)
    if m:
        _B()._activate(out)
        _run_1d(_K().piv_to_perm, NB, p._storage.data, NB, k, m, out._storage.data)
    return out


def _getrs(lu_, piv, info, x, nan_bad):
    NB, n, k = _prod(x._shape[:-2]), x._shape[-2], x._shape[-1]
    if n and k:
        _run(_K().getrs, NB, _K().block_for(k), lu_._storage.data, piv._storage.data,
             info._storage.data, NB, n, x._storage.data, k, nan_bad)
    return x


def inv(A, op):
    *batch, n, _ = A._shape
    lu_, piv, info = lu(A, op)
    x = _eye(n, n, batch, A._dtype, A)
    return _getrs(lu_, piv, info, x, True), info


def solve(A, B, op):
    """(X, info): as on the CPU, a singular A anywhere in the batch gives an all-NaN X."""
    if not B.numel():
        return _copy(B), _fill(_empty(A._shape[:-2], D.int32, A), 0)
    lu_, piv, info = lu(A, op)
    x = _getrs(lu_, piv, info, _copy(B), True)
    return x.masked_fill((info != 0).any(), math.nan), info


def det(A, op):
    *batch, n, _ = A._shape
    out = _empty(batch, A._dtype, A)
    if not n:
        return _fill(out, 1)
    lu_, piv, _ = lu(A, op)
    _run_1d(_K().lu_det, _prod(batch), lu_._storage.data, piv._storage.data, _prod(batch), n,
            out._storage.data)
    return out


def slogdet(A, op):
    *batch, n, _ = A._shape
    sign, logabs = _empty(batch, A._dtype, A), _empty(batch, A._dtype, A)
    if not n:
        return _fill(sign, 1), _fill(logabs, 0)
    lu_, piv, _ = lu(A, op)
    NB = _prod(batch)
    _run_1d(_K().lu_slogdet, NB, lu_._storage.data, piv._storage.data, NB, n,
            sign._storage.data, logabs._storage.data)
    return sign, logabs


# ---------------------------------------------------------------------------------- Cholesky
def cholesky(A, upper, op):
    *batch, n, _ = A._shape
    a = _copy(A)
    info = _fill(_empty(batch, D.int32, A), 0)
    if n:
        _B()._activate(a)
        _run(_K().potrf, _prod(batch), _K().block_for(n), a._storage.data, _prod(batch), n,
             info._storage.data, bool(upper))
    return a, info


def solve_triangular(A, B, upper, left, unitriangular, op):
    """X with T X = B (left) or X T = B, T A's upper/lower triangle; batch dims broadcast."""
    from .. import _strided as S
    if not left:  # X T = B  <=>  T^T X^T = B^T
        x = solve_triangular(_mT(A), _mT(B), not upper, True, unitriangular, op)
        return _mT(x).contiguous()
    n, k = B._shape[-2], B._shape[-1]
    batch = tuple(S.broadcast_shapes(tuple(A._shape[:-2]), tuple(B._shape[:-2])))
    NB = _prod(batch)
    x = _copy(B.expand(*batch, n, k))
    if not (NB and n and k):
        return x
    a = A.expand(*batch, n, n).reshape(NB, n, n)   # a view when the batch strides allow
    sab, sar, sac = (int(s) for s in a._stride)
    _B()._activate(x)
    _run(_K().trsm, NB, _K().block_for(k), a._storage.data, int(a._offset), sab, sar, sac, NB,
         n, x._storage.data, k, bool(upper), bool(unitriangular))
    return x


# ---------------------------------------------------------------------------------- QR
def qr(A, mode, op):
    *batch, m, n = A._shape
    k = min(m, n)
    qc = m if mode == "complete" else k
    NB = _prod(batch)
    if not A.numel():
        q = _eye(m, qc, batch, A._dtype, A)
        r = _fill(_empty((*batch, qc, n), A._dtype, A), 0)
    else:
        h = _copy(A)
        tau = _empty((*batch, k), A._dtype, A)
        _B()._activate(h)
        _run(_KS().geqrf, NB, _K().block_for(n), h._storage.data, NB, m, n, tau._storage.data)
        q = _empty((*batch, m, qc), A._dtype, A)
        if mode != "r":
            _run(_KS().orgqr, NB, _K().block_for(qc), h._storage.data, tau._storage.data, NB, m,
                 n, q._storage.data, qc)
        r = h.narrow(-2, 0, qc).triu().contiguous()
    if mode == "r":
        q = _empty((0,), A._dtype, A)
    return q, r


# ---------------------------------------------------------------------------------- eigh, SVD
def eigh(A, UPLO, op):
    """(eigenvalues ascending, eigenvectors, converged): cyclic Jacobi."""
    *batch, n, _ = A._shape
    NB = _prod(batch)
    w = _empty((*batch, n), A._dtype, A)
    if not A.numel():
        return _fill(w, 0), _copy(A), True
    a = _copy(A)
    v, vout = _empty(a._shape, A._dtype, A), _empty(a._shape, A._dtype, A)
    order = _empty((NB, n), D.int64, A)
    _B()._activate(a)
    _run(_KS().syevj, NB, _K().block_for(n), a._storage.data, NB, n, UPLO == "L",
         v._storage.data, w._storage.data, vout._storage.data, order._storage.data,
         _eps(A._dtype) * n, _MAX_SWEEPS)
    return w, vout, True


def _gesvj(W, full):
    """SVD of the tall contiguous W (NB, M, N), M >= N: (U (M, MU), S, Vh)."""
    *batch, M, N = W._shape
    NB = _prod(batch)
    MU = M if full else N
    dt = W._dtype
    v, vh = _empty(W._shape[:-2] + (N, N), dt, W), _empty(W._shape[:-2] + (N, N), dt, W)
    s, tau = _empty((*batch, N), dt, W), _empty((*batch, N), dt, W)
    u, h = _empty((*batch, M, MU), dt, W), _empty(W._shape, dt, W)
    order = _empty((NB, N), D.int64, W)
    _B()._activate(W)
    _run(_KS().gesvj, NB, _K().block_for(M), W._storage.data, NB, M, N, v._storage.data,
         s._storage.data, order._storage.data, u._storage.data, MU, vh._storage.data,
         h._storage.data, tau._storage.data, _eps(dt) * M, _MAX_SWEEPS)
    return u, s, vh


def svd(A, full_matrices, op):
    """(U, S, Vh, converged): one-sided Jacobi on A (tall) or on A^T (wide). A NaN input
    counts as not converged (LAPACK's gesdd reports it so; reading that one bool syncs, as
    torch's info check does)."""
    if A.numel() and bool(A.isnan().any()):
        return None, None, None, False
    u, s, vh = _svd(A, full_matrices)
    return u, s, vh, True


def _svd(A, full_matrices):
    *batch, m, n = A._shape
    k = min(m, n)
    if not A.numel():
        mu, nv = (m, n) if full_matrices else (k, k)
        return (_eye(m, mu, batch, A._dtype, A), _fill(_empty((*batch, k), A._dtype, A), 0),
                _eye(nv, n, batch, A._dtype, A))
    if m >= n:
        return _gesvj(_copy(A), full_matrices)
    u, s, vh = _gesvj(_copy(_mT(A)), full_matrices)   # A^T = U' S V'^T: A = V' S U'^T
    return _mT(vh).contiguous(), s, _mT(u).contiguous()


def pinv(A, atol, rtol, op):
    """V diag(1/S) U^T over the singular values above max(atol, rtol * S_max), on device."""
    from ..ops.elementwise import binary
    *batch, m, n = A._shape
    if not A.numel():
        return _fill(_empty((*batch, n, m), A._dtype, A), 0)
    u, s, vh = _svd(A, False)
    smax = s.narrow(-1, 0, 1)
    at = 0.0 if atol is None else (atol.unsqueeze(-1) if hasattr(atol, "unsqueeze")
                                   else float(atol))
    if rtol is None:
        pos = atol is not None and (bool((atol > 0).any()) if hasattr(atol, "any")
                                    else atol > 0)
        rt = 0.0 if pos else max(m, n) * _eps(A._dtype)
    else:
        rt = rtol.unsqueeze(-1) if hasattr(rtol, "unsqueeze") else float(rtol)
    tol = smax * rt
    tol = binary("maximum", tol, at if hasattr(at, "unsqueeze") else tol * 0 + at)
    keep = s > tol
    sinv = (1 / s.masked_fill(~keep, 1)).masked_fill(~keep, 0)
    return (_mT(vh) @ (sinv.unsqueeze(-1) * _mT(u))).contiguous()


def lstsq(A, B, rcond, op):
    """numpy.linalg.lstsq's (gelsd's) results from the device SVD: the minimum-norm solution
    with singular values <= rcond * max treated as zero, their count (rank), the singular
    values, and the squared residual column norms when every matrix is full-rank and tall
    (the only host read: that one bool)."""
    from .. import _strided as S
    from ..ops.creation import zeros
    *_, m, n = A._shape
    k = B._shape[-1]
    batch = tuple(S.broadcast_shapes(tuple(A._shape[:-2]), tuple(B._shape[:-2])))
    Ae, Be = A.expand(*batch, m, n), B.expand(*batch, m, k)
    if not A.numel():
        return (zeros(*batch, n, k, dtype=A.dtype, device=A.device),
                _empty((0,), A._dtype, A), zeros(*batch, dtype=D.int64, device=A.device),
                zeros(*batch, min(m, n), dtype=A.dtype, device=A.device))
    u, s, vh = _svd(Ae, False)
    keep = s > s.narrow(-1, 0, 1) * rcond
    rank = keep.sum(-1)
    sinv = (1 / s.masked_fill(~keep, 1)).masked_fill(~keep, 0)
    x = (_mT(vh) @ (sinv.unsqueeze(-1) * (_mT(u) @ Be))).contiguous()
    res = _empty((0,), A._dtype, A)
    if m > n and bool((rank == n).all()):
        res = ((Ae @ x - Be) ** 2).sum(-2)
    return x, res, rank, s


# ---------------------------------------------------------------------------------- expm
def matrix_exp(A, op):
    """Scaling and squaring with the [13/13] Pade approximant, as ``linalg_np.expm_np``,
    in engine ops on the device; the number of squarings (one int) comes to the host."""
    from ..ops.linalg import solve_prim
    from ..ops.linalg_np import _THETA13, pade13
    *batch, n, _ = A._shape
    if not A.numel():
        return _copy(A)
    norm1 = A.double().abs().sum(-2).amax(-1)
    s = (norm1.clamp(min=1e-300) / _THETA13).log2().ceil().clamp(min=0)
    s = s.masked_fill(norm1 <= _THETA13, 0).long()
    smax = int(s.max().item())
    x = A / (2.0 ** s).to(A.dtype).unsqueeze(-1).unsqueeze(-1)
    ident = _eye(n, n, batch, A._dtype, A)
    r = pade13(x, ident, lambda a, b: solve_prim(a, b, op, True)[0])
    from ..ops.elementwise import where
    for i in range(smax):  # square each matrix s times (its own count)
        r = where((s > i).unsqueeze(-1).unsqueeze(-1), r @ r, r)
    return r.contiguous()
