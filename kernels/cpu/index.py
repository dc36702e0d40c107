"""CPU index family: bounds checks, address (element offset) arrays, gather and scatter by
address, nonzero, unique and searchsorted. Plain numpy arrays in, no engine imports.

Every op that reads or writes through user indices first runs ``check_index`` (Numba does no
bounds checks): it wraps negative indices and reports the first bad one, so nothing is read or
written out of range. Addresses are int64 element offsets into a flat storage buffer, so one
gather (``take``) and one scatter (``put``) kernel serve every layout (permuted, sliced,
stride-0) and every indexing op."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "PUT_MODES",
    "check_index",
    "count_hits",
    "dim_offsets",
    "nonzero",
    "put",
    "remap_put",
    "remap_take",
    "searchsorted_rows",
    "strided_offsets",
    "take",
    "unique_sorted",
]

_opts = {"cache": True, "nogil": True}

PUT_MODES = {"assign": 0, "add": 1, "multiply": 2, "amax": 3, "amin": 4}


@njit(**_opts)
def _check(idx, size, wrap, out):
    for i in range(idx.shape[0]):
        v = np.int64(idx[i])
        if v < 0 and wrap:
            v += size
        if v < 0 or v >= size:
            return i
        out[i] = v
    return -1


def check_index(idx: np.ndarray, size: int, wrap: bool = True):
    """Validate integer indices ``idx`` (any shape/int dtype) against ``size``.
    Returns (int64 contiguous array of the wrapped indices, None) or (None, bad_value)."""
    flat = np.ascontiguousarray(idx).reshape(-1)
    out = np.empty(flat.shape[0], np.int64)
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    bad = _check(flat, np.int64(size), wrap, out)
    if bad >= 0:
        return None, int(flat[bad])
    return out.reshape(idx.shape), None


@njit(**_opts)
def _offsets(shape, strides, base, out):
    nd = shape.shape[0]
    n = out.shape[0]
    if n == 0:
        return
    pos = np.zeros(nd, np.int64)
    off = base
    for i in range(n):
        out[i] = off
        d = nd - 1
        while d >= 0:
            pos[d] += 1
            off += strides[d]
            if pos[d] < shape[d]:
                break
            off -= strides[d] * shape[d]
            pos[d] = 0
            d -= 1


def strided_offsets(shape, strides, base: int) -> np.ndarray:
    """Element offsets (int64, C order, array of ``shape``) of a strided view; negative
    strides are allowed (flip)."""
    n = 1
    for s in shape:
        n *= s
    out = np.empty(n, np.int64)
    _offsets(np.asarray(shape, np.int64).reshape(-1), np.asarray(strides, np.int64).reshape(-1),
             np.int64(base), out)
    return out.reshape(tuple(shape))


@njit(**_opts)
def _take(buf, offs, out):
    for i in range(offs.shape[0]):
        out[i] = buf[offs[i]]


@njit(**_opts)
def _put(buf, offs, vals, mode):
    n = offs.shape[0]
    scalar = vals.shape[0] == 1
    for i in range(n):
        v = vals[0] if scalar else vals[i]
        o = offs[i]
        if mode == 0:
            buf[o] = v
        elif mode == 1:
            buf[o] += v
        elif mode == 2:
            buf[o] *= v
        elif mode == 3:
            if v > buf[o] or v != v:  # noqa: PLR0124  (NaN propagates)
                buf[o] = v
        else:
            if v < buf[o] or v != v:  # noqa: PLR0124
                buf[o] = v


def _as_bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint16) if a.dtype == np.float16 else a


def take(buf: np.ndarray, offs: np.ndarray, out: np.ndarray) -> None:
    """``out.flat[i] = buf[offs.flat[i]]`` (offsets already validated)."""
    o = offs.reshape(-1)
    if o.shape[0]:
        _take(_as_bits(buf), o, _as_bits(out.reshape(-1)))


def put(buf: np.ndarray, offs: np.ndarray, vals: np.ndarray, mode: str = "assign") -> None:
    """``buf[offs[i]] (op)= vals[i]`` in order (vals has len(offs) or 1 elements)."""
    o = offs.reshape(-1)
    v = np.ascontiguousarray(vals).reshape(-1)
    if not o.shape[0]:
        return
    if buf.dtype == np.float16 and mode != "assign":
        tmp = buf.astype(np.float32)
        _put(tmp, o, v.astype(np.float32), PUT_MODES[mode])
        buf[...] = tmp
        return
    if buf.dtype == np.bool_ and mode in ("add", "multiply"):
        mode = "amax" if mode == "add" else "amin"   # logical or / logical and
    _put(_as_bits(buf), o, _as_bits(v), PUT_MODES[mode])


# ---- separable remap: output coordinate j along dim d reads input coordinate maps[d][j] ----
@njit(**_opts)
def _remap_take(buf, base, strides, maps, starts, shape, out):
    nd = shape.shape[0]
    m = shape[nd - 1]
    if m == 0:
        return
    sl, ml = strides[nd - 1], starts[nd - 1]
    outer = out.shape[0] // m
    pos = np.zeros(nd, np.int64)
    for o in range(outer):
        off = base
        for d in range(nd - 1):
            off += maps[starts[d] + pos[d]] * strides[d]
        k = o * m
        for j in range(m):
            out[k + j] = buf[off + maps[ml + j] * sl]
        d = nd - 2
        while d >= 0:
            pos[d] += 1
            if pos[d] < shape[d]:
                break
            pos[d] = 0
            d -= 1


@njit(**_opts)
def _remap_put(buf, base, strides, maps, starts, shape, vals, mode):
    nd = shape.shape[0]
    m = shape[nd - 1]
    if m == 0:
        return
    sl, ml = strides[nd - 1], starts[nd - 1]
    outer = (vals.shape[0] if vals.shape[0] > 1 else _prod(shape)) // m
    scalar = vals.shape[0] == 1
    pos = np.zeros(nd, np.int64)
    for o in range(outer):
        off = base
        for d in range(nd - 1):
            off += maps[starts[d] + pos[d]] * strides[d]
        k = o * m
        for j in range(m):
            v = vals[0] if scalar else vals[k + j]
            a = off + maps[ml + j] * sl
            if mode == 0:
                buf[a] = v
            elif mode == 1:
                buf[a] += v
            else:
                buf[a] *= v
        d = nd - 2
        while d >= 0:
            pos[d] += 1
            if pos[d] < shape[d]:
                break
            pos[d] = 0
            d -= 1


@njit(**_opts)
def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _pack_maps(maps, strides):
    shape = np.array([len(m) for m in maps] or [1], np.int64)
    starts = np.zeros(len(shape), np.int64)
    if maps:
        starts[1:] = np.cumsum(shape[:-1])
        flat = np.concatenate([np.asarray(m, np.int64) for m in maps])
        st = np.asarray(strides, np.int64)
    else:
        flat, st = np.zeros(1, np.int64), np.zeros(1, np.int64)
    return flat, starts, shape, st


def remap_take(buf: np.ndarray, base: int, strides, maps, out: np.ndarray) -> None:
    """``out[j0, j1, ...] = buf[base + sum_d maps[d][j_d] * strides[d]]`` (maps validated);
    ``out`` is a contiguous array of shape ``[len(m) for m in maps]``."""
    flat, starts, shape, st = _pack_maps(maps, strides)
    if out.size:
        _remap_take(_as_bits(buf), np.int64(base), st, flat, starts, shape,
                    _as_bits(out.reshape(-1)))


def remap_put(buf: np.ndarray, base: int, strides, maps, vals: np.ndarray,
              mode: str = "assign") -> None:
    """The scatter twin of ``remap_take``: write (or add / multiply) ``vals`` (one value per
    output element, or a single value) at the remapped places, in C order."""
    flat, starts, shape, st = _pack_maps(maps, strides)
    v = np.ascontiguousarray(vals).reshape(-1)
    if not int(np.prod(shape)) or not v.shape[0]:
        return
    if buf.dtype == np.float16 and mode != "assign" or buf.dtype == np.bool_ and \
            mode != "assign":
        offs = np.broadcast_to(np.asarray(base, np.int64), tuple(shape)).copy()
        for d in range(len(maps)):
            offs += (flat[starts[d]:starts[d] + shape[d]] * st[d]).reshape(
                (1,) * d + (-1,) + (1,) * (len(shape) - d - 1))
        put(buf, offs, v, mode)
        return
    _remap_put(_as_bits(buf), np.int64(base), st, flat, starts, shape,
               _as_bits(v), PUT_MODES[mode])


# ---- along one dim: out[i, j] = x[i, idx[i, j]] (dim 1), every index checked first --------
@njit(**_opts)
def _walk_dim(idx, ishape, d, size, strides, base, offs):
    """offs[i] = storage offset addressed by idx[i]; returns the first bad position or -1."""
    nd = ishape.shape[0]
    m = ishape[nd - 1]
    pos = np.zeros(nd, np.int64)
    last = strides[nd - 1] if d != nd - 1 else 0
    for o in range(idx.shape[0] // m):
        off = base
        for k in range(nd - 1):
            if k != d:
                off += pos[k] * strides[k]
        b = o * m
        for j in range(m):
            v = np.int64(idx[b + j])
            if v < 0 or v >= size:
                return b + j
            offs[b + j] = off + v * strides[d] + j * last
        k = nd - 2
        while k >= 0:
            pos[k] += 1
            if pos[k] < ishape[k]:
                break
            pos[k] = 0
            k -= 1
    return -1


def dim_offsets(idx: np.ndarray, d: int, size: int, strides, base: int):
    """Storage offsets addressed by ``idx`` along dim ``d`` (size ``size``) of the strided
    view (strides, base) walked over ``idx.shape``: (offsets, None) or (None, bad index)."""
    flat = np.ascontiguousarray(idx).reshape(-1)
    offs = np.empty(flat.shape[0], np.int64)
    if flat.shape[0]:
        bad = _walk_dim(flat, np.asarray(idx.shape, np.int64), np.int64(d), np.int64(size),
                        np.asarray(strides, np.int64), np.int64(base), offs)
        if bad >= 0:
            return None, int(flat[bad])
    return offs, None


@njit(**_opts)
def _hits(offs, counts):
    for i in range(offs.shape[0]):
        counts[offs[i]] += 1


def count_hits(offs: np.ndarray, size: int) -> np.ndarray:
    """How often each element of a buffer of ``size`` elements is addressed."""
    c = np.zeros(size, np.int64)
    _hits(offs.reshape(-1), c)
    return c


@njit(**_opts)
def _nonzero(flat, shape, out):
    nd = shape.shape[0]
    m = shape[nd - 1]
    k = 0
    pos = np.zeros(nd, np.int64)
    for o in range(flat.shape[0] // m):
        base = o * m
        for j in range(m):
            if flat[base + j]:
                for d in range(nd - 1):
                    out[k, d] = pos[d]
                out[k, nd - 1] = j
                k += 1
        d = nd - 2
        while d >= 0:
            pos[d] += 1
            if pos[d] < shape[d]:
                break
            pos[d] = 0
            d -= 1


def nonzero(mask: np.ndarray) -> np.ndarray:
    """(n, ndim) int64 coordinates of the true elements of a bool array, in C order."""
    flat = np.ascontiguousarray(mask).reshape(-1)
    n = int(np.count_nonzero(flat))
    out = np.empty((n, mask.ndim), np.int64)
    if n and mask.ndim:
        _nonzero(flat, np.asarray(mask.shape, np.int64), out)
    return out


@njit(**_opts)
def _unique(vals, inverse, perm, counts, firsts):
    n = vals.shape[0]
    k = -1
    for i in range(n):
        if i == 0 or vals[i] != vals[i - 1]:
            k += 1
            firsts[k] = i
        counts[k] += 1
        inverse[perm[i]] = k
    return k + 1


def unique_sorted(flat: np.ndarray):
    """(sorted unique values, inverse indices, counts) of a 1-D array (each NaN distinct)."""
    a = np.ascontiguousarray(flat).reshape(-1)
    perm = np.argsort(a, kind="stable")
    s = a[perm]
    inv = np.empty(a.shape[0], np.int64)
    counts = np.zeros(a.shape[0], np.int64)
    firsts = np.zeros(a.shape[0], np.int64)
    k = _unique(s.astype(np.float32) if s.dtype == np.float16 else s, inv, perm, counts,
                firsts)
    return s[firsts[:k]], inv, counts[:k]


@njit(**_opts)
def _search(sorted2, vals2, right, out):
    rows = out.shape[0]
    m = sorted2.shape[1]
    one = sorted2.shape[0] == 1
    for r in range(rows):
        sr = 0 if one else r
        for j in range(out.shape[1]):
            v = vals2[r, j]
            lo, hi = 0, m
            while lo < hi:
                mid = (lo + hi) >> 1
                a = sorted2[sr, mid]
                if (a <= v) if right else (a < v):
                    lo = mid + 1
                else:
                    hi = mid
            out[r, j] = lo


def searchsorted_rows(sorted2: np.ndarray, vals2: np.ndarray, right: bool, out: np.ndarray):
    """Per row r: out[r, j] = insertion point of vals2[r, j] in sorted2[r] (or sorted2[0]
    when it has one row)."""
    if sorted2.dtype == np.float16:
        sorted2, vals2 = sorted2.astype(np.float32), vals2.astype(np.float32)
    _search(sorted2, vals2, right, out)
