"""Vectorizable scalar math for Numba kernels, float32 and float64.

Without SVML, ``np.exp`` in an ``@njit`` loop is a scalar libm call and the loop stays scalar.
These are straight-line code (polynomials, bit casts, selects) that LLVM inlines
(``forceinline``), so the caller's loop becomes packed SIMD. float32 in gives float32 out,
computed in float32 (fsilu, ferf and the GELUs round a float64 evaluation once); other inputs
are computed in float64 with libm, to ~1e-15 relative.

    @njit(cache=True)
    def kernel(a, out):  # from kernels.fastmath import fexp, fsilu
        for i in range(a.size):
            out[i] = fsilu(a[i]) * fexp(-a[i])

Edge cases follow numpy/torch: overflow to inf, underflow to 0 (subnormals kept), log(0) = -inf,
log(x < 0) = nan, nan in nan out, signed zeros; fsoftplus is torch's beta=1, threshold=20.
Max float32 error, in ulp of the float64 result rounded to float32, over 10^6 points each plus
special values (tests/test_fastmath.py): fexp 1, fexp2 1, fexpm1 1, flog 1, flog2 1, flog1p 1,
ftanh 1, fsigmoid 2, fsoftplus 2, fsilu 1, ferf 1, fgelu_erf 1, fgelu_tanh 1.
Polynomials from Cephes (S. L. Moshier, cephes/single: expf, exp2f, logf, log2f, tanhf, erff);
the erfc part of ferf/fgelu_erf is a rational fit made for this file (``_G_P``, ``_G_Q``).

Each function pins its own flags (``fastmath={'contract'}``: FMA only; ``error_model='numpy'``:
no zero-division branch), so a ``fastmath=True`` caller cannot break the rounding tricks or the
nan/inf handling. Numba's cache does not see edits here: clear the callers' caches after one.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = [
    "fexp", "fexp2", "fexpm1", "flog", "flog2", "flog1p", "ftanh", "fsigmoid",
    "fsoftplus", "fsilu", "ferf", "fgelu_erf", "fgelu_tanh",
]

_JIT = dict(cache=True, forceinline=True, fastmath={"contract"}, error_model="numpy")
_F = np.float32


def _f32(*vals):
    return tuple(_F(v) for v in vals)


# ---------------------------------------------------------------- bit casts and dispatch


@intrinsic
def _bits(typingctx, x):
    """Raw IEEE bits: float32 -> int32, float64 -> int64."""
    ity = types.int32 if x == types.float32 else types.int64

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(ity))

    return ity(x), codegen


@intrinsic
def _from_bits(typingctx, i, like):
    """int64 bits as the float type of ``like`` (its low 32 bits for float32)."""

    def codegen(context, builder, sig, args):
        v = args[0] if like == types.float64 else builder.trunc(args[0], ir.IntType(32))
        return builder.bitcast(v, context.get_value_type(like))

    return like(types.int64, like), codegen


def _pick(x, f32, f64):
    """f32(x) for float32 x, else f64(float64(x)); chosen at compile time."""


@overload(_pick, jit_options=_JIT)
def _pick_impl(x, f32, f64):
    if x == types.float32:
        return lambda x, f32, f64: f32(x)
    return lambda x, f32, f64: f64(np.float64(x))


def _via64(x, core):
    """core(x, exp) in float64, with libm exp, or for float32 x with _exp_lite64 and rounded."""


@overload(_via64, jit_options=_JIT)
def _via64_impl(x, core):
    if x == types.float32:
        return lambda x, core: _F(core(np.float64(x), _exp_lite64))
    return lambda x, core: core(np.float64(x), np.exp)


@njit(**_JIT)
def _poly(x, c):
    """Horner's rule, highest coefficient first (Cephes polevl order); unrolled by LLVM."""
    r = c[0]
    for i in range(1, len(c)):
        r = r * x + c[i]
    return r


# ---------------------------------------------------------------- float32 exp family

