"""PyTorch's ``out=`` keyword for public functions: compute, check, then write into ``out``.

>>> import engine
>>> r = engine.empty(2)
>>> engine.add(engine.ones(2), 1, out=r) is r
True
"""

from __future__ import annotations

import functools
import warnings

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import _enabled, no_grad
from ._common import shape_str

__all__ = ["with_out", "write_out", "factory_out"]


def _can_cast(src: D.dtype, dst: D.dtype) -> bool:
    """torch.can_cast: no float -> integer, no non-bool -> bool."""
    if src.is_floating_point and not dst.is_floating_point:
        return False
    return not (src is not D.bool_ and dst is D.bool_)


_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}


def _scalar_name(dt: D.dtype) -> str:
    return _SCALAR_NAMES.get(dt.name, dt.name)


def _check_one(op: str, out, r: Tensor) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out.device != r.device:
        raise RuntimeError(f"{op}: Expected out tensor to have device {r.device}, but got "
                           f"{out.device} instead")
    if not _can_cast(r._dtype, out._dtype):
        raise RuntimeError(f"{op}: result type {_scalar_name(r._dtype)} can't be cast to the "
                           f"desired output type {_scalar_name(out._dtype)} (pass an out "
                           f"tensor of dtype {r._dtype})")
    if _enabled.get() and (r.requires_grad or out.requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad. Call it "
                           "under `with engine.no_grad():` or drop out=.")


def _write_one(out: Tensor, r: Tensor) -> None:
    if out._shape != r._shape:
        if out.numel():
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{shape_str(out._shape)}, which does not match the required output shape "
                f"{shape_str(r._shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=4)
        from .._tensor import empty_tensor
        out.data = empty_tensor(r._shape, out._dtype, out.device)
    with no_grad():
        out.copy_(r)


def write_out(op: str, out, r):
    """Write result ``r`` (a Tensor or a tuple of them) into ``out``; return ``out``."""
    if isinstance(r, Tensor):
        _check_one(op, out, r)
        _write_one(out, r)
        return out
    rs = tuple(r)
    if not isinstance(out, (tuple, list)) or len(out) != len(rs):
        raise TypeError(f"{op}(): argument 'out' must be a tuple of {len(rs)} Tensors")
    for o, x in zip(out, rs):  # check everything before writing anything
        _check_one(op, o, x)
    for o, x in zip(out, rs):
        _write_one(o, x)
    return type(r)(*out) if hasattr(r, "_fields") else tuple(out)


def with_out(fn, name: str | None = None):
    """Wrap ``fn`` so that it accepts ``out=`` as PyTorch's function does."""
    op = name or fn.__name__

    @functools.wraps(fn)
    def f(*args, out=None, **kwargs):
        r = fn(*args, **kwargs)
        return r if out is None else write_out(op, out, r)
    f._with_out = True
    return f


def factory_out(fn):
    """``out=`` for a factory (``zeros``, ``arange``, ...): the result takes ``out``'s dtype
    and device unless given, and ``out`` is resized to it without a warning, as in torch."""
    @functools.wraps(fn)
    def f(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{fn.__name__}(): argument 'out' must be Tensor, not "
                            f"{type(out).__name__}")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = out._dtype
        if kwargs.get("device") is None:
            kwargs["device"] = out.device
        r = fn(*args, **kwargs)
        if r._dtype is not out._dtype:
            raise RuntimeError(f"{fn.__name__}: dtype {_scalar_name(r._dtype)} does not match "
                               f"dtype of out parameter ({_scalar_name(out._dtype)})")
        _check_one(fn.__name__, out, r)
        if out._shape != r._shape:
            from .._tensor import empty_tensor
            out.data = empty_tensor(r._shape, out._dtype, out.device)
        with no_grad():
            out.copy_(r)
        return out
    return f
