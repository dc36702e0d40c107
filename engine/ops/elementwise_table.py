"""The elementwise op table: scalar function, dtype rule and backward of every op.

Kinds: 'float' (integers promote to the default float), 'same' (keep dtype), 'bool'
(boolean result), 'int' (integers only); binary 'promote' (PyTorch promotion)."""

from __future__ import annotations

import math

from .elementwise import LAZY_SCALARS as F
from .elementwise import _b, _u, binary, unary, where

u, b = unary, binary


def _sig(t):
    return u("sigmoid", t)


# ---- unary: name, scalar fn, kind, backward(g, x_or_y, p, q), saves x or y ---------------
_u("neg", F.neg, "same", lambda g, x, p, q: -g, None)
_u("abs", F.abs_, "same", lambda g, x, p, q: g * u("sign", x))
_u("exp", F.exp, bw=lambda g, y, p, q: g * y, save="y")
_u("exp2", F.exp2, bw=lambda g, y, p, q: g * y * math.log(2.0), save="y")
_u("expm1", F.expm1, bw=lambda g, y, p, q: g * (y + 1), save="y")
_u("log", F.log, bw=lambda g, x, p, q: g / x)
_u("log2", F.log2, bw=lambda g, x, p, q: g / (x * math.log(2.0)))
_u("log10", F.log10, bw=lambda g, x, p, q: g / (x * math.log(10.0)))
_u("log1p", F.log1p, bw=lambda g, x, p, q: g / (x + 1))
_u("sqrt", F.sqrt, bw=lambda g, y, p, q: g / (2 * y), save="y")
_u("rsqrt", F.rsqrt, bw=lambda g, y, p, q: g * (-0.5) * y * y * y, save="y")
_u("reciprocal", F.reciprocal, bw=lambda g, y, p, q: -g * y * y, save="y")
_u("square", F.square, "same", lambda g, x, p, q: g * 2 * x, node="PowBackward0")
_u("sin", F.sin, bw=lambda g, x, p, q: g * u("cos", x))
_u("cos", F.cos, bw=lambda g, x, p, q: -g * u("sin", x))
_u("tan", F.tan, bw=lambda g, y, p, q: g * (1 + y * y), save="y")
_u("asin", F.asin, bw=lambda g, x, p, q: g * u("rsqrt", 1 - x * x))
_u("acos", F.acos, bw=lambda g, x, p, q: -g * u("rsqrt", 1 - x * x))
_u("atan", F.atan, bw=lambda g, x, p, q: g / (1 + x * x))
_u("sinh", F.sinh, bw=lambda g, x, p, q: g * u("cosh", x))
_u("cosh", F.cosh, bw=lambda g, x, p, q: g * u("sinh", x))
_u("tanh", F.tanh, bw=lambda g, y, p, q: b("tanh_backward", g, y), save="y")
_u("sigmoid", F.sigmoid, bw=lambda g, y, p, q: b("sigmoid_backward", g, y), save="y")
_u("logit", F.logit, bw=lambda g, x, p, q: g / (x * (1 - x)))
_u("erf", F.erf, bw=lambda g, x, p, q: g * (2 / math.sqrt(math.pi)) * u("exp", -x * x))
_u("relu", F.relu, "same", lambda g, y, p, q: b("relu_mask", g, y), save="y",
   node="ReluBackward0")
_u("relu6", F.relu6, "same", lambda g, x, p, q: g * ((x > 0) & (x < 6)), node="HardtanhBackward0")
_u("gelu", F.gelu, bw=lambda g, x, p, q: g * (0.5 * (1 + u("erf", x * 0.7071067811865476))
                                            + x * 0.3989422804014327 * u("exp", -0.5 * x * x)))


def _gelu_tanh_bw(g, x, p, q):
    k = 0.7978845608028654
    inner = k * (x + 0.044715 * x * x * x)
    t = u("tanh", inner)
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x))


_u("gelu_tanh", F.gelu_tanh, bw=_gelu_tanh_bw, node="GeluBackward0")
_u("silu", F.silu, bw=lambda g, x, p, q: g * _sig(x) * (1 + x * (1 - _sig(x))))
_u("mish", F.mish, bw=lambda g, x, p, q: g * (
    u("tanh", u("softplus", x, 1.0, 20.0)) + x * _sig(x)
    * (1 - u("tanh", u("softplus", x, 1.0, 20.0)) ** 2)))
_u("softplus", F.softplus, bw=lambda g, x, p, q: g * where(x * p > q, 1.0, _sig(x * p)))
_u("leaky_relu", F.leaky_relu, "same", lambda g, x, p, q: g * where(x > 0, 1.0, p))
_u("elu", F.elu, bw=lambda g, x, p, q: g * where(x > 0, 1.0, p * u("exp", x)))
_u("celu", F.celu, bw=lambda g, x, p, q: g * where(x > 0, 1.0, u("exp", x / p)))
_u("selu", F.selu, bw=lambda g, x, p, q: g * where(
    x > 0, 1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * u("exp", x)))
