"""engine.linalg and the top-level linear-algebra functions against torch (values, gradients,
errors), plus finite-difference gradchecks in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

torch = pytest.importorskip("torch")

# torch (and the engine, as torch) warns once about the deprecated top-level spellings
pytestmark = pytest.mark.filterwarnings("ignore:torch\\..* is deprecated:UserWarning")


def _mk(kind, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    n = shape[-1]
    if kind == "sq":
        return x + n * np.eye(n)
    if kind == "spd":
        return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)
    if kind == "sym":
        return x + np.swapaxes(x, -1, -2)
    return x


def _mT(t):
    return t.transpose(-2, -1)


# (name, fn(M, A) -> tensor, input kind, shape). Outputs are sign/gauge invariant (U*U, ...).
CASES = [
    ("inv", lambda M, A: M.linalg.inv(A), "sq", (2, 3, 3)),
    ("inv_ex", lambda M, A: M.linalg.inv_ex(A).inverse, "sq", (3, 3)),
    ("det", lambda M, A: M.linalg.det(A), "sq", (2, 3, 3)),
    ("slogdet", lambda M, A: M.linalg.slogdet(A).logabsdet * M.linalg.slogdet(A).sign, "sq",
     (2, 3, 3)),
    ("logdet", lambda M, A: M.logdet(A @ _mT(A)), "sq", (3, 3)),
    ("solve_vec", lambda M, A: M.linalg.solve(A, A[..., 0] * 2 + 1), "sq", (2, 3, 3)),
    ("solve_bcast", lambda M, A: M.linalg.solve(A, A[0:1] + 1), "sq", (2, 3, 3)),
    ("solve_vec1d", lambda M, A: M.linalg.solve(A, A[0, 0] * 0 + M.tensor(
        [1.0, 2.0, 3.0], dtype=A.dtype)), "sq", (2, 3, 3)),
    ("solve_right", lambda M, A: M.linalg.solve(A, A[0:1, :2] + 1, left=False), "sq",
     (2, 3, 3)),
    ("solve_triangular", lambda M, A: M.linalg.solve_triangular(A, _mT(A) + 1, upper=True),
     "sq", (2, 3, 3)),
    ("solve_triangular_right_unit", lambda M, A: M.linalg.solve_triangular(
        A, A[..., :2, :] + 1, upper=False, left=False, unitriangular=True), "sq", (2, 3, 3)),
    ("cholesky", lambda M, A: M.linalg.cholesky(A), "spd", (2, 3, 3)),
    ("cholesky_upper", lambda M, A: M.linalg.cholesky(A, upper=True), "spd", (3, 3)),
    ("cholesky_ex", lambda M, A: M.linalg.cholesky_ex(A).L, "spd", (2, 3, 3)),
    ("qr_tall", lambda M, A: M.linalg.qr(A).Q * 2 + M.linalg.qr(A).R.sum(), "", (2, 4, 3)),
    ("qr_wide", lambda M, A: M.linalg.qr(A).Q.sum() + M.linalg.qr(A).R, "", (2, 3, 4)),
    ("qr_complete_wide", lambda M, A: M.linalg.qr(A, "complete").R, "", (3, 4)),
    ("eigh", lambda M, A: M.linalg.eigh(A).eigenvectors ** 2
     + M.linalg.eigh(A).eigenvalues.unsqueeze(-1), "sym", (2, 3, 3)),
    ("eigh_U", lambda M, A: M.linalg.eigh(A, UPLO="U").eigenvectors ** 2, "", (3, 3)),
    ("eigvalsh", lambda M, A: M.linalg.eigvalsh(A), "sym", (2, 4, 4)),
    ("svd_tall", lambda M, A: M.linalg.svd(A, full_matrices=False).U ** 2, "", (2, 4, 3)),
    ("svd_wide", lambda M, A: M.linalg.svd(A, full_matrices=False).Vh ** 2
     + M.linalg.svd(A, full_matrices=False).S.sum(), "", (2, 3, 4)),
    ("svd_full_sq", lambda M, A: (M.linalg.svd(A).U @ M.linalg.svd(A).Vh) ** 2, "", (3, 3)),
    ("svdvals", lambda M, A: M.linalg.svdvals(A), "", (2, 4, 3)),
    ("pinv_tall", lambda M, A: M.linalg.pinv(A), "", (2, 4, 3)),
    ("pinv_wide", lambda M, A: M.linalg.pinv(A), "", (3, 5)),
    ("matrix_exp", lambda M, A: M.linalg.matrix_exp(A), "", (2, 3, 3)),
    ("matrix_exp_big", lambda M, A: M.linalg.matrix_exp(4 * A), "", (3, 3)),
    ("lu", lambda M, A: M.linalg.lu(A).L + M.linalg.lu(A).U + M.linalg.lu(A).P, "", (2, 3, 3)),
    ("lu_factor", lambda M, A: M.linalg.lu_factor(A).LU, "", (2, 3, 3)),
    ("lu_solve", lambda M, A: M.linalg.lu_solve(*M.linalg.lu_factor(A), A[..., :2]), "sq",
     (2, 3, 3)),
    ("lu_solve_adjoint_right", lambda M, A: M.linalg.lu_solve(
        *M.linalg.lu_factor(A), A[..., :2, :], left=False, adjoint=True), "sq", (2, 3, 3)),
    ("lstsq", lambda M, A: M.linalg.lstsq(A, A[..., :2] + 1).solution, "", (5, 3)),
    ("matrix_norm_nuc", lambda M, A: M.linalg.matrix_norm(A, "nuc"), "", (2, 4, 3)),
    ("matrix_norm_2", lambda M, A: M.linalg.matrix_norm(A, 2), "", (2, 4, 3)),
    ("matrix_norm_m2", lambda M, A: M.linalg.matrix_norm(A, -2, keepdim=True), "", (2, 4, 3)),
    ("matrix_norm_1", lambda M, A: M.linalg.matrix_norm(A, 1), "", (2, 4, 3)),
    ("matrix_norm_m1", lambda M, A: M.linalg.matrix_norm(A, -1, dim=(0, 2)), "", (2, 4, 3)),
    ("matrix_norm_inf", lambda M, A: M.linalg.norm(A, math.inf, dim=(0, 2), keepdim=True), "",
     (2, 4, 3)),
    ("matrix_norm_minf", lambda M, A: M.linalg.matrix_norm(A, -math.inf), "", (2, 4, 3)),
    ("matrix_norm_fro", lambda M, A: M.linalg.matrix_norm(A), "", (2, 4, 3)),
    ("norm_default", lambda M, A: M.linalg.norm(A), "", (2, 4, 3)),
    ("norm_2d_ord", lambda M, A: M.linalg.norm(A[0], "nuc"), "", (2, 4, 3)),
    ("vector_norm_3", lambda M, A: M.linalg.vector_norm(A, 3, dim=-1), "", (2, 4, 3)),
    ("vector_norm_inf", lambda M, A: M.linalg.vector_norm(A, math.inf, dim=(0, 1)), "",
     (2, 4, 3)),
    ("vector_norm_1_keep", lambda M, A: M.linalg.vector_norm(A, 1, dim=1, keepdim=True), "",
     (2, 4, 3)),
    ("vector_norm_m1", lambda M, A: M.linalg.vector_norm(A, -1, dim=1), "", (2, 4, 3)),
    ("vector_norm_keep_all", lambda M, A: M.linalg.vector_norm(A, keepdim=True), "",
     (2, 4, 3)),
    ("matrix_power_m3", lambda M, A: M.linalg.matrix_power(A, -3), "sq", (2, 3, 3)),
    ("matrix_power_5", lambda M, A: M.linalg.matrix_power(A, 5) / 100, "", (2, 3, 3)),
    ("matrix_power_0", lambda M, A: M.linalg.matrix_power(A, 0) + A, "", (2, 3, 3)),
    ("cond", lambda M, A: M.linalg.cond(A), "sq", (2, 3, 3)),
    ("cond_fro", lambda M, A: M.linalg.cond(A, "fro"), "sq", (2, 3, 3)),
    ("cond_1", lambda M, A: M.linalg.cond(A, 1), "sq", (3, 3)),
    ("householder_product", lambda M, A: M.linalg.householder_product(A, A[..., 0, :2]), "",
     (2, 4, 3)),
    ("cross", lambda M, A: M.linalg.cross(A, A.flip(-1) + 1), "", (2, 4, 3)),
    ("cross_bcast_dim", lambda M, A: M.linalg.cross(A, A[:1] * 2 + 1, dim=-1), "", (2, 4, 3)),
    ("vecdot", lambda M, A: M.linalg.vecdot(A, A[0] + 1), "", (2, 4, 3)),
    ("multi_dot", lambda M, A: M.linalg.multi_dot([A[0, :, 0], A[0], _mT(A[1]), A[1],
                                                   A[0, 0]]), "", (2, 4, 3)),
    ("multi_dot_mat", lambda M, A: M.linalg.multi_dot([A[0], _mT(A[1]), A[1]]), "",
     (2, 4, 3)),
    ("tensorinv", lambda M, A: M.linalg.tensorinv(A.reshape(4, 2, 2), ind=1), "sq", (4, 4)),
    ("tensorsolve", lambda M, A: M.linalg.tensorsolve(A.reshape(2, 2, 4), A[0].reshape(2, 2)),
     "sq", (4, 4)),
    ("diagonal", lambda M, A: M.linalg.diagonal(A, offset=1), "", (2, 4, 3)),
    ("vander", lambda M, A: M.linalg.vander(A[0, 0], N=4), "", (2, 4, 3)),
    # top-level (torch.*) spellings
    ("inverse", lambda M, A: M.inverse(A), "sq", (2, 3, 3)),
    ("top_det_T", lambda M, A: _mT(A).det(), "sq", (2, 3, 3)),
    ("top_slogdet", lambda M, A: M.slogdet(A).logabsdet, "sq", (2, 3, 3)),
    ("top_cholesky", lambda M, A: M.cholesky(A, upper=True), "spd", (3, 3)),
    ("top_cholesky_solve", lambda M, A: M.cholesky_solve(A[..., :2], M.linalg.cholesky(A)),
     "spd", (2, 3, 3)),
    ("top_cholesky_solve_up", lambda M, A: M.cholesky_solve(
        A[..., :2], M.linalg.cholesky(A, upper=True), upper=True), "spd", (3, 3)),
    ("top_cholesky_inverse", lambda M, A: M.cholesky_inverse(M.linalg.cholesky(A)), "spd",
     (3, 3)),
    ("top_qr", lambda M, A: M.qr(A).R, "", (4, 3)),
    ("top_svd_V", lambda M, A: M.svd(A).V ** 2 + M.svd(A).S.sum(), "", (2, 4, 3)),
    ("top_pinverse", lambda M, A: M.pinverse(A), "", (4, 3)),
    ("top_matrix_power", lambda M, A: A.matrix_power(2), "", (2, 3, 3)),
    ("top_matrix_exp", lambda M, A: M.matrix_exp(A), "", (3, 3)),
    ("top_lu_unpack", lambda M, A: sum(M.lu_unpack(*M.linalg.lu_factor(A))), "sq", (2, 3, 3)),
    ("top_lu_solve", lambda M, A: M.lu_solve(A[..., :2], *M.linalg.lu_factor(A)), "sq",
     (2, 3, 3)),
    ("top_triangular_solve", lambda M, A: M.triangular_solve(A[..., :2], A, upper=False,
                                                             transpose=True).solution, "sq",
     (2, 3, 3)),
]

# lu_factor: its derivative is lu's (covered by "lu"); cond_fro/cond_1: torch's own backward
# raises (an in-place write on inv's output), so only values are compared there
_NO_GRAD = {"lu_factor", "cond_fro", "cond_1"}


def _run(M, fn, a, dtype, grad):
    A = M.tensor(a, dtype=dtype, requires_grad=grad)
    y = fn(M, A)
    if not grad:
        return y.detach().numpy(), None
    w = M.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), dtype=dtype)
    (g,) = M.autograd.grad((y * w).sum(), A)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,kind,shape", CASES, ids=[c[0] for c in CASES])
def test_values_and_grads_vs_torch(name, fn, kind, shape, dt):
    a = _mk(kind, shape)
    grad = dt == "float64" and name not in _NO_GRAD
    ty, tg = _run(torch, fn, a, getattr(torch, dt), grad)
    ey, eg = _run(engine, fn, a, getattr(engine, dt), grad)
    assert ey.dtype == ty.dtype and ey.shape == ty.shape
    tol = {"rtol": 1e-4, "atol": 1e-4} if dt == "float32" else {"rtol": 1e-9, "atol": 1e-10}
    np.testing.assert_allclose(ey, ty, **tol)
    if grad:
        np.testing.assert_allclose(eg, tg, rtol=1e-8, atol=1e-10)


def test_noncontiguous_batched_input():
    a = _mk("sq", (3, 4, 4))
    for M in (torch, engine):
        A = _mT(M.tensor(a))[::2]   # permuted and strided
        assert not A.is_contiguous()
        r = M.linalg.inv(A) + M.linalg.det(A).unsqueeze(-1).unsqueeze(-1)
        if M is torch:
            want = r.numpy()
    np.testing.assert_allclose(r.numpy(), want, rtol=1e-6, atol=1e-6)


def test_lstsq_fields_vs_torch():
    a, b = _mk("", (2, 5, 3)), _mk("", (2, 5, 2), 1)
    for drv in (None, "gelsd"):
        t = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=drv)
        e = engine.linalg.lstsq(engine.tensor(a), engine.tensor(b), driver=drv)
        assert type(e).__name__ == "linalg_lstsq"
        for f in ("solution", "residuals", "rank", "singular_values"):
            tv, ev = getattr(t, f).numpy(), getattr(e, f).numpy()
            assert ev.shape == tv.shape, f
            np.testing.assert_allclose(ev, tv, rtol=1e-8, atol=1e-10, err_msg=f)


def test_matrix_rank_and_eig_real():
    a = _mk("", (2, 4, 2)) @ _mk("", (2, 2, 4), 1)    # rank 2
    for kw in ({}, {"atol": 1e-8}, {"atol": 0.5, "rtol": 0.0}, {"hermitian": False}):
        t = torch.linalg.matrix_rank(torch.tensor(a), **kw).numpy()
        e = engine.linalg.matrix_rank(engine.tensor(a), **kw).numpy()
        np.testing.assert_array_equal(e, t)
    s = _mk("sym", (3, 3))
    w = engine.linalg.eigvals(engine.tensor(s)).numpy()
    np.testing.assert_allclose(np.sort(w), np.linalg.eigvalsh(s), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="complex"):
        engine.linalg.eig(engine.tensor([[0.0, -1.0], [1.0, 0.0]]))


def test_return_types_and_empty():
    A = engine.tensor(_mk("sq", (3, 3)))
    assert engine.linalg.qr(A)._fields == ("Q", "R")
    assert engine.linalg.svd(A)._fields == ("U", "S", "Vh")
    assert engine.linalg.eigh(A)._fields == ("eigenvalues", "eigenvectors")
    assert repr(engine.linalg.slogdet(A)).startswith("torch.return_types.linalg_slogdet(")
    e = engine.linalg.inv(engine.zeros(2, 0, 0))
    assert tuple(e.shape) == (2, 0, 0)
    np.testing.assert_array_equal(engine.linalg.det(engine.zeros(2, 0, 0)).numpy(), [1.0, 1.0])


# ----------------------------------------------------------------------------- gradcheck
GC = [
    ("inv", lambda A: engine.linalg.inv(A), "sq", (2, 2, 2)),
    ("solve", lambda A: engine.linalg.solve(A, A[..., 1]), "sq", (2, 2, 2)),
    ("solve_triangular", lambda A: engine.linalg.solve_triangular(A, A + 1, upper=False),
     "sq", (2, 2)),
    ("det", lambda A: engine.linalg.det(A), "sq", (2, 2, 2)),
    ("slogdet", lambda A: engine.linalg.slogdet(A)[1], "sq", (3, 3)),
    ("cholesky", lambda A: engine.linalg.cholesky(A @ _mT(A)), "sq", (3, 3)),
    ("qr", lambda A: engine.linalg.qr(A).Q.sum() + engine.linalg.qr(A).R, "", (3, 2)),
    ("eigh", lambda A: engine.linalg.eigh(A + _mT(A)).eigenvectors ** 2, "", (3, 3)),
    ("svd", lambda A: engine.linalg.svd(A, full_matrices=False).U ** 2, "", (3, 2)),
    ("pinv", lambda A: engine.linalg.pinv(A), "", (2, 3)),
    ("matrix_exp", lambda A: engine.linalg.matrix_exp(A), "", (2, 2)),
    ("lu", lambda A: engine.linalg.lu(A).U, "sq", (3, 3)),
    ("lstsq", lambda A: engine.linalg.lstsq(A, A[..., :1]).solution, "", (3, 2)),
]


@pytest.mark.parametrize("name,fn,kind,shape", GC, ids=[c[0] for c in GC])
def test_gradcheck(name, fn, kind, shape):
    A = engine.tensor(_mk(kind, shape, 3), dtype=engine.float64, requires_grad=True)
    assert gradcheck(fn, (A,))


# ----------------------------------------------------------------------------- errors
def _err(fn):
    for M in (torch, engine):
        with pytest.raises(Exception) as ei:
            fn(M)
        if M is torch:
            tt, tm = ei.type, str(ei.value)
    return tt, tm, ei.type, str(ei.value)


@pytest.mark.parametrize("fn", [
    lambda M: M.linalg.inv(M.zeros(3, 2)),
    lambda M: M.linalg.inv(M.tensor([[1.0, 2.0], [2.0, 4.0]])),
    lambda M: M.linalg.inv(M.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]])),
    lambda M: M.linalg.cholesky(M.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda M: M.linalg.cholesky(M.tensor([[[1.0, 2.0], [2.0, 1.0]]] * 2)),
    lambda M: M.linalg.inv(M.ones(2, 2, dtype=M.int64)),
    lambda M: M.linalg.det(M.ones(2, 3)),
    lambda M: M.linalg.solve(M.eye(3), M.ones(2)),
    lambda M: M.linalg.eigh(M.ones(2, 3)),
    lambda M: M.linalg.inv(M.ones(2)),
    lambda M: M.linalg.qr(M.ones(2, 2), mode="x"),
    lambda M: M.linalg.cross(M.ones(2), M.ones(2)),
    lambda M: M.linalg.matrix_power(M.ones(2, 3), 2),
    lambda M: M.linalg.matrix_power(M.tensor([[1.0, 2.0], [2.0, 4.0]]), -1),
], ids=["nonsquare", "singular", "batch_singular", "not_pd", "batch_not_pd", "int", "det_rect",
        "solve_shapes", "eigh_rect", "1d", "qr_mode", "cross_len", "mpow_rect", "mpow_sing"])
def test_errors_match_torch(fn):
    tt, tm, et, em = _err(fn)
    assert issubclass(et, RuntimeError) == issubclass(tt, RuntimeError)
    assert (et.__name__ == "LinAlgError") == issubclass(tt, torch.linalg.LinAlgError)
    assert em.split(". Convert with")[0] == tm, (em, tm)


def test_linalg_error_class_and_solve_singular():
    assert issubclass(engine.linalg.LinAlgError, RuntimeError)
    with pytest.raises(engine.linalg.LinAlgError, match="singular"):
        engine.linalg.solve(engine.tensor([[1.0, 2.0], [2.0, 4.0]]), engine.ones(2))
    r = engine.linalg.inv_ex(engine.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert r.info.item() == 2
    c = engine.linalg.cholesky_ex(engine.tensor([[[1.0, 0.0], [0.0, 1.0]],
                                                 [[1.0, 2.0], [2.0, 1.0]]]))
    np.testing.assert_array_equal(c.info.numpy(), [0, 2])


def test_cuda_lapack_ops_say_cpu():
    if not engine.cuda.is_available():
        pytest.skip("no CUDA device")
    A = engine.eye(3, device="cuda") * 2
    with pytest.raises(NotImplementedError, match=r"\.cpu\(\)"):
        engine.linalg.inv(A)
    # composites run on the device
    n = engine.linalg.matrix_norm(A, 1)
    assert n.device.type == "cuda" and n.item() == 2.0
    assert engine.linalg.matrix_power(A, 3).cpu().numpy()[0, 0] == 8.0


def test_det_grad_on_singular_matrices_vs_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 2)) @ rng.standard_normal((2, 2, 3))   # rank 2
    a = np.concatenate([a, rng.standard_normal((1, 3, 3))])
    res = []
    for M in (torch, engine):
        A = M.tensor(a, requires_grad=True)
        (g,) = M.autograd.grad(M.linalg.det(A).sum(), A, create_graph=True)
        (h,) = M.autograd.grad((g * g).sum(), A)
        res.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-9, atol=1e-12)


def test_solve_ex_info_vs_torch():
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
    for b_shape, left in (((2, 2), True), ((2,), True), ((3, 2), False)):
        t = torch.linalg.solve_ex(torch.tensor(a), torch.ones(b_shape, dtype=torch.float64),
                                  left=left)
        e = engine.linalg.solve_ex(engine.tensor(a), engine.ones(b_shape, dtype=engine.float64),
                                   left=left)
        assert tuple(e.result.shape) == tuple(t.result.shape)
        np.testing.assert_array_equal(e.info.numpy(), t.info.numpy())
    with pytest.raises(engine.linalg.LinAlgError):
        engine.linalg.solve_ex(engine.tensor(a), engine.ones(2, 2, dtype=engine.float64),
                               check_errors=True)
