"""CPU elementwise families: map (unary + 2 scalar params), zip (binary), ternary.

Each factory compiles, per scalar function, a flat contiguous loop (serial and prange) and a
4-D strided loop (serial and prange over the 3 outer dims). The engine collapses dims first,
so 4-D covers every layout that occurs in practice (it loops in Python beyond that).
Operands of the flat loops may have length 1: a broadcast scalar, hoisted out of the loop."""

import functools

from numba import njit, prange

__all__ = ["map_kernels", "zip_kernels", "ternary_kernels", "PARALLEL_MIN"]

PARALLEL_MIN = 1 << 17   # below this thread start-up (~5 us) outweighs the gain
_opts = dict(cache=True, error_model="numpy", nogil=True)


class KernelSet:
    __slots__ = ("flat", "flat_par", "strided", "strided_par")

    def __init__(self, flat, flat_par, strided, strided_par):
        self.flat, self.flat_par = flat, flat_par
        self.strided, self.strided_par = strided, strided_par


@functools.cache
def map_kernels(fn) -> KernelSet:
    @njit(**_opts)
    def flat(x, out, p, q):
        if x.shape[0] == out.shape[0]:
            for i in range(out.shape[0]):
                out[i] = fn(x[i], p, q)
        else:
            v = fn(x[0], p, q)
            for i in range(out.shape[0]):
                out[i] = v

    @njit(parallel=True, **_opts)
    def flat_par(x, out, p, q):
        for i in prange(out.shape[0]):
            out[i] = fn(x[i], p, q)

    @njit(**_opts)
    def strided(x, out, p, q):
        d0, d1, d2, d3 = out.shape
        for i in range(d0):
            for j in range(d1):
                for k in range(d2):
                    for m in range(d3):
                        out[i, j, k, m] = fn(x[i, j, k, m], p, q)

    @njit(parallel=True, **_opts)
    def strided_par(x, out, p, q):
        d0, d1, d2, d3 = out.shape
        for r in prange(d0 * d1 * d2):
            i = r // (d1 * d2)
            rem = r - i * (d1 * d2)
            j = rem // d2
            k = rem - j * d2
            for m in range(d3):
                out[i, j, k, m] = fn(x[i, j, k, m], p, q)

    return KernelSet(flat, flat_par, strided, strided_par)


@functools.cache
def zip_kernels(fn) -> KernelSet:
    @njit(**_opts)
    def flat(a, b, out):
        n = out.shape[0]
        if a.shape[0] == n and b.shape[0] == n:
            for i in range(n):
                out[i] = fn(a[i], b[i])
        elif a.shape[0] == n:
            bv = b[0]
            for i in range(n):
                out[i] = fn(a[i], bv)
        elif b.shape[0] == n:
            av = a[0]
            for i in range(n):
                out[i] = fn(av, b[i])
        else:
            v = fn(a[0], b[0])
            for i in range(n):
                out[i] = v

    @njit(parallel=True, **_opts)
    def flat_par(a, b, out):
        n = out.shape[0]
        if a.shape[0] == n and b.shape[0] == n:
            for i in prange(n):
                out[i] = fn(a[i], b[i])
        elif a.shape[0] == n:
            bv = b[0]
            for i in prange(n):
                out[i] = fn(a[i], bv)
        else:
            av = a[0]
            for i in prange(n):
                out[i] = fn(av, b[i])

    @njit(**_opts)
    def strided(a, b, out):
        d0, d1, d2, d3 = out.shape
        for i in range(d0):
            for j in range(d1):
                for k in range(d2):
                    for m in range(d3):
                        out[i, j, k, m] = fn(a[i, j, k, m], b[i, j, k, m])

    @njit(parallel=True, **_opts)
    def strided_par(a, b, out):
        d0, d1, d2, d3 = out.shape
        for r in prange(d0 * d1 * d2):
            i = r // (d1 * d2)
            rem = r - i * (d1 * d2)
            j = rem // d2
            k = rem - j * d2
            for m in range(d3):
                out[i, j, k, m] = fn(a[i, j, k, m], b[i, j, k, m])

    return KernelSet(flat, flat_par, strided, strided_par)


@functools.cache
def ternary_kernels(fn) -> KernelSet:
    @njit(**_opts)
    def flat(a, b, c, out):
        n = out.shape[0]
        sa = 1 if a.shape[0] == n else 0
        sb = 1 if b.shape[0] == n else 0
        sc = 1 if c.shape[0] == n else 0
        for i in range(n):
            out[i] = fn(a[i * sa], b[i * sb], c[i * sc])

    @njit(parallel=True, **_opts)
    def flat_par(a, b, c, out):
        n = out.shape[0]
        sa = 1 if a.shape[0] == n else 0
        sb = 1 if b.shape[0] == n else 0
        sc = 1 if c.shape[0] == n else 0
        for i in prange(n):
            out[i] = fn(a[i * sa], b[i * sb], c[i * sc])

    @njit(**_opts)
    def strided(a, b, c, out):
        d0, d1, d2, d3 = out.shape
        for i in range(d0):
            for j in range(d1):
                for k in range(d2):
                    for m in range(d3):
                        out[i, j, k, m] = fn(a[i, j, k, m], b[i, j, k, m], c[i, j, k, m])

    return KernelSet(flat, flat, strided, strided)