_LOG2E, _MAGIC = _F(1.4426950408889634), _F(12582912.0)  # 1.5 * 2**23: round-to-int by adding
_LN2_HI, _LN2_LO = _F(0.693359375), _F(-2.12194440e-4)  # Cephes C1, C2: n * C1 is exact
_EXP_P = _f32(1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,  # Cephes expf, |r| <= ln2/2
              4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
_EXP2_P = _f32(1.535336188319500e-4, 1.339887440266574e-3, 9.618437357674640e-3,  # exp2f
               5.550332471162809e-2, 2.402264791363012e-1, 6.931472028550421e-1)
_ZERO, _HALF, _ONE, _TWO, _INF, _NAN = map(_F, (0.0, 0.5, 1.0, 2.0, np.inf, np.nan))


@njit(**_JIT)
def _ldexp32(y, n):
    """y * 2**n for n in [-252, 254]; two normal scale factors, so one rounding if subnormal."""
    n1 = n >> 1
    return y * _from_bits((n1 + 127) << 23, y) * _from_bits((n - n1 + 127) << 23, y)


@njit(**_JIT)
def _expm1_parts32(x):
    """(p, n) with exp(x) = 2**n * (1 + p); p = expm1(r) keeps full relative accuracy."""
    x = _F(89.0) if x > _F(89.0) else x  # nan passes both clamps
    x = _F(-104.0) if x < _F(-104.0) else x
    k = x * _LOG2E + _MAGIC
    fn = k - _MAGIC
    r = x - fn * _LN2_HI - fn * _LN2_LO
    return _poly(r, _EXP_P) * (r * r) + r, _bits(k) - 0x4B400000


@njit(**_JIT)
def _exp32(x):
    p, n = _expm1_parts32(x)
    return _ldexp32(p + _ONE, n)


@njit(**_JIT)
def _exp2_32(x):
    x = _F(129.0) if x > _F(129.0) else x
    x = _F(-151.0) if x < _F(-151.0) else x
    k = x + _MAGIC
    r = x - (k - _MAGIC)  # exact, |r| <= 0.5
    return _ldexp32(r * _poly(r, _EXP2_P) + _ONE, _bits(k) - 0x4B400000)


@njit(**_JIT)
def _expm1_32(x):
    p, n = _expm1_parts32(_F(-18.0) if x < _F(-18.0) else x)  # expm1 = -1 below -17.33
    s = _from_bits((min(n, 127) + 127) << 23, p)
    near = s * p + (s - _ONE)  # s - 1 is exact for small n: no cancellation
    far = _ldexp32(p + _ONE, n) - _ONE  # n = 128 overflows s
    r = near if n < 100 else far
    return x if x == _ZERO else r  # keeps -0.0


# ---------------------------------------------------------------- float32 log family

_SQRTH = _F(0.70710678118654752)
_LOG_P = _f32(7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,  # logf
              1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
              3.3333331174e-1)
_LOG2EA = _F(0.44269504088896341)  # log2(e) - 1, Cephes log2f


@njit(**_JIT)
def _log_parts32(x):
    """(f, y, e): log(x) = f + y + e*ln2 with f = m - 1, m in [sqrt(1/2), sqrt(2)); x > 0."""
    tiny = x < _F(1.1754944e-38)
    i = _bits(x * _F(8388608.0) if tiny else x)  # scale subnormals by 2**23
    e = ((i >> 23) & 0xFF) - (149 if tiny else 126)
    m = _from_bits((i & 0x807FFFFF) | 0x3F000000, x)  # m in [0.5, 1)
    low = m < _SQRTH
    f = (m + m - _ONE) if low else (m - _ONE)
    z = f * f
    y = f * (z * _poly(f, _LOG_P)) - _HALF * z
    return f, y, _F(e - 1 if low else e)


@njit(**_JIT)
def _log_special32(x, r):
    """r where x in (0, inf); log's limits elsewhere: 0 -> -inf, < 0 -> nan, inf/nan -> x."""
    s = -_INF if x == _ZERO else x
    s = _NAN if x < _ZERO else s
    return r if (x > _ZERO) & (x < _INF) else s


@njit(**_JIT)
def _log32(x):
    f, y, e = _log_parts32(x)
    return _log_special32(x, (f + (y + e * _LN2_LO)) + e * _LN2_HI)


@njit(**_JIT)
def _log2_32(x):
    f, y, e = _log_parts32(x)
    return _log_special32(x, (((y * _LOG2EA + f * _LOG2EA) + y) + f) + e)


@njit(**_JIT)
def _log1p32(x):
    u = x + _ONE
    # c: exact rounding error of x + 1 (Fast2Sum); log1p(x) = log(u) + c / u to first order
    c = (x - (u - _ONE)) if x < _ONE else (_ONE - (u - x))
    f, y, e = _log_parts32(u)
    r = (f + (y + (e * _LN2_LO + c / u))) + e * _LN2_HI
    return x if x == _ZERO else _log_special32(u, r)


# ---------------------------------------------------------------- float32 activations

_TANH_P = _f32(-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,  # tanhf, |x| < 0.625
               1.33314422036e-1, -3.33332819422e-1)


@njit(**_JIT)
def _tanh32(x):
    a = abs(x)
    z = a * a
    small = a + a * z * _poly(z, _TANH_P)
    big = _ONE - _TWO / (_exp32(_TWO * min(a, _F(10.0))) + _ONE)
    return math.copysign(small if a < _F(0.625) else big, x)


@njit(**_JIT)
def _sigmoid32(x):
    e = _exp32(-abs(x))  # in (0, 1]: never overflows
    return (_ONE if x >= _ZERO else e) / (_ONE + e)


@njit(**_JIT)
def _softplus32(x):
    return x if x > _F(20.0) else max(x, _ZERO) + _log1p32(_exp32(-abs(x)))


_ERF_T = (7.853861353153693e-5, -8.010193625184903e-4, 5.188327685732524e-3,  # erff, |x|<1
          -2.685381193529856e-2, 1.128358514861418e-1, -3.761262582423300e-1,
          1.128379165726710e0)


@njit(**_JIT)
def _erf32(x):
    # float64 inside: a float32 Horner sum reaches 2 ulp here, and erf is not a hot loop
    a = np.float64(min(abs(x), _F(6.0)))  # erf = 1 in float32 beyond 3.92
    small = a * _poly(a * a, _ERF_T)
    big = 1.0 - _exp_lite64(-a * a) * _gelu_g64(a * _SQRT2)  # 1 - erfc(a)
    return math.copysign(_F(small if a < 1.0 else big), x)


# ---------------------------------------------------------------- evaluated in float64
# For float32 these run in float64 with float32-grade polynomials and round once: in float32,
# x * e / (1 + e) rounds four times (silu: 3 ulp) and the GELU exp arguments (-x*x/2, the tanh
# cubic) lose ~|arg| ulp.

_EXP_P64 = tuple(float(v) for v in _EXP_P)
_LOG2E64, _LN2_64, _MAGIC64 = 1.4426950408889634, 0.6931471805599453, 6755399441055744.0
# erfc(x / sqrt(2)) * exp(x*x / 2) = P(x) / Q(x) on [0, 14.5], relative error 1e-8;
# linearized least-squares rational fit against mpmath, all coefficients positive.
_G_P = (8.178769319e-03, 8.095037659e-02, 3.656025005e-01, 8.755264653e-01, 1.0)
_G_Q = (1.025044727e-02, 1.014627263e-01, 4.683146320e-01, 1.200787737e00, 1.673411316e00, 1.0)
_SQRT2 = 1.4142135623730951
_GT1, _GT3 = 1.5957691216057308, 1.5957691216057308 * 0.044715  # 2*sqrt(2/pi)*(x + c x^3)


@njit(**_JIT)
def _exp_lite64(t):
    """exp(t) for t in [-700, 700] (clamped), ~1e-8 relative: enough before float32 rounding."""
    t = min(max(t, -700.0), 700.0)
    k = t * _LOG2E64 + _MAGIC64
    fn = k - _MAGIC64
    r = t - fn * _LN2_64
    y = _poly(r, _EXP_P64) * (r * r) + r + 1.0
    return y * _from_bits((_bits(k) - 0x4338000000000000 + 1023) << 52, t)


@njit(**_JIT)
def _gelu_g64(a):
    return _poly(a, _G_P) / _poly(a, _G_Q)


@njit(**_JIT)
def _gelu_erf32(x):
    xd = np.float64(min(max(x, _F(-14.5)), _F(14.5)))  # beyond: gelu = x, or underflows to -0
    w = 0.5 * xd * _exp_lite64(-0.5 * xd * xd) * _gelu_g64(abs(xd))  # 0.5x erfc(|x|/sqrt2)
    r = w if x <= _ZERO else np.float64(x) - w  # w keeps the sign of -0.0
    return _NAN if x == -_INF else _F(r)


@njit(**_JIT)
def _silu(x, exp):
    """x * sigmoid(x) for float64 x, as x * e / (1 + e) with e = exp(-|x|) <= 1."""
    e = exp(-abs(x))
    r = (x if x >= 0.0 else x * e) / (1.0 + e)
    return np.nan if x == -np.inf else r  # torch: -inf * 0


@njit(**_JIT)
def _gelu_tanh(x, exp):
    t = x * (_GT1 + _GT3 * x * x)  # 1 + tanh(t/2) = 2 sigmoid(t): no cancellation for x < 0
    e = exp(-abs(t))
    r = (x if t >= 0.0 else x * e) / (1.0 + e)
    return np.nan if x == -np.inf else r


@njit(**_JIT)
def _sigmoid64(x):
    e = np.exp(-abs(x))
    return (1.0 if x >= 0.0 else e) / (1.0 + e)


@njit(**_JIT)
def _softplus64(x):
    return x if x > 20.0 else max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@njit(**_JIT)
def _gelu_erf64(x):
    return 0.5 * x * math.erfc(-x * 0.7071067811865476)


# ---------------------------------------------------------------- public names


@njit(**_JIT)
def fexp(x):
    """exp(x)."""
    return _pick(x, _exp32, np.exp)


@njit(**_JIT)
def fexp2(x):
    """2**x."""
    return _pick(x, _exp2_32, np.exp2)


@njit(**_JIT)
def fexpm1(x):
    """exp(x) - 1, accurate near 0."""
    return _pick(x, _expm1_32, np.expm1)


@njit(**_JIT)
def flog(x):
    """Natural log."""
    return _pick(x, _log32, np.log)


@njit(**_JIT)
def flog2(x):
    """Base-2 log."""
    return _pick(x, _log2_32, np.log2)


@njit(**_JIT)
def flog1p(x):
    """log(1 + x), accurate near 0."""
    return _pick(x, _log1p32, np.log1p)


@njit(**_JIT)
def ftanh(x):
    """tanh(x)."""
    return _pick(x, _tanh32, np.tanh)


@njit(**_JIT)
def fsigmoid(x):
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    return _pick(x, _sigmoid32, _sigmoid64)


@njit(**_JIT)
def fsoftplus(x):
    """torch.nn.functional.softplus with beta=1, threshold=20."""
    return _pick(x, _softplus32, _softplus64)


@njit(**_JIT)
def fsilu(x):
    """x * sigmoid(x)."""
    return _via64(x, _silu)


@njit(**_JIT)
def ferf(x):
    """Error function."""
    return _pick(x, _erf32, math.erf)


@njit(**_JIT)
def fgelu_erf(x):
    """x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))); torch gelu(approximate='none')."""
    return _pick(x, _gelu_erf32, _gelu_erf64)


@njit(**_JIT)
def fgelu_tanh(x):
    """0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3))); torch approximate='tanh'."""
    return _via64(x, _gelu_tanh)
