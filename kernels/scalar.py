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
def clamp(x, p, q):  # p = min, q = max; NaN propagates; min > max gives max (as torch)
    y = p if x < p else x
    return x if x != x else (q if y > q else y)
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
def floordiv_f(a, b):  # PyTorch's div_floor: from fmod, so inf // x is nan, -x // inf is -1
    if b == 0:
        return a / b
    m = np.fmod(a, b)
    d = (a - m) / b
    if m != 0 and (b < 0) != (m < 0):
        d -= 1
    if d == 0:
        return np.copysign(d * 0, a / b)
    f = np.floor(d)
    return f + 1 if d - f > 0.5 else f
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
def pow_i(a, b):  # integers: a negative exponent gives 0 except for bases 1 and -1 (torch)
    if b < 0:
        if a == 1 or a == -1:
            return a if (b & 1) else a * a
        return a * 0
    return a ** b
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
def tanh_backward(a, b): return a * (1 - b * b)           # grad * (1 - y^2), y = tanh(x)
@jit
def sigmoid_backward(a, b): return a * (b * (1 - b))      # grad * y (1 - y), y = sigmoid(x)
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

# ---- special functions (torch.special); self-contained (math.* only) so that the CUDA
# ---- re-binding in kernels.cuda._device.device_scalar compiles them unchanged ----------
@jit
def erfc(x, p, q): return math.erfc(x)
@jit
def lgamma(x, p, q): return math.lgamma(x)
@jit
def erfinv(x, p, q):
    ax = abs(x)
    if ax >= 1.0:
        return math.copysign(math.inf, x) if ax == 1.0 else math.nan
    w = -math.log((1.0 - ax) * (1.0 + ax))
    if w < 5.0:  # Giles' single-precision approximation, then Newton in double
        w = w - 2.5
        r = 2.81022636e-08
        r = 3.43273939e-07 + r * w
        r = -3.5233877e-06 + r * w
        r = -4.39150654e-06 + r * w
        r = 0.00021858087 + r * w
        r = -0.00125372503 + r * w
        r = -0.00417768164 + r * w
        r = 0.246640727 + r * w
        r = 1.50140941 + r * w
    else:
        w = math.sqrt(w) - 3.0
        r = -0.000200214257
        r = 0.000100950558 + r * w
        r = 0.00134934322 + r * w
        r = -0.00367342844 + r * w
        r = 0.00573950773 + r * w
        r = -0.0076224613 + r * w
        r = 0.00943887047 + r * w
        r = 1.00167406 + r * w
        r = 2.83297682 + r * w
    r = r * ax
    for _ in range(3):  # erf(r) - ax, via erfc near 1 where 1 - ax is exact
        err = math.erf(r) - ax if ax < 0.5 else (1.0 - ax) - math.erfc(r)
        r = r - err / (1.1283791670955126 * math.exp(-r * r))
    return math.copysign(r, x)
@jit
def digamma(x, p, q):
    if x == 0.0:
        return -math.inf
    res = 0.0
    if x < 0.0:
        if x == math.floor(x):
            return math.nan
        res = -math.pi / math.tan(math.pi * x)  # reflection: psi(1-x) - pi/tan(pi x)
        x = 1.0 - x
    while x < 10.0:
        res -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (
        -1.0 / 132 + f * (691.0 / 32760 + f * (-1.0 / 12)))))))
    return res + math.log(x) - 0.5 / x + t
