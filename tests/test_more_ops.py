"""engine/ops/more.py: quantile, cdist, cov, kthvalue, ... against torch (values, dtypes,
shapes, grads, error types) when installed, and numpy always."""

import math
import warnings

import numpy as np
import pytest

import engine

R = np.random.default_rng(0)
A34 = R.standard_normal((3, 4))
A45 = R.standard_normal((4, 5))
A5 = R.standard_normal(5)
A4 = R.standard_normal(4)
A3 = R.standard_normal(3)
B234 = R.standard_normal((2, 3, 4))
B245 = R.standard_normal((2, 4, 5))
A25_3 = R.standard_normal((2, 5, 3))
A24_3 = R.standard_normal((2, 4, 3))
ANAN = np.array([[1.0, np.nan, 3.0, 0.5], [np.nan, np.nan, np.nan, np.nan],
                 [2.0, -1.0, np.nan, 4.0]])
AINT = np.array([[1, 2, 2, 3], [3, 3, 1, 1], [0, 5, 5, 0]], dtype=np.int64)
AX = np.array([-2.0, -0.0, 0.0, 0.5, 3.0, np.inf, -np.inf])

# (id, fn(lib, *tensors), inputs (numpy), differentiable)
CASES = [
    ("clamp_min", lambda L, x: L.clamp_min(x, 0.1), [A34], True),
    ("clamp_max", lambda L, x: L.clamp_max(x, 0.1), [A34], True),
    ("clamp_min_m", lambda L, x: x.clamp_min(-0.2) * 2, [A34], True),
    ("isin", lambda L, x, y: L.isin(x, y), [AINT, np.array([1, 5])], False),
    ("isin_invert", lambda L, x, y: L.isin(x, y, invert=True), [AINT, np.array([1, 5])], False),
    ("isin_scalar", lambda L, x: L.isin(x, 3), [AINT], False),
    ("cdist2", lambda L, x, y: L.cdist(x, y), [A25_3, A24_3], True),
    ("cdist1", lambda L, x, y: L.cdist(x, y, p=1), [A25_3, A24_3], True),
    ("cdist_inf", lambda L, x, y: L.cdist(x, y, p=float("inf")), [A25_3, A24_3], False),
    ("cdist_mm", lambda L, x, y: L.cdist(x, y), [R.standard_normal((30, 4)),
                                                 R.standard_normal((27, 4))], True),
    ("cdist_mm_b", lambda L, x, y: L.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
     [A25_3, A24_3], True),
    ("cdist_nomm", lambda L, x, y: L.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist"),
     [R.standard_normal((30, 4)), R.standard_normal((27, 4))], True),
    ("isin_float", lambda L, x, y: L.isin(x, y), [A34, A34[1]], False),
    ("cdist3", lambda L, x, y: L.cdist(x, y, p=3), [A25_3[0], A24_3[0]], True),
    ("cosine_similarity", lambda L, x, y: L.cosine_similarity(x, y), [A34, A34[::-1].copy()],
     True),
    ("pairwise_distance", lambda L, x, y: L.pairwise_distance(x, y), [A34, A34[::-1].copy()],
     True),
    ("dist", lambda L, x, y: L.dist(x, y), [A34, A34[::-1].copy()], True),
    ("dist_p1", lambda L, x, y: x.dist(y, 1), [A34, A34[::-1].copy()], True),
    ("float_power", lambda L, x: L.float_power(x.abs(), 2.5), [A34.astype(np.float32)], True),
    ("float_power_t", lambda L, x, y: L.float_power(x, y), [AINT, AINT[::-1].copy()], False),
    ("kthvalue", lambda L, x: L.kthvalue(x, 2, 1)[0], [A34], True),
    ("kthvalue_idx", lambda L, x: L.kthvalue(x, 3, 0, True)[1], [A34], False),
    ("kthvalue_m", lambda L, x: x.kthvalue(1)[0], [A34], True),
    ("mode", lambda L, x: L.mode(x, 1)[0], [AINT], False),
    ("mode_idx", lambda L, x: L.mode(x, 1)[1], [AINT], False),
    ("mode_f", lambda L, x: L.mode(x, 0, keepdim=True)[0],
     [np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 3.0]])], True),
    ("msort", lambda L, x: L.msort(x), [A34], True),
    ("nanmedian", lambda L, x: L.nanmedian(x), [ANAN], False),
    ("nanmedian_dim", lambda L, x: L.nanmedian(x, 1)[0], [ANAN], False),
    ("nanmedian_idx", lambda L, x: L.nanmedian(x, 1)[1], [ANAN[[0, 2]]], False),
    ("nanmedian_grad", lambda L, x: L.nanmedian(x, 1)[0], [A34], True),
    ("quantile", lambda L, x: L.quantile(x, 0.3), [A34], True),
    ("quantile_dim", lambda L, x: L.quantile(x, 0.7, dim=1), [A34], True),
    ("quantile_q", lambda L, x: L.quantile(x, L.tensor([0.1, 0.5, 1.0], dtype=L.float64),
                                           dim=0, keepdim=True), [A34], True),
    ("quantile_lower", lambda L, x: L.quantile(x, 0.4, 1, interpolation="lower"), [A34], True),
    ("quantile_higher", lambda L, x: L.quantile(x, 0.4, 1, interpolation="higher"), [A34],
     True),
    ("quantile_mid", lambda L, x: L.quantile(x, 0.4, 1, interpolation="midpoint"), [A34],
     True),
    ("quantile_nearest", lambda L, x: L.quantile(x, 0.5, 1, interpolation="nearest"),
     [A34], True),
    ("quantile_nan", lambda L, x: L.quantile(x, 0.5, 1), [ANAN], False),
    ("nanquantile", lambda L, x: L.nanquantile(x, 0.25, 1), [ANAN], False),
    ("nanquantile_all", lambda L, x: x.nanquantile(0.6), [ANAN], False),
    ("quantile_f32", lambda L, x: L.quantile(x, 0.3, 0), [A34.astype(np.float32)], True),
    ("logcumsumexp", lambda L, x: L.logcumsumexp(x, 1), [A34], True),
    ("logcumsumexp0", lambda L, x: x.logcumsumexp(0), [A5 * 300], True),
    ("logcumsumexp_inf", lambda L, x: L.logcumsumexp(x, 0),
     [np.array([-np.inf, -np.inf, 1.0, -1e4])], False),
    ("cartesian_prod", lambda L, x, y: L.cartesian_prod(x, y), [A3, A4], True),
    ("cartesian_prod1", lambda L, x: L.cartesian_prod(x), [A3], True),
    ("block_diag", lambda L, x, y, z: L.block_diag(x, y, z), [A34, A3, np.array(2.0)], True),
    ("block_diag_int", lambda L, x, y: L.block_diag(x, y), [AINT, A3], False),
    ("cov", lambda L, x: L.cov(x), [A45], True),
    ("cov1d", lambda L, x: L.cov(x, correction=0), [A5], True),
    ("cov_w", lambda L, x, f, a: L.cov(x, fweights=f, aweights=a),
     [A45, np.array([1, 2, 1, 3, 1]), np.array([0.5, 1.0, 2.0, 1.0, 0.3])], True),
    ("cov_int", lambda L, x: L.cov(x), [AINT], False),
    ("corrcoef", lambda L, x: L.corrcoef(x), [A45], True),
    ("corrcoef_m", lambda L, x: x.corrcoef(), [A5], False),
    ("heaviside", lambda L, x, v: L.heaviside(x, v), [AX, np.array([0.5])], False),
    ("signbit", lambda L, x: L.signbit(x), [np.append(AX, np.nan)], False),
    ("signbit_int", lambda L, x: L.signbit(x - 2), [AINT], False),
    ("sinc", lambda L, x: L.sinc(x), [np.append(A34.reshape(-1), 0.0)], True),
    ("sinc_int", lambda L, x: L.sinc(x), [AINT], False),
    ("trapezoid", lambda L, y: L.trapezoid(y), [A34], True),
    ("trapezoid_dx", lambda L, y: L.trapezoid(y, dx=0.5, dim=0), [A34], True),
    ("trapezoid_x", lambda L, y, x: L.trapezoid(y, x), [A34, np.array([0.0, 0.5, 2.0, 2.5])],
     True),
    ("addmv", lambda L, i, m, v: L.addmv(i, m, v, beta=0.5, alpha=2), [A3, A34, A4], True),
    ("addmv_m", lambda L, i, m, v: i.addmv(m, v), [A3, A34, A4], True),
    ("addr", lambda L, i, a, b: L.addr(i, a, b, alpha=3), [A34, A3, A4], True),
    ("addbmm", lambda L, i, a, b: L.addbmm(i, a, b, beta=2), [R.standard_normal((3, 5)),
                                                             B234, B245], True),
    ("chain_matmul", lambda L, a, b, c: L.linalg.multi_dot([a, b, c])
     if L is not engine else L.chain_matmul(a, b, c), [A34, A45, A5.reshape(5, 1)], True),
    ("histc", lambda L, x: L.histc(x, bins=7), [np.append(A34.reshape(-1), [0.0])], False),
    ("histc_range", lambda L, x: L.histc(x, bins=4, min=-1, max=1), [A34], False),
    ("vander", lambda L, x: L.vander(x), [A4], False),  # torch's own vander backward fails
    ("vander_inc", lambda L, x: L.vander(x, N=3, increasing=True), [A4], False),
    ("vander_int", lambda L, x: L.vander(x, 3), [np.array([1, 2, 3], dtype=np.int32)], False),
    ("narrow_copy", lambda L, x: L.narrow_copy(x, 1, 1, 2), [A34], True),
    ("sum_to_size", lambda L, x: x.sum_to_size(3, 1), [A34], True),
    ("sum_to_size2", lambda L, x: x.sum_to_size((4,)), [B234], True),
    ("fill_diagonal_", lambda L, x: (x * 1).fill_diagonal_(5.0), [A34], True),
    ("fill_diagonal_wrap", lambda L, x: (x * 1).fill_diagonal_(-1.0, wrap=True),
     [R.standard_normal((7, 3))], True),
    ("fill_diagonal_3d", lambda L, x: (x * 1).fill_diagonal_(0.0),
     [R.standard_normal((3, 3, 3))], True),
    ("nan_to_num_", lambda L, x: (x * 1).nan_to_num_(1.5, posinf=9.0), [AX], False),
    ("clamp_min_", lambda L, x: (x * 1).clamp_min_(0.0), [A34], True),
    ("float_power_", lambda L, x: (x * 1).float_power_(2), [A34], True),
    ("sinc_", lambda L, x: (x * 1).sinc_(), [A34], True),
    ("addmv_", lambda L, i, m, v: (i * 1).addmv_(m, v), [A3, A34, A4], True),
    ("addr_", lambda L, i, a, b: (i * 1).addr_(a, b), [A34, A3, A4], True),
    ("addbmm_", lambda L, i, a, b: (i * 1).addbmm_(a, b), [R.standard_normal((3, 5)),
                                                           B234, B245], True),
    ("heaviside_", lambda L, x, v: (x * 1).heaviside_(v), [AX, np.array([0.5])], False),
    ("real", lambda L, x: x.real * 2, [A34], True),
]


