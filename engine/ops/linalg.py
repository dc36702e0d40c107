"""The linear-algebra primitives (engine.linalg's factorizations and solvers) with their
autograd nodes. Each primitive is declared once here: argument checks, error messages and
backward rule; its forward comes from the tensors' device backend (``forward()``): on the
CPU ``linalg_cpu`` (numpy.linalg, the engine's LAPACK, plus ``linalg_np`` for what numpy
lacks), on CUDA ``engine/cuda/linalg.py`` (numba.cuda kernels, the data stays on the device;
only the small int32 ``info`` comes to the host when an error must be raised). Each backward
rule is PyTorch's formula written with engine ops (matmul, triangular solves, tril/triu, ...),
so it is itself differentiable (create_graph=True) and runs on any device."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.graph import record
from ._common import needs_grad

__all__ = [
    "LinAlgError",
    "batch_prefix",
    "check_float",
    "check_square",
    "cholesky_ex",
    "det_prim",
    "eigh",
    "forward",
    "host",
    "info_host",
    "inv_ex",
    "lu_prim",
    "matrix_exp",
    "pinv_prim",
    "qr",
    "slogdet_prim",
    "solve_prim",
    "solve_triangular",
    "svd_prim",
    "unpack_lu",
    "wrap",
]


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a factorization or solver failed on its input (a singular
    or not positive-definite matrix). A RuntimeError, as in PyTorch."""


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool", "float16": "Half"}


def check_float(op: str, A, name: str = "A") -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(A).__name__}")
    if A._dtype is D.float16:
        raise RuntimeError(f"{op}: Low precision dtypes not supported. Got Half. Convert with "
                           ".float() or .double().")
    if not A._dtype.is_floating_point:
        nm = _TORCH_NAMES.get(A._dtype.name, A._dtype.name)
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{nm}. Convert with .float() or .double().")


def check_square(op: str, A, name: str = "A") -> None:
    check_float(op, A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    if A._shape[-1] != A._shape[-2]:
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, but they are "
                           f"{A._shape[-2]} by {A._shape[-1]} matrices")


def host(op: str, *ts) -> list:
    """Contiguous host copies of the tensors' values, for the CPU backend and the ops with no
    device kernel (eig, eigvals): a CUDA tensor raises NotImplementedError naming the fix."""
    out = []
    for t in ts:
        if not t.is_cpu:
            raise NotImplementedError(
                f"{op}: not implemented for {t.device} tensors (the engine's LAPACK is numpy's, "
                f"on the host). Move the input with .cpu() and the result back with "
                f".to('{t.device}').")
        a = t._np()
        out.append(a if a.flags.c_contiguous else a.copy())
    return out


def forward(op: str, name: str, *ts):
    """The device backend's forward ``name`` for tensors ``ts`` (all on one device); a device
    without it raises NotImplementedError naming the op, the device and the fix."""
    dev = ts[0].device
    for t in ts[1:]:
        if t is not None and t.device != dev:
            raise RuntimeError(f"{op}: Expected all tensors to be on the same device, but found "
                               f"at least two devices, {dev} and {t.device}!")
    if dev.type == "cpu":
        from . import linalg_cpu as b
    else:
        from ..cuda import linalg as b
    fn = getattr(b, name, None)
    if fn is None:
        raise NotImplementedError(
            f"{op}: not implemented for {dev} tensors (no device kernel for it yet; the "
            f"engine's LAPACK is numpy's, on the host). Move the input with .cpu() and the "
            f"result back with .to('{dev}').")
    if dev.type == "cpu":
        return fn

    def run(*args):
        from ..autograd.grad_mode import no_grad
        with no_grad():  # the primitive records its own node
            return fn(*args)
    return run


def info_host(info) -> np.ndarray:
    """The int32 ``info`` tensor's values on the host (a small copy; torch syncs here too)."""
    return info.numpy() if info.is_cpu else info.cpu().numpy()


