"""engine.linalg on 'cuda': every factorization/solver runs on the device (kernels/cuda/linalg.py)
and agrees with the same op on 'cpu' -- values, dtypes, gradients, and on singular / not
positive-definite inputs the same error type, message and info. No floating-point data comes to
the host during a CUDA linalg op; only the small int32 ``info`` does, when an error must be
raised (torch syncs there too), and matrix_exp's squaring count.

``NUMBA_ENABLE_CUDASIM=1 python -m pytest -q -p no:cacheprovider tests/cuda/test_cuda_linalg.py``
(tiny sizes: the simulator runs every thread in Python); unchanged on a real GPU.
Eigenvectors and singular vectors are unique only up to sign (as between torch's CPU and CUDA),
so those are compared through sign-invariant functions."""

import contextlib

import numpy as np
import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

LA = engine.linalg
DEV = "cuda"
TOL = {np.float64: {"rtol": 1e-9, "atol": 1e-10}, np.float32: {"rtol": 2e-4, "atol": 2e-5}}
GTOL = {np.float64: {"rtol": 1e-7, "atol": 1e-8}, np.float32: {"rtol": 2e-3, "atol": 2e-4}}


@contextlib.contextmanager
def no_float_to_host():
    """Inside the block every device->host copy of floating-point data raises (int32 info
    and bool flags may come back)."""
    from engine.cuda import _memory
    arr = engine.zeros(1, device=DEV)._storage.data
    mp = pytest.MonkeyPatch()
    d2h, c2h = _memory.device_to_host, type(arr).copy_to_host

    def guarded_d2h(x):
        assert not x.dtype.is_floating_point, f"{x.dtype} tensor {tuple(x.shape)} to the host"
        return d2h(x)

    def guarded_c2h(self, *a, **k):
        assert self.dtype.kind not in "fc", f"{self.dtype} device array {self.shape} to the host"
        return c2h(self, *a, **k)
    mp.setattr(_memory, "device_to_host", guarded_d2h)
    mp.setattr(type(arr), "copy_to_host", guarded_c2h)
    try:
        yield
    finally:
        mp.undo()


def _rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(dtype)


def _spd(n, batch=(), seed=0, dtype=np.float64):
    a = _rand(*batch, n, n, seed=seed)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _same(c, g, tol):
    assert g.device.type == "cuda", g.device
    assert c.dtype == g.dtype, (c.dtype, g.dtype)
    assert tuple(c.shape) == tuple(g.shape), (c.shape, g.shape)
    a, b = c.detach().numpy(), g.detach().cpu().numpy()
    if a.dtype.kind == "f":
        np.testing.assert_allclose(b, a, equal_nan=True, **tol)
    else:
        np.testing.assert_array_equal(b, a)


def _both(fn, *arrays, grad=True):
    """fn forward (+ backward of a weighted sum of its float outputs) on CPU, then on CUDA with
    floating-point device->host copies forbidden; outputs and gradients agree."""
    res = []
    for dev in ("cpu", DEV):
        ts = [engine.tensor(a, device=dev, requires_grad=grad and a.dtype.kind == "f")
              for a in arrays]
        with no_float_to_host() if dev == DEV else contextlib.nullcontext():
            outs = _flat(fn(*ts))
            grads = []
            if grad:
                loss = 0
                for o in outs:
                    if o.dtype.is_floating_point and o.requires_grad and o.numel():
                        w = engine.linspace(0.5, 1.5, o.numel(), device=dev, dtype=o.dtype)
                        loss = loss + (o * w.reshape(o.shape)).sum()
                loss.backward()
                grads = [t.grad for t in ts if t.requires_grad]
        res.append((outs, grads))
    dt = arrays[0].dtype.type
    assert len(res[0][0]) == len(res[1][0])
    for a, b in zip(res[0][0], res[1][0]):
        _same(a, b, TOL[dt])
    for a, b in zip(res[0][1], res[1][1]):
        _same(a, b, GTOL[dt])


