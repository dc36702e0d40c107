"""Arithmetic with PyTorch's own autograd node: ``rsub`` (``other - alpha * input``)."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd.graph import record
from ._common import needs_grad, sum_to

__all__ = ["rsub", "bitwise_left_shift", "bitwise_right_shift"]


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


# ---- shifts: composed in int64 (a power-of-two table, multiply / floor-divide), cast back
_POW2: dict = {}


def _pow2(s: Tensor) -> Tensor:
    """``2 ** s`` (0 <= s <= 62) as int64, by a table lookup (on ``s``'s device)."""
    from .. import _dtype as D
    from .creation import tensor
    dev = s._storage.device
    t = _POW2.get(dev)
    if t is None:
        t = _POW2[dev] = tensor([1 << i for i in range(63)], dtype=D.int64, device=dev)
    return t[s]


def _shift(name: str, a, b) -> Tensor:
    from .. import _dtype as D
    from .creation import tensor
    from .elementwise import cast, check_bool_arith, where, clamp
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    dt = D.result_type(a, b)
    check_bool_arith("lshift" if "left" in name else "rshift", a, b, dt)
    if dt.is_floating_point:
        from ._out import _scalar_name
        raise NotImplementedError(
            f'"{"lshift" if "left" in name else "rshift"}_cpu" not implemented for '
            f"'{_scalar_name(dt)}' ({name} needs integer tensors)")
    dev = (a if isinstance(a, Tensor) else b)._storage.device
    # operands take the result dtype first (an int8 -5 shifted as uint8 is 251)
    a64, b64 = (cast(cast(v, dt) if isinstance(v, Tensor) else tensor(v, dtype=dt, device=dev),
                     D.int64) for v in (a, b))
    bits = dt.itemsize * 8
    bad = (b64 < 0) | (b64 >= bits)
    s = clamp(b64, 0, bits - 1)
    if "left" in name:  # bits shifted past the top are dropped (wrapping multiply + cast)
        lo = clamp(s, None, 62)
        r = a64 * _pow2(lo) * _pow2(s - lo)
        r = where(bad, 0, r)
    else:  # arithmetic shift (floor division); out-of-range shifts fill with the sign
        s = where(bad, bits - 1, s)
        lo = clamp(s, None, 62)
        r = (a64 // _pow2(lo)) // _pow2(s - lo)
        if not dt.is_signed:  # unsigned: out-of-range shifts give 0
            r = where(bad, 0, r)
    return cast(r, dt)


def bitwise_left_shift(input, other, *, out=None) -> Tensor:
    """``input << other`` elementwise (integer tensors; as ``torch.bitwise_left_shift``).

    >>> import engine
    >>> engine.bitwise_left_shift(engine.tensor([1, 2]), 3)
    tensor([ 8, 16])
    """
    return _shift("bitwise_left_shift", input, other)


def bitwise_right_shift(input, other, *, out=None) -> Tensor:
    """``input >> other`` elementwise (arithmetic shift, as ``torch.bitwise_right_shift``).

    >>> import engine
    >>> engine.bitwise_right_shift(engine.tensor([-8, 8]), 2)
    tensor([-2,  2])
    """
    return _shift("bitwise_right_shift", input, other)


def _bind_shifts() -> None:
    from . import inplace as I
    T = Tensor
    T.bitwise_left_shift = T.__lshift__ = bitwise_left_shift
    T.bitwise_right_shift = T.__rshift__ = bitwise_right_shift
    T.__rlshift__ = lambda x, o: bitwise_left_shift(o, x)
    T.__rrshift__ = lambda x, o: bitwise_right_shift(o, x)
    T.bitwise_left_shift_ = T.__ilshift__ = lambda x, o: I.apply_inplace(
        x, bitwise_left_shift(x, o), "bitwise_left_shift_")
    T.bitwise_right_shift_ = T.__irshift__ = lambda x, o: I.apply_inplace(
        x, bitwise_right_shift(x, o), "bitwise_right_shift_")


_bind_shifts()
