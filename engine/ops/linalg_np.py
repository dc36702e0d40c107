"""The engine's LAPACK: host-side numpy (``numpy.linalg``, which links LAPACK) on contiguous
host buffers, plus the few factorizations numpy lacks (LU with partial pivoting, matrix
exponential, triangular solve) written as batched numpy loops: the CPU backend of
engine.linalg (only ``engine/ops/linalg_cpu.py`` and ``linalg.py`` call these; CUDA tensors
use ``engine/cuda/linalg.py``); everything here takes and returns numpy arrays of shape
(..., m, n)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "cholesky_info",
    "expm_np",
    "lstsq_np",
    "lu_np",
    "singular_info",
    "solve_triangular_np",
]


def lu_np(a: np.ndarray):
    """Batched LU with partial pivoting (LAPACK getrf's choices): returns (LU, piv, info) with
    ``LU`` the packed factors (unit L below the diagonal), ``piv`` 1-based row swaps (int32
    as torch) and ``info`` the first zero pivot (1-based, 0 when none), per batch element."""
    a = np.array(a, dtype=a.dtype, copy=True, order="C")
    *batch, m, n = a.shape
    k = min(m, n)
    lu = a.reshape(-1, m, n)
    nb = lu.shape[0]
    piv = np.zeros((nb, k), dtype=np.int32)
    info = np.zeros(nb, dtype=np.int32)
    rows = np.arange(nb)
    for j in range(k):
        p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        swap = p != j
        if swap.any():
            r = rows[swap]
            tmp = lu[r, j, :].copy()
            lu[r, j, :] = lu[r, p[swap], :]
            lu[r, p[swap], :] = tmp
        d = lu[:, j, j]
        zero = d == 0
        info = np.where(zero & (info == 0), j + 1, info)
        safe = np.where(zero, 1, d)
        if j + 1 < m:
            lu[:, j + 1:, j] = np.where(zero[:, None], lu[:, j + 1:, j],
                                        lu[:, j + 1:, j] / safe[:, None])
            if j + 1 < n:
                lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
    return (lu.reshape(*batch, m, n), piv.reshape(*batch, k), info.reshape(batch))


def singular_info(a: np.ndarray) -> np.ndarray:
    """Per batch element, the 1-based index of the first zero pivot of a's LU (0: none)."""
    return lu_np(a)[2]


def cholesky_info(a: np.ndarray) -> np.ndarray:
    """Per batch element, the order of the first leading minor that is not positive-definite
    (LAPACK potrf's ``info``; 0 when the whole matrix factors)."""
    n = a.shape[-1]
    flat = a.reshape(-1, n, n)
    out = np.zeros(flat.shape[0], dtype=np.int32)
    for i, m in enumerate(flat):
        try:
            np.linalg.cholesky(m)
            continue
        except np.linalg.LinAlgError:
            pass
        lo, hi = 1, n  # the smallest order that fails, by bisection (failure is monotone)
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                np.linalg.cholesky(m[:mid, :mid])
                lo = mid + 1
            except np.linalg.LinAlgError:
                hi = mid
        out[i] = lo
    return out.reshape(a.shape[:-2])


def solve_triangular_np(a, b, upper: bool, left: bool, unitriangular: bool):
    """X with op(A) X = B (left) or X op(A) = B (right), A triangular (other half ignored)."""
    t = np.triu(a) if upper else np.tril(a)
    if unitriangular:
        n = a.shape[-1]
        idx = np.arange(n)
        t = t.copy()
        t[..., idx, idx] = 1
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return np.swapaxes(_tri_left(np.swapaxes(t, -1, -2), np.swapaxes(b, -1, -2),
                                     not upper), -1, -2)
    return _tri_left(t, b, upper)


def _tri_left(t, b, upper):
    """Forward/back substitution, batched over leading dims; a zero diagonal gives inf/nan as
    LAPACK trtrs' caller in torch (no error). Beyond small sizes one LAPACK solve on the
    triangular matrix replaces the n Python steps (same result up to rounding)."""
    n = t.shape[-1]
    if n > 16 and t.size and b.size:
        try:
            return np.linalg.solve(t, b)
        except np.linalg.LinAlgError:
            pass  # an exactly zero diagonal: substitution gives torch's inf/nan
    x = np.array(np.broadcast_to(b, np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
                                 + b.shape[-2:]), dtype=np.result_type(t, b), copy=True)
    t = np.broadcast_to(t, x.shape[:-2] + (n, n))
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order:
            if upper:
                s = np.einsum("...k,...kj->...j", t[..., i, i + 1:], x[..., i + 1:, :])
            else:
                s = np.einsum("...k,...kj->...j", t[..., i, :i], x[..., :i, :])
            x[..., i, :] = (x[..., i, :] - s) / t[..., i, i][..., None]
    return x


# Pade(13) coefficients of exp (Higham 2005, "The scaling and squaring method revisited")
_B13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
        129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
        40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def pade13(x, ident, solve):
    """The [13/13] Pade approximant of exp(x) for a scaled ``x``: written with ``@``, ``*``
    and ``+`` only, so numpy arrays (here) and engine tensors (CUDA's matrix_exp) share it;
    ``solve(A, B)`` solves A X = B."""
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    b = _B13
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2
             + b[1] * ident)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 \
        + b[0] * ident
    return solve(v - u, v + u)


def expm_np(a: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring with a [13/13] Pade approximant, batched."""
    n = a.shape[-1]
    if a.size == 0:
        return a.copy()
    norm1 = np.abs(a).sum(-2).max(-1).astype(np.float64)   # per-matrix 1-norm (f64: 1e-300)
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm1, 1e-300) / _THETA13))).astype(int)
    s = np.where(norm1 > _THETA13, s, 0)
    x = a / (2.0 ** s)[..., None, None]
    ident = np.broadcast_to(np.eye(n, dtype=a.dtype), a.shape)
    r = pade13(x, ident, np.linalg.solve)
    smax = int(s.max()) if s.size else 0
    for i in range(smax):  # square each matrix s times (its own count)
        sq = r @ r
        r = np.where((s > i)[..., None, None], sq, r)
    return r.astype(a.dtype, copy=False)


def lstsq_np(a: np.ndarray, b: np.ndarray, rcond):
    """numpy.linalg.lstsq per batch element (it has no batching): solution, residuals (the
    squared column norms of the residual, only for full-rank tall problems), rank, and the
    singular values."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
    m, n = a.shape[-2:]
    k = b.shape[-1]
    xs, rs, ranks, svs = [], [], [], []
    for ai, bi in zip(a, b):
        x, r, rank, sv = np.linalg.lstsq(ai, bi, rcond=rcond)
        xs.append(x)
        rs.append(r if r.size else np.zeros(0, a.dtype))
        ranks.append(rank)
        svs.append(sv)
    x = np.array(xs, dtype=a.dtype).reshape(batch + (n, k))
    full = all(r.size for r in rs) and m > n
    res = (np.array(rs, dtype=a.dtype).reshape(batch + (k,)) if full and rs
           else np.zeros((0,), a.dtype))
    rank = np.array(ranks, dtype=np.int64).reshape(batch)
    sv = np.array(svs, dtype=a.dtype).reshape(batch + (min(m, n),))
    return x, res, rank, sv
