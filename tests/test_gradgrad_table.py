"""First and second derivatives of every differentiable op, on awkward layouts.

Each case is ``fn(M, *xs)`` written once for both ``engine`` and ``torch`` (``M``), with float64
inputs described by :class:`A` (shape, value domain, layout). The leaves are contiguous; the op
sees a permuted ('T'), step-2 offset-1 sliced ('S'), broadcast/expanded ('E') or 0-d view of
them, so the layout's own backward is exercised too. The harness squares the op's output, so
the op's backward is applied to a gradient that depends on the input and double backward goes
through the backward rule itself (also for linear ops, whose Hessian is zero).

* ``test_gradgrad``: ``gradcheck`` and ``gradgradcheck`` (finite differences, float64).
* ``test_torch_second_order``: first-order grads (create_graph=True) and the gradient of
  <grads, w> for a random ``w`` match torch's (skipped without torch).
* ``test_table_is_covered``: every elementwise table row with a backward and every node name
  recorded by ``record(...)`` in engine/ops and engine/nn is produced by some case, or listed
  in ``EXCLUDED`` with a reason.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck, gradgradcheck

ENGINE_DIR = pathlib.Path(engine.__file__).parent


# ----------------------------------------------------------------------------- inputs
class A:
    """A differentiable float64 input as the op sees it.

    ``L``: 'c' contiguous, 'T' all dims reversed (a permuted view), 'S' ``leaf[1::2]`` along
    dim 0 (step and offset), 'E' expanded from size 1 along dim 0 (stride 0, a broadcast).
    Values are uniform in [lo, hi]; ``pm`` gives them a random sign (|x| in [lo, hi]), which
    keeps them away from a kink at 0. ``vals`` fixes the values (shape is then vals.shape)."""

    def __init__(self, *shape, lo=-1.0, hi=1.0, L="c", pm=False, vals=None):
        self.shape, self.lo, self.hi, self.L, self.pm = tuple(shape), lo, hi, L, pm
        self.vals = None if vals is None else np.asarray(vals, dtype=np.float64)
        if self.vals is not None:
            self.shape = self.vals.shape
        assert L in "cTSE" and (L == "c" or self.shape), (L, shape)

    def leaf(self, rng) -> np.ndarray:
        s = self.shape
        if self.vals is not None:
            v = self.vals
            if self.L == "T":
                v = v.transpose()
            elif self.L == "S":
                full = np.zeros((2 * s[0] + 1,) + s[1:])
                full[1::2] = v
                v = full
            elif self.L == "E":
                v = v[:1]
            return np.ascontiguousarray(v)
        ls = {"c": lambda: s, "T": lambda: s[::-1], "S": lambda: (2 * s[0] + 1,) + s[1:],
              "E": lambda: (1,) + s[1:]}[self.L]()
        v = rng.uniform(self.lo, self.hi, ls)
        if self.pm:
            v = v * rng.choice([-1.0, 1.0], ls)
        return v

    def view(self, t):
        if self.L == "T":
            return t.permute(*reversed(range(t.ndim)))
        if self.L == "S":
            return t[1::2]
        if self.L == "E":
            return t.expand(*self.shape)
        return t


def P(*shape, L="c", lo=0.2, hi=1.0):
    """A positive input (domain of log, sqrt, pow...)."""
    return A(*shape, lo=lo, hi=hi, L=L)


def PM(*shape, L="c", lo=0.2, hi=1.0):
    """|x| in [lo, hi] with random signs: away from the kink of abs/relu/... at 0."""
    return A(*shape, lo=lo, hi=hi, L=L, pm=True)


def I(M, a):
    """An int64 constant tensor (indices, targets) in module M."""
    return M.tensor(np.asarray(a, dtype=np.int64))


def B(M, a):
    return M.tensor(np.asarray(a, dtype=bool))


def T(M, a):
    """A float64 constant tensor (no grad)."""
    return M.tensor(np.asarray(a, dtype=np.float64))


class Case:
    def __init__(self, name, fn, *specs, torch=True, ggc=True, tol=None, ttol=None, needs=None,
                 fd=True):
        self.name, self.fn, self.specs, self.torch, self.ggc = name, fn, specs, torch, ggc
        self.fd = fd                    # False: the rule is not the true derivative by design
        self.needs = needs              # "nn.functional.x": skipped while engine lacks it
        self.tol = tol or {}            # gradcheck / gradgradcheck options
        self.ttol = ttol or {}          # torch comparison tolerances

    def __repr__(self):
        return self.name


CASES: list[Case] = []

# Cases whose torch comparison is skipped: torch itself cannot take the second derivative.
TORCH_NO_SECOND_ORDER = {
    "hardsigmoid": "torch: derivative for aten::hardsigmoid_backward is not implemented",
    "multi_margin": "torch: derivative for aten::multi_margin_loss_backward is not implemented",
    "kron[T]": "torch's kron double backward calls .view on a non-contiguous grad and raises",
}


def case(name, fn, *specs, **kw):
    assert name not in {c.name for c in CASES}, name
    # a row's layout suffix ("[T]") moves when rows are added: match the base name too
    kw.setdefault("torch", name not in TORCH_NO_SECOND_ORDER
                  and name.split("[")[0] not in TORCH_NO_SECOND_ORDER)
    CASES.append(Case(name, fn, *specs, **kw))


def F(M):
    return M.nn.functional


# ----------------------------------------------------------------------------- elementwise
# unary table rows: (row name, fn, input). Layouts rotate through T, S, E and 0-d.
_U = [
    ("neg", lambda M, x: M.neg(x), A),
    ("abs", lambda M, x: x.abs(), PM),
    ("exp", lambda M, x: x.exp(), A),
    ("exp2", lambda M, x: M.exp2(x), A),
    ("expm1", lambda M, x: x.expm1(), A),
    ("log", lambda M, x: x.log(), P),
    ("log2", lambda M, x: x.log2(), P),
    ("log10", lambda M, x: x.log10(), P),
    ("log1p", lambda M, x: x.log1p(), P),
    ("sqrt", lambda M, x: x.sqrt(), P),
    ("rsqrt", lambda M, x: x.rsqrt(), P),
    ("reciprocal", lambda M, x: x.reciprocal(), P),
    ("square", lambda M, x: x.square(), A),
    ("sin", lambda M, x: x.sin(), A),
    ("cos", lambda M, x: x.cos(), A),
    ("tan", lambda M, x: x.tan(), A),
    ("asin", lambda M, x: (0.8 * x).asin(), A),
    ("acos", lambda M, x: (0.8 * x).acos(), A),
    ("atan", lambda M, x: x.atan(), A),
    ("asinh", lambda M, x: (2 * x).asinh(), A),
    ("acosh", lambda M, x: (1.5 + x).acosh(), P),
    ("atanh", lambda M, x: (0.8 * x).atanh(), A),
    ("sinh", lambda M, x: x.sinh(), A),
    ("cosh", lambda M, x: x.cosh(), A),
    ("tanh", lambda M, x: x.tanh(), A),
    ("sigmoid", lambda M, x: x.sigmoid(), A),
    ("logit", lambda M, x: (0.4 * x + 0.5).logit(), A),
    ("erf", lambda M, x: x.erf(), A),
    ("relu", lambda M, x: x.relu(), PM),
    ("relu6", lambda M, x: F(M).relu6(4 * x + 3), PM),
    ("gelu", lambda M, x: F(M).gelu(2 * x), A),
    ("gelu_tanh", lambda M, x: F(M).gelu(2 * x, approximate="tanh"), A),
    ("silu", lambda M, x: F(M).silu(2 * x), A),
    ("mish", lambda M, x: F(M).mish(2 * x), A),
    ("softplus", lambda M, x: F(M).softplus(3 * x, beta=2.0, threshold=3.0), PM),
    ("leaky_relu", lambda M, x: F(M).leaky_relu(x, 0.1), PM),
    ("elu", lambda M, x: F(M).elu(x, 1.3), PM),
    ("celu", lambda M, x: F(M).celu(x, 0.7), PM),
    ("selu", lambda M, x: F(M).selu(x), PM),
    ("hardtanh", lambda M, x: F(M).hardtanh(2 * x, -1.0, 1.1), PM),
    ("hardsigmoid", lambda M, x: F(M).hardsigmoid(4 * x), PM),
    ("hardswish", lambda M, x: F(M).hardswish(4 * x), PM),
    ("threshold", lambda M, x: F(M).threshold(x, 0.1, 0.5), PM),
    ("sign", lambda M, x: x.sign() * x, PM),
    ("floor", lambda M, x: (3 * x).floor() + x, A),
    ("ceil", lambda M, x: (3 * x).ceil() + x, A),
    ("round", lambda M, x: (3 * x).round() + x, A),
    ("round_dec", lambda M, x: (3 * x).round(decimals=1) + x, A),
    ("trunc", lambda M, x: (3 * x).trunc() + x, A),
    ("frac", lambda M, x: (3 * x).frac(), A),
    ("clamp", lambda M, x: x.clamp(-0.5, 0.6), A),
    ("clamp_min", lambda M, x: x.clamp_min(-0.3), A),
    ("clamp_max", lambda M, x: x.clamp(max=0.4), A),
    ("pow_scalar", lambda M, x: x ** 2.5, P),
    ("pow_scalar_int", lambda M, x: x ** 3, A),
    ("pow_scalar_neg", lambda M, x: x ** -1.5, P),
    ("pow_scalar_0", lambda M, x: x ** 0 + x, A),
    ("rpow_scalar", lambda M, x: 2.5 ** x, A),
    ("nan_to_num", lambda M, x: x.nan_to_num(), A),
    ("identity", lambda M, x: x ** 1, A),
]
_LAYOUTS = [("T", (2, 3)), ("S", (2, 3)), ("E", (2, 3)), ("0d", ())]
for _i, (_n, _f, _mk) in enumerate(_U):
    _L, _s = _LAYOUTS[_i % len(_LAYOUTS)]
    case(f"{_n}[{_L}]", _f, _mk(*_s, L="c" if _L == "0d" else _L))
case("exp[0d]", lambda M, x: x.exp(), A())
case("log[T3]", lambda M, x: x.log(), P(2, 2, 3, L="T"))

# binary rows: a permuted (2, 3) against a broadcast (3,), and a sliced (2, 3) against 0-d
_BIN = [
    ("add", lambda M, a, b: M.add(a, b, alpha=1.5), A, A),
    ("sub", lambda M, a, b: M.sub(a, b, alpha=0.5), A, A),
    ("mul", lambda M, a, b: a * b, A, A),
    ("div", lambda M, a, b: a / b, A, P),
    ("rdiv_scalar", lambda M, a, b: 1.5 / b + a, A, P),
    ("remainder", lambda M, a, b: M.remainder(3 * a, b), A, P),
    ("fmod", lambda M, a, b: M.fmod(3 * a, b), A, P),
    ("pow", lambda M, a, b: a ** b, P, A),
    ("maximum", lambda M, a, b: M.maximum(a, b), A, A),
    ("minimum", lambda M, a, b: M.minimum(a, b), A, A),
    ("fmax", lambda M, a, b: M.fmax(a, b), A, A),
    ("fmin", lambda M, a, b: M.fmin(a, b), A, A),
    ("atan2", lambda M, a, b: M.atan2(a, b), PM, PM),
    ("hypot", lambda M, a, b: M.hypot(a, b), PM, PM),
    ("copysign", lambda M, a, b: M.copysign(a, b), PM, PM),
    ("xlogy", lambda M, a, b: M.xlogy(a, b), A, P),
    ("lerp", lambda M, a, b: M.lerp(a, b, 0.3), A, A),
    ("logaddexp", lambda M, a, b: M.logaddexp(a, b), A, A),
    ("clamp_tensor", lambda M, a, b: a.clamp(min=b - 0.5, max=b + 0.5), A, A),
    ("where", lambda M, a, b: M.where(a > 0, a, b), PM, A),
]
for _n, _f, _ma, _mb in _BIN:
    case(f"{_n}[T,bcast]", _f, _ma(2, 3, L="T"), _mb(3))
    case(f"{_n}[S,0d]", _f, _ma(2, 3, L="S"), _mb())
case("rsub", lambda M, a, b: M.rsub(a, b, alpha=2.0) + (1.5 - a), A(2, 3, L="T"), A(3),
     needs="rsub")


def _backward_row(name):
    """An activation's fused backward row (grad, output), against torch.ops.aten.<name>."""
    def f(M, g, y):
        if M.__name__ == "torch":
            return getattr(M.ops.aten, name)(g, y)
        from engine.ops.elementwise import binary
        return binary(name, g, y)
    return f


