"""PyTorch's top-level linear-algebra functions (``torch.inverse``, ``torch.det``, ``torch.svd``,
...) and the matching Tensor methods, as thin wrappers over engine.linalg."""

from __future__ import annotations

import collections

from .._tensor import Tensor

__all__ = [
    "cholesky",
    "cholesky_inverse",
    "cholesky_solve",
    "det",
    "inverse",
    "logdet",
    "lu",
    "lu_solve",
    "lu_unpack",
    "matrix_exp",
    "matrix_power",
    "pinverse",
    "qr",
    "slogdet",
    "svd",
    "triangular_solve",
]


def _rt(name, fields):
    base = collections.namedtuple(name, fields)

    def rep(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"
    return type(name, (base,), {"__repr__": rep, "__slots__": ()})


_Slogdet = _rt("slogdet", ["sign", "logabsdet"])
_QR = _rt("qr", ["Q", "R"])
_SVD = _rt("svd", ["U", "S", "V"])
_LUUnpack = _rt("lu_unpack", ["P", "L", "U"])
_TriSolve = _rt("triangular_solve", ["solution", "cloned_coefficient"])


_WARNED: set = set()


def _deprecated(name: str, new: str) -> None:
    """PyTorch's one-time UserWarning for its deprecated top-level spellings."""
    if name not in _WARNED:
        _WARNED.add(name)
        import warnings
        warnings.warn(f"torch.{name} is deprecated in favor of torch.linalg.{new} and will be "
                      "removed in a future PyTorch release.", UserWarning, stacklevel=3)


def _la():
    from .. import linalg
    return linalg


def _mT(t):
    return t.transpose(-2, -1)


def inverse(input, *, out=None):
    return _la().inv(input, out=out)


def det(input):
    return _la().det(input)


def logdet(input):
    """log(det(A)): nan for a negative determinant, -inf for a singular matrix."""
    return _la()._logdet(input)


def slogdet(input):
    return _Slogdet(*_la().slogdet(input))


def cholesky(input, upper=False, *, out=None):
    _deprecated("cholesky", "cholesky")
    return _la().cholesky(input, upper=upper, out=out)


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with A X = B where A = L L^T (or U^T U when upper)."""
    la = _la()
    if upper:
        y = la.solve_triangular(_mT(L), B, upper=False)
        x = la.solve_triangular(L, y, upper=True)
    else:
        y = la.solve_triangular(L, B, upper=False)
        x = la.solve_triangular(_mT(L), y, upper=True)
    return x if out is None else out.copy_(x)


def cholesky_inverse(L, upper=False, *, out=None):
    from .creation import eye
    e = eye(L.shape[-1], dtype=L.dtype, device=L.device)
    return cholesky_solve(e.expand(*L.shape) if L.ndim > 2 else e, L, upper, out=out)


def qr(input, some=True, *, out=None):
    _deprecated("qr", "qr")
    return _QR(*_la().qr(input, "reduced" if some else "complete"))


def svd(input, some=True, compute_uv=True, *, out=None):
    """(U, S, V) with A = U diag(S) V^T (V, not Vh; some=True: reduced)."""
    U, S, Vh = _la().svd(input, full_matrices=not some)
    if not compute_uv:
        return _SVD(U.detach() * 0, S, Vh.detach().transpose(-2, -1) * 0)
    return _SVD(U, S, _mT(Vh))


def pinverse(input, rcond=1e-15):
    return _la().pinv(input, rtol=rcond)


def matrix_power(input, n):
    return _la().matrix_power(input, n)


def matrix_exp(input):
    return _la().matrix_exp(input)


def lu(A, pivot=True, get_infos=False, out=None):
    _deprecated("lu", "lu_factor / torch.linalg.lu_factor_ex")
    r = _la().lu_factor_ex(A, pivot=pivot)
    return (r[0], r[1], r[2]) if get_infos else (r[0], r[1])


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    _deprecated("lu_solve", "lu_solve")
    return _la().lu_solve(LU_data, LU_pivots, b, out=out)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    from . import linalg as P
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    L = U = Pm = None
    if unpack_data:
        from .creation import eye
        L = LU_data[..., :, :k].tril(-1) + eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        U = LU_data[..., :k, :].triu()
    if unpack_pivots:
        Pm = P.forward("lu_unpack", "perm_matrix", LU_pivots)(LU_pivots, m, LU_data.dtype,
                                                               "lu_unpack")
    return _LUUnpack(Pm, L, U)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """Deprecated torch.triangular_solve: (solution of op(A) X = b, clone of A)."""
    _deprecated("triangular_solve", "solve_triangular")
    la = _la()
    Ab = _mT(A) if transpose else A
    x = la.solve_triangular(Ab, b, upper=upper != transpose, unitriangular=unitriangular)
    return _TriSolve(x, A.clone())


def _bind() -> None:
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power",
                 "matrix_exp", "cholesky_inverse", "lu_solve", "triangular_solve"):
        if not hasattr(Tensor, name):
            setattr(Tensor, name, globals()[name])

    def t_cholesky(self, upper=False):
        return cholesky(self, upper)

    def t_cholesky_solve(self, input2, upper=False):
        return cholesky_solve(self, input2, upper)

    def t_qr(self, some=True):
        return qr(self, some)

    def t_svd(self, some=True, compute_uv=True):
        return svd(self, some, compute_uv)

    def t_lu(self, pivot=True, get_infos=False):
        return lu(self, pivot, get_infos)
    for name, f in (("cholesky", t_cholesky), ("cholesky_solve", t_cholesky_solve),
                    ("qr", t_qr), ("svd", t_svd), ("lu", t_lu)):
        if not hasattr(Tensor, name):
            setattr(Tensor, name, f)


_bind()
