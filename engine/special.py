"""engine.special: PyTorch's torch.special. Each function is an elementwise table row
(engine/ops/elementwise_table.py: erfc, erfinv, erfcx, lgamma, digamma, polygamma, i0, i0e,
i1, i1e; CPU and CUDA, differentiable) or a composition of engine ops.

>>> import engine as torch
>>> torch.special.ndtr(torch.tensor([0.0]))
tensor([0.5000])
"""

from __future__ import annotations

import math

from ._tensor import Tensor
from .ops.elementwise import unary, where

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "lgamma",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "mvlgamma",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]


def _t(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"special.{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _row(name, doc):
    def f(input, *, out=None):
        r = unary(name, _t(input, name))
        return r if out is None else out.copy_(r)
    f.__name__, f.__qualname__ = name, name
    f.__doc__ = doc
    return f


erfc = _row("erfc", "1 - erf(x), accurate where erf(x) is near 1.")
erfinv = _row("erfinv", "Inverse of erf on (-1, 1); +-inf at +-1, nan outside.")
erfcx = _row("erfcx", "Scaled complementary error function exp(x^2) erfc(x).")
lgamma = gammaln = _row("lgamma", "log|Gamma(x)|.")
digamma = psi = _row("digamma", "d/dx log Gamma(x) (-inf at 0, nan at negative integers).")
i0 = _row("i0", "Modified Bessel function of the first kind, order 0.")
i0e = _row("i0e", "exp(-|x|) * i0(x).")
i1 = _row("i1", "Modified Bessel function of the first kind, order 1.")
i1e = _row("i1e", "exp(-|x|) * i1(x).")
gammaln.__name__ = "gammaln"


def polygamma(n: int, input, *, out=None):
    """n-th derivative of digamma (n >= 0)."""
    if not isinstance(n, int) or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n. Got n = {n}")
    r = unary("polygamma", _t(input, "polygamma"), float(n))
    return r if out is None else out.copy_(r)


def multigammaln(input, p: int, *, out=None):
    """Multivariate log-gamma: sum_j lgamma(x - j/2) + p(p-1)/4 log(pi), needs x > (p-1)/2."""
    x = _t(input, "multigammaln")
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1, but got p = {p}")
    if x.numel() and bool((x <= (p - 1) / 2).any()):
        raise RuntimeError(f"All elements must be greater than (p-1)/2, but got p = {p}. Pass "
                           f"inputs above {(p - 1) / 2}.")
    r = p * (p - 1) / 4 * math.log(math.pi)
    for j in range(p):
        r = lgamma(x - j / 2) + r
    return r if out is None else out.copy_(r)


mvlgamma = multigammaln


def erf(input, *, out=None):
    r = unary("erf", _t(input, "erf"))
    return r if out is None else out.copy_(r)


def expit(input, *, out=None):
    r = _t(input, "expit").sigmoid()
    return r if out is None else out.copy_(r)


def logit(input, eps=None, *, out=None):
    x = _t(input, "logit")
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    r = x.logit()
    return r if out is None else out.copy_(r)


def _plain(name, input, out, **kw):
    r = _fn(name)(_t(input, name), **kw)
    return r if out is None else out.copy_(r)


def exp2(input, *, out=None):
    return _plain("exp2", input, out)


def expm1(input, *, out=None):
    return _plain("expm1", input, out)


def log1p(input, *, out=None):
    return _plain("log1p", input, out)


def _fn(name):
    import engine
    return getattr(engine, name)


def softmax(input, dim, *, dtype=None):
    return _t(input, "softmax").softmax(dim, dtype=dtype) if dtype is not None else \
        input.softmax(dim)


def log_softmax(input, dim, *, dtype=None):
    return _t(input, "log_softmax").log_softmax(dim, dtype=dtype) if dtype is not None else \
        input.log_softmax(dim)


def logsumexp(input, dim, keepdim=False, *, out=None):
    return _plain("logsumexp", input, out, dim=dim, keepdim=keepdim)


def _pair(a, b):
    from .ops._common import as_tensor_arg
    if not isinstance(a, Tensor):
        a = as_tensor_arg(float(a), "xlogy", b)
    if not isinstance(b, Tensor):
        b = as_tensor_arg(float(b), "xlogy", a)
    return a, b


def xlogy(input, other, *, out=None):
    """x * log(y), 0 where x == 0 (unless y is nan)."""
    from .ops.elementwise import binary
    if not isinstance(input, Tensor):
        input, other = _pair(input, other)
    r = binary("xlogy", input, other)
    return r if out is None else out.copy_(r)


def xlog1py(input, other, *, out=None):
    """x * log1p(y), 0 where x == 0 (unless y is nan)."""
    x, y = _pair(input, other)
    ys = where(x == 0, 0.0, y)
    r = where((x == 0) & ~y.isnan(), 0.0, x * ys.log1p())
    r = where(y.isnan(), y + x * 0, r)
    return r if out is None else out.copy_(r)


def zeta(input, other, *, out=None):
    """Hurwitz zeta(x, q) = sum_k (k + q)^-x (x > 1); differentiable in q only (as PyTorch)."""
    from .ops.elementwise import binary
    x, q = (input, other) if isinstance(input, Tensor) and isinstance(other, Tensor) \
        else _pair(input, other)
    r = binary("zeta", x, q)
    return r if out is None else out.copy_(r)


_SQRT1_2 = 1 / math.sqrt(2)


def ndtr(input, *, out=None):
    """Standard normal CDF, 0.5 * erfc(-x / sqrt(2))."""
    x = _t(input, "ndtr")
    r = 0.5 * erfc(-x * _SQRT1_2) if x.dtype.is_floating_point else \
        0.5 * erfc(-x.double() * _SQRT1_2).float()
    return r if out is None else out.copy_(r)


def ndtri(input, *, out=None):
    """Inverse of ndtr: sqrt(2) * erfinv(2p - 1)."""
    x = _t(input, "ndtri")
    xd = x.double() if x.dtype.is_floating_point and x.dtype.itemsize < 8 else x
    r = math.sqrt(2) * erfinv(2 * xd - 1)  # in double: 2p - 1 rounds to -1 in float32
    r = r.to(x.dtype) if xd is not x else r
    return r if out is None else out.copy_(r)


def log_ndtr(input, *, out=None):
    """log(ndtr(x)), accurate in both tails: log(erfcx(-x/sqrt2) / 2) - x^2/2 for x < -1."""
    x = _t(input, "log_ndtr")
    lo = x < -1
    xl = where(lo, x, -1.0)
    xr = where(lo, 0.0, x)
    left = (erfcx(-xl * _SQRT1_2) * 0.5).log() - xl * xl * 0.5
    right = (-0.5 * erfc(xr * _SQRT1_2)).log1p()
    r = where(lo, left, right)
    return r if out is None else out.copy_(r)


def sinc(input, *, out=None):
    return _plain("sinc", input, out)


def round(input, *, decimals=0, out=None):
    return _plain("round", input, out, decimals=decimals)


def entr(input, *, out=None):
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    x = _t(input, "entr")
    pos = x > 0
    xs = where(pos, x, 1.0)
    r = where(pos, -x * xs.log(), where(x == 0, 0.0 * x, x * 0 - math.inf))
    r = where(x.isnan(), x, r)
    return r if out is None else out.copy_(r)


def _bind() -> None:
    def t_polygamma(self, n):
        return polygamma(n, self)

    def t_mvlgamma(self, p):
        return multigammaln(self, p)
    for name, f in (("erfc", erfc), ("erfinv", erfinv), ("lgamma", lgamma),
                    ("digamma", digamma), ("i0", i0), ("polygamma", t_polygamma),
                    ("mvlgamma", t_mvlgamma)):
        if not hasattr(Tensor, name):
            setattr(Tensor, name, f)
    for name in ("erfc", "erfinv", "lgamma", "digamma", "i0"):
        if not hasattr(Tensor, name + "_"):
            def inplace(self, _n=name):
                return self.copy_(getattr(Tensor, _n)(self))
            setattr(Tensor, name + "_", inplace)


_bind()