case("tanh_backward", _backward_row("tanh_backward"), A(2, 3, L="T"), A(2, 3, L="S"))
case("sigmoid_backward", _backward_row("sigmoid_backward"), A(2, 3, L="S"), A(2, 3))
case("lerp_tensor_weight", lambda M, a, b, w: M.lerp(a, b, w), A(2, 3, L="T"), A(3), A(2, 1))
case("where_scalar", lambda M, a: M.where(a > 0, a, 0.5) + M.where(a < 0.5, 0.25, a), PM(2, 3))
case("addcmul", lambda M, x, a, b: M.addcmul(x, a, b, value=0.5), A(2, 3, L="S"), A(3), A(2, 1))
case("addcdiv", lambda M, x, a, b: M.addcdiv(x, a, b, value=0.5), A(2, 3, L="T"), A(3),
     P(2, 1))
case("to_float32", lambda M, x: x.float().double() * x, A(2, 3, L="T"), ggc=False,
     tol={"eps": 1e-3, "rtol": 1e-3, "atol": 1e-4})

# ----------------------------------------------------------------------------- reductions
case("sum_all", lambda M, x: x.sum(), A(2, 3, L="T"))
case("sum_dim_keep", lambda M, x: x.sum(1, keepdim=True), A(2, 3, L="S"))
case("sum_dims_3d", lambda M, x: x.sum((0, 2)), A(2, 2, 3, L="T"))
case("sum_0d", lambda M, x: x.sum(), A())
for _n, _f in [("mean", lambda M, x: x.mean(0)), ("prod", lambda M, x: x.prod() * x),
               ("amax", lambda M, x: x.amax(0)), ("max_dim", lambda M, x: x.max(0).values),
               ("var", lambda M, x: x.var(correction=0) + x),
               ("logsumexp", lambda M, x: M.logsumexp(x, 0)), ("norm", lambda M, x: x.norm()),
               ("cumprod", lambda M, x: x.cumprod(0)), ("log_softmax", lambda M, x: x.log_softmax(0) + x),
               ("sort", lambda M, x: x.sort().values), ("flip", lambda M, x: x.flip(0)),
               ("unsqueeze", lambda M, x: x.unsqueeze(0) * x)]:
    case(f"{_n}_0d", _f, A())