def _raises_same(fn, *arrays):
    """fn raises the same error type and message on both devices; returns the message."""
    msgs = []
    for dev in ("cpu", DEV):
        ts = [engine.tensor(a, device=dev) for a in arrays]
        guard = no_float_to_host() if dev == DEV else contextlib.nullcontext()
        with pytest.raises(Exception) as e, guard:
            fn(*ts)
        msgs.append((type(e.value), str(e.value)))
    assert msgs[0] == msgs[1]
    return msgs[0]


# ---- LU family --------------------------------------------------------------------------------
def test_guard_catches_float_copies():
    g = engine.tensor(_rand(2, 2, seed=37), device=DEV)
    with no_float_to_host():
        assert (g > 0).cpu().dtype == engine.bool         # a bool may come back
        with pytest.raises(AssertionError, match="to the host"):
            g.cpu()


@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_lu_factor_det_inv_solve(dt):
    a = _rand(2, 4, 4, seed=1, dtype=dt)
    b = _rand(2, 4, 2, seed=2, dtype=dt)
    _both(lambda A: (LA.lu_factor_ex(A), LA.lu(A).L.detach()), a, grad=False)
    _both(lambda A, B: (LA.lu(A), LA.det(A), LA.slogdet(A), LA.inv(A), LA.solve(A, B)), a, b)
    if dt is np.float64:
        _both(lambda A, B: (LA.inv_ex(A), LA.solve_ex(A, B),
                            LA.solve(A, B[0, :, 0]),                    # vector rhs, broadcast
                            LA.solve(A[0], B),                          # broadcast A
                            LA.solve(A, B.mT, left=False),
                            engine.logdet(A @ A.mT)), a, b)


def test_lu_rectangular_and_lu_solve():
    a = _rand(2, 3, 5, seed=4)
    _both(lambda A: LA.lu_factor(A), a, grad=False)
    _both(lambda A: LA.lu(A), a, grad=False)
    _both(lambda A: LA.lu(A.mT), a, grad=False)
    sq = _rand(3, 3, seed=5)
    rhs = _rand(3, 2, seed=6)
    def f(A, B):
        LU, piv = LA.lu_factor(A)
        return [LA.lu_solve(LU, piv, B if left else B.mT, left=left, adjoint=adjoint)
                for left in (True, False) for adjoint in (False, True)]
    _both(f, sq, rhs)
    _both(lambda A: engine.lu_unpack(*LA.lu_factor(A)), a, grad=False)


def test_lu_without_pivoting_cuda_only():
    a = _rand(2, 3, 3, seed=38) + 4 * np.eye(3)                # diagonally dominant
    with pytest.raises(RuntimeError, match="without pivoting is not implemented on the CPU"):
        LA.lu(engine.tensor(a), pivot=False)
    g = engine.tensor(a, device=DEV, requires_grad=True)
    P, L, U = LA.lu(g, pivot=False)
    assert P.numel() == 0
    np.testing.assert_allclose((L @ U).detach().cpu().numpy(), a, atol=1e-12)
    _, piv = LA.lu_factor(g.detach(), pivot=False)
    assert piv.cpu().tolist() == [[1, 2, 3]] * 2
    (L.sum() + U.sum()).backward()                             # same grads as pivoting would
    c = engine.tensor(a, requires_grad=True)                   # give here: no row swaps
    _, Lc, Uc = LA.lu(c)
    (Lc.sum() + Uc.sum()).backward()
    np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_strided_and_empty_inputs():
    a = _rand(4, 4, 4, seed=7)
    _both(lambda A: LA.det(A.transpose(0, 1)[1:, 1:, 1:]), a)         # permuted, offset
    _both(lambda A: LA.inv(A[:, ::2, 1:3]), _rand(3, 4, 4, seed=8))  # stepped
    e = np.zeros((2, 0, 0))
    _both(lambda A: (LA.det(A), LA.inv(A), LA.slogdet(A)), e, grad=False)
    _both(lambda A: LA.lu_factor(A), np.zeros((0, 3, 3)), grad=False)