_u("hardtanh", F.hardtanh, "same", lambda g, x, p, q: g * ((x > p) & (x < q)))
_u("hardsigmoid", F.hardsigmoid, bw=lambda g, x, p, q: g * ((x > -3) & (x < 3)) / 6)
_u("hardswish", F.hardswish, bw=lambda g, x, p, q: g * where(
    x < -3, 0.0, where(x <= 3, x / 3 + 0.5, 1.0)))
_u("threshold", F.threshold, "same", lambda g, x, p, q: g * (x > p))
_u("sign", F.sign, "same", lambda g, x, p, q: g * 0, None)
_u("floor", F.floor, "same", lambda g, x, p, q: g * 0, None)
_u("ceil", F.ceil, "same", lambda g, x, p, q: g * 0, None)
_u("round", F.round_, "same", lambda g, x, p, q: g * 0, None)
_u("round_dec", F.round_dec, "same", lambda g, x, p, q: g * 0, None, node="RoundBackward1")
_u("trunc", F.trunc, "same", lambda g, x, p, q: g * 0, None)
_u("frac", F.frac, "same", lambda g, x, p, q: g, None)
_u("clamp", F.clamp, "same", lambda g, x, p, q: g * ((x >= p) & (x <= q)),
   node="ClampBackward1")
_u("clamp_min", F.clamp_min, "same", lambda g, x, p, q: g * (x >= p), node="ClampMinBackward0")
_u("clamp_max", F.clamp_max, "same", lambda g, x, p, q: g * (x <= p), node="ClampMaxBackward0")
_u("pow_scalar", F.pow_scalar, "same",
   lambda g, x, p, q: g * 0 if p == 0 else g * p * u("pow_scalar", x, p - 1),
   node="PowBackward0")
def _rpow_bw(g, y, p, q):
    if p == 0:  # torch: 0 where the exponent is >= 0 (y <= 1), else y * log(0) = -inf
        return g * where(y > 1, -math.inf, 0.0)
    return g * y * (math.log(p) if p > 0 else math.nan)


_u("rpow_scalar", F.rpow_scalar, "float", _rpow_bw, save="y", node="PowBackward1")
_u("nan_to_num", F.nan_to_num, "same", lambda g, x, p, q: g * u("isfinite", x),
   node="NanToNumBackward0")
_u("isnan", F.isnan, "bool")
_u("isinf", F.isinf, "bool")
_u("isfinite", F.isfinite, "bool")
_u("isposinf", F.isposinf, "bool")
_u("isneginf", F.isneginf, "bool")
_u("logical_not", F.logical_not, "bool")
_u("bitwise_not", F.bitwise_not, "int")
_u("identity", F.identity, "same", lambda g, x, p, q: g, None, node="CloneBackward0")
_u("fill", F.fill, "same")

# ---- binary: backward(g, a, b, y) -> (ga, gb) before summing to the input shapes ---------
_b("add", F.add, bw=lambda g, a, b, y: (g, g), save="")
_b("sub", F.sub, bw=lambda g, a, b, y: (g, -g), save="")
_b("mul", F.mul, bw=lambda g, a, b, y: (g * b, g * a if a is not None else None))
_b("div", F.truediv, "float", bw=lambda g, a, b, y: (
    g / b, -g * a / (b * b) if a is not None else None))
_b("floor_divide", (F.floordiv_f, F.floordiv_i))
_b("remainder", (F.remainder_f, F.remainder_i),
   bw=lambda g, a, b, y: (g, -g * u("floor", a / b)))
_b("fmod", (F.fmod, F.fmod_i), bw=lambda g, a, b, y: (g, -g * u("trunc", a / b)))


def _pow_bw(g, a, b, y):
    ga = g * b * a ** (b - 1) if _is_t(b) else (g * 0 if b == 0 else g * b * a ** (b - 1))
    gb = None
    if _is_t(b):
        la = where(a > 0, u("log", where(a > 0, a, 1.0)), 0.0) if _is_t(a) else math.log(a)
        gb = g * y * la
    return ga, gb


def _is_t(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor)


_b("pow", (F.pow_, F.pow_i), bw=_pow_bw, save="aby")
_b("maximum", F.maximum, bw=lambda g, a, b, y: (
    g * ((a > b) + (a == b) * 0.5), g * ((b > a) + (a == b) * 0.5)))
_b("minimum", F.minimum, bw=lambda g, a, b, y: (
    g * ((a < b) + (a == b) * 0.5), g * ((b < a) + (a == b) * 0.5)))
def _fm_bw(cmp):
    """fmax/fmin (PyTorch's rule): the whole gradient goes to ``a`` where ``cmp(a, b)`` or
    ``b`` is nan, else to ``b`` (ties go to ``a``, unlike maximum's even split)."""
    def bw(g, a, b, y):
        if not _is_t(b) and math.isnan(b):
            return g, None
        keep = cmp(a, b)
        if _is_t(b):
            keep = keep | u("isnan", b)
        return where(keep, g, 0.0), where(keep, 0.0, g)
    return bw


