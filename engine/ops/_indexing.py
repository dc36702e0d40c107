"""Shared machinery of the index family: index validation, address arrays (element offsets
into a storage), gather/scatter by address, and the two advanced-indexing primitives
``index`` (IndexBackward0) and ``index_put`` (IndexPutBackward0).

An address array holds, for each element of a result, the offset of the element it reads
(or writes) in the source's flat storage; computing it from the source's own shape, strides
and offset makes every layout (permuted, sliced, stride-0, offset) work the same way."""

from __future__ import annotations

import itertools

import numpy as np

from .. import _dtype as D
from .. import _strided as S
from .._tensor import Tensor
from ..autograd.graph import record
from ._common import empty_tensor, needs_grad, shape_str, sum_to

__all__ = [
    "INDEX_DTYPES",
    "IndexSpec",
    "K",
    "Trusted",
    "check_idx",
    "host_index",
    "idx_error",
    "index",
    "index_put",
    "index_put_into",
    "make_spec",
    "offsets",
    "put_at",
    "take_at",
    "values_array",
]

INDEX_DTYPES = ("int64", "int32")


def K(t: Tensor, op: str):
    """The index kernel module for ``t``'s device."""
    if t._storage.device.type != "cpu":
        from ..cuda import indexing as kern  # same functions, on device arrays
        return kern
    from kernels.cpu import index as kern
    return kern


def host_index(t: Tensor) -> np.ndarray:
    return t._np() if t.is_cpu else t.cpu()._np()


def idx_error(op: str, dim: int, size: int, kind=RuntimeError):
    def err(bad):
        return kind(f"{op}index {bad} is out of bounds for dimension {dim} with size {size}")
    return err


def check_idx(idx, size: int, wrap: bool, err) -> np.ndarray:
    """Validated int64 numpy copy of integer indices (wrapped when ``wrap``); raises
    ``err(bad_value)`` for the first index outside the dimension."""
    arr = host_index(idx) if isinstance(idx, Tensor) else np.asarray(idx)
    from kernels.cpu import index as kern
    out, bad = kern.check_index(arr, int(size), wrap)
    if out is None:
        raise err(bad)
    return out


def offsets(t: Tensor, shape=None, strides=None) -> np.ndarray:
    """Element offsets of ``t``'s elements (or of a strided walk with ``shape``/``strides``
    from ``t``'s offset), C order, as an int64 array."""
    from kernels.cpu import index as kern
    return kern.strided_offsets(t._shape if shape is None else shape,
                                t._stride if strides is None else strides, t._offset)


def take_at(src: Tensor, offs: np.ndarray, op: str) -> Tensor:
    """A new contiguous tensor of ``offs.shape``: ``src.storage[offs]``."""
    out = empty_tensor(tuple(offs.shape), src._dtype, src._storage.device)
    K(src, op).take(src._storage.data, offs, out._np())
    return out


def values_array(values, dtype: D.dtype, shape: tuple, dst: Tensor | None = None):
    """``values`` (scalar or tensor broadcastable to ``shape``) as a numpy array of
    ``dtype`` holding ``prod(shape)`` elements in C order (or one element for a scalar)."""
    if not isinstance(values, Tensor):
        return np.array([values]).astype(dtype.np)
    if not values.is_cpu and dst is not None and not dst.is_cpu:
        from ..cuda.indexing import values_dev  # stays on the device
        return values_dev(values, dtype, shape, dst)
    a = host_index(values)
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    if a.dtype != dtype.np:
        a = a.astype(dtype.np)
    elif dst is not None and values._storage is dst._storage:
        a = np.array(a)  # the source aliases the destination: read it before writing
    return np.ascontiguousarray(a)


def put_at(dst: Tensor, offs: np.ndarray, vals: np.ndarray, mode: str, op: str) -> None:
    K(dst, op).put(dst._storage.data, offs, vals, mode)


# ---- advanced indexing: index / index_put ---------------------------------------------
class IndexSpec:
    """Validated advanced indices of a tensor of ``shape``: ``dims`` indexed by int64 arrays
    ``idx`` (broadcast to ``bshape``); the broadcast block sits at ``pos`` of the result."""

    __slots__ = ("bshape", "dims", "idx", "out_shape", "pos", "shape")

    def __init__(self, shape, dims, idx, bshape):
        self.shape, self.dims, self.idx, self.bshape = tuple(shape), dims, idx, tuple(bshape)
        adjacent = all(b == a + 1 for a, b in itertools.pairwise(dims))
        rest = [shape[d] for d in range(len(shape)) if d not in dims]
        self.pos = dims[0] if adjacent else 0
        self.out_shape = tuple(rest[:self.pos]) + self.bshape + tuple(rest[self.pos:])

    def remap(self, t: Tensor):
        """(strides, maps) of a separable remap of ``t``'s storage giving the indexed
        elements: the broadcast block becomes one virtual dim of stride 1 whose map is the
        combined element offset of the advanced indices (no full-size address array)."""
        adv = np.zeros(self.bshape, np.int64)
        for d, ix in zip(self.dims, self.idx):
            if t._stride[d]:
                adv = adv + ix * t._stride[d]
        rest = [d for d in range(len(self.shape)) if d not in self.dims]
        strides = [t._stride[d] for d in rest]
        maps = [np.arange(t._shape[d], dtype=np.int64) for d in rest]
        strides.insert(self.pos, 1)
        maps.insert(self.pos, adv.reshape(-1))
        return strides, maps

    def take(self, t: Tensor) -> Tensor:
        if not t.is_cpu:  # offsets built (and CUDA indices checked) on the device
            from ..cuda.indexing import spec_take
            return spec_take(self, t)
        strides, maps = self.remap(t)
        out = empty_tensor(self.out_shape, t._dtype, t._storage.device)
        K(t, "index").remap_take(t._storage.data, t._offset, strides, maps, out._np())
        return out

    def put(self, t: Tensor, vals: np.ndarray, mode: str) -> None:
        if not t.is_cpu:
            from ..cuda.indexing import spec_put
            return spec_put(self, t, vals, mode)
        strides, maps = self.remap(t)
        K(t, "index_put_").remap_put(t._storage.data, t._offset, strides, maps, vals, mode)