case("mean_all", lambda M, x: x.mean(), A(2, 3, L="S"))
case("mean_dim", lambda M, x: x.mean(-1), A(2, 3, L="T"))
case("prod_all", lambda M, x: x.prod(), A(2, 3, L="T"))
case("prod_dim", lambda M, x: x.prod(0, keepdim=True), A(3, 2, L="S"))
case("prod_with_zero", lambda M, x: x.prod(1), A(vals=[[0.0, 0.5, 0.7], [0.3, 0.8, 0.6]]))
case("amax_dim", lambda M, x: x.amax(1), A(2, 3, L="T"))
case("amin_dims", lambda M, x: x.amin((0, 1)), A(2, 3, L="S"))
case("max_all", lambda M, x: x.max(), A(2, 3, L="T"))
case("min_all", lambda M, x: x.min(), A(2, 3, L="S"))
case("max_dim", lambda M, x: x.max(1).values, A(2, 3, L="T"))
case("min_dim_keep", lambda M, x: x.min(0, keepdim=True)[0], A(3, 2, L="S"))
case("var_all", lambda M, x: x.var(), A(2, 3, L="T"))
case("var_dim_c0", lambda M, x: x.var(1, correction=0), A(2, 3, L="S"))
case("std_all", lambda M, x: x.std(), A(2, 3, L="T"))
case("std_dim_keep", lambda M, x: x.std(0, keepdim=True), A(3, 2, L="S"))
case("norm_2", lambda M, x: x.norm(), A(2, 3, L="T"))
case("norm_2_dim", lambda M, x: M.norm(x, 2, dim=1), A(2, 3, L="S"))
case("norm_1", lambda M, x: M.norm(x, 1, dim=0), PM(2, 3, L="T"))
case("norm_inf", lambda M, x: M.norm(x, float("inf"), dim=1), A(2, 3, L="T"))
case("norm_fro", lambda M, x: M.norm(x, "fro"), A(2, 3, L="S"))
case("norm_3", lambda M, x: M.norm(x, 3), PM(2, 3, L="T"))
case("logsumexp", lambda M, x: M.logsumexp(x, 1), A(2, 3, L="T"))
case("logsumexp_keep", lambda M, x: M.logsumexp(x, (0, 1), keepdim=True), A(2, 3, L="S"))
case("cumsum", lambda M, x: x.cumsum(1), A(2, 3, L="T"))
case("cumsum_0d", lambda M, x: x.cumsum(0), A())
case("cumprod", lambda M, x: x.cumprod(0), A(3, 2, L="S"))
case("cumprod_zero", lambda M, x: x.cumprod(1), A(vals=[[0.5, 0.0, 0.7, 0.9], [0.3, 0.8, 0.6, 0.4]]))
case("softmax", lambda M, x: x.softmax(0), A(3, 2, L="T"))
case("softmax_F", lambda M, x: F(M).softmax(x, dim=1), A(2, 3, L="S"))
case("log_softmax", lambda M, x: x.log_softmax(1), A(2, 3, L="T"))
case("log_softmax_F", lambda M, x: F(M).log_softmax(x, dim=0), A(3, 2, L="S"))
case("softmin", lambda M, x: F(M).softmin(x, dim=1), A(2, 3, L="E"))
case("softmax_0d", lambda M, x: x.softmax(0) * x, A())
case("median_dim", lambda M, x: x.median(1).values, A(2, 3, L="T"))
case("median_all", lambda M, x: x.median(), A(2, 3, L="S"))
case("sort", lambda M, x: x.sort(1).values * T(M, [1.0, 2.0, 3.0]), A(2, 3, L="T"))
case("sort_desc", lambda M, x: x.sort(0, descending=True)[0], A(3, 2, L="S"))
case("topk", lambda M, x: x.topk(2, 1).values * T(M, [1.0, 2.0]), A(2, 3, L="T"))
case("cummax", lambda M, x: x.cummax(1).values, A(2, 3, L="S"))
case("cummin", lambda M, x: x.cummin(0).values, A(3, 2, L="T"))
case("nansum", lambda M, x: M.nansum(x, 1), A(2, 3, L="T"))
case("nanmean", lambda M, x: M.nanmean(x, 0), A(2, 3, L="S"))
case("var_mean", lambda M, x: M.var_mean(x, 1)[0] + M.var_mean(x, 1)[1], A(2, 3, L="T"))

# ----------------------------------------------------------------------------- matmul family
case("matmul_1d_1d", lambda M, a, b: M.matmul(a, b), A(3, L="S"), A(3))
case("matmul_2d_1d", lambda M, a, b: a @ b, A(2, 3, L="T"), A(3, L="S"))
case("matmul_1d_2d", lambda M, a, b: a @ b, A(3), A(3, 2, L="T"))
case("matmul_2d_2d", lambda M, a, b: a @ b, A(2, 3, L="T"), A(3, 2, L="S"))
case("matmul_batched_bcast", lambda M, a, b: a @ b, A(2, 2, 3, L="T"), A(3, 2))
case("matmul_batched_expand", lambda M, a, b: a @ b, A(2, 2, 3, L="E"), A(2, 3, 2, L="S"))
case("matmul_3d_1d", lambda M, a, b: a @ b, A(2, 2, 3), A(3, L="S"))
case("mm", lambda M, a, b: M.mm(a, b), A(2, 3, L="S"), A(3, 2, L="T"))
case("bmm", lambda M, a, b: M.bmm(a, b), A(2, 2, 3, L="T"), A(2, 3, 2, L="E"))
case("addmm", lambda M, c, a, b: M.addmm(c, a, b, beta=0.5, alpha=2.0), A(2), A(3, 3, L="T"),
     A(3, 2))
case("baddbmm", lambda M, c, a, b: M.baddbmm(c, a, b, beta=0.5, alpha=1.5), A(2, 2, 2, L="E"),
     A(2, 2, 3), A(2, 3, 2, L="T"))
case("dot", lambda M, a, b: M.dot(a, b), A(3, L="S"), A(3))
case("mv", lambda M, a, b: M.mv(a, b), A(2, 3, L="T"), A(3))
case("outer", lambda M, a, b: M.outer(a, b), A(2, L="S"), A(3))
case("inner", lambda M, a, b: M.inner(a, b), A(2, 3, L="T"), A(2, 3))
case("einsum_mm", lambda M, a, b: M.einsum("ij,jk->ik", a, b), A(2, 3, L="T"), A(3, 2))
case("einsum_batched", lambda M, a, b: M.einsum("bij,bjk->bik", a, b), A(2, 2, 3, L="S"),
     A(2, 3, 2))
case("einsum_trace_diag", lambda M, a: M.einsum("ii->i", a) + M.einsum("ii", a), A(3, 3, L="T"))
case("einsum_outer_sum", lambda M, a, b: M.einsum("i,j->", a, b) + M.einsum("ij->j", a[:, None] * b),
     A(2), A(3, L="S"))
case("tensordot", lambda M, a, b: M.tensordot(a, b, dims=([1, 2], [0, 1])), A(2, 2, 3, L="T"),
     A(2, 3, 2))
