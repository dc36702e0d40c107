"""Scalar functions of the elementwise ops, written once and compiled into every family
kernel (CPU and CUDA) by the family factories. Unary functions take ``(x, p, q)`` (two
scalar parameters, ignored by most); binary ``(a, b)``; ternary ``(a, b, c)``.
Backward formulas are not here: they are engine ops (engine/ops)."""

import math

import numpy as np
from numba import njit

try:  # vectorisable polynomial versions (no SVML in this Numba build)
    from .fastmath import fexp, fexpm1, flog, flog1p, ftanh, fsigmoid, ferf
except Exception:  # pragma: no cover - fallback keeps the engine importable
    fexp, fexpm1, flog, flog1p, ftanh = np.exp, np.expm1, np.log, np.log1p, np.tanh
    fsigmoid = None
    ferf = None

jit = njit(inline="always", cache=True, error_model="numpy")

# ---- unary ---------------------------------------------------------------------------
@jit
def identity(x, p, q): return x
@jit
def neg(x, p, q): return -x
@jit
def abs_(x, p, q): return abs(x)
@jit
def exp(x, p, q): return fexp(x)
@jit
def exp2(x, p, q): return np.exp2(x)
@jit
def log(x, p, q): return flog(x)
@jit
def log2(x, p, q): return np.log2(x)
@jit
def log10(x, p, q): return np.log10(x)
@jit
def log1p(x, p, q): return flog1p(x)
@jit
def expm1(x, p, q): return fexpm1(x)
@jit
def sqrt(x, p, q): return np.sqrt(x)
@jit
def rsqrt(x, p, q): return 1 / np.sqrt(x)
@jit
def reciprocal(x, p, q): return 1 / x
@jit
def square(x, p, q): return x * x
@jit
def sin(x, p, q): return np.sin(x)
@jit
def cos(x, p, q): return np.cos(x)
@jit
def tan(x, p, q): return np.tan(x)
@jit
def asin(x, p, q): return np.arcsin(x)
@jit
def acos(x, p, q): return np.arccos(x)
@jit
def atan(x, p, q): return np.arctan(x)
@jit
def sinh(x, p, q): return np.sinh(x)
@jit
def cosh(x, p, q): return np.cosh(x)
@jit
def tanh(x, p, q): return ftanh(x)
@jit
def sigmoid(x, p, q): return 1 / (1 + fexp(-x))
@jit
def relu(x, p, q): return x if (x > 0 or x != x) else 0
@jit
def erf(x, p, q): return math.erf(x)
@jit
def gelu(x, p, q): return 0.5 * x * (1 + math.erf(x * 0.7071067811865476))
@jit
def gelu_tanh(x, p, q): return 0.5 * x * (1 + ftanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
@jit
def silu(x, p, q): return x / (1 + fexp(-x))
@jit
def softplus(x, p, q):  # p = beta, q = threshold (torch semantics)
    return x if x * p > q else flog1p(fexp(x * p)) / p
@jit
def mish(x, p, q):
    sp = x if x > 20 else flog1p(fexp(x))
    return x * ftanh(sp)
@jit
def leaky_relu(x, p, q): return x if x > 0 else x * p
@jit
def elu(x, p, q): return x if x > 0 else p * fexpm1(x)          # p = alpha
@jit
def selu(x, p, q):
    return 1.0507009873554805 * (x if x > 0 else 1.6732632423543772 * fexpm1(x))
@jit
def celu(x, p, q): return x if x > 0 else p * fexpm1(x / p)
@jit
def hardtanh(x, p, q): return p if x < p else (q if x > q else x)
@jit
def hardsigmoid(x, p, q): return 0.0 if x <= -3 else (1.0 if x >= 3 else x / 6 + 0.5)
@jit
def hardswish(x, p, q): return 0.0 if x <= -3 else (x if x >= 3 else x * (x + 3) / 6)
@jit
def sign(x, p, q): return (x > 0) - (x < 0) if x == x else x
@jit
def floor(x, p, q): return np.floor(x)
@jit
def ceil(x, p, q): return np.ceil(x)
@jit
def round_(x, p, q): return np.round(x)          # half to even, as torch
@jit
def round_dec(x, p, q): return np.round(x * p) / p   # p = 10**decimals
@jit
def trunc(x, p, q): return np.trunc(x)
@jit
def frac(x, p, q): return x - np.trunc(x)
@jit
def clamp(x, p, q):  # p = min, q = max; NaN propagates
    return x if x != x else (p if x < p else (q if x > q else x))
@jit
def clamp_min(x, p, q): return x if x != x else (p if x < p else x)
@jit
def clamp_max(x, p, q): return x if x != x else (p if x > p else x)
@jit
def isnan(x, p, q): return x != x
@jit
def isinf(x, p, q): return np.isinf(x)
@jit
def isfinite(x, p, q): return np.isfinite(x)
@jit
def isposinf(x, p, q): return x == np.inf
@jit
def isneginf(x, p, q): return x == -np.inf
@jit
def nan_to_num(x, p, q):  # p = posinf value, q = neginf value; nan -> 0
    return 0.0 if x != x else (p if x == np.inf else (q if x == -np.inf else x))
@jit
def logical_not(x, p, q): return not x
@jit
def bitwise_not(x, p, q): return ~x
@jit
def pow_scalar(x, p, q): return x ** p
@jit
def rpow_scalar(x, p, q): return p ** x
@jit
def fill(x, p, q): return p
@jit
def is_nonzero(x, p, q): return x != 0
@jit
def relu6(x, p, q): return x if x != x else (0.0 if x <= 0 else (6.0 if x >= 6 else x))
@jit
def threshold(x, p, q): return x if x > p else q
@jit
def logit(x, p, q): return flog(x / (1 - x))

# ---- binary --------------------------------------------------------------------------
@jit
def add(a, b): return a + b
@jit
def sub(a, b): return a - b
@jit
def mul(a, b): return a * b
@jit
def truediv(a, b): return a / b
@jit
def floordiv_f(a, b): return np.floor(a / b)
@jit
def floordiv_i(a, b): return a // b if b != 0 else 0 * a
@jit
def remainder_f(a, b):
    r = np.fmod(a, b)
    return r + b if (r != 0) and ((r < 0) != (b < 0)) else r
@jit
def remainder_i(a, b): return a % b if b != 0 else 0 * a
@jit
def fmod(a, b): return np.fmod(a, b)
@jit
def fmod_i(a, b):  # C's fmod on integers: the result takes the dividend's sign
    if b == 0:
        return 0 * a
    r = a % b
    return r - b if (r != 0) and ((r < 0) != (a < 0)) else r
@jit
def pow_(a, b): return a ** b
@jit
def maximum(a, b): return a if (a != a or a > b) else b
@jit
def minimum(a, b): return a if (a != a or a < b) else b
@jit
def fmax(a, b): return b if a != a else (a if (b != b or a > b) else b)
@jit
def fmin(a, b): return b if a != a else (a if (b != b or a < b) else b)
@jit
def eq(a, b): return a == b
@jit
def ne(a, b): return a != b
@jit
def lt(a, b): return a < b
@jit
def le(a, b): return a <= b
@jit
def gt(a, b): return a > b
@jit
def ge(a, b): return a >= b
@jit
def logical_and(a, b): return (a != 0) and (b != 0)
@jit
def logical_or(a, b): return (a != 0) or (b != 0)
@jit
def logical_xor(a, b): return (a != 0) != (b != 0)
@jit
def bitwise_and(a, b): return a & b
@jit
def bitwise_or(a, b): return a | b
@jit
def bitwise_xor(a, b): return a ^ b
@jit
def atan2(a, b): return np.arctan2(a, b)
@jit
def hypot(a, b): return np.hypot(a, b)
@jit
def copysign(a, b): return np.copysign(a, b)
@jit
def xlogy(a, b): return 0 * a if a == 0 and b == b else a * flog(b)
@jit
def relu_mask(a, b): return a if b > 0 else 0.0          # grad * (x > 0)
@jit
def second(a, b): return b                                 # copy with broadcast/cast

# ---- ternary -------------------------------------------------------------------------
@jit
def where(c, a, b): return a if c else b
@jit
def lerp(a, b, w): return a + w * (b - a)
@jit
def addcmul(a, b, c): return a + b * c
@jit
def masked_fill(c, a, v): return v if c else a
@jit
def clamp_t(x, lo, hi): return x if x != x else (lo if x < lo else (hi if x > hi else x))