def _to(L, a, grad):
    t = L.tensor(a)
    if grad and t.dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def _first(r):
    return r


@pytest.mark.parametrize("name,fn,inputs,diff", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs, diff):
    torch = pytest.importorskip("torch")
    et = [_to(engine, a, diff) for a in inputs]
    tt = [_to(torch, a, diff) for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        er = fn(engine, *et)
        tr = fn(torch, *tt)
    assert tuple(er.shape) == tuple(tr.shape), name
    assert str(er.dtype) == str(tr.dtype), name
    np.testing.assert_allclose(er.detach().numpy().astype(np.float64),
                               tr.detach().numpy().astype(np.float64), rtol=1e-5, atol=1e-6,
                               equal_nan=True, err_msg=name)
    if diff:
        w = R.standard_normal(tuple(tr.shape))
        (er * engine.tensor(w, dtype=er.dtype)).sum().backward()
        (tr * torch.tensor(w, dtype=tr.dtype)).sum().backward()
        for e, t in zip(et, tt):
            if t.grad is None:
                assert e.grad is None or not np.any(e.grad.numpy()), name
                continue
            assert e.grad is not None, name
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=name)


# ---- numpy references (no torch needed)
NP_CASES = [
    ("quantile", lambda x: engine.quantile(x, 0.3, dim=1), lambda a: np.quantile(a, 0.3, 1),
     A34),
    ("quantile_all", lambda x: engine.quantile(x, 0.9), lambda a: np.quantile(a, 0.9), A34),
    ("nanquantile", lambda x: engine.nanquantile(x, 0.5, 1), lambda a: np.array(
        [np.nanquantile(r, 0.5) if not np.all(np.isnan(r)) else np.nan for r in a]), ANAN),
    ("cov", lambda x: engine.cov(x), lambda a: np.cov(a), A45),
    ("corrcoef", lambda x: engine.corrcoef(x), lambda a: np.corrcoef(a), A45),
    ("vander", lambda x: engine.vander(x), lambda a: np.vander(a), A4),
    ("trapezoid", lambda x: engine.trapezoid(x), lambda a: np.trapezoid(a)
     if hasattr(np, "trapezoid") else np.trapz(a), A34),
    ("sinc", lambda x: engine.sinc(x), np.sinc, A34),
    ("logcumsumexp", lambda x: engine.logcumsumexp(x, 1),
     lambda a: np.logaddexp.accumulate(a, axis=1), A34),
    ("signbit", lambda x: engine.signbit(x), np.signbit, AX),
    ("heaviside", lambda x: engine.heaviside(x, engine.tensor([0.5], dtype=engine.float64)),
     lambda a: np.heaviside(a, 0.5), AX),
    ("isin", lambda x: engine.isin(x, engine.tensor([1, 5])), lambda a: np.isin(a, [1, 5]),
     AINT),
    ("cdist", lambda x: engine.cdist(x, x * 2), lambda a: np.sqrt(
        ((a[:, None] - 2 * a[None]) ** 2).sum(-1)), A34),
    ("block_diag", lambda x: engine.block_diag(x, x[:1]), lambda a: np.block(
        [[a, np.zeros((3, 4))], [np.zeros((1, 4)), a[:1]]]), A34),
    ("msort", lambda x: engine.msort(x), lambda a: np.sort(a, 0), A34),
    ("kthvalue", lambda x: engine.kthvalue(x, 2)[0], lambda a: np.sort(a, 1)[:, 1], A34),
    ("float_power", lambda x: engine.float_power(x, 2), lambda a: a.astype(np.float64) ** 2,
     AINT),
    ("histc", lambda x: engine.histc(x, 5, -2, 2), lambda a: np.histogram(
        a, 5, (-2, 2))[0].astype(np.float64), A34),
]