case("tensordot_int", lambda M, a, b: M.tensordot(a, b, dims=1), A(2, 3, L="S"), A(3, 2))
case("kron", lambda M, a, b: M.kron(a, b), A(2, 2), A(1, 2, L="S"))
case("kron[T]", lambda M, a, b: M.kron(a, b), A(2, 2, L="T"), A(1, 2))
case("trace", lambda M, a: M.trace(a), A(3, 3, L="T"))

# ----------------------------------------------------------------------------- shape / views
case("view", lambda M, x: x.view(3, 2), A(2, 3))
case("view_0d", lambda M, x: x.view(1, 1), A())
case("reshape_noncontig", lambda M, x: x.reshape(-1), A(2, 3, L="T"))
case("transpose", lambda M, x: x.transpose(0, 2), A(2, 2, 3, L="S"))
case("t", lambda M, x: x.t(), A(2, 3, L="S"))
case("permute", lambda M, x: x.permute(1, 2, 0), A(2, 2, 3, L="T"))
case("expand", lambda M, x: x.expand(2, 2, 3), A(2, 1, 3, L="S"))
case("expand_0d", lambda M, x: x.expand(2, 3), A())
case("slice_step", lambda M, x: x[1:, ::2], A(3, 4, L="T"))
case("select", lambda M, x: x[1] + x[:, 0].sum(), A(3, 3, L="S"))
case("narrow", lambda M, x: x.narrow(1, 1, 2), A(2, 3, L="T"))
case("squeeze_unsqueeze", lambda M, x: x.unsqueeze(1).squeeze(1).unsqueeze(0), A(2, 3, L="T"))
case("flatten_unflatten", lambda M, x: x.flatten(1).unflatten(1, (3, 2)), A(2, 2, 3, L="T"))
case("movedim", lambda M, x: M.movedim(x, 0, 2), A(2, 2, 3, L="S"))
def _pair_prod(parts, flip=False):
    return parts[0] * (parts[1].flip(0) if flip else parts[1])


case("unbind", lambda M, x: x.unbind(1)[0] * 2 + _pair_prod(x.unbind(1)[1:]), A(2, 3, L="T"))
case("split", lambda M, x: x.split(2, 1)[0].sum(1) * x.split(2, 1)[1][:, 0], A(2, 3, L="T"))
case("split_sizes", lambda M, x: _pair_prod(x.split([1, 1], 0)), A(2, 3, L="S"))
case("chunk", lambda M, x: _pair_prod(x.chunk(2, 0), flip=True), A(4, 2, L="T"))
case("cat", lambda M, a, b: M.cat([a, b, a], 1), A(2, 3, L="T"), A(2, 2, L="S"))
case("stack", lambda M, a, b: M.stack([a, b], 1), A(2, 3, L="T"), A(2, 3, L="E"))
case("gather", lambda M, x: x.gather(1, I(M, [[0, 2, 2], [1, 0, 1]])), A(2, 3, L="T"))
case("scatter_src", lambda M, x, s: x.scatter(1, I(M, [[0, 2], [1, 0]]), s), A(2, 3, L="T"),
     A(2, 2, L="S"))
case("scatter_value", lambda M, x: x.scatter(0, I(M, [[1, 0, 1]]), 0.5), A(2, 3, L="S"))
case("scatter_add", lambda M, x, s: x.scatter_add(1, I(M, [[0, 0, 2], [1, 1, 1]]), s),
     A(2, 3, L="T"), A(2, 3, L="S"))
case("scatter_reduce_sum", lambda M, x, s: x.scatter_reduce(1, I(M, [[0, 0, 2], [1, 1, 1]]), s,
                                                            "sum"),
     A(2, 3, L="T"), A(2, 3, L="S"))
case("index_select", lambda M, x: x.index_select(1, I(M, [2, 0, 2])), A(2, 3, L="T"))
case("index_add", lambda M, x, s: x.index_add(0, I(M, [1, 0, 1]), s, alpha=2.0),
     A(2, 3, L="T"), A(3, 3, L="S"))
case("index_copy", lambda M, x, s: x.index_copy(1, I(M, [2, 0]), s), A(2, 3, L="S"),
     A(2, 2, L="T"))
case("index_fill", lambda M, x: x.index_fill(1, I(M, [1]), 0.25), A(2, 3, L="T"))
case("masked_fill", lambda M, x: x.masked_fill(B(M, [[True, False, True], [False, False, True]]),
                                               0.5), A(2, 3, L="T"))
case("masked_fill_bcast", lambda M, x: x.masked_fill(B(M, [False, True, False]), -1.0),
     A(2, 3, L="S"))
case("masked_fill_tensor", lambda M, x, v: x.masked_fill(B(M, [True, False, True]), v),
     A(2, 3, L="T"), A())
case("masked_select", lambda M, x: x.masked_select(B(M, [[True, False, True], [False, True, True]])),
     A(2, 3, L="T"))
case("masked_scatter", lambda M, x, s: x.masked_scatter(B(M, [[True, False, True],
                                                              [False, True, False]]), s),
     A(2, 3, L="T"), A(2, 3, L="S"))
case("take_along_dim", lambda M, x: M.take_along_dim(x, I(M, [[2, 0], [1, 1]]), 1),
     A(2, 3, L="T"))
case("take", lambda M, x: M.take(x, I(M, [5, 0, 2, 2])), A(2, 3, L="S"))
case("flip", lambda M, x: x.flip([0, 1]), A(2, 3, L="T"))
case("roll", lambda M, x: x.roll(1, 1), A(2, 3, L="S"))
case("roll_flat", lambda M, x: x.roll(2), A(2, 3, L="T"))
case("repeat", lambda M, x: x.repeat(2, 1, 2), A(2, 3, L="T"))
case("tile", lambda M, x: x.tile((2,)), A(2, 3, L="S"))
case("repeat_interleave", lambda M, x: x.repeat_interleave(2, dim=1), A(2, 3, L="T"))
case("tril", lambda M, x: x.tril(), A(3, 3, L="T"))
case("triu", lambda M, x: x.triu(1), A(3, 3, L="S"))
case("diagonal", lambda M, x: x.diagonal(1), A(3, 3, L="T"))
case("diag_embed", lambda M, x: M.diag_embed(x), A(2, 3, L="S"))
case("diag", lambda M, x: M.diag(x) + M.diag(M.diag(x)), A(3, 3, L="T"))
case("pad_constant", lambda M, x: F(M).pad(x, (1, 2, 0, 1), value=0.5), A(2, 3, L="T"))
case("constant_pad_nd", lambda M, x: M.constant_pad_nd(x, (1, 2, 0, 1), 0.5) if M is not engine
     else M.pad(x, (1, 2, 0, 1), value=0.5), A(2, 3, L="S"))
case("pad_reflect", lambda M, x: F(M).pad(x, (2, 1), mode="reflect"), A(1, 2, 4, L="S"))
case("pad_replicate", lambda M, x: F(M).pad(x, (1, 2), mode="replicate"), A(1, 2, 3, L="T"))
case("pad_circular", lambda M, x: F(M).pad(x, (1, 2), mode="circular"), A(1, 2, 3, L="S"))
case("getitem_adv", lambda M, x: x[I(M, [1, 0, 1])], A(2, 3, L="T"))
case("getitem_adv2", lambda M, x: x[I(M, [0, 1]), I(M, [2, 2])], A(2, 3, L="S"))
case("getitem_mask", lambda M, x: x[B(M, [[True, False, True], [False, True, True]])],
     A(2, 3, L="T"))
