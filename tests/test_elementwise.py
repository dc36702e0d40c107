"""The elementwise op table against numpy (and torch when installed), on awkward layouts,
with float64 finite-difference gradient checks of every differentiable op."""

import math

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None

POS = "pos"      # domain: strictly positive
UNIT = "unit"    # (-0.9, 0.9)
ANY = "any"
AWAY0 = "away0"  # |x| > 0.1, avoids kinks at 0
# name, numpy reference, domain, differentiable
UNARY = [
    ("neg", np.negative, ANY, True), ("abs", np.abs, AWAY0, True), ("exp", np.exp, ANY, True),
    ("exp2", np.exp2, ANY, True), ("expm1", np.expm1, ANY, True), ("log", np.log, POS, True),
    ("log2", np.log2, POS, True), ("log10", np.log10, POS, True),
    ("log1p", np.log1p, POS, True), ("sqrt", np.sqrt, POS, True),
    ("rsqrt", lambda x: 1 / np.sqrt(x), POS, True),
    ("reciprocal", lambda x: 1 / x, AWAY0, True), ("square", np.square, ANY, True),
    ("sin", np.sin, ANY, True), ("cos", np.cos, ANY, True), ("tan", np.tan, UNIT, True),
    ("asin", np.arcsin, UNIT, True), ("acos", np.arccos, UNIT, True),
    ("atan", np.arctan, ANY, True), ("sinh", np.sinh, ANY, True), ("cosh", np.cosh, ANY, True),
    ("tanh", np.tanh, ANY, True), ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), ANY, True),
    ("relu", lambda x: np.maximum(x, 0), AWAY0, True), ("sign", np.sign, AWAY0, True),
    ("floor", np.floor, AWAY0, False), ("ceil", np.ceil, AWAY0, False),
    ("round", np.round, AWAY0, False), ("trunc", np.trunc, AWAY0, False),
    ("erf", lambda x: np.vectorize(math.erf)(x), ANY, True),
]
BINARY = [
    ("add", np.add, ANY), ("sub", np.subtract, ANY), ("mul", np.multiply, ANY),
    ("div", np.divide, AWAY0), ("maximum", np.maximum, ANY), ("minimum", np.minimum, ANY),
    ("atan2", np.arctan2, AWAY0), ("pow", np.power, POS),
]