def wrap(arr, dtype) -> Tensor:
    from .creation import from_numpy
    a = np.asarray(arr).astype(dtype.np, copy=False)
    return from_numpy(a if a.flags.c_contiguous else a.copy())  # (ascontiguousarray: no 0-d)


def batch_prefix(A, flat_index: int) -> str:
    return f"(Batch element {flat_index}): " if A.ndim > 2 else ""


def _first_bad(A, info) -> tuple:
    flat = np.asarray(info).reshape(-1)
    bad = np.nonzero(flat)[0]
    return (None, 0) if not bad.size else (int(bad[0]), int(flat[bad[0]]))


def _mT(t):
    return t.transpose(-2, -1)


def _record(name, inputs, outputs, bw, saved):
    """record(), with each output's index set first: graph.record saves output tensors before
    it numbers the outputs, so a saved second output would route its gradient to output 0."""
    for i, o in enumerate(outputs):
        o._output_nr = i
    return record(name, inputs, outputs, bw, saved)


def _edges(n):
    return [e[0] is not None for e in n.next_functions]


# ----------------------------------------------------------------------------- inverse
def inv_ex(A: Tensor, check_errors: bool = False, op: str = "linalg.inv"):
    """(inverse, info) of square ``A``; raises LinAlgError when check_errors."""
    check_square(op, A)
    out, info = forward(op, "inv", A)(A, op)
    if check_errors:
        i, d = _first_bad(A, info_host(info))
        if i is not None:
            raise LinAlgError(f"{op}: {batch_prefix(A, i)}The diagonal element {d} is zero, "
                              "the inversion could not be completed because the input matrix "
                              "is singular.")
    if needs_grad(A):
        def bw(n, g):
            y = n.saved_tensor(0)
            yt = _mT(y)
            return (-(yt @ g @ yt),)
        _record("LinalgInvExBackward0", (A,), (out,), bw, ((out, True),))
    return out, info


# ----------------------------------------------------------------------------- solve
def solve_prim(A: Tensor, B: Tensor, op: str = "linalg.solve", with_info: bool = False):
    """X = A^{-1} B for A (*, n, n) and B (*, n, k) with equal batch dims; a singular A
    raises LinAlgError, or with ``with_info`` gives (all-NaN X, info) instead of X."""
    out, info = forward(op, "solve", A, B)(A, B, op)
    if not with_info and info_host(info).any():
        raise LinAlgError(f"torch.{op}: The solver failed because the input matrix is "
                          "singular.")
    if needs_grad(A, B):
        def bw(n, g):
            ea, eb = _edges(n)
            a_, x_ = n.saved_tensor(0), n.saved_tensor(1)
            gb = solve_prim(_mT(a_), g, op)
            return (-(gb @ _mT(x_)) if ea else None, gb if eb else None)
        _record("LinalgSolveExBackward0", (A, B), (out,), bw, ((A, False), (out, True)))
    return (out, info) if with_info else out


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False, out=None) -> Tensor:
    """X with A X = B (left) or X A = B, A upper/lower triangular (batched, broadcast)."""
    op = "linalg.solve_triangular"
    check_square(op, A)
    check_float(op, B, "B")
    if B.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    if A._dtype is not B._dtype:
        raise RuntimeError(f"{op}: Expected A and B to have the same dtype, but found A of "
                           f"type {A._dtype} and B of type {B._dtype} instead")
    n = A._shape[-1]
    if (B._shape[-2] if left else B._shape[-1]) != n:
        dims = f"{n}x{n} and {B._shape[-2]}x{B._shape[-1]}"
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({dims})")
    res = forward(op, "solve_triangular", A, B)(A, B, upper, left, unitriangular, op)
    if needs_grad(A, B):
        shapes = (A._shape, B._shape)

        def bw(nd, g):
            ea, eb = _edges(nd)
            a_, x_ = nd.saved_tensor(0), nd.saved_tensor(1)
            gb = solve_triangular(_mT(a_), g, upper=not upper, left=left,
                                  unitriangular=unitriangular)
            ga = None
            if ea:
                ga = -(gb @ _mT(x_)) if left else -(_mT(x_) @ gb)
                ga = ga.triu(int(unitriangular)) if upper else ga.tril(-int(unitriangular))
                ga = _sum_to(ga, shapes[0])
            return ga, (_sum_to(gb, shapes[1]) if eb else None)
        _record("LinalgSolveTriangularBackward0", (A, B), (res,), bw, ((A, False), (res, True)))
    if out is not None:
        out.copy_(res)
        return out
    return res