def test_singular_errors_and_info():
    s = np.array([[[2.0, 1.0, 0.0], [4.0, 2.0, 0.0], [1.0, 1.0, 0.0]],
                  [[1.0, 2.0, 3.0], [0.0, 1.0, 4.0], [5.0, 6.0, 0.0]]])
    b = _rand(2, 3, 1, seed=9)
    kind, msg = _raises_same(lambda A: LA.inv(A), s)
    assert kind is LA.LinAlgError and "(Batch element 0)" in msg
    _raises_same(lambda A, B: LA.solve(A, B), s, b)
    _raises_same(lambda A: LA.lu_factor(A), s)
    _raises_same(lambda A: LA.lu_factor_ex(A, check_errors=True), s)
    _raises_same(lambda A: LA.inv_ex(A, check_errors=True), s)
    _both(lambda A: LA.inv_ex(A), s, grad=False)                     # NaN inverse, info 3
    _both(lambda A, B: LA.solve_ex(A, B), s, b, grad=False)          # all NaN, info
    _both(lambda A: LA.lu_factor_ex(A), s, grad=False)
    _both(lambda A: (LA.det(A), LA.slogdet(A)), s, grad=False)
    g = engine.tensor(s, device=DEV)
    r = LA.inv_ex(g)
    assert r.info.device.type == "cuda" and r.info.dtype == engine.int32
    assert r.info.cpu().tolist() == [3, 0]


def test_det_backward_singular_uses_svd_on_device():
    s = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, 1.0]])
    _both(lambda A: LA.det(A), s)


# ---- Cholesky, triangular solves --------------------------------------------------------------
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_cholesky_family(dt):
    a = _spd(4, (2,), seed=10, dtype=dt)
    b = _rand(2, 4, 3, seed=11, dtype=dt)
    _both(lambda A, B: (LA.cholesky(A), LA.cholesky(A, upper=True), LA.cholesky_ex(A),
                        engine.cholesky_solve(B, LA.cholesky(A)),
                        engine.cholesky_solve(B, LA.cholesky(A, upper=True), upper=True),
                        engine.cholesky_inverse(LA.cholesky(A))), a, b)


def test_cholesky_not_positive_definite():
    a = _spd(3, (3,), seed=12)
    a[1, 2, 2] = -5.0
    kind, msg = _raises_same(lambda A: LA.cholesky(A), a)
    assert kind is LA.LinAlgError and "(Batch element 1)" in msg and "order 3" in msg
    _both(lambda A: LA.cholesky_ex(A), a, grad=False)
    r = LA.cholesky_ex(engine.tensor(a, device=DEV))
    assert r.info.cpu().tolist() == [0, 3, 0]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")   # simulator's numpy
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_solve_triangular():
    a = _rand(2, 4, 4, seed=13) + 3 * np.eye(4)
    b = _rand(2, 4, 3, seed=14)
    _both(lambda A, B: [LA.solve_triangular(A, B, upper=upper, unitriangular=unit)
                        for upper in (True, False) for unit in (False, True)], a, b)
    _both(lambda A, B: (LA.solve_triangular(A, B.mT, upper=True, left=False),
                        LA.solve_triangular(A[0], B, upper=False),           # broadcast A
                        LA.solve_triangular(A, B[0], upper=True),            # broadcast B
                        LA.solve_triangular(A.mT, B[:, :, ::2], upper=True)), a, b)  # strided
    with pytest.warns(UserWarning, match="deprecated"):
        engine.triangular_solve(engine.tensor(b), engine.tensor(a))
    _both(lambda A, B: engine.triangular_solve(B, A, upper=False), a, b)
    z = np.triu(_rand(3, 3, seed=15))
    z[1, 1] = 0.0                                                            # inf/nan, no error
    _both(lambda A, B: LA.solve_triangular(A, B, upper=True), z, _rand(3, 2, seed=16), grad=False)


