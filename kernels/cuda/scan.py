"""CUDA scans and order statistics along axis 1 of (M, K) views (offsets and strides by
value): cumsum/cumprod, cummax/cummin, and a per-row bitonic sort that serves sort, topk and
median.

The scans run one thread per row (sequential, like the CPU loop, so the rounding matches).
The sort gives each row to one block: values and indices are copied into a scratch row of
length P (the next power of two; the pad slots act as larger than everything) and sorted by a
bitonic network with one barrier per step. The comparison is a strict total order -- value,
then original index; NaN the largest; ``desc`` reverses values but not the index tie-break --
so the unstable network returns exactly the stable order the CPU merge sort gives."""

from numba import cuda

from ._device import SIM

__all__ = ["median_pick", "scan_arg_rows", "scan_rows", "sort_rows"]

_opts = dict(cache=not SIM)


@cuda.jit(**_opts)
def scan_rows(x, xo, sm, sk, M, K, out, oo, om, prod):
    """out[row, k] = x[row, 0] (+ or *) ... x[row, k]."""
    for row in range(cuda.grid(1), M, cuda.gridsize(1)):
        if K > 0:
            base = xo + row * sm
            ob = oo + row * om
            acc = x[base]
            out[ob] = acc
            for k in range(1, K):
                v = x[base + k * sk]
                if prod:
                    acc = acc * v
                else:
                    acc = acc + v
                out[ob + k] = acc


@cuda.jit(**_opts)
def scan_arg_rows(x, xo, sm, sk, M, K, vals, idx, oo, om, big):
    """cummax (big) / cummin: a NaN always takes over; ties move the index forward."""
    for row in range(cuda.grid(1), M, cuda.gridsize(1)):
        if K > 0:
            base = xo + row * sm
            ob = oo + row * om
            best = x[base]
            bi = 0
            for k in range(K):
                v = x[base + k * sk]
                take = v != v
                if not take and best == best:
                    take = v >= best if big else v <= best
                if take:
                    best = v
                    bi = k
                vals[ob + k] = best
                idx[ob + k] = bi


@cuda.jit(device=True)
def _before(va, ia, vb, ib, K, desc):
    """(va, ia) comes strictly before (vb, ib) in the output order."""
    if ia >= K or ib >= K:
        return ia < ib
    an = va != va
    bn = vb != vb
    if an or bn:
        if an and bn:
            return ia < ib
        return an if desc else bn
    if va == vb:
        return ia < ib
    return va > vb if desc else va < vb


@cuda.jit(**_opts)
def sort_rows(x, xo, sm, sk, M, K, P, sv, si, desc, vals, idx, oo, om, start, count):
    """Sort each row into scratch (sv, si: M * P), then write ``count`` sorted entries from
    position ``start`` to vals/idx (row stride ``om``, contiguous along the row)."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for row in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        base = row * P
        xb = xo + row * sm
        for j in range(tid, P, nt):
            if j < K:
                sv[base + j] = x[xb + j * sk]
            else:
                sv[base + j] = x[xb]
            si[base + j] = j
        cuda.syncthreads()
        k = 2
        while k <= P:
            j = k // 2
            while j > 0:
                for i in range(tid, P, nt):
                    partner = i ^ j
                    if partner > i:
                        av = sv[base + i]
                        ai = si[base + i]
                        bv = sv[base + partner]
                        bi = si[base + partner]
                        if (i & k) == 0:
                            swap = _before(bv, bi, av, ai, K, desc)
                        else:
                            swap = _before(av, ai, bv, bi, K, desc)
                        if swap:
                            sv[base + i] = bv
                            si[base + i] = bi
                            sv[base + partner] = av
                            si[base + partner] = ai
                cuda.syncthreads()
                j //= 2
            k *= 2
        ob = oo + row * om
        for j in range(tid, count, nt):
            vals[ob + j] = sv[base + start + j]
            idx[ob + j] = si[base + start + j]
        cuda.syncthreads()


@cuda.jit(**_opts)
def median_pick(sv, si, M, K, P, vals, idx):
    """Lower median of each ascending-sorted scratch row; a row holding NaN gives its first
    NaN (the NaNs sit at the end, in index order)."""
    for row in range(cuda.grid(1), M, cuda.gridsize(1)):
        base = row * P
        p = (K - 1) // 2
        if sv[base + K - 1] != sv[base + K - 1]:
            p = K - 1
            while p > 0 and sv[base + p - 1] != sv[base + p - 1]:
                p -= 1
        vals[row] = sv[base + p]
        idx[row] = si[base + p]
