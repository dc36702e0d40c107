"""kernels.fastmath against numpy float64 references: ulp sweeps, special values, dtypes, SIMD."""

import math
import re

import numpy as np
import pytest
from numba import njit

from kernels import fastmath as fm

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _expit(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _gelu_erf(x):
    return 0.5 * x * _erfc(-x / math.sqrt(2.0)).astype(np.float64)


def _gelu_tanh(x):
    # torch: 0.5 x (1 + tanh(u)) == x * sigmoid(2u), without the cancellation for x < 0
    return x * _expit(2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x**3))


def _softplus(x):
    return np.where(x > 20.0, x, np.logaddexp(0.0, x))


# name: (float64 reference, sweep domain, max float32 ulp -- the numbers in the docstring)
CASES = {
    "fexp": (np.exp, (-104.0, 89.0), 1),
    "fexp2": (np.exp2, (-151.0, 129.0), 1),
    "fexpm1": (np.expm1, (-20.0, 89.0), 1),
    "flog": (np.log, (0.0, 3.4e38), 1),
    "flog2": (np.log2, (0.0, 3.4e38), 1),
    "flog1p": (np.log1p, (-1.0, 3.4e38), 1),
    "ftanh": (np.tanh, (-10.0, 10.0), 1),
    "fsigmoid": (_expit, (-105.0, 105.0), 2),
    "fsoftplus": (_softplus, (-105.0, 30.0), 2),
    "fsilu": (lambda x: x * _expit(x), (-105.0, 105.0), 1),
    "ferf": (lambda x: _erf(x).astype(np.float64), (-5.0, 5.0), 1),
    "fgelu_erf": (_gelu_erf, (-15.0, 15.0), 1),
    "fgelu_tanh": (_gelu_tanh, (-12.0, 12.0), 1),
}
NAMES = list(CASES)
SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 20.0, 20.5, -20.0, 1e-30,
            -1e-30, 1e-45, -1e-45, 1.2e-38, 3.4e38, -3.4e38, 88.72283935546875, 88.7228394,
            -87.33654, -103.97208, 0.625, -0.625, 3.92, -3.92]
_kernels = {}


def _kernel(name):
    """One elementwise loop per function, the way a map kernel would call it."""
    if name not in _kernels:
        f = getattr(fm, name)

        @njit
        def k(a, out):
            for i in range(a.size):
                out[i] = f(a[i])

        _kernels[name] = k
    return _kernels[name]


def _apply(name, a):
    out = np.empty_like(a)
    _kernel(name)(a, out)
    return out


def _sweep(lo, hi, seed, n=1_000_000):
    """Uniform points, log-uniform magnitudes down to 1e-40, random bit patterns, specials."""
    rng = np.random.default_rng(seed)
    top = max(abs(lo), abs(hi))
    mag = np.exp(rng.uniform(np.log(1e-40), np.log(top), n // 2))
    mag = mag * rng.choice([-1.0, 1.0], mag.size)
    bits = rng.integers(0, 2**32, 20_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    parts = [rng.uniform(lo, hi, n // 2), mag[(mag >= lo) & (mag <= hi)], bits, SPECIALS]
    return np.concatenate([np.asarray(p, np.float32) for p in parts])


def _ordered(a):
    """float32 bit patterns as integers ordered like the floats (ulp distance = difference)."""
    i = a.view(np.int32).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF), i)


def _ulp_error(got, ref64):
    ref = ref64.astype(np.float32)
    d = np.abs(_ordered(got) - _ordered(ref))
    nan_got, nan_ref = np.isnan(got), np.isnan(ref)
    return np.where(nan_got | nan_ref, np.where(nan_got == nan_ref, 0, 2**40), d)


@pytest.mark.parametrize("name", NAMES)
def test_float32_max_ulp(name):
    ref, (lo, hi), bound = CASES[name]
    x = _sweep(lo, hi, seed=NAMES.index(name))
    if name.startswith("flog"):  # also every binade, subnormals included, and around 1
        rng = np.random.default_rng(100)
        extra = [np.exp(rng.uniform(np.log(1e-45), np.log(3.4e38), 200_000)),
                 rng.uniform(0.5, 2.0, 100_000)]
        x = np.concatenate([x] + [e.astype(np.float32) for e in extra])
    got = _apply(name, x)
    assert got.dtype == np.float32
    with np.errstate(all="ignore"):
        err = _ulp_error(got, ref(x.astype(np.float64)))
    i = int(np.argmax(err))
    assert err[i] <= bound, f"{name}({x[i]!r}) = {got[i]!r}: {err[i]} ulp > {bound}"


@pytest.mark.parametrize("name", NAMES)
def test_float64_relative_error(name):
    ref, (lo, hi), _ = CASES[name]
    rng = np.random.default_rng(7)
    top = min(max(abs(lo), abs(hi)), 700.0)
    x = np.concatenate([rng.uniform(max(lo, -top), min(hi, top), 50_000),
                        np.exp(rng.uniform(np.log(1e-300), np.log(top), 50_000))])
    if lo < 0:
        x = np.concatenate([x, -x[50_000:]])
    got = _apply(name, x)
    with np.errstate(all="ignore"):
        want = ref(x)
    keep = np.abs(want) > 1e-290  # subnormal results carry fewer digits
    # The GELU tails are ill-conditioned: rounding x/sqrt(2) or the tanh argument moves the
    # result by ~x^2 (erf) or ~|arg| (tanh) ulps in any float64 method, reference included.
    cond = {"fgelu_erf": x * x, "fgelu_tanh": 0.1 * np.abs(x) ** 3 + 2.0 * np.abs(x)}
    rel = np.abs(got - want) / np.abs(want)
    bound = 4e-15 * (1.0 + cond.get(name, 0.0))
    assert (rel <= bound)[keep].all(), f"{name}: max rel err {rel[keep].max():.2e}"


def _special_ref(name, x):
    """numpy/torch semantics on special inputs, via the float64 reference."""
    with np.errstate(all="ignore"):
        want = CASES[name][0](x.astype(np.float64))
    want = np.asarray(want, np.float64)
    if name in ("fsilu", "fgelu_erf", "fgelu_tanh"):  # x * 0 at -inf: torch gives nan
        want[x == -np.inf] = np.nan
    if name == "fgelu_erf":
        want[x == np.inf] = np.inf
    zero = x == 0  # odd functions (and expm1, log1p) keep the sign of zero
    if name in ("fexpm1", "flog1p", "ftanh", "ferf", "fsilu", "fgelu_erf", "fgelu_tanh"):
        want[zero] = x[zero]
    return want


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_special_values(name, dtype):
    x = np.array(SPECIALS + [-2.0, -1.5, -200.0, 1e300, -1e300, 1e-310], np.float64)
    with np.errstate(all="ignore"):  # 1e300 -> inf in float32
        x = x.astype(dtype)
        got = _apply(name, x)
        want = _special_ref(name, x).astype(dtype)
    exact = ~np.isfinite(want) | (want == 0) | np.isin(np.abs(want), [1.0])
    np.testing.assert_array_equal(got[exact], want[exact])
    np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]))
    assert not np.isnan(got[~np.isnan(want)]).any()