@jit
def polygamma(x, p, q):  # p = n; n >= 1: (-1)^(n+1) n! zeta(n+1, x) (Hurwitz, Euler-Maclaurin)
    n = p
    if n == 0.0:
        if x == 0.0:
            return -math.inf
        res = 0.0
        if x < 0.0:
            if x == math.floor(x):
                return math.nan
            res = -math.pi / math.tan(math.pi * x)
            x = 1.0 - x
        while x < 10.0:
            res -= 1.0 / x
            x += 1.0
        f = 1.0 / (x * x)
        t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (
            -1.0 / 132 + f * (691.0 / 32760 + f * (-1.0 / 12)))))))
        return res + math.log(x) - 0.5 / x + t
    s = n + 1.0
    if x <= 0.0 and x == math.floor(x):
        return math.inf if n % 2.0 == 1.0 else math.nan
    fact = math.exp(math.lgamma(n + 1.0))
    sign = 1.0 if n % 2.0 == 1.0 else -1.0
    a = x
    tot = a ** -s
    i = 0
    b = 0.0
    while i < 9 or a <= 9.0:
        i += 1
        a += 1.0
        b = a ** -s
        tot += b
        if abs(b / tot) < 1e-17:
            return sign * fact * tot
    w = a
    tot += b * w / (s - 1.0)
    tot -= 0.5 * b
    aa = 1.0
    k = 0.0
    den = 12.0  # (2j)! / B_2j for j = 1..12: 12, -720, 30240, ...
    for j in range(12):
        if j == 1: den = -720.0
        elif j == 2: den = 30240.0
        elif j == 3: den = -1209600.0
        elif j == 4: den = 47900160.0
        elif j == 5: den = -1.8924375803183791606e9
        elif j == 6: den = 7.47242496e10
        elif j == 7: den = -2.950130727918164224e12
        elif j == 8: den = 1.1646782814350067249e14
        elif j == 9: den = -4.5979787224074726105e15
        elif j == 10: den = 1.8152105401943546773e17
        elif j == 11: den = -7.1661652561756670113e18
        aa *= s + k
        b /= w
        t = aa * b / den
        tot += t
        if abs(t / tot) < 1e-17:
            break
        k += 1.0
        aa *= s + k
        b /= w
        k += 1.0
    return sign * fact * tot
@jit
def i0(x, p, q):
    ax = abs(x)
    if ax <= 20.0:
        h2 = 0.25 * ax * ax
        term = 1.0
        tot = 1.0
        k = 0.0
        while k < 500.0:
            k += 1.0
            term *= h2 / (k * k)
            tot += term
            if term < 1e-17 * tot:
                break
        return tot
    term = 1.0
    tot = 1.0
    k = 0.0
    while k < 60.0:
        k += 1.0
        term *= (2.0 * k - 1.0) ** 2 / (k * 8.0 * ax)
        tot += term
        if term < 1e-17 * tot:
            break
    return tot * math.exp(ax) / math.sqrt(2.0 * math.pi * ax)
@jit
def i0e(x, p, q):
    ax = abs(x)
    if ax <= 20.0:
        h2 = 0.25 * ax * ax
        term = 1.0
        tot = 1.0
        k = 0.0
        while k < 500.0:
            k += 1.0
            term *= h2 / (k * k)
            tot += term
            if term < 1e-17 * tot:
                break
        return tot * math.exp(-ax)
    term = 1.0
    tot = 1.0
    k = 0.0
    while k < 60.0:
        k += 1.0
        term *= (2.0 * k - 1.0) ** 2 / (k * 8.0 * ax)
        tot += term
        if term < 1e-17 * tot:
            break
    return tot / math.sqrt(2.0 * math.pi * ax)
@jit
def i1(x, p, q):
    ax = abs(x)
    if ax <= 20.0:
        h = 0.5 * ax
        h2 = h * h
        term = h
        tot = h
        k = 0.0
        while k < 500.0:
            k += 1.0
            term *= h2 / (k * (k + 1.0))
            tot += term
            if term <= 1e-17 * tot:
                break
        return math.copysign(tot, x)
    term = 1.0
    tot = 1.0
    k = 0.0
    while k < 60.0:
        k += 1.0
        term *= -(4.0 - (2.0 * k - 1.0) ** 2) / (k * 8.0 * ax)
        tot += term
        if abs(term) < 1e-17 * abs(tot):
            break
    return math.copysign(tot * math.exp(ax) / math.sqrt(2.0 * math.pi * ax), x)