@pytest.mark.parametrize("name,fn,ref,a", NP_CASES, ids=[c[0] for c in NP_CASES])
def test_against_numpy(name, fn, ref, a):
    r = fn(engine.tensor(a)).numpy()
    np.testing.assert_allclose(r, ref(a), rtol=1e-6, atol=1e-9, equal_nan=True)


# ---- bad input: (fn(lib), exception type); checked against torch when installed
BAD = [
    ("cdist_cols", lambda L: L.cdist(L.ones(2, 3), L.ones(2, 4)), RuntimeError),
    ("cdist_1d", lambda L: L.cdist(L.ones(3), L.ones(3)), RuntimeError),
    ("cdist_int", lambda L: L.cdist(L.ones(2, 3, dtype=L.int64), L.ones(2, 3,
                                                                       dtype=L.int64)),
     RuntimeError),
    ("kthvalue_k", lambda L: L.kthvalue(L.ones(3), 4), (IndexError, RuntimeError)),
    ("kthvalue_dim", lambda L: L.kthvalue(L.ones(3), 1, 2), IndexError),
    ("quantile_q", lambda L: L.quantile(L.ones(3), 1.5), RuntimeError),
    ("quantile_int", lambda L: L.quantile(L.ones(3, dtype=L.int64), 0.5), RuntimeError),
    ("quantile_qdtype", lambda L: L.quantile(L.ones(3), L.tensor([0.5], dtype=L.float64)),
     RuntimeError),
    ("quantile_interp", lambda L: L.quantile(L.ones(3), 0.5, interpolation="bad"),
     RuntimeError),
    ("heaviside_dtype", lambda L: L.heaviside(L.ones(3), L.ones(3, dtype=L.float64)),
     RuntimeError),
    ("cov_3d", lambda L: L.cov(L.ones(2, 2, 2)), RuntimeError),
    ("block_diag_3d", lambda L: L.block_diag(L.ones(2, 2, 2)), RuntimeError),
    ("vander_2d", lambda L: L.vander(L.ones(2, 2)), RuntimeError),
    ("cartesian_2d", lambda L: L.cartesian_prod(L.ones(2, 2), L.ones(2)), RuntimeError),
    ("histc_int", lambda L: L.histc(L.ones(3, dtype=L.int64)), NotImplementedError),
    ("histc_range", lambda L: L.histc(L.ones(3), min=2, max=1), RuntimeError),
    ("addmv_shape", lambda L: L.addmv(L.ones(3), L.ones(3, 4), L.ones(5)), RuntimeError),
    ("addr_2d", lambda L: L.addr(L.ones(3, 3), L.ones(3, 1), L.ones(3)), RuntimeError),
    ("addbmm_batches", lambda L: L.addbmm(L.ones(2, 2), L.ones(2, 2, 3), L.ones(3, 3, 2)),
     RuntimeError),
    ("chain_matmul_1d", lambda L: L.chain_matmul(L.ones(3), L.ones(3, 3)), RuntimeError),
    ("fill_diagonal_1d", lambda L: L.ones(3).fill_diagonal_(1), RuntimeError),
    ("fill_diagonal_uneq", lambda L: L.ones(2, 3, 2).fill_diagonal_(1), RuntimeError),
    ("sum_to_size", lambda L: L.ones(3, 4).sum_to_size(2, 4), RuntimeError),
    ("float_power_", lambda L: L.ones(3).float_power_(2), RuntimeError),
    ("resize_grad", lambda L: L.ones(3, requires_grad=True).resize_(4), RuntimeError),
    ("geometric_p", lambda L: L.ones(3).geometric_(1.5), RuntimeError),
    ("cauchy_sigma", lambda L: L.ones(3).cauchy_(0, -1), RuntimeError),
    ("mode_empty", lambda L: L.mode(L.ones(0)), IndexError),
    ("logcumsumexp_int", lambda L: L.logcumsumexp(L.tensor([1, 2]), 0), NotImplementedError),
    ("logcumsumexp_dim", lambda L: L.logcumsumexp(L.ones(2, 2), 2), IndexError),
    ("quantile_empty", lambda L: L.quantile(L.ones(2, 0), 0.5, dim=1), RuntimeError),
    ("quantile_q2d", lambda L: L.quantile(L.ones(3), L.tensor([[0.5]])), RuntimeError),
    ("cartesian_dtypes", lambda L: L.cartesian_prod(L.tensor([1]), L.tensor([1.0])),
     RuntimeError),
    ("histc_inf", lambda L: L.histc(L.tensor([1.0, float("inf")])), RuntimeError),
    ("dist_int", lambda L: L.dist(L.ones(3, dtype=L.int64), L.ones(3, dtype=L.int64)),
     RuntimeError),
]