_b("fmax", F.fmax, bw=_fm_bw(lambda a, b: a >= b))
_b("fmin", F.fmin, bw=_fm_bw(lambda a, b: a <= b))
_b("atan2", F.atan2, "float", bw=lambda g, a, b, y: (
    g * b / (a * a + b * b), -g * a / (a * a + b * b)))
_b("hypot", F.hypot, "float", bw=lambda g, a, b, y: (g * a / y, g * b / y), save="aby")
_b("copysign", F.copysign, "float", bw=lambda g, a, b, y: (
    g * where(a == 0, 0.0, y / where(a == 0, 1.0, a)), g * 0 if _is_t(b) else None), save="aby")
_b("xlogy", F.xlogy, "float", bw=lambda g, a, b, y: (g * u("log", b), g * a / b))
_b("relu_mask", F.relu_mask, bw=lambda g, a, m, y: (binary("relu_mask", g, m), None),
   node="ReluBackwardBackward0")
# tanh's and sigmoid's backward as one kernel each (three ops before), differentiable again
_b("tanh_backward", F.tanh_backward, "float", node="TanhBackwardBackward0",
   bw=lambda g, a, y, _: (binary("tanh_backward", g, y), -2 * g * a * y))
_b("sigmoid_backward", F.sigmoid_backward, "float", node="SigmoidBackwardBackward0",
   bw=lambda g, a, y, _: (binary("sigmoid_backward", g, y), g * a * (1 - 2 * y)))
for _n, _f in (("eq", F.eq), ("ne", F.ne), ("lt", F.lt), ("le", F.le), ("gt", F.gt),
               ("ge", F.ge), ("logical_and", F.logical_and), ("logical_or", F.logical_or),
               ("logical_xor", F.logical_xor)):
    _b(_n, _f, "bool")
for _n, _f in (("bitwise_and", F.bitwise_and), ("bitwise_or", F.bitwise_or),
               ("bitwise_xor", F.bitwise_xor)):
    _b(_n, _f, "int")

# ---- special functions (engine.special): one scalar in kernels/scalar.py + one row each ----
_SQRT_PI = math.sqrt(math.pi)
_u("erfc", F.erfc, bw=lambda g, x, p, q: g * (-2 / _SQRT_PI) * u("exp", -x * x))
_u("erfinv", F.erfinv, bw=lambda g, y, p, q: g * (_SQRT_PI / 2) * u("exp", y * y), save="y")
_u("lgamma", F.lgamma, bw=lambda g, x, p, q: g * u("digamma", x))
_u("digamma", F.digamma, bw=lambda g, x, p, q: g * u("polygamma", x, 1))
_u("polygamma", F.polygamma, bw=lambda g, x, p, q: g * u("polygamma", x, p + 1))
_u("i0", F.i0, bw=lambda g, x, p, q: g * u("i1", x))
_u("i0e", F.i0e, bw=lambda g, x, p, q: g * (u("i1e", x) - u("sign", x) * u("i0e", x)),
   node="SpecialI0EBackward0")


def _i1_bw(g, x, p, q):
    xs = where(x == 0, 1.0, x)
    return g * where(x == 0, 0.5, u("i0", x) - u("i1", x) / xs)


def _i1e_bw(g, x, p, q):
    xs = where(x == 0, 1.0, x)
    return g * where(x == 0, 0.5, u("i0e", x) - u("i1e", x) * (u("sign", x) + 1 / xs))


_u("i1", F.i1, bw=_i1_bw, node="SpecialI1Backward0")
_u("i1e", F.i1e, bw=_i1e_bw, node="SpecialI1EBackward0")
_u("erfcx", F.erfcx, bw=lambda g, x, p, q: g * (2 * x * u("erfcx", x) - 2 / _SQRT_PI),
   node="SpecialErfcxBackward0")
# zeta(x, q): PyTorch defines the derivative for q only (-x zeta(x + 1, q)); none for x
_b("zeta", F.zeta, "float", bw=lambda g, a, b, y: (None, -g * a * binary("zeta", a + 1, b)),
   node="SpecialZetaBackward0")

# ---- API-surface additions (engine/ops/surface.py) ----------------------------------------
_u("asinh", F.asinh, bw=lambda g, x, p, q: g * u("rsqrt", x * x + 1))
_u("acosh", F.acosh, bw=lambda g, x, p, q: g * u("rsqrt", (x - 1) * (x + 1)))
_u("atanh", F.atanh, bw=lambda g, x, p, q: g / (1 - x * x))
_b("gcd", F.gcd, "int")
_b("lcm", F.lcm, "int")


def _igamma_dx(a, x):
    """d/dx P(a, x) = x^(a-1) e^-x / Gamma(a); PyTorch defines no derivative for ``a``."""
    return u("exp", (a - 1) * u("log", x) - x - u("lgamma", a)) if _is_t(a) else \
        u("exp", (a - 1) * u("log", x) - x - math.lgamma(a))


_b("igamma", F.igamma, "float", bw=lambda g, a, x, y: (None, g * _igamma_dx(a, x)),
   node="IgammaBackward0")
_b("igammac", F.igammac, "float", bw=lambda g, a, x, y: (None, -g * _igamma_dx(a, x)),
   node="IgammacBackward0")
