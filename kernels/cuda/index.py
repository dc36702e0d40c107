"""CUDA gather/scatter by address: the device side of the index family.

Offsets come either from the host (indices that live on the host, validated there) or are
built on the device from CUDA index tensors (``init_offsets`` + one ``add_index`` per indexed
dim, which also bounds-checks every index): CUDA indices never travel to the host. Every
address is also checked against the buffer length. A bad index or address sets ``err``
(code, value, tag; the first report wins) instead of touching memory, and the engine raises
the error the tag names at the next synchronisation (``engine.cuda._memory``). Codes: 1 bad
address, 2 bad user index (value = the index as given).

put modes: 0 assign, 1 add (atomic), 2 multiply, 3 amax, 4 amin. Parallel kernels serve
assign with distinct addresses and add; the rest (and assign with repeated addresses, whose
last write must win as on the CPU) run in one thread, in order."""

from numba import cuda
from numba import int64 as _i64

from ._device import SIM

__all__ = [
    "add_index",
    "check_range",
    "fill_i64",
    "init_offsets",
    "mark_last",
    "put_last",
    "put_par",
    "put_seq",
    "remap_put_par",
    "remap_put_seq",
    "remap_take",
    "take",
    "typecheck_cases",
]

_opts = dict(cache=not SIM)


@cuda.jit(device=True)
def _flag(err, code, v, tag):
    """Record (code, value, tag) unless an earlier error is pending (the first one wins)."""
    if cuda.atomic.cas(err, 0, 0, code) == 0:
        err[1] = v
        err[2] = tag


@cuda.jit(device=True)
def _bad(err, a, n):
    if a < 0 or a >= n:
        _flag(err, 1, a, 0)
        return True
    return False


@cuda.jit(**_opts)
def take(buf, offs, out, n, err):
    """out[i] = buf[offs[i]]."""
    nb = buf.shape[0]
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        a = offs[i]
        if not _bad(err, a, nb):
            out[i] = buf[a]


@cuda.jit(device=True)
def _apply(buf, a, v, mode):
    if mode == 0:
        buf[a] = v
    elif mode == 1:
        buf[a] += v
    elif mode == 2:
        buf[a] *= v
    elif mode == 3:
        if v > buf[a] or v != v:
            buf[a] = v
    else:
        if v < buf[a] or v != v:
            buf[a] = v


@cuda.jit(**_opts)
def put_par(buf, offs, vals, n, scalar, mode, err):
    """buf[offs[i]] = vals[i] (mode 0, distinct addresses) or += (mode 1, atomic)."""
    nb = buf.shape[0]
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        a = offs[i]
        if not _bad(err, a, nb):
            v = vals[0] if scalar else vals[i]
            if mode == 1:
                cuda.atomic.add(buf, a, v)
            else:
                buf[a] = v


@cuda.jit(**_opts)
def put_seq(buf, offs, vals, n, scalar, mode, err):
    """Every mode, in order, by one thread."""
    if cuda.grid(1) == 0:
        nb = buf.shape[0]
        for i in range(n):
            a = offs[i]
            if not _bad(err, a, nb):
                _apply(buf, a, vals[0] if scalar else vals[i], mode)


@cuda.jit(device=True)
def _remap_addr(j, base, strides, starts, shape, maps):
    a = base
    r = j
    for d in range(len(shape) - 1, -1, -1):
        c = r % shape[d]
        r = r // shape[d]
        a += maps[starts[d] + c] * strides[d]
    return a


@cuda.jit(**_opts)
def remap_take(buf, base, strides, starts, shape, maps, out, oo, n, err):
    """out[oo + j] = buf[base + sum_d maps[starts[d] + j_d] * strides[d]]."""
    nb = buf.shape[0]
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        a = _remap_addr(j, base, strides, starts, shape, maps)
        if not _bad(err, a, nb):
            out[oo + j] = buf[a]


@cuda.jit(**_opts)
def remap_put_par(buf, base, strides, starts, shape, maps, vals, vo, n, scalar, mode, err):
    nb = buf.shape[0]
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        a = _remap_addr(j, base, strides, starts, shape, maps)
        if not _bad(err, a, nb):
            v = vals[vo] if scalar else vals[vo + j]
            if mode == 1:
                cuda.atomic.add(buf, a, v)
            else:
                buf[a] = v


@cuda.jit(**_opts)
def remap_put_seq(buf, base, strides, starts, shape, maps, vals, vo, n, scalar, mode, err):
    if cuda.grid(1) == 0:
        nb = buf.shape[0]
        for j in range(n):
            a = _remap_addr(j, base, strides, starts, shape, maps)
            if not _bad(err, a, nb):
                _apply(buf, a, vals[vo] if scalar else vals[vo + j], mode)