@pytest.mark.parametrize("name,fn,exc", BAD, ids=[c[0] for c in BAD])
def test_bad_input(name, fn, exc):
    with pytest.raises(exc):
        fn(engine)


@pytest.mark.parametrize("name,fn,exc", BAD, ids=[c[0] for c in BAD])
def test_bad_input_torch(name, fn, exc):
    torch = pytest.importorskip("torch")
    with pytest.raises(exc), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(torch)


# ---- namedtuples, misc methods
def test_namedtuples():
    x = engine.tensor(A34)
    k = engine.kthvalue(x, 2)
    assert k.values.shape == (3,) and k.indices.dtype == engine.int64
    assert "torch.return_types.kthvalue" in repr(k)
    m = engine.mode(engine.tensor([1.0, 2.0, 2.0, 3.0, 3.0, 1.0]))
    assert m.values.item() == 1.0 and m.indices.item() == 5
    _, i = engine.nanmedian(engine.tensor(ANAN), 1)
    assert i.dtype == engine.int64


def test_asarray():
    a = np.arange(6.0).reshape(2, 3)
    t = engine.asarray(a)
    a[0, 0] = 9.0
    assert t[0, 0].item() == 9.0  # shares memory
    x = engine.ones(3)
    assert engine.asarray(x) is x
    assert engine.asarray(x, copy=True) is not x
    assert engine.asarray(x, dtype=engine.float64).dtype == engine.float64
    assert engine.asarray([1, 2]).dtype == engine.int64
    assert engine.asarray([1.0], requires_grad=True).requires_grad
    with pytest.raises(ValueError):
        engine.asarray(x, dtype=engine.float64, copy=False)