# ---- QR, eigh, SVD and what is built on them ---------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 4, 3), (2, 4), (3, 3)])
def test_qr(shape):
    a = _rand(*shape, seed=17)
    _both(lambda A: LA.qr(A), a)
    _both(lambda A: LA.qr(A, mode="r").R, a, grad=False)
    if shape[-2] >= shape[-1]:
        _both(lambda A: LA.qr(A, mode="complete"), a, grad=shape[-2] == shape[-1])
    else:
        _both(lambda A: LA.qr(A, mode="complete"), a)
    _both(lambda A: LA.qr(A).Q, _rand(*shape, seed=18, dtype=np.float32), grad=False)


def _sign_fix(U, V=None):
    """Make each column of U have a positive largest-|.| entry (V's rows follow)."""
    idx = U.detach().abs().argmax(-2, keepdim=True)
    sg = U.gather(-2, idx).detach().sign()
    return (U * sg, None if V is None else V * sg.mT)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_eigh(dt):
    a = _rand(2, 3, 3, seed=19, dtype=dt)
    if dt is np.float32:
        return _both(lambda A: LA.eigvalsh(A, UPLO="U"), a)
    _both(lambda A: (LA.eigvalsh(A), *_sign_fix(LA.eigh(A).eigenvectors)[:1],
                     LA.eigh(A, UPLO="U").eigenvectors ** 2), a)
    _both(lambda A: LA.eigh(A), np.array([[1.0, np.nan], [np.nan, 2.0]]), grad=False)  # all NaN


@pytest.mark.parametrize("shape", [(2, 4, 3), (2, 4), (3, 3)])
def test_svd(shape):
    a = _rand(*shape, seed=20)

    def f(A, full):
        U, S, Vh = LA.svd(A, full_matrices=full)
        k = S.shape[-1]
        Uk, Vk = _sign_fix(U[..., :k], Vh[..., :k, :])
        return Uk, S, Vk
    _both(lambda A: (LA.svdvals(A), f(A, False)), a)
    _both(lambda A: f(A, True), a, grad=False)
    g = engine.tensor(a, device=DEV)
    U, _, Vh = LA.svd(g)                      # full: the completed columns are orthonormal
    m, n = shape[-2:]
    eye = np.broadcast_to(np.eye(m), U.shape)
    np.testing.assert_allclose((U.mT @ U).cpu().numpy(), eye, atol=1e-12)
    np.testing.assert_allclose((Vh @ Vh.mT).cpu().numpy(), np.broadcast_to(np.eye(n), Vh.shape),
                               atol=1e-12)
    if len(shape) == 2:
        _both(lambda A: LA.svdvals(A), _rand(*shape, seed=21, dtype=np.float32))


def test_svd_nan_input_raises_as_on_cpu():
    a = _rand(3, 2, seed=39)
    a[1, 1] = np.nan
    kind, msg = _raises_same(lambda A: LA.svd(A), a)
    assert kind is LA.LinAlgError and "failed to converge" in msg
    _raises_same(lambda A: LA.svdvals(A), a)


def test_rank_deficient_svd_pinv_rank():
    a = _rand(2, 4, 1, seed=22) @ _rand(2, 1, 3, seed=23)       # rank 1, 4 x 3
    _both(lambda A: (LA.svdvals(A), LA.pinv(A), LA.matrix_rank(A),
                     LA.matrix_rank(A, atol=0.5, rtol=0.0)), a, grad=False)
    U, S, Vh = LA.svd(engine.tensor(a, device=DEV))
    np.testing.assert_allclose((U.mT @ U).cpu().numpy(), np.broadcast_to(np.eye(4), U.shape),
                               atol=1e-12)
    np.testing.assert_allclose((U[..., :3] * S.unsqueeze(-2) @ Vh).cpu().numpy(), a, atol=1e-12)
    _both(lambda A: (LA.pinv(A), LA.pinv(A[0], atol=0.3)), _rand(2, 2, 3, seed=24))