@jit
def i1e(x, p, q):
    ax = abs(x)
    if ax <= 20.0:
        h = 0.5 * ax
        h2 = h * h
        term = h
        tot = h
        k = 0.0
        while k < 500.0:
            k += 1.0
            term *= h2 / (k * (k + 1.0))
            tot += term
            if term <= 1e-17 * tot:
                break
        return math.copysign(tot * math.exp(-ax), x)
    term = 1.0
    tot = 1.0
    k = 0.0
    while k < 60.0:
        k += 1.0
        term *= -(4.0 - (2.0 * k - 1.0) ** 2) / (k * 8.0 * ax)
        tot += term
        if abs(term) < 1e-17 * abs(tot):
            break
    return math.copysign(tot / math.sqrt(2.0 * math.pi * ax), x)
@jit
def erfcx(x, p, q):  # exp(x^2) erfc(x) without overflow/underflow (in double)
    if x != x:
        return x
    xd = x * 1.0  # float64 arithmetic also for float32 inputs (a literal is a double)
    ax = abs(xd)
    if ax < 26.0:
        r = math.exp(ax * ax) * math.erfc(ax)
    else:  # asymptotic series 1/(x sqrt(pi)) * sum (-1)^k (2k-1)!! / (2x^2)^k
        term = 1.0
        tot = 1.0
        k = 0.0
        while k < 30.0:
            k += 1.0
            term *= -(2.0 * k - 1.0) / (2.0 * ax * ax)
            tot += term
            if abs(term) < 1e-17:
                break
        r = tot / (ax * 1.7724538509055159)
    if xd < 0.0:
        return math.inf if xd < -26.6 else 2.0 * math.exp(xd * xd) - r
    return r
@jit
def zeta(a, b):  # Hurwitz zeta(x=a, q=b), Euler-Maclaurin as Cephes (torch.special.zeta)
    x = a * 1.0
    q = b * 1.0
    if x == 1.0:
        return math.inf
    if x < 1.0:
        return math.nan
    if q <= 0.0:
        if q == math.floor(q):
            return math.inf
        if x != math.floor(x):
            return math.nan
    tot = q ** -x
    aq = q
    i = 0
    bb = 0.0
    while i < 9 or aq <= 9.0:
        i += 1
        aq += 1.0
        bb = aq ** -x
        tot += bb
        if abs(bb / tot) < 1e-17:
            return tot
    w = aq
    tot += bb * w / (x - 1.0)
    tot -= 0.5 * bb
    fa = 1.0
    k = 0.0
    den = 12.0
    for j in range(12):
        if j == 1: den = -720.0
        elif j == 2: den = 30240.0
        elif j == 3: den = -1209600.0
        elif j == 4: den = 47900160.0
        elif j == 5: den = -1.8924375803183791606e9
        elif j == 6: den = 7.47242496e10
        elif j == 7: den = -2.950130727918164224e12
        elif j == 8: den = 1.1646782814350067249e14
        elif j == 9: den = -4.5979787224074726105e15
        elif j == 10: den = 1.8152105401943546773e17
        elif j == 11: den = -7.1661652561756670113e18
        fa *= x + k
        bb /= w
        t = fa * bb / den
        tot += t
        if abs(t / tot) < 1e-17:
            break
        k += 1.0
        fa *= x + k
        bb /= w
        k += 1.0
    return tot


# ---- API-surface additions (engine/ops/surface.py): inverse hyperbolics, gcd/lcm, igamma ----
@jit
def asinh(x, p, q): return math.asinh(x)
@jit
def acosh(x, p, q): return math.acosh(x) if x >= 1.0 else (x - x) / (x - x)  # nan below 1
@jit
def atanh(x, p, q):
    if x > 1.0 or x < -1.0:
        return (x - x) / (x - x)
    if x == 1.0:
        return math.inf
    if x == -1.0:
        return -math.inf
    return math.atanh(x)
@jit
def gcd(a, b):
    a = abs(a)
    b = abs(b)
    while b != 0:
        t = a % b
        a = b
        b = t
    return a