def test_aliases_and_methods():
    from engine.nn import functional as F
    assert engine.cosine_similarity is not None
    x, y = engine.tensor(A34), engine.tensor(A34 * 2 + 1)
    np.testing.assert_allclose(engine.cosine_similarity(x, y).numpy(),
                               F.cosine_similarity(x, y).numpy())
    np.testing.assert_allclose(engine.pairwise_distance(x, y).numpy(),
                               F.pairwise_distance(x, y).numpy())
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == x.dtype
    n = x.new([1, 2])
    assert n.dtype == x.dtype and n.tolist() == [1.0, 2.0]
    assert x.new().shape == (0,)
    assert x.new(engine.Size([4])).shape == (4,)
    assert x.pin_memory() is x and x.is_pinned() is False
    assert x.is_shared() is False
    assert x.share_memory_() is x and x.is_shared()
    assert x.real is x and x.is_sparse is False
    assert repr(x.layout) == "torch.strided" and x.layout is engine.strided
    assert str(engine.strided) == "torch.strided"


def test_layout_matches_torch():
    torch = pytest.importorskip("torch")
    assert repr(engine.ones(2).layout) == repr(torch.ones(2).layout)
    x = torch.ones(2)
    assert x.is_shared() == engine.ones(2).is_shared()


def test_resize_():
    x = engine.arange(6.0)
    v = x.view(2, 3)
    assert x.resize_(3, 2) is x and x.shape == (3, 2)
    assert x.stride() == (2, 1)
    x.resize_(2)
    assert x.tolist() == [0.0, 1.0]
    y = engine.arange(4.0)
    y.resize_(2, 4)
    assert y.shape == (2, 4) and y[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    y.resize_(3)
    assert y.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="view"):
        v.resize_(10, 10)
    with pytest.raises(RuntimeError):
        engine.ones(2).resize_(-1)