class Trusted:
    """Indices known to be in range (from nonzero of a matching mask): not re-validated."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def make_spec(shape, items, device=None) -> IndexSpec:
    """``items``: list of (dim, integer index Tensor/array); validates dtype, broadcasting
    and bounds (IndexError, torch's messages). For a tensor on ``device`` 'cuda', CUDA index
    tensors are bounds-checked later, in the kernels (error at the next synchronisation)."""
    if device is not None and device.type != "cpu":
        from ..cuda.indexing import make_spec as make_spec_dev
        return make_spec_dev(shape, items)
    arrs = []
    for _, ix in items:
        if isinstance(ix, Tensor):
            if ix._dtype.name not in INDEX_DTYPES:
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
            arrs.append(host_index(ix))
        elif isinstance(ix, Trusted):
            arrs.append(ix.a)
        else:
            arrs.append(np.asarray(ix))
    try:
        bshape = np.broadcast_shapes(*(a.shape for a in arrs))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         "with shapes " + ", ".join(shape_str(a.shape) for a in arrs)) from None
    dims, idx = [], []
    for k, ((d, ix), a) in enumerate(zip(items, arrs)):
        size = shape[d]
        if 0 in bshape:  # nothing is indexed: torch checks no bounds
            w = np.zeros(a.shape, np.int64)
        else:
            w = a if isinstance(ix, Trusted) else check_idx(a, size, True,
                                                            idx_error("", k, size, IndexError))
        dims.append(d)
        idx.append(np.broadcast_to(w, bshape))
    order = sorted(range(len(dims)), key=lambda i: dims[i])
    if len(set(dims)) != len(dims):
        raise IndexError("each dimension can be indexed by at most one index tensor")
    return IndexSpec(shape, [dims[i] for i in order], [idx[i] for i in order], bshape)


def index(x: Tensor, spec: IndexSpec) -> Tensor:
    """``x[indices]`` for validated advanced indices (a copy)."""
    out = spec.take(x)
    if needs_grad(x):
        def bw(node, g):
            z = g.new_zeros(spec.shape)
            return (index_put(z, spec, g, True),)
        record("IndexBackward0", (x,), (out,), bw)
    return out


def _strip_values(values, out_shape, dtype) -> tuple:
    """Check ``values`` broadcasts to the indexing result (leading size-1 dims dropped)."""
    if not isinstance(values, Tensor):
        return values, None
    if values._dtype is not dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_TNAME[dtype.name]} for the destination and "
                           f"{_TNAME[values._dtype.name]} for the source.")
    vs = values._shape
    while len(vs) > len(out_shape) and vs[0] == 1:
        vs = vs[1:]
    try:
        ok = tuple(S.broadcast_shapes(vs, out_shape)) == tuple(out_shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"shape mismatch: value tensor of shape {shape_str(values._shape)} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{shape_str(out_shape)}")
    return values, vs


def index_put_into(dst: Tensor, spec: IndexSpec, values, accumulate: bool) -> None:
    """Write ``values`` at the indexed places of ``dst`` (no autograd, validated first)."""
    values, vs = _strip_values(values, spec.out_shape, dst._dtype)
    if isinstance(values, Tensor) and vs != values._shape:
        values = values.detach().reshape(vs)
    vals = values_array(values, dst._dtype, spec.out_shape, dst)
    spec.put(dst, vals, "add" if accumulate else "assign")


def index_put(x: Tensor, spec: IndexSpec, values, accumulate: bool = False) -> Tensor:
    """Out-of-place ``x.index_put(indices, values, accumulate)``."""
    from ..autograd.grad_mode import no_grad
    from .views import clone
    _strip_values(values, spec.out_shape, x._dtype)
    with no_grad():
        out = clone(x)
    index_put_into(out, spec, values, accumulate)
    vt = values if isinstance(values, Tensor) else None
    if needs_grad(x, vt):
        vshape = vt._shape if vt is not None else None
        xdt = x._dtype

        def bw(node, g):
            gx = g if accumulate else index_put(g, spec, 0, False)
            gv = None
            if vt is not None and node.next_functions[1][0] is not None:
                gv = index(g, spec)
                gv = sum_to(gv, _stripped(vshape, gv._shape)).reshape(vshape)
                if gv._dtype is not vt._dtype:
                    gv = gv.to(vt._dtype)
            return (gx if xdt is g._dtype else gx.to(xdt)), gv
        record("IndexPutBackward0", (x, vt), (out,), bw)
    return out


_TNAME = {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long",
          "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _stripped(vs, out_shape):
    vs = tuple(vs)
    while len(vs) > len(out_shape) and vs[0] == 1:
        vs = vs[1:]
    return vs
