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
