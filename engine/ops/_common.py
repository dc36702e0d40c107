"""Helpers shared by op declarations: argument checks, backends, scalar operands."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, empty_tensor
from ..autograd.grad_mode import _enabled

__all__ = ["Tensor", "empty_tensor", "needs_grad", "backend", "scalar_array", "check_same_device",
           "as_tensor_arg", "sum_to", "shape_str", "normalize_dims"]


def needs_grad(*ts) -> bool:
    """True when grad mode is on and some tensor argument requires grad (records the op)."""
    if not _enabled.get():
        return False
    for t in ts:
        if t is not None and (t._requires_grad or t._grad_fn is not None):
            return True
    return False


def backend(device):
    if device.type == "cpu":
        from .. import _cpu_backend as b
        return b
    from ..cuda import _backend as b
    return b


_scalar_cache: dict = {}


def scalar_array(v, dt: D.dtype) -> np.ndarray:
    """A cached 1-element array holding scalar ``v`` in dtype ``dt`` (a broadcast operand)."""
    key = (v, type(v), dt.name)
    a = _scalar_cache.get(key)
    if a is None:
        try:
            a = np.array([v], dtype=dt.np)
        except OverflowError:  # an int outside the dtype's range wraps, as in torch
            if not isinstance(v, int) or not -2 ** 63 <= v < 2 ** 63:
                raise
            a = np.array([v], dtype=np.int64).astype(dt.np)
        a.flags.writeable = False
        if len(_scalar_cache) > 4096:
            _scalar_cache.clear()
        _scalar_cache[key] = a
    return a


def check_same_device(op: str, *ts) -> None:
    dev = None
    for t in ts:
        if not isinstance(t, Tensor):
            continue
        if t._storage.device.type == "cpu" and not t._shape:
            continue  # 0-d CPU tensors act as scalars, as in PyTorch
        d = t._storage.device
        if dev is None:
            dev = d
        elif d != dev:
            raise RuntimeError(f"{op}: Expected all tensors to be on the same device, but found "
                               f"at least two devices, {dev} and {d}! Move them with .to(device).")


def as_tensor_arg(x, op: str, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from .creation import tensor
    if isinstance(x, (int, float, bool, np.number, np.bool_, list, tuple, np.ndarray)):
        dev = like.device if like is not None else None
        return tensor(x, device=dev)
    raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")


def shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def normalize_dims(dim, ndim: int, op: str) -> tuple:
    """Dims as a sorted tuple of non-negative ints (None = all)."""
    from .._tensor import _wrap_dim
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int) or hasattr(dim, "__index__") and not isinstance(dim, (list, tuple)):
        dims = (int(dim),)
    else:
        dims = tuple(int(d) for d in dim)
        if not dims:
            return tuple(range(ndim))
    out = sorted(_wrap_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {out} appears multiple times in the list of dims")
    return tuple(out) if ndim else ()  # a 0-d tensor accepts dim 0 / -1: nothing to reduce


def sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum a broadcast gradient back to ``shape`` (the backward of expand)."""
    if g._shape == shape:
        return g
    lead = len(g._shape) - len(shape)
    dims = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and g._shape[lead + i] != 1:
            dims.append(lead + i)
    r = g.sum(dim=tuple(dims), keepdim=True) if dims else g
    if lead:
        r = r.reshape(shape)
    elif r._shape != shape:
        r = r.reshape(shape)
    return r