def _data(domain, shape, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    if domain == POS:
        a = rng.uniform(0.2, 2.0, shape)
    elif domain == UNIT:
        a = rng.uniform(-0.9, 0.9, shape)
    elif domain == AWAY0:
        a = rng.uniform(0.2, 2.0, shape) * rng.choice([-1, 1], shape)
    else:
        a = rng.standard_normal(shape)
    return a.astype(dtype)


def _layouts(a):
    """The same values as contiguous, permuted, sliced-with-offset-and-step views."""
    t = engine.tensor(a)
    yield "contig", t, a
    if a.ndim >= 2:
        big = np.zeros((a.shape[1] * 2 + 1, a.shape[0] + 1), a.dtype)
        big[1::2, 1:] = a.T
        v = engine.tensor(big)[1::2, 1:].t()
        yield "strided", v, a
        yield "permuted", engine.tensor(np.ascontiguousarray(a.T)).t(), a


@pytest.mark.parametrize("name,ref,domain,diff", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_forward(name, ref, domain, diff, dtype):
    a = _data(domain, (5, 7), 1, dtype)
    for label, t, arr in _layouts(a):
        got = getattr(t, name)().numpy()
        tol = 2e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, ref(arr.astype(np.float64)), rtol=tol * 5, atol=tol,
                                   err_msg=f"{name} {label}")
        assert got.dtype == dtype


@pytest.mark.parametrize("name,ref,domain,diff", [u for u in UNARY if u[3]],
                         ids=[u[0] for u in UNARY if u[3]])
def test_unary_gradcheck(name, ref, domain, diff):
    x = engine.tensor(_data(domain, (2, 3), 2), requires_grad=True)
    assert gradcheck(lambda t: getattr(t, name)(), (x,))


@pytest.mark.parametrize("name,ref,domain", BINARY, ids=[b[0] for b in BINARY])
def test_binary_broadcast_and_grad(name, ref, domain):
    a = _data(domain, (3, 1, 4), 3)
    b = _data(domain, (5, 1), 4)
    ta = engine.tensor(a, requires_grad=True)
    tb = engine.tensor(b, requires_grad=True)
    out = getattr(ta, name)(tb)
    np.testing.assert_allclose(out.detach().numpy(), ref(a, b), rtol=1e-12)
    if torch is not None:
        xa = torch.tensor(a, requires_grad=True)
        xb = torch.tensor(b, requires_grad=True)
        getattr(xa, name)(xb).sum().backward()
        out.sum().backward()
        np.testing.assert_allclose(ta.grad.numpy(), xa.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(tb.grad.numpy(), xb.grad.numpy(), rtol=1e-10)
    assert gradcheck(lambda x, y: getattr(x, name)(y), (ta, tb))


def test_scalar_operands_and_reversed():
    x = engine.tensor([1.0, 2.0, 4.0])
    np.testing.assert_allclose((2 - x).numpy(), [1, 0, -2])
    np.testing.assert_allclose((1 / x).numpy(), [1, 0.5, 0.25])
    np.testing.assert_allclose((2 ** x).numpy(), [2, 4, 16])
    np.testing.assert_allclose((x ** 0.5).numpy(), np.sqrt([1, 2, 4]), rtol=1e-6)
    np.testing.assert_allclose((x // 3).numpy(), [0, 0, 1])
    np.testing.assert_allclose((-x % 3).numpy(), np.mod(-np.array([1, 2, 4.0]), 3))


def test_type_promotion():
    i = engine.tensor([1, 2, 3])
    f = engine.tensor([1.0, 2.0, 3.0])
    assert (i + 1).dtype == engine.int64
    assert (i + 1.5).dtype == engine.float32
    assert (i / 2).dtype == engine.float32
    assert (i + f).dtype == engine.float32
    assert (f.double() + f).dtype == engine.float64
    assert (i > 1).dtype == engine.bool
    assert (engine.tensor([1], dtype=engine.int8) + engine.tensor([1], dtype=engine.uint8)
            ).dtype == engine.int16
    # 0-d tensors rank below dimensioned tensors of the same category
    assert (f + engine.tensor(1.0, dtype=engine.float64)).dtype == engine.float32
    assert (i + engine.tensor(1.0)).dtype == engine.float32
    assert engine.result_type(i, 1.0) == engine.float32
    if torch is not None:
        ti = torch.tensor([1, 2], dtype=torch.int32)
        assert str((ti * 2.5).dtype) == str((engine.tensor([1, 2], dtype=engine.int32) * 2.5
                                             ).dtype)


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add.*\[2, 3\].*\[4\]"):
        engine.ones(2, 3) + engine.ones(4)


def test_zero_size_and_zero_dim():
    e = engine.ones(0, 3)
    assert (e * 2).shape == (0, 3)
    s = engine.tensor(3.0)
    assert (s * s).item() == 9.0
    assert (engine.ones(2, 1) + s).shape == (2, 1)


def test_comparisons_and_logical():
    a = engine.tensor([1, 2, 3])
    b = engine.tensor([3, 2, 1])
    assert (a == b).tolist() == [False, True, False]
    assert (a < b).tolist() == [True, False, False]
    assert engine.logical_and(a > 1, b > 1).tolist() == [False, True, False]
    x = engine.tensor([float("nan"), float("inf"), 1.0])
    assert x.isnan().tolist() == [True, False, False]
    assert x.isinf().tolist() == [False, True, False]
    assert engine.nan_to_num(x).tolist()[0] == 0.0


def test_where_clamp_lerp():
    x = engine.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = engine.where(x > 0, x, 0.0)
    assert y.tolist() == [0.0, 0.5, 3.0]
    c = x.clamp(-1, 1)
    assert c.tolist() == [-1.0, 0.5, 1.0]
    c.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    l = engine.lerp(engine.zeros(2), engine.ones(2), 0.25)
    assert l.tolist() == [0.25, 0.25]


def test_inplace_writes_through_views():
    x = engine.zeros(3, 4)
    v = x[:, 1]
    v += 5
    assert x[:, 1].tolist() == [5, 5, 5]
    x.t().mul_(2)
    assert x.sum().item() == 30
    x[0] = engine.tensor([1.0, 2.0, 3.0, 4.0])
    assert x[0].tolist() == [1, 2, 3, 4]


def test_large_parallel_path_matches_numpy():
    a = np.random.default_rng(0).standard_normal(1 << 18).astype(np.float32)
    t = engine.from_numpy(a)
    np.testing.assert_allclose((t.exp() * t + 1).numpy(), np.exp(a) * a + 1, rtol=2e-6)
    m = engine.from_numpy(a.reshape(512, 512)).t()
    np.testing.assert_allclose((m + 1).numpy(), a.reshape(512, 512).T + 1)


@pytest.mark.parametrize("n", [1 << 17, 300_001])
def test_parallel_kernels_with_broadcast_scalars(n):
    """Above the parallel threshold: fills (both zip operands scalars) and ops on an expanded
    one-element tensor must not read past the 1-element buffers."""
    assert engine.full((n,), 1.5).sum().item() == pytest.approx(1.5 * n)
    assert engine.ones(n).sum().item() == n and engine.zeros(n).abs().sum().item() == 0
    t = engine.empty(n).fill_(2.0)
    assert float(t.min()) == float(t.max()) == 2.0
    x = engine.tensor([2.0]).expand(n)
    np.testing.assert_allclose(x.exp().numpy(), np.full(n, np.exp(np.float32(2.0))), rtol=1e-6)
    assert float(x.neg().max()) == -2.0 and float(x.clone().min()) == 2.0
    assert float((x + engine.tensor([1.0]).expand(n)).min()) == 3.0