case("getitem_ellipsis", lambda M, x: x[...], A(2, 3, L="T"))
case("index_put", lambda M, x, v: x.index_put((I(M, [0, 2]),), v), A(3, 2, L="T"), A(2))
case("index_put_acc", lambda M, x, v: x.index_put((I(M, [0, 0]),), v, accumulate=True),
     A(3, 2, L="S"), A(2, 2))
case("setitem", lambda M, x, v: _setitem(x, v), A(2, 3, L="T"), A(3))
case("copy_", lambda M, x: M.zeros(3, 2, dtype=M.float64).copy_(x), A(3, 2, L="S"))
case("copy_nograd_src", lambda M, x: (x * 2).copy_(T(M, [1.0, 2.0, 3.0])) * x, A(2, 3, L="T"))
case("clone", lambda M, x: x.clone(), A(2, 3, L="T"))
case("contiguous", lambda M, x: x.contiguous(), A(2, 3, L="T"))
case("as_strided", lambda M, x: x.contiguous().as_strided((2, 2), (1, 2), 1), A(2, 3, L="T"))
case("unfold_tensor", lambda M, x: x.unfold(1, 2, 1), A(2, 3, L="T"))
case("diff", lambda M, x: M.diff(x, dim=1), A(2, 3, L="T"))
case("cross", lambda M, a, b: M.cross(a, b, dim=1), A(2, 3, L="T"), A(2, 3, L="S"))


def _setitem(x, v):
    y = x.clone()
    y[1] = v
    y[0, 1:] = v[:2] * 2
    return y


# ----------------------------------------------------------------------------- nn.functional
case("linear", lambda M, x, w, b: F(M).linear(x, w, b), A(2, 3, L="T"), A(4, 3, L="S"), A(4))
case("linear_nobias_3d", lambda M, x, w: F(M).linear(x, w), A(2, 2, 3, L="S"), A(2, 3, L="T"))
case("bilinear", lambda M, a, b, w: F(M).bilinear(a, b, w), A(2, 2), A(2, 3, L="T"),
     A(2, 2, 3))
case("logsigmoid", lambda M, x: F(M).logsigmoid(2 * x), A(2, 3, L="T"))
case("softsign", lambda M, x: F(M).softsign(x), PM(2, 3, L="S"))
case("tanhshrink", lambda M, x: F(M).tanhshrink(x), A(2, 3, L="T"))
case("hardshrink", lambda M, x: F(M).hardshrink(2 * x, 0.3), PM(2, 3, L="S"))
case("softshrink", lambda M, x: F(M).softshrink(2 * x, 0.3), PM(2, 3, L="T"))
case("glu", lambda M, x: F(M).glu(x, 0), A(4, 3, L="S"))
case("prelu", lambda M, x, w: F(M).prelu(x, w), PM(2, 3, 2, L="T"), A(3))
case("layer_norm", lambda M, x, w, b: F(M).layer_norm(x, (3,), w, b), A(2, 3, L="T"), A(3),
     A(3, L="S"))
case("layer_norm_2d", lambda M, x: F(M).layer_norm(x, (2, 3)), A(2, 2, 3, L="S"))
case("rms_norm", lambda M, x, w: F(M).rms_norm(x, (3,), w), A(2, 3, L="T"), A(3))
case("group_norm", lambda M, x, w, b: F(M).group_norm(x, 2, w, b), A(2, 4, 2, L="T"), A(4),
     A(4))
case("batch_norm_train", lambda M, x, w, b: F(M).batch_norm(x, None, None, w, b, training=True),
     A(3, 2, L="T"), A(2), A(2))
case("batch_norm_train_3d", lambda M, x: F(M).batch_norm(x, None, None, training=True),
     A(2, 2, 2, L="S"))
case("batch_norm_eval", lambda M, x, w, b: F(M).batch_norm(
    x, T(M, [0.1, -0.2]), T(M, [0.5, 1.5]), w, b, training=False), A(3, 2, L="T"), A(2), A(2))
case("normalize", lambda M, x: F(M).normalize(x, dim=1), A(2, 3, L="T"))
case("cosine_similarity", lambda M, a, b: F(M).cosine_similarity(a, b), A(2, 3, L="T"),
     A(2, 3, L="S"))
case("pairwise_distance", lambda M, a, b: F(M).pairwise_distance(a, b), A(2, 3, L="T"), A(3))
case("conv1d", lambda M, x, w, b: F(M).conv1d(x, w, b, stride=2, padding=1),
     A(1, 2, 5, L="T"), A(2, 2, 3), A(2))
case("conv2d", lambda M, x, w, b: F(M).conv2d(x, w, b, padding=(1, 0), dilation=(1, 2)),
     A(1, 2, 3, 4, L="S"), A(2, 2, 2, 2, L="T"), A(2))
case("conv2d_groups", lambda M, x, w: F(M).conv2d(x, w, stride=2, groups=2),
     A(1, 2, 3, 3, L="T"), A(2, 1, 2, 2))
case("conv_transpose1d", lambda M, x, w, b: F(M).conv_transpose1d(x, w, b, stride=2),
     A(1, 2, 3, L="T"), A(2, 1, 2), A(1))
case("conv_transpose2d", lambda M, x, w, b: F(M).conv_transpose2d(
    x, w, b, stride=2, padding=1, output_padding=1), A(1, 2, 2, 2, L="T"), A(2, 1, 2, 2), A(1))
case("unfold_im2col", lambda M, x: F(M).unfold(x, 2, stride=1), A(1, 1, 3, 3, L="T"))
case("fold_col2im", lambda M, x: F(M).fold(x, (3, 3), 2), A(1, 4, 4, L="T"))
case("max_pool1d", lambda M, x: F(M).max_pool1d(x, 2, 1), A(1, 2, 4, L="T"))
case("max_pool2d", lambda M, x: F(M).max_pool2d(x, 2, 1, padding=1), A(1, 1, 3, 3, L="T"))
case("avg_pool1d", lambda M, x: F(M).avg_pool1d(x, 2, 1, padding=1), A(1, 2, 3, L="S"))
case("avg_pool2d", lambda M, x: F(M).avg_pool2d(x, 2, 1, padding=1, count_include_pad=False),
     A(1, 1, 3, 3, L="T"))
case("adaptive_avg_pool1d", lambda M, x: F(M).adaptive_avg_pool1d(x, 2), A(1, 2, 5, L="T"))
case("adaptive_avg_pool2d", lambda M, x: F(M).adaptive_avg_pool2d(x, (2, 2)),
     A(1, 1, 3, 3, L="S"))
case("interpolate_nearest", lambda M, x: F(M).interpolate(x, scale_factor=2, mode="nearest"),
     A(1, 1, 2, 3, L="T"))
case("interpolate_bilinear", lambda M, x: F(M).interpolate(x, size=(3, 4), mode="bilinear",
                                                           align_corners=False),
     A(1, 1, 2, 3, L="T"), needs="mode:bilinear")
case("interpolate_linear_ac", lambda M, x: F(M).interpolate(x, size=5, mode="linear",
                                                            align_corners=True),
     A(1, 2, 3, L="S"), needs="mode:linear")
