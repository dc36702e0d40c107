"""Arithmetic with PyTorch's own autograd node: ``rsub`` (``other - alpha * input``)."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd.graph import record
from ._common import needs_grad, sum_to

__all__ = ["rsub"]


def _as(g: Tensor, t: Tensor) -> Tensor:
    return g if g._dtype is t._dtype else g.to(t._dtype)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """``other - alpha * input`` (``1 - x`` is this op: grad_fn ``RsubBackward1`` for a
    number ``other``, ``RsubBackward0`` for a tensor)."""
    from .elementwise import binary
    from ..autograd.grad_mode import no_grad
    if not isinstance(input, Tensor):
        raise TypeError(f"rsub(): argument 'input' must be Tensor, not {type(input).__name__}")
    ot = other if isinstance(other, Tensor) else None
    if not needs_grad(input, ot):
        return binary("sub", other, input if alpha == 1 else input * alpha)
    with no_grad():
        r = binary("sub", other, input if alpha == 1 else input * alpha)
    ishape = input._shape
    if ot is None:
        record("RsubBackward1", (input,), (r,),
               lambda n, g: (_as(sum_to(-g if alpha == 1 else g * -alpha, ishape), input),))
    else:
        oshape = ot._shape
        record("RsubBackward0", (input, ot), (r,), lambda n, g: (
            _as(sum_to(-g if alpha == 1 else g * -alpha, ishape), input)
            if n.next_functions[0][0] is not None else None,
            _as(sum_to(g, oshape), ot) if n.next_functions[1][0] is not None else None))
    return r


# bool inputs of unary ops, as PyTorch's CPU kernels: (exception, message) to raise, or
# "int64" to compute in int64 (square: bool ** 2 promotes)
_BOOL_UNARY = {
    "abs": (NotImplementedError, "\"abs_cpu\" not implemented for 'Bool'"),
    "floor": (NotImplementedError, "\"floor_vml_cpu\" not implemented for 'Bool'"),
    "ceil": (NotImplementedError, "\"ceil_vml_cpu\" not implemented for 'Bool'"),
    "trunc": (NotImplementedError, "\"trunc_vml_cpu\" not implemented for 'Bool'"),
    "round": (NotImplementedError, "\"round_vml_cpu\" not implemented for 'Bool'"),
    "round_dec": (NotImplementedError, "\"round_cpu\" not implemented for 'Bool'"),
    "frac": (NotImplementedError, "\"frac_cpu\" not implemented for 'Bool'"),
    "relu": (RuntimeError, "Boolean inputs not supported for relu"),
    "relu6": (RuntimeError, "Bool inputs not supported for hardtanh"),
    "leaky_relu": (NotImplementedError, "\"leaky_relu_cpu\" not implemented for 'Bool'"),
    "square": "int64",
    "pow_scalar": "int64",
}


def bool_unary(name: str, x: Tensor, p, q, out):
    """The bool-input rule of unary op ``name``: raises, or returns the int64 result; None
    when bool runs as usual."""
    rule = _BOOL_UNARY.get(name)
    if rule is None:
        return None
    if rule == "int64":
        from .. import _dtype as D
        from .elementwise import cast, unary
        return unary(name, cast(x, D.int64), p, q, out)
    raise rule[0](rule[1])