@jit
def lcm(a, b):
    x = abs(a)
    y = abs(b)
    while y != 0:
        t = x % y
        x = y
        y = t
    if x == 0:
        return x
    return abs(a // x * b)
# (igamma and igammac are written out in full, not through a shared helper: CUDA device code
# re-binds only np/math, so a scalar function must not call another jitted function)
@jit
def igamma(a, b):  # torch.igamma(a, x): regularized lower incomplete gamma P(a, x) (Cephes)
    a = a * 1.0
    x = b * 1.0
    if x < 0.0 or a < 0.0 or math.isnan(a) or math.isnan(x):
        return math.nan
    if a == 0.0:
        return 1.0 if x > 0.0 else math.nan
    if x == 0.0:
        return 0.0
    if math.isinf(a):
        return 0.0 if not math.isinf(x) else math.nan
    if math.isinf(x):
        return 1.0
    ax = a * math.log(x) - x - math.lgamma(a)
    ax = 0.0 if ax < -709.78 else math.exp(ax)
    if x > 1.0 and x > a:  # continued fraction for Q
        y = 1.0 - a
        z = x + y + 1.0
        c = 0.0
        pkm2 = 1.0
        qkm2 = x
        pkm1 = x + 1.0
        qkm1 = z * x
        ans = pkm1 / qkm1
        for _ in range(4000):
            c += 1.0
            y += 1.0
            z += 2.0
            yc = y * c
            pk = pkm1 * z - pkm2 * yc
            qk = qkm1 * z - qkm2 * yc
            t = 1.0
            if qk != 0.0:
                r = pk / qk
                t = abs((ans - r) / r)
                ans = r
            pkm2 = pkm1
            pkm1 = pk
            qkm2 = qkm1
            qkm1 = qk
            if abs(pk) > 4503599627370496.0:
                pkm2 *= 2.220446049250313e-16
                pkm1 *= 2.220446049250313e-16
                qkm2 *= 2.220446049250313e-16
                qkm1 *= 2.220446049250313e-16
            if t <= 1.1102230246251565e-16:
                break
        q = ans * ax
        return 1.0 - q
    r = a  # power series for P
    c = 1.0
    ans = 1.0
    for _ in range(4000):
        r += 1.0
        c *= x / r
        ans += c
        if c <= ans * 1.1102230246251565e-16:
            break
    p = ans * ax / a
    return p
@jit
def igammac(a, b):  # torch.igammac(a, x): Q(a, x) = 1 - P(a, x)
    a = a * 1.0
    x = b * 1.0
    if x < 0.0 or a < 0.0 or math.isnan(a) or math.isnan(x):
        return math.nan
    if a == 0.0:
        return 0.0 if x > 0.0 else math.nan
    if x == 0.0:
        return 1.0
    if math.isinf(a):
        return 1.0 if not math.isinf(x) else math.nan
    if math.isinf(x):
        return 0.0
    ax = a * math.log(x) - x - math.lgamma(a)
    ax = 0.0 if ax < -709.78 else math.exp(ax)
    if x > 1.0 and x > a:  # continued fraction for Q
        y = 1.0 - a
        z = x + y + 1.0
        c = 0.0
        pkm2 = 1.0
        qkm2 = x
        pkm1 = x + 1.0
        qkm1 = z * x
        ans = pkm1 / qkm1
        for _ in range(4000):
            c += 1.0
            y += 1.0
            z += 2.0
            yc = y * c
            pk = pkm1 * z - pkm2 * yc
            qk = qkm1 * z - qkm2 * yc
            t = 1.0
            if qk != 0.0:
                r = pk / qk
                t = abs((ans - r) / r)
                ans = r
            pkm2 = pkm1
            pkm1 = pk
            qkm2 = qkm1
            qkm1 = qk
            if abs(pk) > 4503599627370496.0:
                pkm2 *= 2.220446049250313e-16
                pkm1 *= 2.220446049250313e-16
                qkm2 *= 2.220446049250313e-16
                qkm1 *= 2.220446049250313e-16
            if t <= 1.1102230246251565e-16:
                break
        q = ans * ax
        return q
    r = a  # power series for P
    c = 1.0
    ans = 1.0
    for _ in range(4000):
        r += 1.0
        c *= x / r
        ans += c
        if c <= ans * 1.1102230246251565e-16:
            break
    p = ans * ax / a
    return 1.0 - p