# ---- offsets built on the device from CUDA index tensors ----------------------------------
@cuda.jit(device=True)
def _walk(j, base, strides, shape):
    """base + sum_d c_d * strides[d] for the C-order coordinates c of ``j`` in ``shape``."""
    a = base
    r = j
    for d in range(len(shape) - 1, -1, -1):
        c = r % shape[d]
        r = r // shape[d]
        a += c * strides[d]
    return a


@cuda.jit(**_opts)
def init_offsets(base, strides, shape, offs, n):
    """offs[j] = the storage offset of element j (C order) of the strided walk."""
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        offs[j] = _walk(j, base, strides, shape)


@cuda.jit(**_opts)
def add_index(ib, ioff, ist, shape, size, stride, wrap, offs, n, err, tag):
    """offs[j] += idx * stride for the index read at (ioff, ist) over ``shape`` (stride-0 dims
    broadcast it); negative indices wrap when ``wrap``. An index outside [0, size) sets
    (2, index, tag) in ``err`` and makes offs[j] = -1 (later kernels skip it)."""
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = _i64(ib[_walk(j, ioff, ist, shape)])
        w = v
        if wrap and w < 0:
            w += size
        if w < 0 or w >= size:
            _flag(err, 2, v, tag)
            offs[j] = -1
        else:
            o = offs[j]
            if o >= 0:
                offs[j] = o + w * stride


@cuda.jit(**_opts)
def check_range(ib, ioff, ist, shape, lo, hi, skip, has_skip, n, err, tag):
    """Flag (2, value, tag) for a value outside [lo, hi) (other than ``skip``)."""
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = _i64(ib[_walk(j, ioff, ist, shape)])
        if (v < lo or v >= hi) and not (has_skip and v == skip):
            _flag(err, 2, v, tag)


@cuda.jit(**_opts)
def fill_i64(a, n, v):
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        a[j] = v


@cuda.jit(**_opts)
def mark_last(offs, n, win):
    """win[a] = the largest j with offs[j] == a: the write that wins on the CPU (C order)."""
    nw = win.shape[0]
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        a = offs[j]
        if a >= 0 and a < nw:
            cuda.atomic.max(win, a, j)


@cuda.jit(**_opts)
def put_last(buf, offs, vals, n, scalar, win, err):
    """buf[offs[j]] = vals[j] for the last j writing each address (repeats: last wins)."""
    nb = buf.shape[0]
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        a = offs[j]
        if not _bad(err, a, nb) and win[a] == j:
            buf[a] = vals[0] if scalar else vals[j]


def typecheck_cases(np):
    """(name, kernel, example args) for kernels.cuda._typecheck."""
    cases = []
    i64 = np.zeros(4, np.int64)
    for dt in (np.float32, np.float64, np.int64):
        b = np.zeros(4, dt)
        cases += [(f"take {b.dtype}", take, (b, i64, b, 4, i64)),
                  (f"put_par {b.dtype}", put_par, (b, i64, b, 4, False, 1, i64)),
                  (f"put_seq {b.dtype}", put_seq, (b, i64, b, 4, False, 3, i64)),
                  (f"remap_take {b.dtype}", remap_take,
                   (b, 0, (1, 2), (0, 2), (2, 2), i64, b, 0, 4, i64)),
                  (f"remap_put_par {b.dtype}", remap_put_par,
                   (b, 0, (1, 2), (0, 2), (2, 2), i64, b, 0, 4, False, 1, i64)),
                  (f"remap_put_seq {b.dtype}", remap_put_seq,
                   (b, 0, (1, 2), (0, 2), (2, 2), i64, b, 0, 4, False, 2, i64)),
                  (f"put_last {b.dtype}", put_last, (b, i64, b, 4, False, i64, i64))]
    for ix in (i64, np.zeros(4, np.int32)):
        cases += [(f"add_index {ix.dtype}", add_index,
                   (ix, 0, (1, 0), (2, 2), 4, 3, True, i64, 4, i64, 1)),
                  (f"check_range {ix.dtype}", check_range,
                   (ix, 0, (1,), (4,), 0, 4, -100, True, 4, i64, 1))]
    cases += [("init_offsets", init_offsets, (0, (2, 1), (2, 2), i64, 4)),
              ("fill_i64", fill_i64, (i64, 4, -1)),
              ("mark_last", mark_last, (i64, 4, i64))]
    return cases
