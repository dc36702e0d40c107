"""CUDA gather/scatter by address: the device side of the index family.

The engine validates indices and builds element offsets (or separable per-dim maps) on the
host, as the CPU path does; these kernels move the data. Every address is also checked
against the buffer length: a bad one sets ``err`` (code, address) instead of touching memory,
and the engine raises IndexError at the next synchronisation.

put modes: 0 assign, 1 add (atomic), 2 multiply, 3 amax, 4 amin. Parallel kernels serve
assign with distinct addresses and add; the rest (and assign with repeated addresses, whose
last write must win as on the CPU) run in one thread, in order."""

from numba import cuda

from ._device import SIM

__all__ = [
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
def _bad(err, a, n):
    if a < 0 or a >= n:
        err[0] = 1
        err[1] = a
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
                   (b, 0, (1, 2), (0, 2), (2, 2), i64, b, 0, 4, False, 2, i64))]
    return cases
