"""``Tensor.view(dtype)``: the same bytes read as another dtype, as PyTorch.

Equal item sizes keep the geometry; otherwise the last dim must be contiguous and is split
(smaller items) or merged (larger items), the other strides and the offset rescaled. The
result shares memory and the version counter with ``x`` (a ``_ViewStorage`` over the same
buffer) and, like PyTorch's, is not differentiable (``requires_grad`` False).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .. import _strided as S
from .._storage import Storage, _inference
from .._tensor import Tensor, make

__all__: list = []

_LEGACY = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


class _ViewStorage(Storage):
    """The buffer of ``parent`` reinterpreted; its version counter is the parent's."""

    __slots__ = ("parent",)

    @property
    def version(self):
        return self.parent.version

    @version.setter
    def version(self, v):
        self.parent.version = v


def _reinterpret(st: Storage, npd) -> Storage:
    if st.data.dtype == npd:
        return st
    base = st.parent if isinstance(st, _ViewStorage) else st
    data = base.data
    if isinstance(data, np.ndarray):
        b = data.view(np.uint8)
    else:  # a 1-D device array
        b = data.view(np.uint8) if hasattr(data, "view") else None
        if b is None:
            raise RuntimeError("view(dtype): this device's buffers cannot be reinterpreted")
    n = b.size // npd.itemsize
    new = _ViewStorage.__new__(_ViewStorage)
    new.data = b[:n * npd.itemsize].view(npd)
    new.raw = None
    new.device = base.device
    new.parent = base
    new.inference = _inference.get()  # as torch: a dtype view is inference only in the mode
    return new


def view_dtype(x: Tensor, dtype) -> Tensor:
    """``x.view(dtype)``: reinterpret the bits (see the module docstring)."""
    dt = D.to_dtype(dtype)
    a, b = x._dtype.itemsize, dt.itemsize
    shape, stride, off = x._shape, x._stride, x._offset
    if a != b:
        what = (f"to view {_LEGACY.get(x._dtype.name, x._dtype.name)} as "
                f"{_LEGACY.get(dt.name, dt.name)} (different element sizes)")
        if x.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if stride[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {stride[-1]}")
        if b < a:
            r = a // b
            shape = shape[:-1] + (shape[-1] * r,)
            stride = tuple(s * r for s in stride[:-1]) + (1,)
            off = off * r
        else:
            r = b // a
            if shape[-1] % r:
                raise RuntimeError(f"self.size(-1) must be divisible by {r} {what}, but got "
                                   f"{shape[-1]}")
            for k, s in enumerate(stride[:-1]):
                if s % r:
                    raise RuntimeError(f"self.stride({k}) must be divisible by {r} {what}, "
                                       f"but got {s}")
            if off % r:
                raise RuntimeError(f"self.storage_offset() must be divisible by {r} {what}, "
                                   f"but got {off}")
            shape = shape[:-1] + (shape[-1] // r,)
            stride = tuple(s // r for s in stride[:-1]) + (1,)
            off = off // r
    st = _reinterpret(x._storage, dt.np)
    return make(st, shape, stride, off, dt, S.is_contiguous(shape, stride))
