"""The CPU forwards of engine.linalg's primitives: numpy.linalg (the engine's LAPACK) and
``linalg_np`` on contiguous host copies. The CUDA backend (engine/cuda/linalg.py) has the same
functions, over device kernels. Each takes tensors whose arguments the primitive in
engine/ops/linalg.py already checked, and returns fresh tensors; the primitive owns the error
messages and the backward rules."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from . import linalg_np as L
from .linalg import host, wrap

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


def lu(A, op):
    """(packed LU, 1-based pivots int32, info int32) with partial pivoting."""
    (a,) = host(op, A)
    lu_, piv, info = L.lu_np(a)
    return wrap(lu_, A._dtype), wrap(piv, D.int32), wrap(info, D.int32)


def perm_matrix(piv, m, dtype, op):
    """P (*, m, m) with A = P L U from LAPACK's 1-based row swaps ``piv`` (*, k)."""
    from .linalg import _perm_from_piv
    (pv,) = host(op, piv)
    perm = _perm_from_piv(pv.astype(np.int64), m)
    p = np.zeros(perm.shape[:-1] + (m, m), dtype.np)
    np.put_along_axis(p, perm[..., None, :], 1, axis=-2)  # P[perm[j], j] = 1
    return wrap(p, dtype)


def _where_lapack_succeeds(fn, a, info_fn, fill):
    """(fn(a), info) over the batch; when LAPACK fails on some element, ``info_fn`` says
    which, those get ``fill(a)``'s values and ``fn`` runs on the others."""
    try:
        return (fn(a) if a.size else a.copy()), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        info = info_fn(a)
        with np.errstate(all="ignore"):
            out = fill(a)
            ok = info == 0
            if ok.any():
                out[ok] = fn(a[ok])
        return out, info


def inv(A, op):
    (a,) = host(op, A)
    inv_, info = _where_lapack_succeeds(np.linalg.inv, a, L.singular_info,
                                        lambda x: np.full_like(x, np.nan))
    return wrap(inv_, A._dtype), wrap(info, D.int32)


def solve(A, B, op):
    """(X, info): a singular A anywhere in the batch gives an all-NaN X."""
    a, b = host(op, A, B)
    try:
        x = np.linalg.solve(a, b) if a.size and b.size else np.zeros(b.shape, a.dtype)
        info = np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        x = np.full(b.shape, np.nan, a.dtype)
        info = L.singular_info(a)
    return wrap(x, A._dtype), wrap(info, D.int32)


def det(A, op):
    (a,) = host(op, A)
    return wrap(np.linalg.det(a) if a.size else np.ones(a.shape[:-2]), A._dtype)


def slogdet(A, op):
    (a,) = host(op, A)
    sign, logabs = np.linalg.slogdet(a) if a.size else (np.ones(a.shape[:-2]),
                                                        np.zeros(a.shape[:-2]))
    return wrap(sign, A._dtype), wrap(logabs, A._dtype)


def cholesky(A, upper, op):
    (a,) = host(op, A)
    lo, info = _where_lapack_succeeds(np.linalg.cholesky, a, L.cholesky_info, np.zeros_like)
    res = np.swapaxes(lo, -1, -2) if upper else lo
    return wrap(res, A._dtype), wrap(info, D.int32)


def solve_triangular(A, B, upper, left, unitriangular, op):
    a, b = host(op, A, B)
    return wrap(L.solve_triangular_np(a, b, upper, left, unitriangular), A._dtype)


def matrix_exp(A, op):
    (a,) = host(op, A)
    return wrap(L.expm_np(a), A._dtype)


def qr(A, mode, op):
    (a,) = host(op, A)
    m, n = a.shape[-2:]
    if a.size:
        q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
    else:
        k = m if mode == "complete" else min(m, n)
        q = np.zeros(a.shape[:-2] + (m, k), a.dtype)
        q[..., np.arange(min(m, k)), np.arange(min(m, k))] = 1
        r = np.zeros(a.shape[:-2] + (k, n), a.dtype)
    if mode == "r":
        q = np.zeros((0,), a.dtype)
    return wrap(q, A._dtype), wrap(r, A._dtype)


def eigh(A, UPLO, op):
    """(eigenvalues, eigenvectors, converged)."""
    (a,) = host(op, A)
    if a.size:
        try:
            w, v = np.linalg.eigh(a, UPLO=UPLO)
        except np.linalg.LinAlgError:
            return None, None, False
    else:
        w, v = np.zeros(a.shape[:-1], a.dtype), a.copy()
    return wrap(w, A._dtype), wrap(v, A._dtype), True


def svd(A, full_matrices, op):
    """(U, S, Vh, converged)."""
    (a,) = host(op, A)
    m, n = a.shape[-2:]
    k = min(m, n)
    if a.size:
        try:
            u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        except np.linalg.LinAlgError:
            return None, None, None, False
    else:
        mu, nv = (m, n) if full_matrices else (k, k)
        u = np.zeros(a.shape[:-2] + (m, mu), a.dtype)
        u[..., np.arange(min(m, mu)), np.arange(min(m, mu))] = 1
        vh = np.zeros(a.shape[:-2] + (nv, n), a.dtype)
        vh[..., np.arange(min(nv, n)), np.arange(min(nv, n))] = 1
        s = np.zeros(a.shape[:-2] + (k,), a.dtype)
    return wrap(u, A._dtype), wrap(s, A._dtype), wrap(vh, A._dtype), True


def pinv(A, atol, rtol, op):
    """Moore-Penrose inverse; atol/rtol: None, floats or host arrays (batch-shaped)."""
    (a,) = host(op, A)
    atol, rtol = (t.detach().cpu().numpy() if hasattr(t, "detach") else t for t in (atol, rtol))
    m, n = a.shape[-2:]
    if not a.size:
        return wrap(np.zeros(a.shape[:-2] + (n, m), a.dtype), A._dtype)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    smax = s[..., :1]
    at = 0.0 if atol is None else np.asarray(atol)[..., None]
    if rtol is None:
        rt = 0.0 if (atol is not None and np.any(np.asarray(atol) > 0)) \
            else max(m, n) * np.finfo(a.dtype).eps
    else:
        rt = np.asarray(rtol)[..., None]
    tol = np.maximum(at, rt * smax)
    with np.errstate(divide="ignore"):
        sinv = np.where(s > tol, 1 / np.where(s > tol, s, 1), 0)
    p = np.swapaxes(vh, -1, -2) @ (sinv[..., :, None] * np.swapaxes(u, -1, -2))
    return wrap(p, A._dtype)


def lstsq(A, B, rcond, op):
    """(solution, residuals, rank int64, singular values) as numpy.linalg.lstsq (gelsd)."""
    a, b = host(op, A, B)
    x, res, rank, sv = L.lstsq_np(a, b, rcond)
    return wrap(x, A._dtype), wrap(res, A._dtype), wrap(rank, D.int64), wrap(sv, A._dtype)