def test_limits():
    x32 = np.array([0.0, -1.0, np.inf, np.nan, -np.inf, 100.0, -100.0], np.float32)
    assert np.array_equal(_apply("flog", x32)[:3], [-np.inf, np.nan, np.inf], equal_nan=True)
    assert _apply("fexp", np.array([89.0, -104.0], np.float32)).tolist() == [np.inf, 0.0]
    assert _apply("ftanh", x32)[5:].tolist() == [1.0, -1.0]
    s = _apply("fsigmoid", x32)
    assert s[2] == 1.0 and s[4] == 0.0 and 0.0 < s[6] < 1e-40  # no overflow, no flush
    assert _apply("fsoftplus", np.array([20.5, -np.inf], np.float32)).tolist() == [20.5, 0.0]
    tiny = np.array([1e-7, -1e-7, 1e-20], np.float32)
    for name in ("fexpm1", "flog1p"):  # relative accuracy near 0, not absolute
        want = CASES[name][0](tiny.astype(np.float64)).astype(np.float32)
        np.testing.assert_array_max_ulp(_apply(name, tiny), want, maxulp=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_type_follows_input(dtype):
    @njit
    def one(x):
        return fm.fexp(x), fm.flog1p(x), fm.fgelu_erf(x), fm.fsilu(x)

    one(dtype(0.5))
    res = one.nopython_signatures[-1].return_type
    assert {str(t) for t in res} == {np.dtype(dtype).name}
    # also callable from plain Python, and integers compute in float64
    assert fm.fexp(dtype(1.0)) == pytest.approx(math.e, rel=1e-6)
    assert fm.flog(4) == pytest.approx(math.log(4), rel=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_float32_loop_vectorizes(name):
    k = _kernel(name)
    a = np.ones(64, np.float32)
    k(a, np.empty_like(a))
    asm = k.inspect_asm((k.signatures[0]))
    packed = re.findall(r"^\s*v\w+p[sd]\s.*[yz]mm", asm, re.M)
    libm = re.findall(r"call\w*\s+\w*(exp|log|tanh|erf)", asm)
    assert len(packed) >= 16 and not libm, f"{name}: {len(packed)} packed ops, calls {libm}"


@njit(fastmath=True)
def _all_fastmath(a, out):
    for i in range(a.size):
        x = a[i]
        out[0, i], out[1, i], out[2, i] = fm.fexp(x), fm.fexp2(x), fm.fexpm1(x)
        out[3, i], out[4, i], out[5, i] = fm.flog(x), fm.flog2(x), fm.flog1p(x)
        out[6, i], out[7, i], out[8, i] = fm.ftanh(x), fm.fsigmoid(x), fm.fsoftplus(x)
        out[9, i], out[10, i], out[11, i] = fm.fsilu(x), fm.ferf(x), fm.fgelu_erf(x)
        out[12, i] = fm.fgelu_tanh(x)


def test_fastmath_caller_keeps_special_values():
    # the functions pin their own flags, so nnan/ninf/reassoc in the caller cannot reach them
    x = np.array(SPECIALS, np.float32)
    fast = np.empty((len(NAMES), x.size), np.float32)
    _all_fastmath(x, fast)
    for row, name in enumerate(NAMES):
        with np.errstate(all="ignore"):
            plain = _apply(name, x)
        same_sign = np.signbit(plain) == np.signbit(fast[row])
        assert np.array_equal(plain, fast[row], equal_nan=True), name
        assert same_sign[~np.isnan(plain)].all(), name