def _sum_to(g, shape):
    from ._common import sum_to
    return sum_to(g, tuple(shape)) if tuple(g._shape) != tuple(shape) else g


# ----------------------------------------------------------------------------- determinants
def det_prim(A: Tensor) -> Tensor:
    check_square("linalg.det", A)
    out = forward("linalg.det", "det", A)(A, "linalg.det")
    if needs_grad(A):
        eps = float(np.finfo(A._dtype.np).eps)

        def bw(n, g):
            a_, d = n.saved_tensor(0), n.saved_tensor(1)
            if a_.numel() == 0:
                return (a_ * 0,)
            if bool((d.detach().abs() < 100 * eps).any()):
                return (_det_bw_singular(a_, g),)
            from .shape_misc import diag_embed
            rhs = diag_embed((g * d).unsqueeze(-1).expand(*d.shape, a_.shape[-1]))
            return (solve_prim(_mT(a_), rhs, "linalg.det"),)
        _record("LinalgDetBackward0", (A,), (out,), bw, ((A, False), (out, True)))
    return out


def _det_bw_singular(A, g):
    """PyTorch's rule for (near-)singular A: the adjugate through the SVD,
    U diag(alpha * prod_{j != i} S_j) Vh with alpha = det(U) det(Vh) g."""
    from .shape import cat
    U, S, Vh = svd_prim(A, True, "linalg.det")
    alpha = det_prim(U) * det_prim(Vh) * g
    ones = S.narrow(-1, 0, 1) * 0 + 1
    left = cat([ones, S.narrow(-1, 0, S.shape[-1] - 1)], -1).cumprod(-1)
    right = cat([ones, S.flip(-1).narrow(-1, 0, S.shape[-1] - 1)], -1).cumprod(-1).flip(-1)
    D = alpha.unsqueeze(-1) * left * right
    return (U * D.unsqueeze(-2)) @ Vh


def slogdet_prim(A: Tensor, op: str = "linalg.slogdet"):
    check_square(op, A)
    s, la = forward(op, "slogdet", A)(A, op)
    if needs_grad(A):
        def bw(n, gs, gl):
            if gl is None:
                return (None,)
            a_ = n.saved_tensor(0)
            from .shape_misc import diag_embed
            rhs = diag_embed(gl.unsqueeze(-1).expand(*gl.shape, a_.shape[-1]))
            return (solve_prim(_mT(a_), rhs, op),)
        _record("LinalgSlogdetBackward0", (A,), (s, la), bw, ((A, False),))
    return s, la


# ----------------------------------------------------------------------------- cholesky
def cholesky_ex(A: Tensor, upper: bool = False, check_errors: bool = False,
                op: str = "linalg.cholesky"):
    check_square(op, A)
    out, info = forward(op, "cholesky", A)(A, upper, op)
    if check_errors:
        i, d = _first_bad(A, info_host(info))
        if i is not None:
            raise LinAlgError(f"{op}: {batch_prefix(A, i)}The factorization could not be "
                              "completed because the input is not positive-definite (the "
                              f"leading minor of order {d} is not positive-definite).")
    if needs_grad(A):
        def bw(n, g):
            lf = n.saved_tensor(0)
            if upper:
                lf, g = _mT(lf), _mT(g)
            ga = (_mT(lf) @ g).tril()
            ga = 0.5 * (ga + _mT(ga.tril(-1)))
            ga = solve_triangular(_mT(lf), ga, upper=True, left=True)
            ga = solve_triangular(lf, ga, upper=False, left=False)
            return (ga,)
        _record("LinalgCholeskyExBackward0", (A,), (out,), bw, ((out, True),))
    return out, info