case("adaptive_max_pool2d", lambda M, x: F(M).adaptive_max_pool2d(x, (2, 2)),
     A(1, 1, 3, 3, L="T"), needs="nn.functional.adaptive_max_pool2d")
case("adaptive_max_pool1d", lambda M, x: F(M).adaptive_max_pool1d(x, 2),
     A(1, 2, 3, L="S"), needs="nn.functional.adaptive_max_pool1d")
case("instance_norm", lambda M, x, w, b: F(M).instance_norm(x, weight=w, bias=b),
     A(2, 2, 3, L="T"), A(2), A(2), needs="nn.functional.instance_norm")
case("pixel_shuffle", lambda M, x: F(M).pixel_shuffle(x, 2), A(1, 4, 1, 2, L="T"),
     needs="nn.functional.pixel_shuffle")
case("pixel_unshuffle", lambda M, x: F(M).pixel_unshuffle(x, 2), A(1, 1, 2, 4, L="S"),
     needs="nn.functional.pixel_unshuffle")
case("max_pool2d_ceil_dil", lambda M, x: F(M).max_pool2d(x, 2, 2, dilation=(1, 2), ceil_mode=True),
     A(1, 2, 3, 4, L="S"))
case("conv1d_groups_dil", lambda M, x, w: F(M).conv1d(x, w, groups=2, dilation=2, padding=2),
     A(2, 4, 3, L="T"), A(2, 2, 2))
# padding_idx: the row is output but gets no gradient (PyTorch's rule, not the derivative), so
# only the torch comparison applies
case("embedding_padding_idx", lambda M, w: F(M).embedding(I(M, [1, 0, 2, 1]), w, padding_idx=1),
     A(3, 2, L="S"), fd=False)
case("embedding", lambda M, w: F(M).embedding(I(M, [[0, 2], [2, 1]]), w), A(3, 2, L="T"))
case("dropout_eval", lambda M, x: F(M).dropout(x, 0.5, training=False), A(2, 3, L="T"))
# losses
case("mse_mean", lambda M, a, b: F(M).mse_loss(a, b), A(2, 3, L="T"), A(2, 3, L="S"))
case("mse_sum_bcast", lambda M, a, b: F(M).mse_loss(a, b.expand(2, 3), reduction="sum"),
     A(2, 3, L="S"), A(3))
case("mse_none", lambda M, a, b: F(M).mse_loss(a, b, reduction="none"), A(2, 3, L="T"),
     A(2, 3))
case("l1", lambda M, a, b: F(M).l1_loss(a, b), A(2, 3, L="T"), A(2, 3, L="S"))
case("smooth_l1", lambda M, a, b: F(M).smooth_l1_loss(a, b, beta=0.5), A(2, 3, L="T"),
     A(2, 3, L="S"))
case("huber", lambda M, a, b: F(M).huber_loss(a, b, delta=0.5, reduction="sum"), A(2, 3, L="T"),
     A(2, 3, L="S"))
case("cross_entropy", lambda M, x: F(M).cross_entropy(x, I(M, [2, 0])), A(2, 3, L="T"))


def _rnn_cell(mode):
    """One LSTM/GRU step (the fused pointwise node on CPU), against torch.lstm_cell/gru_cell."""
    def fn(M, x, h, c, wih, whh):
        if M is engine:
            from engine.nn.functional_rnn import _cell_forward
            h2, c2 = _cell_forward(mode, x, h, c if mode == "LSTM" else None, wih, whh, None,
                                   None)
        elif mode == "LSTM":
            h2, c2 = M.lstm_cell(x, (h, c), wih, whh)
        else:
            h2, c2 = M.gru_cell(x, h, wih, whh), None
        return M.cat([h2, c2], 1) if mode == "LSTM" else h2 + c.sum()
    return fn


case("lstm_cell", _rnn_cell("LSTM"), A(3, 4), A(3, 2, L="T"), A(3, 2, L="S"), A(8, 4),
     A(8, 2))
case("gru_cell", _rnn_cell("GRU"), A(3, 4), A(3, 2, L="T"), A(3, 2), A(6, 4), A(6, 2, L="T"))
case("cross_entropy_probs", lambda M, x, t: F(M).cross_entropy(x, t.softmax(1)), A(2, 3, L="T"),
     A(2, 3, L="S"))
case("cross_entropy_ls", lambda M, x: F(M).cross_entropy(x, I(M, [2, 0]), label_smoothing=0.1),
     A(2, 3, L="S"))
case("cross_entropy_weight", lambda M, x: F(M).cross_entropy(
    x, I(M, [2, 0, 1]), weight=T(M, [0.5, 1.0, 2.0])), A(3, 3, L="T"))
case("cross_entropy_ignore_ls_w", lambda M, x: F(M).cross_entropy(
    x, I(M, [2, -100, 1]), weight=T(M, [0.5, 1.0, 2.0]), ignore_index=-100,
    label_smoothing=0.2), A(3, 3, L="S"))
case("cross_entropy_3d", lambda M, x: F(M).cross_entropy(x, I(M, [[0, 2], [1, 1]])),
     A(2, 3, 2, L="T"))
case("cross_entropy_1d", lambda M, x: F(M).cross_entropy(x, I(M, 1)), A(3, L="S"))
case("nll_2d_weight", lambda M, x: F(M).nll_loss(x, I(M, [[0, 2], [1, 1]]),
                                                 weight=T(M, [0.5, 1.0, 2.0])),
     A(2, 3, 2, L="T"))
case("cross_entropy_probs_ls_w", lambda M, x, t: F(M).cross_entropy(
    x, t, weight=T(M, [0.5, 1.0, 2.0]), label_smoothing=0.2, reduction="sum"),
     A(2, 3, L="S"), P(2, 3, L="T"))
case("nll", lambda M, x: F(M).nll_loss(x, I(M, [2, 0])), A(2, 3, L="T"))
case("nll_sum", lambda M, x: F(M).nll_loss(x, I(M, [1, 0]), reduction="sum"), A(2, 3, L="S"))
case("nll_weight_ignore", lambda M, x: F(M).nll_loss(x, I(M, [2, 0, 1]),
                                                     weight=T(M, [0.5, 1.0, 2.0]),
                                                     ignore_index=0), A(3, 3, L="T"))
case("bce", lambda M, x, t: F(M).binary_cross_entropy(x, t), P(2, 3, L="T", lo=0.2, hi=0.8),
     P(2, 3, L="S", lo=0.1, hi=0.9))
case("bce_weight", lambda M, x: F(M).binary_cross_entropy(x, T(M, [1.0, 0.0, 0.3]).expand(2, 3),
                                                          weight=T(M, [0.5, 1.0, 2.0])),
     P(2, 3, L="S", lo=0.2, hi=0.8))
case("bce_with_logits", lambda M, x, t: F(M).binary_cross_entropy_with_logits(x, t),
     A(2, 3, L="T"), P(2, 3, L="S", lo=0.0, hi=1.0))
case("bce_with_logits_pw", lambda M, x: F(M).binary_cross_entropy_with_logits(
    x, T(M, [[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]]), weight=T(M, [1.0, 2.0, 0.5]),
    pos_weight=T(M, [2.0, 1.0, 0.5])), A(2, 3, L="T"))
case("kl_div", lambda M, x, t: F(M).kl_div(x, t, reduction="batchmean"), A(2, 3, L="T"),
     P(2, 3, L="S"))