def test_resize_matches_torch():
    torch = pytest.importorskip("torch")
    for L in (engine, torch):
        x = L.arange(6.0)
        x.resize_(2, 2)
        assert x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        x.resize_(2, 3)
        assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_apply_map():
    x = engine.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.apply_(lambda v: v * 10) is x
    assert x.tolist() == [[10.0, 20.0], [30.0, 40.0]]
    x.map_(engine.tensor([1.0, 2.0]), lambda a, b: a + b)
    assert x.tolist() == [[11.0, 22.0], [31.0, 42.0]]
    with pytest.raises(TypeError):
        x.apply_(3)


def test_apply_map_torch():
    torch = pytest.importorskip("torch")
    for L in (engine, torch):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]])
        x.apply_(lambda v: v * 10 + 1)
        x.map_(L.tensor([1.0, 2.0]), lambda a, b: a * b)
        assert x.tolist() == [[11.0, 42.0], [31.0, 82.0]]


@pytest.mark.parametrize("method,args,mean,var", [
    ("log_normal_", (0.5, 0.4), math.exp(0.5 + 0.08), (math.exp(0.16) - 1) * math.exp(1.16)),
    ("geometric_", (0.3,), 1 / 0.3, 0.7 / 0.09),
])
def test_random_moments(method, args, mean, var):
    engine.manual_seed(123)
    x = getattr(engine.empty(200000, dtype=engine.float64), method)(*args)
    engine.manual_seed(123)
    y = getattr(engine.empty(200000, dtype=engine.float64), method)(*args)
    assert engine.equal(x, y)
    a = x.numpy()
    assert abs(a.mean() - mean) / mean < 0.02
    assert abs(a.var() - var) / var < 0.06
    if method == "geometric_":
        assert a.min() >= 1 and np.all(a == np.floor(a))


def test_cauchy_():
    engine.manual_seed(7)
    x = engine.empty(200000).cauchy_(2.0, 0.5)
    engine.manual_seed(7)
    assert engine.equal(x, engine.empty(200000).cauchy_(2.0, 0.5))
    a = x.numpy().astype(np.float64)
    assert x.dtype == engine.float32
    assert abs(np.median(a) - 2.0) < 0.02
    q1, q3 = np.quantile(a, [0.25, 0.75])
    assert abs((q3 - q1) / 2 - 0.5) < 0.02  # half the IQR is the scale


def test_inplace_grad_fill_diagonal_leaf_error():
    x = engine.ones(3, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.fill_diagonal_(0.0)


def test_gradcheck_compositions():
    from engine.autograd import gradcheck
    x = engine.tensor(A34, requires_grad=True)
    assert gradcheck(lambda t: engine.quantile(t, 0.3, dim=1), (x,))
    assert gradcheck(lambda t: engine.logcumsumexp(t, 1), (x,))
    assert gradcheck(lambda t: engine.cov(t), (x,))
    assert gradcheck(lambda t: engine.sinc(t), (x,))
    v = engine.tensor(A4, requires_grad=True)
    assert gradcheck(lambda t: engine.vander(t), (v,))
    assert gradcheck(lambda t: engine.vander(t, 3, increasing=True), (v,))
    assert gradcheck(lambda t: engine.kthvalue(t, 2, 0)[0], (x,))
