"""Module-level functions for the elementwise table (``engine.exp(x)``, ``engine.add(a, b)``)."""

from __future__ import annotations

import builtins
import math

from ._tensor import Tensor
from .ops.elementwise import binary, unary

_UNARY = ("neg", "abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
          "reciprocal", "square", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
          "tanh", "sigmoid", "logit", "erf", "relu", "sign", "floor", "ceil", "trunc", "frac",
          "isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not", "bitwise_not")
_BINARY = ("maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "copysign", "xlogy", "eq",
           "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor", "floor_divide", "remainder", "fmod")


def _mk_u(name):
    def f(input, *, out=None):
        return unary(name, input)
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}``. ``engine.{name}(engine.tensor([0.5]))``"
    return f


def _mk_b(name):
    def f(input, other, *, out=None):
        return binary(name, input, other)
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` with broadcasting and type promotion."
    return f


for _n in _UNARY:
    globals()[_n] = _mk_u(_n)
for _n in _BINARY:
    globals()[_n] = _mk_b(_n)


def add(input, other, *, alpha=1, out=None):
    from ._methods import _scaled
    return Tensor.add(input, other, alpha=alpha) if isinstance(input, Tensor) else \
        binary("add", input, _scaled("add", input, other, alpha))


def sub(input, other, *, alpha=1, out=None):
    from ._methods import _scaled
    return Tensor.sub(input, other, alpha=alpha) if isinstance(input, Tensor) else \
        binary("sub", input, _scaled("sub", input, other, alpha))


def mul(input, other, *, out=None):
    return binary("mul", input, other)


def div(input, other, *, rounding_mode=None, out=None):
    return Tensor.div(input, other, rounding_mode=rounding_mode) if isinstance(
        input, Tensor) else binary("div", input, other)


def pow(input, exponent, *, out=None):
    if isinstance(input, Tensor):
        return Tensor.pow(input, exponent)
    return Tensor.__rpow__(exponent, input)


def round(input, *, decimals=0, out=None):
    return Tensor.round(input, decimals)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    return Tensor.nan_to_num(input, nan, posinf, neginf)


def clip(input, min=None, max=None, *, out=None):
    return Tensor.clamp(input, min, max)


def addcmul(input, t1, t2, *, value=1, out=None):
    return input + value * t1 * t2


def addcdiv(input, t1, t2, *, value=1, out=None):
    return input + value * t1 / t2


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``a == b``, or ``|a - b|`` finite and ``<= atol + |rtol * b|`` (torch's rule: inf is
    close only to the same inf; both tensors must have the same dtype)."""
    from . import _dtype as D
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype is not b.dtype:
        raise RuntimeError(f"isclose: {_legacy(a.dtype)} did not match {_legacy(b.dtype)} "
                           f"(a is {a.dtype}, b is {b.dtype}; convert one with .to())")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: {'rtol' if rtol < 0 else 'atol'} must be greater than or "
                           f"equal to zero, but got {rtol if rtol < 0 else atol}")
    close = a == b
    fa = a.dtype.is_floating_point if isinstance(a, Tensor) else isinstance(a, float)
    if equal_nan and fa:
        close = close | (a.isnan() & (b.isnan() if isinstance(b, Tensor) else math.isnan(b)))
    if rtol == 0 and atol == 0:
        return close
    if not fa:  # integers and bools compare in the default float dtype
        a = a.to(D.get_default_dtype())
        b = b.to(D.get_default_dtype()) if isinstance(b, Tensor) else b
    allowed = atol + (rtol * b).abs() if isinstance(b, Tensor) else atol + builtins.abs(rtol * b)
    err = (a - b).abs()
    return close | (err.isfinite() & (err <= allowed))


def _legacy(dt) -> str:
    return {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(dt.name, dt.name)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(a, b, rtol, atol, equal_nan).all())


def equal(a, b) -> bool:
    return a._shape == b._shape and bool((a == b).all())


negative, absolute, multiply, subtract, divide, true_divide = (
    globals()["neg"], globals()["abs"], mul, sub, div, div)
greater, less, greater_equal, less_equal, not_equal = (
    globals()["gt"], globals()["lt"], globals()["ge"], globals()["le"], globals()["ne"])
arcsin, arccos, arctan, arctan2 = (globals()["asin"], globals()["acos"], globals()["atan"],
                                   globals()["atan2"])

__all__ = list(_UNARY + _BINARY) + [
    "add", "sub", "mul", "div", "pow", "round", "nan_to_num", "clip", "addcmul", "addcdiv",
    "isclose", "allclose", "equal", "negative", "absolute", "multiply", "subtract", "divide",
    "true_divide", "greater", "less", "greater_equal", "less_equal", "not_equal", "arcsin",
    "arccos", "arctan", "arctan2"]