# ----------------------------------------------------------------------------- matrix_exp
def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) by scaling and squaring (Pade 13); backward is PyTorch's block-matrix rule
    exp([[A^T, G], [0, A^T]])[:n, n:], itself a matrix_exp, hence differentiable."""
    op = "linalg.matrix_exp"
    check_square(op, A)
    out = forward(op, "matrix_exp", A)(A, op)
    if needs_grad(A):
        def bw(nd, g):
            from .shape import cat
            a_ = _mT(nd.saved_tensor(0))
            n = a_.shape[-1]
            z = a_ * 0
            big = cat([cat([a_, g], -1), cat([z, a_], -1)], -2)
            return (matrix_exp(big).narrow(-2, 0, n).narrow(-1, n, n),)
        _record("LinalgMatrixExpBackward0", (A,), (out,), bw, ((A, False),))
    return out


# ----------------------------------------------------------------------------- lu
def lu_prim(A: Tensor, pivot: bool = True, op: str = "linalg.lu"):
    """(P, L, U, pivots, info) of A (*, m, n) with partial pivoting; pivot=False (CUDA only,
    as in torch): A = L U, P empty and pivots 1..k."""
    check_float(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if not pivot and A.is_cpu:
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU. Use "
                           "pivot=True.")
    lu, piv, info = forward(op, "lu", A)(*((A, op) if pivot else (A, op, False)))
    P, Lt, U = unpack_lu(lu, piv, op)
    if not pivot:
        from .creation import empty
        P = empty(0, dtype=A._dtype, device=A.device)
    m, n = A._shape[-2:]
    if needs_grad(A):
        def bw(nd, gp, gl, gu):
            p_, l_, u_ = (nd.saved_tensor(i) for i in range(3))
            if m != n:
                raise NotImplementedError(f"{op}: the derivative is implemented for square "
                                          "matrices only")
            ga = None
            if gl is not None:
                ga = (_mT(l_) @ gl).tril(-1)
            if gu is not None:
                t = (gu @ _mT(u_)).triu()
                ga = t if ga is None else ga + t
            if ga is None:
                return (None,)
            ga = solve_triangular(_mT(u_), ga, upper=False, left=False)
            ga = solve_triangular(_mT(l_), ga, upper=True, left=True, unitriangular=True)
            return (p_ @ ga if pivot else ga,)
        _record("LinalgLuBackward0", (A,), (P, Lt, U), bw, ((P, True), (Lt, True), (U, True)))
    return P, Lt, U, piv, info


def unpack_lu(lu, piv, op: str = "lu_unpack"):
    """(P, L, U) from a packed LU and its pivots, on their device (no grad)."""
    from ..autograd.grad_mode import no_grad
    from .creation import eye
    m, n = lu._shape[-2:]
    k = min(m, n)
    with no_grad():
        Lt = lu.narrow(-1, 0, k).tril(-1) + eye(m, k, dtype=lu.dtype, device=lu.device)
        U = lu.narrow(-2, 0, k).triu()
        P = forward(op, "perm_matrix", piv)(piv, m, lu.dtype, op)
    return P, Lt.contiguous(), U.contiguous()


def _perm_from_piv(piv, m):
    """Row permutation (perm[i] = original row now at position i) from LAPACK swaps."""
    batch = piv.shape[:-1]
    perm = np.broadcast_to(np.arange(m), batch + (m,)).copy()
    flat = perm.reshape(-1, m)
    pv = piv.reshape(-1, piv.shape[-1]) - 1
    for j in range(pv.shape[1]):
        r = np.arange(flat.shape[0])
        a, b = flat[r, j].copy(), flat[r, pv[:, j]].copy()
        flat[r, j], flat[r, pv[:, j]] = b, a
    return flat.reshape(batch + (m,))


from .linalg_spectral import eigh, pinv_prim, qr, svd_prim