def test_norms_and_cond():
    a = _rand(2, 3, 2, seed=26)
    _both(lambda A: (LA.matrix_norm(A, ord=2), LA.matrix_norm(A, ord="nuc"), LA.cond(A),
                     LA.cond(A[..., :2, :], p=1)), a)
    _both(lambda A: (LA.matrix_norm(A, ord=-2), LA.norm(A[0], ord=2)), a, grad=False)


def test_matrix_exp():
    a = _rand(2, 2, 2, seed=27)
    a[1] *= 12.0                                   # needs squaring: its own count per matrix
    _both(lambda A: LA.matrix_exp(A), a)
    _both(lambda A: LA.matrix_exp(A), _rand(3, 3, seed=28, dtype=np.float32), grad=False)


def test_lstsq():
    a, b = _rand(2, 4, 2, seed=30), _rand(2, 4, 2, seed=31)
    for driver in (None, "gels", "gelsd"):
        _both(lambda A, B, d=driver: LA.lstsq(A, B, driver=d), a, b, grad=driver is None)
    _both(lambda A, B: LA.lstsq(A[0], B[0, :, 0], driver="gelss"), a, b, grad=False)
    r = _rand(3, 1, seed=32) @ _rand(1, 2, seed=33)          # rank 1: no residuals
    _both(lambda A, B: LA.lstsq(A, B, driver="gelsd"), r, _rand(3, 2, seed=34), grad=False)
    _both(lambda A, B: LA.lstsq(A, B, driver="gelsd"), _rand(2, 3, seed=35),
          _rand(2, 1, seed=36), grad=False)                 # wide: minimum-norm solution


def test_more_rows_than_threads():
    """n = 9 > the simulator's 8 threads per block: every thread strides over rows/columns."""
    a, b = _rand(9, 9, seed=40), _rand(9, 9, seed=41)
    _both(lambda A, B: (LA.lu_factor_ex(A), LA.inv(A), LA.solve(A, B),
                        LA.solve_triangular(A, B, upper=True), LA.qr(A[:, :7]),
                        LA.qr(A[:7], mode="complete")), a, b, grad=False)
    _both(lambda A: (LA.cholesky(A), LA.eigvalsh(A),                  # svd: 9 rows, 1 pair
                     LA.svd(A[:, :2], full_matrices=False).U ** 2), _spd(9, seed=42), grad=False)


def test_ex_forms_and_plain_factorizations_never_sync():
    """Without an error to raise nothing at all comes to the host (torch: the *_ex forms
    synchronise only with check_errors=True)."""
    from engine.cuda import _memory
    a = engine.tensor(_spd(3, (2,), seed=43), device=DEV)
    b = engine.tensor(_rand(2, 3, 2, seed=44), device=DEV)
    arr = a._storage.data
    mp = pytest.MonkeyPatch()

    def boom(*args, **kwargs):
        raise AssertionError("device->host copy")
    mp.setattr(_memory, "device_to_host", boom)
    mp.setattr(type(arr), "copy_to_host", boom)
    try:
        LA.inv_ex(a), LA.cholesky_ex(a), LA.lu_factor_ex(a), LA.solve_ex(a, b)
        LA.det(a), LA.slogdet(a), LA.lu(a), LA.lu_solve(*LA.lu_factor_ex(a)[:2], b)
        LA.solve_triangular(a, b, upper=True), LA.qr(a), LA.eigh(a), LA.pinv(a)
    finally:
        mp.undo()


def test_still_cpu_only_ops_name_the_fix():
    g = engine.tensor(_rand(3, 3, seed=29), device=DEV)
    for fn, op in ((LA.eig, "linalg.eig"), (LA.eigvals, "linalg.eigvals")):
        with pytest.raises(NotImplementedError, match=rf"{op}: not implemented for cuda.*\.cpu\(\)"):
            fn(g)
