"""Reduce-family CPU kernels (kernels/cpu/reduce.py, softmax.py, scan.py, sort.py) on plain numpy
arrays, against numpy and torch. Inputs come in every layout the engine can hand over: contiguous,
transposed (column path), gapped rows, sliced with offset and step, stride-0 broadcast, and the
empty cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.cpu import reduce as R
from kernels.cpu import scan as SC
from kernels.cpu import softmax as SM
from kernels.cpu import sort as SO

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]
FLOATS = ["float32", "float64"]
LAYOUTS = ["c", "t", "gap", "step", "bcast"]


def data(dtype, shape, seed, lo=-50, hi=50):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in FLOATS:
        return rng.standard_normal(shape).astype(dtype)
    if dtype == "uint8":
        lo = 0
    return rng.integers(lo, hi, shape).astype(dtype)


def layout(a, kind):
    """The same values as a (M, K), laid out as `kind`."""
    m, k = a.shape
    if kind == "c":
        return a
    if kind == "t":  # column path: rows of a C-contiguous (K, M) buffer
        return np.ascontiguousarray(a.T).T
    if kind == "gap":  # unit-stride rows with a gap between them
        big = np.zeros((m, k + 3), a.dtype)
        big[:, 1 : k + 1] = a
        return big[:, 1 : k + 1]
    if kind == "step":  # offset and step on both axes
        big = np.zeros((2 * m + 1, 3 * k + 2), a.dtype)
        big[1::2, 2::3][:m, :k] = a
        return big[1::2, 2::3][:m, :k]
    if kind == "bcast":  # stride 0: every row is row 0
        return np.broadcast_to(a[:1], a.shape)
    raise ValueError(kind)


def tt(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def close(got, want, dtype, rtol=None):
    if dtype in FLOATS:
        tol = rtol or (2e-5 if dtype == "float32" else 1e-12)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- reduce_rows
def _ref(op, x):
    if op == "sum":
        return x.sum(1, dtype=np.int64 if x.dtype.kind in "biu" else x.dtype)
    if op == "prod":
        return x.prod(1, dtype=np.int64 if x.dtype.kind in "biu" else x.dtype)
    return {"max": np.max, "min": np.min, "all": np.all, "any": np.any}[op](x, axis=1)


def _out(op, x, m):
    if op in ("all", "any"):
        return np.empty(m, np.bool_)
    if op in ("sum", "prod") and x.dtype.kind in "biu":
        return np.empty(m, np.int64)
    return np.empty(m, x.dtype)


SOME = [
    "float32",
    "int64",
    "uint8",
    "bool",
]  # mirror ops (prod/min/any) on fewer dtypes: compile time


@pytest.mark.parametrize(
    "op, dtype",
    [(op, d) for op in ["sum", "max", "all"] for d in DTYPES]
    + [(op, d) for op in ["prod", "min", "any"] for d in SOME],
)
def test_reduce_rows_layouts(op, dtype):
    for shape in [(5, 37), (1, 3000), (3, 1), (1, 1), (40, 5)]:
        a = data(dtype, shape, 1, -3, 4) if op == "prod" else data(dtype, shape, 1)
        if op == "prod" and dtype in FLOATS:
            a = (1 + 0.01 * a).astype(dtype)
        for kind in LAYOUTS:
            x = layout(a, kind)
            out = _out(op, x, shape[0])
            R.reduce_rows(op, x, out)
            close(out, _ref(op, x), dtype, 1e-4 if op == "prod" else None)


@pytest.mark.parametrize("op", ["sum", "prod", "all", "any"])
def test_reduce_empty(op):
    for dtype in ["float32", "int64"]:
        x = np.empty((3, 0), dtype)
        out = _out(op, x, 3)
        R.reduce_rows(op, x, out)
        np.testing.assert_array_equal(out, _ref(op, x))
        R.reduce_rows(op, np.empty((0, 4), dtype), _out(op, x, 0))  # M = 0: nothing to do


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_reduce_nan(op, dtype):
    a = data(dtype, (4, 5000), 2)
    a[0, 7] = np.nan  # first block
    a[1, 4500] = np.nan  # a later block
    a[2, :] = np.nan
    a[3, 0] = np.inf if op == "max" else -np.inf
    for kind in ["c", "t"]:
        out = np.empty(4, dtype)
        R.reduce_rows(op, layout(a, kind), out)
        want = getattr(torch, "a" + op)(tt(a), 1).numpy()
        np.testing.assert_array_equal(out, want)
    b = np.array([[np.nan, 1.0, np.inf]], dtype)
    out = np.empty(1, bool)
    R.reduce_rows("all", b, out)
    assert out[0]  # NaN is truthy


def test_sum_accuracy_16m():
    """Blocked float32 sum of 16M values stays within 1e-5 of the float64 sum (a plain running
    float32 sum is off by ~1e-3 here)."""
    a = np.random.default_rng(3).random(1 << 24, dtype=np.float32)
    want = a.sum(dtype=np.float64)
    out = np.empty(1, np.float32)
    R.reduce_rows("sum", a.reshape(1, -1), out)
    assert abs(out[0] - want) / want < 1e-5
    cols = a.reshape(-1, 8)  # dim=0 of a tall matrix: the column path, 2M rows
    out8 = np.empty(8, np.float32)
    R.reduce_rows("sum", cols.T, out8)
    want8 = cols.sum(0, dtype=np.float64)
    assert np.max(np.abs(out8 - want8) / want8) < 1e-5


@pytest.mark.parametrize(
    "op, dtype",
    [(op, "float32") for op in ["sum", "prod", "max", "min", "all"]]
    + [("max", "uint8"), ("any", "bool")],
)
def test_reduce_big_paths(op, dtype):
    """Column tiles (serial and threaded, + split K) and threaded rows (split K for M = 1, 3)."""
    shapes = [(64, 100), (700, 600), (2, 150_000), (1, 300_001), (3, 200_000)]
    for shape in shapes:
        a = data(dtype, shape, 4, -3, 4) if op == "prod" else data(dtype, shape, 4)
        if op == "prod":
            a = (1 + 1e-5 * a).astype(dtype)
        if dtype == "float32" and op in ("max", "min"):
            a[-1, -5] = np.nan
        for kind in ["c", "t"]:
            x = layout(a, kind)
            out = _out(op, x, shape[0])
            R.reduce_rows(op, x, out)
            if op == "sum" and dtype == "float32":  # error relative to sum(|x|), not to the sum
                want = x.sum(1, dtype=np.float64)
                assert np.all(np.abs(out - want) <= 1e-6 * np.abs(x).sum(1, dtype=np.float64))
            elif op == "prod":  # float32 rounding drifts ~1e-8 per factor, torch's too
                np.testing.assert_allclose(out, x.prod(1, dtype=np.float64), rtol=3e-3)
            else:
                close(out, _ref(op, x), dtype)


@settings(deadline=None, max_examples=25, derandomize=True)
@given(
    m=st.integers(0, 9),
    k=st.integers(0, 70),
    s0=st.sampled_from([1, 2, -1]),
    s1=st.sampled_from([1, 3, -2]),
    tr=st.booleans(),
)
def test_sum_any_strides(m, k, s0, s1, tr):
    base = data("float64", (abs(s0) * m + 1, abs(s1) * k + 1), 5)
    x = base[::s0, ::s1][:m, :k]
    x = np.ascontiguousarray(x.T).T if tr else x
    out = np.empty(x.shape[0])
    R.reduce_rows("sum", x, out)
    np.testing.assert_allclose(out, x.sum(1), atol=1e-12)


# ---------------------------------------------------------------- arg_reduce_rows
@pytest.mark.parametrize("dtype", DTYPES)
def test_argmax_argmin(dtype):
    a = data(dtype, (6, 50), 6, -3, 3)  # many ties: first occurrence must win
    for op in ["max", "min"]:
        for kind in LAYOUTS:
            x = layout(a, kind)
            vals, idx = np.empty(6, x.dtype), np.empty(6, np.int64)
            R.arg_reduce_rows(op, x, vals, idx)
            ref = getattr(np, "arg" + op)(x, axis=1)
            np.testing.assert_array_equal(idx, ref)
            np.testing.assert_array_equal(vals, x[np.arange(6), ref])
            R.arg_reduce_rows(op, x, None, idx)
            np.testing.assert_array_equal(idx, ref)


def test_argmax_nan_and_parallel():
    a = data("float32", (3, 400_000), 7)
    a[0, [10, 20]] = np.nan  # the first NaN wins, as in torch
    a[1, 350_000] = np.nan
    a[2, 123_456] = 99.0
    a[2, 223_456] = 99.0
    for x in [a, a[:2].T.copy().T, layout(a[:, :1000], "t")]:
        for op in ["max", "min"]:
            vals, idx = np.empty(x.shape[0], np.float32), np.empty(x.shape[0], np.int64)
            R.arg_reduce_rows(op, x, vals, idx)
            want = getattr(torch, op)(tt(x), 1)
            np.testing.assert_array_equal(idx, want.indices.numpy())
            np.testing.assert_array_equal(vals, want.values.numpy())


# ---------------------------------------------------------------- var_rows
@pytest.mark.parametrize("dtype", FLOATS)
def test_var(dtype):
    a = (1e4 + data(dtype, (7, 300), 8)).astype(dtype)  # a large mean: one-pass formulas fail
    for kind in LAYOUTS:
        x = layout(a, kind)
        for corr in [0, 1, 2.5]:
            out, mean = np.empty(7, dtype), np.empty(7, dtype)
            R.var_rows(x, out, corr, mean)
            want = torch.var_mean(tt(x).double(), 1, correction=corr)
            np.testing.assert_allclose(
                out, want[0].numpy(), rtol=1e-5 if dtype == "float32" else 1e-10
            )
            np.testing.assert_allclose(mean, want[1].numpy(), rtol=1e-7)


@pytest.mark.filterwarnings("ignore:var")  # torch warns on dof <= 0, the case under test
def test_var_edges_and_parallel():
    x = np.array([[1.0, 2.0], [3.0, 3.0]], np.float32)
    out = np.empty(2, np.float32)
    for corr in [2, 3]:  # dof <= 0: ssd/0 -> inf, 0/0 -> nan (torch)
        R.var_rows(x, out, corr)
        np.testing.assert_array_equal(out, torch.var(tt(x), 1, correction=corr).numpy())
    R.var_rows(np.empty((2, 0), np.float32), out, 1)
    assert np.isnan(out).all()
    a = data("float64", (2, 300_000), 9) * 3 + 7
    for x in [a, a[:1], layout(data("float64", (600, 700), 9), "t")]:
        out, mean = np.empty(x.shape[0]), np.empty(x.shape[0])
        R.var_rows(x, out, 1, mean)
        np.testing.assert_allclose(out, x.var(1, ddof=1), rtol=1e-10)
        np.testing.assert_allclose(mean, x.mean(1), rtol=1e-12)


# ---------------------------------------------------------------- softmax family
SPECIAL = [
    [0.0, 1.0, 2.0, 3.0],
    [-np.inf, -np.inf, -np.inf, -np.inf],
    [-np.inf, 1.0, -np.inf, 2.0],
    [np.inf, 1.0, 0.0, 0.0],
    [np.nan, 1.0, 0.0, 0.0],
    [1e30, -1e30, 0.0, 5.0],
]


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_logsumexp(dtype):
    rtol = 1e-5 if dtype == "float32" else 1e-12
    a = (data(dtype, (9, 3001), 10) * 10).astype(dtype)
    for x in [layout(a, kind) for kind in LAYOUTS] + [np.array(SPECIAL, dtype)]:
        m, k = x.shape
        for fn, ref in [(SM.softmax_rows, torch.softmax), (SM.log_softmax_rows, torch.log_softmax)]:
            out = np.empty((m, k), dtype)
            fn(x, out)
            np.testing.assert_allclose(out, ref(tt(x), 1).numpy(), rtol=rtol, atol=rtol)
        out = np.empty(m, dtype)
        R.logsumexp_rows(x, out)
        np.testing.assert_allclose(out, torch.logsumexp(tt(x), 1).numpy(), rtol=rtol)
    out = np.empty(2, dtype)
    SM.logsumexp_rows(np.empty((2, 0), dtype), out)
    assert (out == -np.inf).all()


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_backward(dtype):
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for shape in [(5, 7), (600, 1000)]:  # the second one runs on threads
        xt = torch.from_numpy(data(dtype, shape, 11)).requires_grad_()
        g = data(dtype, shape, 12)
        for fwd, bwd in [
            (torch.softmax, SM.softmax_backward_rows),
            (torch.log_softmax, SM.log_softmax_backward_rows),
        ]:
            y = fwd(xt, 1)
            (want,) = torch.autograd.grad(y, xt, torch.from_numpy(g))
            out = np.empty(shape, dtype)
            bwd(y.detach().numpy(), layout(g, "t"), out)
            np.testing.assert_allclose(out, want.numpy(), rtol=rtol, atol=rtol)
    x = data("float32", (600, 1000), 13)
    out = np.empty_like(x)
    SM.softmax_rows(x, out)
    np.testing.assert_allclose(out, torch.softmax(tt(x), 1).numpy(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- scans
@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum_cumprod(dtype):
    a = data(dtype, (6, 40), 14, -2, 3)
    if dtype in FLOATS:
        a = (1 + 0.05 * a).astype(dtype)
    odt = np.int64 if a.dtype.kind in "biu" else a.dtype
    for kind in LAYOUTS:
        x = layout(a, kind)
        for op in ["cumsum", "cumprod"]:
            out = np.empty(x.shape, odt)
            SC.scan_rows(op, x, out)
            close(out, getattr(torch, op)(tt(x), 1).numpy(), dtype)
    SC.scan_rows("cumsum", np.empty((3, 0), dtype), np.empty((3, 0), odt))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cummax_cummin(dtype):
    a = data(dtype, (6, 40), 15, -3, 3)  # ties move the index forward (torch)
    if dtype in FLOATS:
        a[1, [3, 9]] = np.nan
    for kind in LAYOUTS:
        x = layout(a, kind)
        for op in ["cummax", "cummin"]:
            vals, idx = np.empty(x.shape, x.dtype), np.empty(x.shape, np.int64)
            SC.scan_arg_rows(op, x, vals, idx)
            want = getattr(torch, op)(tt(x), 1)
            np.testing.assert_array_equal(vals, want.values.numpy())
            np.testing.assert_array_equal(idx, want.indices.numpy())


def test_scan_parallel():
    a = data("float32", (300, 1000), 16)
    for x in [a, layout(a, "t")]:
        out = np.empty(x.shape, np.float32)
        SC.scan_rows("cumsum", x, out)
        np.testing.assert_allclose(out, torch.cumsum(tt(x), 1).numpy(), rtol=1e-5, atol=1e-4)
        vals, idx = np.empty_like(out), np.empty(x.shape, np.int64)
        SC.scan_arg_rows("cummax", x, vals, idx)
        np.testing.assert_array_equal(idx, torch.cummax(tt(x), 1).indices.numpy())


# ---------------------------------------------------------------- sort / topk / median
@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_stable(dtype):
    a = data(dtype, (5, 100), 17, -4, 4)
    if dtype in FLOATS:
        a[0, [5, 50]] = np.nan
        a[1, 7] = -np.inf
    for kind in ["c", "t", "step"]:
        x = layout(a, kind)
        for desc in [False, True]:
            vals, idx = np.empty(x.shape, x.dtype), np.empty(x.shape, np.int64)
            SO.sort_rows(x, vals, idx, desc, True)
            want = torch.sort(tt(x), dim=1, descending=desc, stable=True)
            np.testing.assert_array_equal(vals, want.values.numpy())
            np.testing.assert_array_equal(idx, want.indices.numpy())


@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8"])
def test_topk(dtype):
    a = data(dtype, (4, 500), 18, -20, 20)
    if dtype == "float32":
        a[0, 9] = np.nan  # NaN counts as the largest
    for k in [1, 5, 100, 500]:
        for largest in [True, False]:
            vals, idx = np.empty((4, k), a.dtype), np.empty((4, k), np.int64)
            SO.topk_rows(layout(a, "t"), k, largest, True, vals, idx)
            want = torch.topk(tt(a), k, 1, largest=largest)
            np.testing.assert_array_equal(vals, want.values.numpy())
            np.testing.assert_array_equal(np.take_along_axis(a, idx, 1), vals)
            assert all(len(set(r)) == k for r in idx)


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "bool"])  # torch lacks bool median
def test_median(dtype):
    a = data(dtype, (7, 31), 19, -5, 5)
    if dtype in FLOATS:
        a[2, [4, 20]] = np.nan
    for n in [31, 30, 1]:  # odd, even (lower median), single
        for kind in ["c", "t"]:
            x = layout(a[:, :n], kind)
            vals, idx = np.empty(7, x.dtype), np.empty(7, np.int64)
            SO.median_rows(x, vals, idx)
            want = torch.median(tt(x), 1)
            np.testing.assert_array_equal(vals, want.values.numpy())
            np.testing.assert_array_equal(x[np.arange(7), idx], vals)
            if dtype in FLOATS:
                assert idx[2] == want.indices[2]  # the first NaN


def test_sort_parallel():
    a = data("float32", (200, 2000), 20)
    vals, idx = np.empty(a.shape, np.float32), np.empty(a.shape, np.int64)
    SO.sort_rows(a, vals, idx, True, False)
    np.testing.assert_array_equal(vals, -np.sort(-a, 1))
    v5, i5 = np.empty((200, 5), np.float32), np.empty((200, 5), np.int64)
    SO.topk_rows(a, 5, True, True, v5, i5)
    np.testing.assert_array_equal(v5, vals[:, :5])
    mv, mi = np.empty(200, np.float32), np.empty(200, np.int64)
    SO.median_rows(a, mv, mi)
    np.testing.assert_array_equal(mv, torch.median(tt(a), 1).values.numpy())
