"""The spectral factorizations of engine.linalg (qr, eigh, svd, pinv): forward from the
device backend (``forward()``: numpy.linalg on the CPU, Householder QR and Jacobi eigh/svd
kernels on CUDA), backward as PyTorch's formulas in engine ops (differentiable, any device).
Helpers and the other primitives: engine/ops/linalg.py."""

from __future__ import annotations

from .._tensor import Tensor
from ._common import needs_grad
from .linalg import (
    LinAlgError,
    _mT,
    _record,
    check_float,
    check_square,
    forward,
    solve_triangular,
)

__all__ = ["eigh", "pinv_prim", "qr", "svd_prim"]


# ----------------------------------------------------------------------------- qr
def qr(A: Tensor, mode: str = "reduced"):
    op = "linalg.qr"
    check_float(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    m, n = A._shape[-2:]
    Q, R = forward(op, "qr", A)(A, mode, op)
    if needs_grad(A):
        def bw(nd, gq, gr):
            if mode == "r":
                raise RuntimeError(
                    "The derivative of linalg.qr depends on Q, which is not computed when "
                    "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                    "differentiate through linalg.qr.")
            if mode == "complete" and m > n:
                raise RuntimeError("The QR decomposition is not differentiable when "
                                   "mode='complete' and nrows > ncols.")
            return (_qr_bw(nd.saved_tensor(0), nd.saved_tensor(1), gq, gr, m, n),)
        _record("LinalgQrBackward0", (A,), (Q, R), bw, ((Q, True), (R, True)))
    return Q, R


def _qr_bw(Q, R, gq, gr, m, n):
    if gq is not None and gr is not None:
        ga = gr @ _mT(R) - _mT(Q) @ gq
    elif gq is not None:
        ga = -(_mT(Q) @ gq)
    else:
        ga = gr @ _mT(R)
    if m >= n:
        t = ga.triu()
        from .shape_misc import diag_embed
        t = t + _mT(t) - diag_embed(t.diagonal(0, -2, -1))
        ga = Q @ t
        if gq is not None:
            ga = ga + gq
        return solve_triangular(_mT(R), ga, upper=False, left=False)
    ga = Q @ (-ga - _mT(-ga)).tril()
    ga = solve_triangular(_mT(R.narrow(-1, 0, m)), ga, upper=False, left=False)
    from .creation import zeros
    from .shape import cat
    z = zeros(*R.shape[:-1], n - m, dtype=ga.dtype, device=ga.device)
    ga = cat([ga, z], -1)
    if gr is not None:
        ga = ga + Q @ gr
    return ga


# ----------------------------------------------------------------------------- eigh
def eigh(A: Tensor, UPLO: str = "L", op: str = "linalg.eigh", vectors: bool = True):
    check_square(op, A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    W, V, ok = forward(op, "eigh", A)(A, UPLO, op)
    if not ok:
        raise LinAlgError(f"{op}: The algorithm failed to converge because the input "
                          "matrix is ill-conditioned or has too many repeated eigenvalues "
                          "(error code: 1).")
    if needs_grad(A):
        def bw(nd, gl, gv):
            w_, v_ = nd.saved_tensor(0), nd.saved_tensor(1)
            if gv is None:
                return ((v_ * gl.unsqueeze(-2)) @ _mT(v_),)
            vg = _mT(v_) @ gv
            vg = 0.5 * (vg - _mT(vg))
            e = w_.unsqueeze(-2) - w_.unsqueeze(-1)
            from .creation import eye
            ident = eye(e.shape[-1], dtype=e.dtype, device=e.device)
            r = vg / (e + ident)
            if gl is not None:
                from .shape_misc import diag_embed
                r = r * (1 - ident) + diag_embed(gl)
            return (v_ @ (r @ _mT(v_)),)
        _record("LinalgEighBackward0", (A,), (W, V), bw, ((W, True), (V, True)))
    return W, V


# ----------------------------------------------------------------------------- svd
def svd_prim(A: Tensor, full_matrices: bool = True, op: str = "linalg.svd"):
    check_float(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    m, n = A._shape[-2:]
    k = min(m, n)
    U, S, Vh, ok = forward(op, "svd", A)(A, full_matrices, op)
    if not ok:
        raise LinAlgError(f"{op}: The algorithm failed to converge because the input "
                          "matrix is ill-conditioned or has too many repeated singular "
                          "values (error code: 1).")
    if needs_grad(A):
        def bw(nd, gu, gs, gvh):
            u_, s_, vh_ = (nd.saved_tensor(i) for i in range(3))
            if full_matrices and m != n:
                u_, vh_ = u_.narrow(-1, 0, k), vh_.narrow(-2, 0, k)
                gu = gu.narrow(-1, 0, k) if gu is not None else None
                gvh = gvh.narrow(-2, 0, k) if gvh is not None else None
            return (_svd_bw(gu, gs, gvh, u_, s_, vh_, m, n),)
        _record("LinalgSvdBackward0", (A,), (U, S, Vh), bw, ((U, True), (S, True), (Vh, True)))
    return U, S, Vh


def _svd_bw(gu, gs, gvh, U, S, Vh, m, n):
    if gu is None and gvh is None:
        if gs is None:
            return None
        return U @ (gs.unsqueeze(-1) * Vh) if m >= n else (U * gs.unsqueeze(-2)) @ Vh
    from .creation import eye
    from .shape_misc import diag_embed
    s2 = S * S
    ident = eye(S.shape[-1], dtype=S.dtype, device=S.device)
    e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + ident
    uhgu = None if gu is None else _skew(_mT(U) @ gu)
    vhgv = None if gvh is None else _skew(Vh @ _mT(gvh))
    if uhgu is not None and vhgv is not None:
        ga = (uhgu * S.unsqueeze(-2) + S.unsqueeze(-1) * vhgv) / e
    elif uhgu is not None:
        ga = (uhgu / e) * S.unsqueeze(-2)
    else:
        ga = S.unsqueeze(-1) * (vhgv / e)
    if gs is not None:
        ga = ga + diag_embed(gs)
    if m > n and gu is not None:
        ga = U @ ga
        gus = gu / S.unsqueeze(-2)
        ga = ga + gus - U @ (_mT(U) @ gus)
        return ga @ Vh
    if m < n and gvh is not None:
        ga = ga @ Vh
        sg = gvh / S.unsqueeze(-1)
        ga = ga + sg - (sg @ _mT(Vh)) @ Vh
        return U @ ga
    return U @ (ga @ Vh) if m >= n else (U @ ga) @ Vh


def _skew(x):
    return x - _mT(x)


# ----------------------------------------------------------------------------- pinv
def pinv_prim(A: Tensor, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    op = "linalg.pinv"
    check_float(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    m, n = A._shape[-2:]
    out = forward(op, "pinv", A)(A, atol, rtol, op)
    if needs_grad(A):
        def bw(nd, g):
            a_, p_ = nd.saved_tensor(0), nd.saved_tensor(1)
            return (_pinv_bw(g, p_, a_, m, n),)
        _record("LinalgPinvBackward0", (A,), (out,), bw, ((A, False), (out, True)))
    return out


def _pinv_bw(g, P, A, m, n):
    ph, gh = _mT(P), _mT(g)
    if m <= n:
        k = gh @ P
        kph = k @ ph
        return -_mT(P @ k) + kph - (A @ P) @ kph + (ph @ P) @ (gh - k @ A)
    k = P @ gh
    phk = ph @ k
    return -_mT(k @ P) + phk - (phk @ P) @ A + ((gh - A @ k) @ P) @ ph
