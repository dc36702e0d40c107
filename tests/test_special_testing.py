"""engine.special against torch.special (values, gradients, gradcheck) and engine.testing
against torch.testing (assert_close's verdicts and messages, make_tensor)."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

torch = pytest.importorskip("torch")

_X = np.concatenate([np.linspace(-30, 30, 61), [-0.3, 0.1, 1.5, 2.5, 19.9, 20.1, 25.9, 26.1,
                                                100.0]])
_P = _X[_X > 0]
_U = np.linspace(-0.999999, 0.999999, 41)
_PR = np.array([1e-10, 1e-3, 0.01, 0.3, 0.5, 0.9, 0.999999])

# (name, fn(M, x), input values, rtol float64)
SPECIAL = [
    ("erf", lambda M, x: M.special.erf(x), _X, 1e-12),
    ("erfc", lambda M, x: M.special.erfc(x), _X, 1e-12),
    ("erfinv", lambda M, x: M.special.erfinv(x), _U, 1e-12),
    ("erfcx", lambda M, x: M.special.erfcx(x), _X, 1e-12),
    ("expit", lambda M, x: M.special.expit(x), _X, 1e-12),
    ("logit_eps", lambda M, x: M.special.logit(x, eps=1e-3), _U, 1e-12),
    ("exp2", lambda M, x: M.special.exp2(x), _X, 1e-12),
    ("expm1", lambda M, x: M.special.expm1(x), _X, 1e-12),
    ("log1p", lambda M, x: M.special.log1p(x), _P, 1e-12),
    ("gammaln", lambda M, x: M.special.gammaln(x), _P, 1e-12),
    ("lgamma_neg", lambda M, x: M.lgamma(x), np.array([-2.5, -0.3, 0.7]), 1e-12),
    ("digamma", lambda M, x: M.special.digamma(x), _X[_X != np.round(_X)], 1e-10),
    ("psi", lambda M, x: M.special.psi(x), _P, 1e-10),
    ("polygamma1", lambda M, x: M.special.polygamma(1, x), _P, 1e-8),  # torch's: ~5e-10
    ("polygamma3", lambda M, x: M.polygamma(3, x), _P, 1e-10),
    ("polygamma0", lambda M, x: M.special.polygamma(0, x), _P, 1e-10),
    ("multigammaln", lambda M, x: M.special.multigammaln(x, 3), _P[_P > 1.5], 1e-12),
    ("i0", lambda M, x: M.special.i0(x), _X, 1e-12),
    ("i0e", lambda M, x: M.special.i0e(x), _X, 1e-12),
    ("i1", lambda M, x: M.special.i1(x), _X, 1e-12),
    ("i1e", lambda M, x: M.special.i1e(x), _X, 1e-12),
    ("ndtr", lambda M, x: M.special.ndtr(x), _X[_X > -3], 1e-12),  # torch loses the tail
    ("ndtri", lambda M, x: M.special.ndtri(x), _PR, 1e-8),
    ("log_ndtr", lambda M, x: M.special.log_ndtr(x), _X, 1e-12),
    ("sinc", lambda M, x: M.special.sinc(x), _X, 1e-12),
    ("round", lambda M, x: M.special.round(x, decimals=1), _X / 7, 1e-12),
    ("entr", lambda M, x: M.special.entr(x), _X, 1e-12),
    ("xlogy", lambda M, x: M.special.xlogy(x, x.abs() + 0.5), _X, 1e-12),
    ("xlog1py", lambda M, x: M.special.xlog1py(x, x.abs()), _X, 1e-12),
    ("zeta", lambda M, x: M.special.zeta(x.abs() + 1.1, x), _X, 1e-12),
    ("zeta_scalar_q", lambda M, x: M.special.zeta(x.abs() + 1.5, 2.0), _X, 1e-12),
    ("xlog1py_zero", lambda M, x: M.special.xlog1py(x * 0, x * 0 - 1), _X, 1e-12),
    ("softmax", lambda M, x: M.special.softmax(x.reshape(2, -1), 1), _X[:60], 1e-12),
    ("log_softmax", lambda M, x: M.special.log_softmax(x.reshape(2, -1), 0), _X[:60], 1e-12),
    ("logsumexp", lambda M, x: M.special.logsumexp(x.reshape(2, -1), 1), _X[:60], 1e-12),
    ("tensor_methods", lambda M, x: x.erfc() + x.lgamma() + x.digamma() + x.i0()
     + x.polygamma(2) + x.mvlgamma(2) + (x / 200).erfinv(), _P[_P > 1], 1e-10),
]


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,vals,rtol", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_special_values_vs_torch(name, fn, vals, rtol, dt):
    t = fn(torch, torch.tensor(vals, dtype=getattr(torch, dt))).numpy()
    e = fn(engine, engine.tensor(vals, dtype=getattr(engine, dt))).numpy()
    assert e.dtype == t.dtype and e.shape == t.shape
    atol = 1e-14 if name in ("log_softmax", "softmax") else 1e-300   # engine's softmax
    tol = {"rtol": rtol, "atol": atol} if dt == "float64" else {"rtol": 2e-5, "atol": 1e-6}
    np.testing.assert_allclose(e, t, equal_nan=True, **tol)


# gradients: finite inputs away from poles and kinks
GRADS = [
    ("erfc", lambda M, x: M.special.erfc(x), A := np.linspace(-2, 2, 9)),
    ("erfinv", lambda M, x: M.special.erfinv(x), np.linspace(-0.9, 0.9, 9)),
    ("erfcx", lambda M, x: M.special.erfcx(x), np.linspace(-3, 30, 9)),
    ("lgamma", lambda M, x: M.special.gammaln(x), np.linspace(0.2, 9, 9)),
    ("digamma", lambda M, x: M.special.digamma(x), np.linspace(0.2, 9, 9)),
    ("polygamma2", lambda M, x: M.special.polygamma(2, x), np.linspace(0.2, 9, 9)),
    ("i0", lambda M, x: M.special.i0(x), np.linspace(-25, 25, 9)),
    ("i0e", lambda M, x: M.special.i0e(x), np.linspace(-25, 25.5, 9)),
    ("i1", lambda M, x: M.special.i1(x), np.linspace(-25, 25, 9)),
    ("i1e", lambda M, x: M.special.i1e(x), np.linspace(-25, 25, 9)),
    ("ndtr", lambda M, x: M.special.ndtr(x), A),
    ("ndtri", lambda M, x: M.special.ndtri(x), np.linspace(0.05, 0.95, 9)),
    ("log_ndtr", lambda M, x: M.special.log_ndtr(x), np.linspace(-8, 4, 9)),
    ("entr", lambda M, x: M.special.entr(x), np.linspace(0.1, 3, 9)),
    ("xlog1py", lambda M, x: M.special.xlog1py(x, x.abs()), A),
    ("zeta_q", lambda M, x: M.special.zeta(3.5, x), np.linspace(0.3, 9, 9)),
    ("multigammaln", lambda M, x: M.special.multigammaln(x, 2), np.linspace(1, 5, 9)),
]


@pytest.mark.parametrize("name,fn,vals", GRADS, ids=[c[0] for c in GRADS])
def test_special_grads_vs_torch_and_gradcheck(name, fn, vals):
    res = []
    for M in (torch, engine):
        x = M.tensor(vals, dtype=M.float64, requires_grad=True)
        (g,) = M.autograd.grad(fn(M, x).sum(), x)
        res.append(g.numpy())
    np.testing.assert_allclose(res[1], res[0], rtol=1e-7, atol=1e-12)
    x = engine.tensor(vals[:4], dtype=engine.float64, requires_grad=True)
    assert gradcheck(lambda t: fn(engine, t), (x,))


def test_ndtr_tail_is_accurate():
    import math
    x = [-11.0, -20.0, -30.0]
    want = [0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    got = engine.special.ndtr(engine.tensor(x, dtype=engine.float64)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(engine.special.log_ndtr(engine.tensor(x, dtype=engine.float64))
                               .numpy(), np.log(want), rtol=1e-12)


def test_special_errors_and_top_level():
    with pytest.raises(RuntimeError, match="negative n"):
        engine.special.polygamma(-1, engine.ones(2))
    with pytest.raises(RuntimeError, match="greater than"):
        engine.special.multigammaln(engine.tensor([0.5]), 3)
    with pytest.raises(TypeError):
        engine.special.erfc([1.0])
    # integer inputs promote to the default float, as torch
    e = engine.special.erfc(engine.tensor([0, 1]))
    t = torch.special.erfc(torch.tensor([0, 1]))
    assert str(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    for n in ("erfc", "erfinv", "lgamma", "digamma", "polygamma", "mvlgamma", "i0"):
        assert callable(getattr(engine, n))


# ----------------------------------------------------------------------------- testing
def _msg(M, *a, **k):
    try:
        M.testing.assert_close(*a, **k)
    except Exception as e:  # noqa: BLE001 (the type is part of the comparison)
        return type(e).__name__, str(e).replace("engine._tensor.Tensor", "torch.Tensor")
    return None


CLOSE = [
    lambda M: ((M.tensor([1.0, 2, 3]), M.tensor([1.0, 2.5, 3])), {}),
    lambda M: ((M.tensor([1, 2, 3]), M.tensor([1, 4, 3])), {}),
    lambda M: ((1.0, 2.0), {}),
    lambda M: ((1, 2), {}),
    lambda M: ((M.tensor(1.0), 1.0), {}),
    lambda M: ((M.tensor([1.0]), M.tensor([1.0], dtype=M.float64)), {}),
    lambda M: ((M.tensor([1.0]), M.tensor([1.0], dtype=M.float64)), {"check_dtype": False}),
    lambda M: ((M.tensor([1.0]), M.tensor([1.0, 2])), {}),
    lambda M: (([M.tensor([1.0]), M.tensor([2.0])], [M.tensor([1.0]), M.tensor([3.0])]), {}),
    lambda M: (({"a": M.tensor([1.0])}, {"a": M.tensor([2.0])}), {}),
    lambda M: (({"a": 1}, {"b": 1}), {}),
    lambda M: (([1, 2], [1, 2, 3]), {}),
    lambda M: ((M.tensor([float("nan")]), M.tensor([float("nan")])), {}),
    lambda M: ((M.tensor([float("nan")]), M.tensor([float("nan")])), {"equal_nan": True}),
    lambda M: ((M.tensor([1.0]), M.tensor([2.0])), {"rtol": 0.1}),
    lambda M: ((M.tensor([1.0]), M.tensor([2.0])), {"rtol": 0.6, "atol": 0.0}),
    lambda M: ((M.tensor([1.0]), M.tensor([2.0])), {"msg": "custom"}),
    lambda M: ((M.tensor([[1.0, 2], [3, 4]]), M.tensor([[1.0, 2], [3, 5]])), {}),
    lambda M: ((M.tensor(1.0), M.tensor(2.0)), {}),
    lambda M: ((M.tensor([True]), M.tensor([False])), {}),
    lambda M: ((1.0, 1), {}),
    lambda M: ((M.tensor([1.0, 2]), [1.0, 2]), {}),
    lambda M: ((np.array([1.0, 2]), np.array([1.0, 3])), {}),
    lambda M: ((M.tensor([0.0]), M.tensor([1e-6])), {}),
    lambda M: ((M.tensor([1.0, float("inf")]), M.tensor([1.0, float("inf")])), {}),
    lambda M: ((M.tensor([1.0, float("inf")]), M.tensor([1.0, -float("inf")])), {}),
    lambda M: (((M.tensor([1.0]), 2), (M.tensor([1.0]), 2)), {}),
    lambda M: ((M.tensor([1.0, 2.0]), M.tensor([1.0, 2.0 + 1e-6])), {}),
    lambda M: ((M.tensor([1.0, 2.0]).t(), M.tensor([1.0, 2.0])), {"check_stride": True}),
]


@pytest.mark.parametrize("i", range(len(CLOSE)))
def test_assert_close_matches_torch(i):
    ta, tk = CLOSE[i](torch)
    ea, ek = CLOSE[i](engine)
    assert _msg(engine, *ea, **ek) == _msg(torch, *ta, **tk)


def test_assert_close_callable_msg_and_allclose():
    with pytest.raises(AssertionError, match="^wrapped: Tensor-likes"):
        engine.testing.assert_close(engine.tensor([1.0]), engine.tensor([2.0]),
                                    msg=lambda m: "wrapped: " + m)
    with pytest.warns(FutureWarning):
        engine.testing.assert_allclose(engine.tensor([1.0, 2.0]), [1.0, 2.0])
    with pytest.warns(FutureWarning), pytest.raises(AssertionError):
        engine.testing.assert_allclose(engine.tensor([1.0, 2.0]), [1.0, 2.5])


def test_make_tensor():
    mt = engine.testing.make_tensor
    x = mt(3, 4, dtype=engine.float32, low=-2, high=3)
    assert tuple(x.shape) == (3, 4) and x.dtype is engine.float32
    assert (x >= -2).all() and (x <= 3).all()
    y = mt((2, 5), dtype=engine.int64, device="cpu", exclude_zero=True)
    assert y.dtype is engine.int64 and not (y == 0).any()
    assert ((y >= -9) & (y < 10)).all()
    z = mt(4, 6, dtype=engine.float64, noncontiguous=True, requires_grad=True)
    assert not z.is_contiguous() and z.requires_grad and z.is_leaf
    assert tuple(z.shape) == (4, 6)
    b = mt(7, dtype=engine.bool)
    assert b.dtype is engine.bool
    u = mt(50, dtype=engine.uint8)
    assert (u >= 0).all() and (u < 10).all()
    with pytest.raises(ValueError, match="low"):
        mt(2, dtype=engine.float32, low=3, high=1)
    with pytest.raises(ValueError, match="requires_grad"):
        mt(2, dtype=engine.int64, requires_grad=True)