case("kl_div_log_target", lambda M, x, t: F(M).kl_div(x, t, reduction="sum", log_target=True),
     A(2, 3, L="S"), A(2, 3, L="T"))
case("cosine_embedding", lambda M, a, b: F(M).cosine_embedding_loss(a, b, I(M, [1, -1]),
                                                                     margin=-0.5),
     A(2, 3, L="T"), A(2, 3, L="S"))
case("soft_margin", lambda M, x: F(M).soft_margin_loss(x, T(M, [[1.0, -1.0, 1.0]])),
     A(2, 3, L="T"))
case("margin_ranking", lambda M, a, b: F(M).margin_ranking_loss(a, b, T(M, [1.0, -1.0, 1.0]),
                                                                margin=0.1),
     A(3, L="S"), A(3))
case("hinge_embedding", lambda M, x: F(M).hinge_embedding_loss(x, T(M, [[1.0, -1.0, -1.0]])),
     PM(2, 3, L="T", lo=0.1, hi=0.8))
case("poisson_nll", lambda M, x: F(M).poisson_nll_loss(x, T(M, [1.0, 2.0, 0.5])),
     A(2, 3, L="T"))
case("poisson_nll_nolog", lambda M, x: F(M).poisson_nll_loss(x, T(M, [1.0, 2.0, 0.5]),
                                                             log_input=False), P(2, 3, L="S"))
case("gaussian_nll", lambda M, x, t, v: F(M).gaussian_nll_loss(x, t, v), A(2, 3, L="T"),
     A(2, 3), P(2, 3, L="S"))
case("triplet_margin", lambda M, a, p, n: F(M).triplet_margin_loss(a, p, n, margin=2.0),
     A(2, 3, L="T"), A(2, 3, L="S"), A(2, 3))
case("multi_margin", lambda M, x: F(M).multi_margin_loss(x, I(M, [2, 0]), margin=2.0),
     A(2, 3, L="T"))


# ----------------------------------------------------------------------------- linalg, special
def _wc(M, x, k=3.0):
    """A well-conditioned square matrix from x: x + k I."""
    return x + k * M.eye(x.shape[-1], dtype=x.dtype)


def _spd(M, x):
    return x @ x.transpose(-2, -1) + 3.0 * M.eye(x.shape[-1], dtype=x.dtype)


case("linalg_inv", lambda M, x: M.linalg.inv(_wc(M, x)), A(2, 3, 3, L="T"))
case("linalg_solve_bcast_vec", lambda M, a, b: M.linalg.solve(_wc(M, a), b), A(2, 3, 3, L="S"),
     A(3))
case("linalg_solve_triangular", lambda M, a, b: M.linalg.solve_triangular(
    _wc(M, a), b, upper=True, left=False), A(3, 3, L="T"), A(2, 3, L="S"))
case("linalg_det", lambda M, x: M.linalg.det(_wc(M, x)), A(2, 3, 3, L="E"))
case("linalg_slogdet", lambda M, x: M.linalg.slogdet(_wc(M, x)).logabsdet, A(3, 3, L="T"))
case("linalg_cholesky_upper", lambda M, x: M.linalg.cholesky(_spd(M, x), upper=True),
     A(2, 3, 3, L="S"))
case("linalg_qr", lambda M, x: M.linalg.qr(x + 2 * M.eye(4, 3, dtype=x.dtype)).Q
     + M.linalg.qr(x + 2 * M.eye(4, 3, dtype=x.dtype)).R.sum(), A(4, 3, L="T"))
case("linalg_eigh", lambda M, x: M.linalg.eigh(x + x.transpose(-2, -1)).eigenvectors ** 2
     + M.linalg.eigh(x + x.transpose(-2, -1)).eigenvalues.unsqueeze(-1), A(2, 3, 3, L="S"))
case("linalg_svd", lambda M, x: M.linalg.svd(x, full_matrices=False).U ** 2
     + M.linalg.svd(x, full_matrices=False).S.unsqueeze(-2), A(4, 3, L="T"))
case("linalg_svdvals_wide", lambda M, x: M.linalg.svdvals(x), A(2, 3, L="S"))
case("linalg_pinv", lambda M, x: M.linalg.pinv(x), A(3, 2, L="T"))
case("linalg_matrix_exp", lambda M, x: M.linalg.matrix_exp(x), A(2, 2, 2, L="S"))
case("linalg_lu", lambda M, x: M.linalg.lu(_wc(M, x)).L + M.linalg.lu(_wc(M, x)).U,
     A(3, 3, L="T"))
case("erfc[T]", lambda M, x: M.special.erfc(x), A(2, 3, L="T"))
case("erfinv[S]", lambda M, x: M.special.erfinv(0.8 * x), A(2, 3, L="S"))
case("lgamma[E]", lambda M, x: M.special.gammaln(x), P(2, 3, L="E"))
case("digamma[0d]", lambda M, x: M.special.digamma(x), P())
case("polygamma[T]", lambda M, x: M.special.polygamma(2, x), P(2, 3, L="T"))
case("i0[S]", lambda M, x: M.special.i0(2 * x), A(2, 3, L="S"))
case("i0e[E]", lambda M, x: M.special.i0e(2 * x), PM(2, 3, L="E"))
case("i1[0d]", lambda M, x: M.special.i1(2 * x), PM())
case("i1e[T]", lambda M, x: M.special.i1e(2 * x), PM(2, 3, L="T"))
case("erfcx[S]", lambda M, x: M.special.erfcx(2 * x), A(2, 3, L="S"))
case("zeta[q]", lambda M, q: M.special.zeta(T(M, [2.5, 3.0, 4.5]), q), P(2, 3, L="T"))
case("igamma[x]", lambda M, x: M.igamma(T(M, [0.5, 2.0, 3.5]), 3 * x), P(2, 3, L="T"))
case("igammac[x]", lambda M, x: M.igammac(T(M, [0.5, 2.0, 3.5]), 3 * x), P(2, 3))


# ----------------------------------------------------------------------------- what is left out
# Elementwise table rows without a case, and why.
EXCLUDED_ROWS = {
    **{n: "bool result (not differentiable)" for n in (
        "isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not", "eq", "ne", "lt",
        "le", "gt", "ge", "logical_and", "logical_or", "logical_xor")},
    **{n: "integer-only op (not differentiable)" for n in (
        "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm")},
    "floor_divide": "no derivative (PyTorch: 'the derivative for floor_divide is not "
                    "implemented')",
    "fill": "internal fill row: the result does not depend on the input",
    "relu_mask": "internal: relu's backward (ReluBackwardBackward0), run by every relu case's "
                 "double backward",
}
# Node names recorded in engine/ops and engine/nn that no case produces, and why.
EXCLUDED_NODES = {
    "NotImplemented": "scatter(..., reduce=): PyTorch defines no derivative either (it raises)",
}
# Not ops in the table: dropout(training=True) (a random mask: finite differences redraw it
# and torch draws another; the eval identity is covered), module hook nodes
# (nn/modules/_hooks.py), user autograd.Function nodes, argmax/argsort/all/any/one_hot/
# count_nonzero/bincount/searchsorted/unique (integer or bool results).


