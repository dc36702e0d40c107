"""CPU launcher: turns Tensors into numpy views over their storage and picks the kernel
variant (flat contiguous / 4-D strided, serial / parallel) after collapsing dims in C++."""

from __future__ import annotations

import itertools

import numpy as np

from kernels.cpu.elementwise import PARALLEL_MIN
from . import _strided as S

__all__ = ["run_elementwise", "flat_view", "strided_view"]


def flat_view(t) -> np.ndarray | None:
    """1-D view of a contiguous tensor, a 1-element view of an all-stride-0 one, else None."""
    if isinstance(t, np.ndarray):
        return t
    off = t._offset
    if t._contig:
        n = 1
        for s in t._shape:
            n *= s
        return t._storage.data[off:off + n]
    for s in t._stride:
        if s:
            return None
    return t._storage.data[off:off + 1]


def strided_view(t, shape, strides, offset=None) -> np.ndarray:
    if isinstance(t, np.ndarray):  # broadcast scalar array
        return np.ndarray(shape, t.dtype, buffer=t, strides=(0,) * len(shape))
    isz = t._dtype.itemsize
    off = t._offset if offset is None else offset
    return np.ndarray(shape, t._dtype.np, buffer=t._storage.data, offset=off * isz,
                      strides=tuple(s * isz for s in strides))


def run_elementwise(kset, out, ins, params=()):
    """Run ``out[...] = fn(*ins, *params)``; ``ins`` are tensors of out's shape (stride-0
    broadcast allowed) or 1-element numpy arrays (scalars)."""
    n = 1
    for s in out._shape:
        n *= s
    if n == 0:
        return
    if out._contig:
        views = [flat_view(t) for t in ins]
        if all(v is not None for v in views):
            o = out._storage.data[out._offset:out._offset + n]
            k = kset.flat_par if n >= PARALLEL_MIN else kset.flat
            k(*views, o, *params)
            return
    strides = [out._stride] + [(0,) * len(out._shape) if isinstance(t, np.ndarray)
                               else t._stride for t in ins]
    shape, strides = S.collapse(out._shape, strides)
    k = kset.strided_par if n >= PARALLEL_MIN else kset.strided
    ops = [out] + list(ins)
    nd = len(shape)
    if nd <= 4:  # the usual case, without the generic loop below
        pad = (0,) * (4 - nd)
        args = []
        for t, st in zip(ops, strides):
            if isinstance(t, np.ndarray):
                args += (t, 0, pad + tuple(st))
            else:
                args += (t._storage.data, t._offset, pad + tuple(st))
        k(*args[3:], *args[:3], (1,) * (4 - nd) + tuple(shape), *params)
        return
    bufs = [t if isinstance(t, np.ndarray) else t._storage.data for t in ops]
    offs = [0 if isinstance(t, np.ndarray) else t._offset for t in ops]
    lead = max(nd - 4, 0)  # rare: > 4 dims that cannot be merged: loop the leading ones here
    pad = (0,) * max(4 - nd, 0)
    shape4 = (1,) * len(pad) + tuple(shape[lead:])
    st4 = [pad + tuple(st[lead:]) for st in strides]
    for idx in itertools.product(*(range(s) for s in shape[:lead])):
        args = []
        for b, o, st, s4 in zip(bufs, offs, strides, st4):
            args += (b, o + sum(i * s for i, s in zip(idx, st[:lead])), s4)
        k(*args[3:], *args[:3], shape4, *params)