# ----------------------------------------------------------------------------- harness
def _skip_if_missing(c: Case):
    if not c.needs:
        return
    if c.needs.startswith("mode:"):
        x = engine.zeros(1, 1, 2, 2) if c.needs != "mode:linear" else engine.zeros(1, 1, 2)
        try:
            engine.nn.functional.interpolate(x, scale_factor=2, mode=c.needs[5:])
        except NotImplementedError as e:
            pytest.skip(str(e))
        return
    obj = engine
    for part in c.needs.split("."):
        if not hasattr(obj, part):
            pytest.skip(f"engine has no {c.needs} yet")
        obj = getattr(obj, part)


def _prepare(c: Case, M, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [s.leaf(rng) for s in c.specs]
    leaves = [M.tensor(a, dtype=M.float64, requires_grad=True) for a in arrays]

    def f(*ls):
        y = c.fn(M, *(s.view(t) for s, t in zip(c.specs, ls)))
        return y * y
    return leaves, f


@pytest.mark.parametrize("c", CASES, ids=repr)
def test_gradgrad(c):
    _skip_if_missing(c)
    if not c.fd:
        pytest.skip("gradient is not the derivative by design (torch comparison only)")
    leaves, f = _prepare(c, engine)
    tol = dict(c.tol)
    assert gradcheck(f, leaves, **tol)
    if c.ggc:
        assert gradgradcheck(f, leaves, **tol)


@pytest.mark.parametrize("c", [c for c in CASES if c.torch], ids=repr)
def test_torch_second_order(c):
    torch = pytest.importorskip("torch")
    _skip_if_missing(c)
    res = []
    for M in (torch, engine):
        leaves, f = _prepare(c, M)
        rng = np.random.default_rng(1)
        y = f(*leaves)
        v = M.tensor(rng.standard_normal(tuple(y.shape)), dtype=M.float64)
        gs = M.autograd.grad(y, leaves, v, create_graph=True, allow_unused=True)
        gs = [g if g is not None else M.zeros_like(x) for g, x in zip(gs, leaves)]
        ws = [M.tensor(rng.standard_normal(tuple(x.shape)), dtype=M.float64) for x in leaves]
        s = sum((g * w).sum() for g, w in zip(gs, ws))
        if s.requires_grad:
            hs = M.autograd.grad(s, leaves, allow_unused=True)
        else:
            hs = [None] * len(leaves)
        hs = [h if h is not None else M.zeros_like(x) for h, x in zip(hs, leaves)]
        res.append(([g.detach().numpy() for g in gs], [h.detach().numpy() for h in hs],
                    y.detach().numpy()))
    rtol, atol = c.ttol.get("rtol", 1e-7), c.ttol.get("atol", 1e-9)
    np.testing.assert_allclose(res[1][2], res[0][2], rtol=rtol, atol=atol, err_msg="forward")
    for i, (a, b) in enumerate(zip(res[1][0], res[0][0])):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"first grad, input {i}")
    for i, (a, b) in enumerate(zip(res[1][1], res[0][1])):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"second grad, input {i}")


def _names(node, seen):
    while node is not None and node not in seen:
        seen.add(node)
        for nxt, _ in node.next_functions:
            _names(nxt, seen)
        return


def test_table_is_covered():
    """Every elementwise row and every literal ``record("Name", ...)`` in engine/ops and
    engine/nn is exercised by a case (first and second order) or listed as excluded."""
    from engine.ops.elementwise import BINARY, UNARY
    covered_rows = {c.name.split("[")[0] for c in CASES}
    rows = set(UNARY) | set(BINARY)
    missing = sorted(r for r in rows if r not in covered_rows and r not in EXCLUDED_ROWS)
    assert not missing, f"elementwise rows without a case or exclusion: {missing}"
    differentiable = {r for r in rows if (UNARY.get(r) or BINARY.get(r)).bw is not None}
    assert not differentiable & (set(EXCLUDED_ROWS) - {"relu_mask"}), \
        "an excluded row has a backward: add a case"

    src = "\n".join(p.read_text() for d in ("ops", "nn") for p in (ENGINE_DIR / d).rglob("*.py"))
    recorded = set(re.findall(r'record\(\s*"(\w+)"', src))
    seen: set = set()
    for c in CASES:
        try:
            _skip_if_missing(c)
        except pytest.skip.Exception:
            continue
        leaves, f = _prepare(c, engine)
        y = f(*leaves)
        gs = engine.autograd.grad(y, leaves, engine.ones_like(y), create_graph=True,
                                  allow_unused=True)
        for t in (y, *gs):
            if t is not None:
                _names(t.grad_fn, seen)
    produced = {type(n).__name__ for n in seen}
    missing = sorted(recorded - produced - set(EXCLUDED_NODES))
    assert not missing, f"recorded nodes no case produces (add a case or an exclusion): {missing}"


# ----------------------------------------------------------------------------- higher order uses
def _mlp(M, x, w1, b1, w2):
    h = F(M).gelu(F(M).linear(x, w1, b1))
    h = F(M).layer_norm(h, (4,))
    return F(M).linear(h.tanh(), w2).squeeze(-1)


def _mlp_inputs(M):
    rng = np.random.default_rng(3)
    shapes = [(5, 3), (4, 3), (4,), (1, 4)]
    return [M.tensor(rng.standard_normal(s), dtype=M.float64, requires_grad=i > 0)
            for i, s in enumerate(shapes)]


def _gradient_penalty(M):
    """WGAN-GP: the penalty ((|d out / d x| - 1)^2).mean() is trained through."""
    x, *params = _mlp_inputs(M)
    x.requires_grad_(True)
    out = _mlp(M, x, *params)
    (gx,) = M.autograd.grad(out.sum(), x, create_graph=True)
    penalty = ((gx.norm(2, dim=1) - 1) ** 2).mean()
    return [g.detach().numpy() for g in M.autograd.grad(penalty, params)]


def _hvp(M):
    """Hessian-vector product by double backward, and autograd.functional.hessian."""
    x, *params = _mlp_inputs(M)
    rng = np.random.default_rng(4)
    vs = [M.tensor(rng.standard_normal(tuple(p.shape)), dtype=M.float64) for p in params]
    loss = (_mlp(M, x, *params) ** 2).mean()
    gs = M.autograd.grad(loss, params, create_graph=True)
    hv = M.autograd.grad(sum((g * v).sum() for g, v in zip(gs, vs)), params)
    hess = M.autograd.functional.hessian(lambda b: (_mlp(M, x, params[0], b, params[2]) ** 2)
                                         .mean(), params[1].detach())
    return [h.numpy() for h in hv] + [hess.numpy()]


def test_gradient_penalty_and_hvp_engine():
    """Finite-difference check of the penalty's gradient (engine only)."""
    x, *params = _mlp_inputs(engine)
    x.requires_grad_(True)

    def penalty(w1, b1, w2):
        out = _mlp(engine, x, w1, b1, w2)
        (gx,) = engine.autograd.grad(out.sum(), x, create_graph=True)
        return ((gx.norm(2, dim=1) - 1) ** 2).mean()
    assert gradcheck(penalty, params)
    hv = _hvp(engine)
    assert np.allclose(hv[-1], hv[-1].T)  # the Hessian is symmetric


@pytest.mark.parametrize("which", [_gradient_penalty, _hvp], ids=["penalty", "hvp"])
def test_gradient_penalty_and_hvp_torch(which):
    torch = pytest.importorskip("torch")
    for a, b in zip(which(engine), which(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
