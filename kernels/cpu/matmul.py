"""CPU GEMM: packed, register-blocked, parallel (Goto/BLIS loop nest) for float32/float64,
plus a simple serial kernel for small problems and integer dtypes.

Kernels work on flat 1-D buffers with an element offset and two element strides per operand,
so any view (transposed, stepped, stride-0 broadcast) reaches them without a copy, and each
dtype compiles once. `gemm` / `gemm_batched` turn 2-D / 3-D numpy arrays into that form.

Float loop nest (see shared/reference/numba-gemm-probe.md):
  per thread (a contiguous range of MR-row panels or NR-column slivers):
    jc over N by NC -> pc over K by KC: pack B[kc, nc] as [sliver][k][NR]
      -> ic over M by MC: pack A[mc, kc] as [panel][k][MR]
        -> jr over slivers -> ir over panels: MR x NR micro-kernel (simd.micro, MR*NV FMAs per k)
Packed panels are zero-padded, so the micro-kernel always runs a full tile; edge tiles and
outputs whose rows are not contiguous go through a per-thread scratch tile.
"""

import numba
import numpy as np
from numba import njit, prange

from .simd import MR, NV, lanes_for, ld, micro, prefetch, st, tblock, transpose_copy, vlanes

__all__ = ["gemm", "gemm_batched"]

KC = 256  # depth of a packed block: the NR x KC B sliver stays in L1
MC = 96  # rows of a packed A block: MC x KC stays in L2
NC = 4096  # columns of a packed B block
SMALL_MNK = 16**3  # below this: simple loop kernel (call overhead dominates anyway)
SERIAL_MNK = 96**3  # below this: packed kernel on the calling thread only
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # dtype objects: `in` hits identity
_FASTMATH = {"contract", "reassoc"}  # no nnan/ninf: NaN and Inf must propagate like numpy
_NR = {np.dtype(t): NV * lanes_for(numba.from_dtype(t)) for t in FLOATS}  # tile width per dtype


# ---------------------------------------------------------------- packed float kernel (njit)


@njit(cache=True)
def _pack_a(a, ao, ars, acs, mc, kc, Ap):
    """Ap[ir*kc + k*MR + r] = a[ao + (ir+r)*ars + k*acs]; rows past mc are zero."""
    for ir in range(0, mc, MR):
        mr = min(MR, mc - ir)
        src, dst = ao + ir * ars, ir * kc
        for k in range(kc):  # contiguous writes; reads walk mr rows (or one column)
            for r in range(mr):
                st(Ap, dst + r, ld(a, src + r * ars))
            for r in range(mr, MR):
                st(Ap, dst + r, 0)
            src += acs
            dst += MR


@njit(cache=True)
def _pack_b_cols(b, bo, bcs, kc, nr, Bp, dst):
    """One sliver of a column-major b (brs == 1, e.g. W.T): T x T in-register transposes,
    scalar moves only for the ragged edges."""
    NR = NV * vlanes(Bp)
    T = tblock(Bp)
    kt, jt = kc - kc % T, nr - nr % T
    for j in range(0, jt, T):
        for k in range(0, kt, T):
            transpose_copy(b, bo + j * bcs + k, bcs, Bp, dst + k * NR + j, NR)
    for j in range(nr):
        src = bo + j * bcs
        for k in range(kt if j < jt else 0, kc):
            st(Bp, dst + k * NR + j, ld(b, src + k))


@njit(cache=True)
def _pack_b(b, bo, brs, bcs, kc, nc, Bp):
    """Bp[jr*kc + k*NR + j] = b[bo + k*brs + (jr+j)*bcs]; columns past nc are zero."""
    NR = NV * vlanes(Bp)
    for jr in range(0, nc, NR):
        nr = min(NR, nc - jr)
        if brs == 1 and bcs != 1:
            _pack_b_cols(b, bo + jr * bcs, bcs, kc, nr, Bp, jr * kc)
        else:  # row runs: contiguous writes, a vectorized copy when bcs == 1
            for k in range(kc):
                src, dst = bo + k * brs + jr * bcs, jr * kc + k * NR
                if bcs == 1:
                    for j in range(nr):
                        st(Bp, dst + j, ld(b, src + j))
                else:
                    for j in range(nr):
                        st(Bp, dst + j, ld(b, src + j * bcs))
        for k in range(kc):
            for j in range(nr, NR):
                st(Bp, jr * kc + k * NR + j, 0)


@njit(cache=True)
def _spill(Ct, NR, mr, nr, out, co, ors, ocs, acc):
    """Write the valid mr x nr corner of the scratch tile to a strided output."""
    for r in range(mr):
        for j in range(nr):
            p = co + r * ors + j * ocs
            out[p] = out[p] + Ct[r * NR + j] if acc else Ct[r * NR + j]


@njit(cache=True)
def _macro(Ap, Bp, Ct, mc, nc, kc, out, oo, ors, ocs, acc):
    """out block [mc, nc] at oo (+)= packed A block @ packed B block."""
    NR = NV * vlanes(Bp)
    for jr in range(0, nc, NR):
        nr = min(NR, nc - jr)
        for ir in range(0, mc, MR):
            mr = min(MR, mc - ir)
            co = oo + ir * ors + jr * ocs
            if ocs == 1 and mr == MR and nr == NR:
                for r in range(MR):  # C rows are cold; fetch them while the k loop runs
                    prefetch(out, co + r * ors)
                    prefetch(out, co + r * ors + NR - 1)
                micro(Ap, ir * kc, Bp, jr * kc, NR, kc, out, co, ors, acc)
            else:
                micro(Ap, ir * kc, Bp, jr * kc, NR, kc, Ct, 0, NR, False)
                _spill(Ct, NR, mr, nr, out, co, ors, ocs, acc)


@njit(cache=True)
def _gemm_block(a, ao, ars, acs, b, bo, brs, bcs, out, oo, ors, ocs, r0, r1, c0, c1, K, acc, w):
    """out[r0:r1, c0:c1] (+)= a[r0:r1, :] @ b[:, c0:c1] using workspace w (one thread's)."""
    NR = NV * vlanes(w)
    Ap, Bp = w[: MC * KC], w[MC * KC : MC * KC + NC * KC]
    Ct = w[MC * KC + NC * KC : MC * KC + NC * KC + MR * NR]
    ncs = (NC // NR) * NR
    for jc in range(c0, c1, ncs):
        nc = min(ncs, c1 - jc)
        for pc in range(0, K, KC):
            kc = min(KC, K - pc)
            _pack_b(b, bo + pc * brs + jc * bcs, brs, bcs, kc, nc, Bp)
            beta = acc or pc > 0  # later K blocks add onto the first one
            for ic in range(r0, r1, MC):
                mc = min(MC, r1 - ic)
                _pack_a(a, ao + ic * ars + pc * acs, ars, acs, mc, kc, Ap)
                _macro(Ap, Bp, Ct, mc, nc, kc, out, oo + ic * ors + jc * ocs, ors, ocs, beta)


@njit(cache=True, parallel=True)
def _gemm_par(a, ao, ars, acs, b, bo, brs, bcs, out, oo, ors, ocs, M, N, K, acc, ws, tm, tn):
    """One prange over a tm x tn grid of threads; each owns an MR/NR-aligned block of out."""
    NR = NV * vlanes(ws)
    pm = (M + MR - 1) // MR
    pn = (N + NR - 1) // NR
    for t in prange(tm * tn):
        tr, tc = t // tn, t % tn
        r0, r1 = min(M, tr * pm // tm * MR), min(M, (tr + 1) * pm // tm * MR)
        c0, c1 = min(N, tc * pn // tn * NR), min(N, (tc + 1) * pn // tn * NR)
        if r0 < r1 and c0 < c1:
            w = ws[t]
            _gemm_block(
                a, ao, ars, acs, b, bo, brs, bcs, out, oo, ors, ocs, r0, r1, c0, c1, K, acc, w
            )


@njit(cache=True)
def _batched(
    a, ao, abs_, ars, acs, b, bo, bbs, brs, bcs, out, oo, obs, ors, ocs, nb, M, N, K, simple, w
):
    """Float batches one after another on this thread (simple kernel or packed)."""
    for i in range(nb):
        ai, bi, oi = ao + i * abs_, bo + i * bbs, oo + i * obs
        if simple:
            _small(a, ai, ars, acs, b, bi, brs, bcs, out, oi, ors, ocs, M, N, K, False)
        else:
            _gemm_block(
                a, ai, ars, acs, b, bi, brs, bcs, out, oi, ors, ocs, 0, M, 0, N, K, False, w
            )


@njit(cache=True, parallel=True)
def _batched_par(
    a, ao, abs_, ars, acs, b, bo, bbs, brs, bcs, out, oo, obs, ors, ocs, nb, M, N, K, simple, ws
):
    """Whole matrices per thread: thread t takes batches [t*nb/nt, (t+1)*nb/nt)."""
    nt = ws.shape[0]
    for t in prange(nt):
        i0, i1 = t * nb // nt, (t + 1) * nb // nt
        _batched(
            a, ao + i0 * abs_, abs_, ars, acs, b, bo + i0 * bbs, bbs, brs, bcs,
            out, oo + i0 * obs, obs, ors, ocs, i1 - i0, M, N, K, simple, ws[t],
        )  # fmt: skip


# ---------------------------------------------------------------- simple kernel (any dtype)


@njit(cache=True, fastmath=_FASTMATH)
def _small_dot(a, ao, ars, b, bo, brs, bcs, out, oo, ors, ocs, M, N, K, acc):
    """Rows of a contiguous (acs == 1): dot products over k against columns of b (copied to a
    contiguous b^T first unless brs == 1). Four columns per pass share the loads of a's row."""
    if brs != 1:
        bt = np.empty(N * K, out.dtype)
        for k in range(K):
            for j in range(N):
                bt[j * K + k] = ld(b, bo + k * brs + j * bcs)
        b, bo, bcs = bt, 0, K
    for i in range(M):
        x = a[ao + i * ars : ao + i * ars + K]
        for j in range(0, N, 4):
            # Ragged tail: point the spare lanes at the last column and drop their results.
            p0, p1 = bo + j * bcs, bo + min(j + 1, N - 1) * bcs
            p2, p3 = bo + min(j + 2, N - 1) * bcs, bo + min(j + 3, N - 1) * bcs
            y0, y1, y2, y3 = b[p0 : p0 + K], b[p1 : p1 + K], b[p2 : p2 + K], b[p3 : p3 + K]
            s0, s1, s2, s3 = x[0] * y0[0], x[0] * y1[0], x[0] * y2[0], x[0] * y3[0]
            for k in range(1, K):
                s0 += x[k] * y0[k]
                s1 += x[k] * y1[k]
                s2 += x[k] * y2[k]
                s3 += x[k] * y3[k]
            for q, v in enumerate((s0, s1, s2, s3)):
                if j + q < N:
                    _put(out, oo + i * ors + (j + q) * ocs, acc, v)


@njit(cache=True, inline="always")
def _put(out, p, acc, v):
    st(out, p, ld(out, p) + v if acc else v)


@njit(cache=True, fastmath=_FASTMATH)
def _small_axpy(a, ao, ars, acs, b, bo, brs, bcs, out, oo, ors, ocs, M, N, K, acc):
    """Rows of out as sums of a[i, k] * (row k of b), vectorized over j. Four rows share each
    pass over b, so b streams from memory M/4 times, not M times."""
    if bcs != 1:  # b rows must be contiguous: pack b row-major
        bp = np.empty(K * N, out.dtype)
        for k in range(K):
            for j in range(N):
                bp[k * N + j] = ld(b, bo + k * brs + j * bcs)
        b, bo, brs = bp, 0, N
    rows = np.zeros(4 * N, out.dtype)
    for i0 in range(0, M, 4):
        m = min(4, M - i0)
        rows[:] = 0
        for k in range(K):
            brow = b[bo + k * brs : bo + k * brs + N]
            for r in range(m):
                x = ld(a, ao + (i0 + r) * ars + k * acs)
                row = rows[r * N : (r + 1) * N]
                for j in range(N):
                    row[j] += x * brow[j]
        for r in range(m):
            for j in range(N):
                p = oo + (i0 + r) * ors + j * ocs
                out[p] = out[p] + rows[r * N + j] if acc else rows[r * N + j]


@njit(cache=True)
def _small(a, ao, ars, acs, b, bo, brs, bcs, out, oo, ors, ocs, M, N, K, acc):
    """Serial simple GEMM; K >= 1. Picks the layout that vectorizes: dot products for rows of a
    against columns of b (contiguous, or narrow enough to copy), else row updates."""
    if acs == 1 and ((brs == 1 and bcs != 1) or N < 16):
        _small_dot(a, ao, ars, b, bo, brs, bcs, out, oo, ors, ocs, M, N, K, acc)
    else:
        _small_axpy(a, ao, ars, acs, b, bo, brs, bcs, out, oo, ors, ocs, M, N, K, acc)


@njit(cache=True)
def _small_batched(
    a, ao, abs_, ars, acs, b, bo, bbs, brs, bcs, out, oo, obs, ors, ocs, nb, M, N, K
):
    """Integer batches (the simple kernel only: vector tiles are float-only)."""
    for i in range(nb):
        _small(
            a, ao + i * abs_, ars, acs, b, bo + i * bbs, brs, bcs,
            out, oo + i * obs, ors, ocs, M, N, K, False,
        )  # fmt: skip


# ---------------------------------------------------------------- numpy-facing wrappers

_WS = {}  # (dtype, threads) -> persistent per-thread packing workspace (no page faults per call)


def _workspace(dtype, nt):
    ws = _WS.get((dtype, nt))
    if ws is None:
        ws = _WS[(dtype, nt)] = np.empty((nt, MC * KC + NC * KC + MR * _NR[dtype]), dtype)
    return ws


def _flat(x):
    """(1-D writable buffer starting at x's first element, 0, *element strides).

    Every operand becomes the same Numba type (1-D C array), so each dtype compiles once.
    Copies only when strides are negative or not whole elements (whole array), or when x is
    read-only (just its memory span: a stride-0 broadcast stays small)."""
    isz, fl = x.itemsize, x.flags
    if fl.c_contiguous and fl.writeable and x.ndim == 2:  # the common case, kept cheap
        m, n = x.shape
        return x.reshape(-1), 0, (n if m > 1 else 0), (1 if n > 1 else 0)
    if fl.c_contiguous:
        buf = x.reshape(-1)
    elif x.ndim == 2 and x.flags.f_contiguous:  # e.g. W.T of a Linear layer
        buf = x.T.reshape(-1)
    elif min(x.strides) < 0 or any(s % isz for s in x.strides):
        x = np.ascontiguousarray(x)
        buf = x.reshape(-1)
    else:
        span = 1 + sum((n - 1) * (s // isz) for n, s in zip(x.shape, x.strides))
        buf = np.lib.stride_tricks.as_strided(x, (span,), (isz,))
    if not buf.flags.writeable:
        buf = buf.copy()
    return (buf, 0, *[0 if n == 1 else s // isz for n, s in zip(x.shape, x.strides)])


def _check(name, a, b, out, nd):
    ok = a.ndim == b.ndim == out.ndim == nd and a.shape[-1] == b.shape[-2]
    ok = ok and out.shape[-2:] == (a.shape[-2], b.shape[-1]) and a.shape[:-2] == b.shape[:-2]
    if not ok or out.shape[:-2] != a.shape[:-2]:
        raise ValueError(f"{name}: shapes {a.shape} @ {b.shape} -> out {out.shape} do not match")
    if not a.dtype == b.dtype == out.dtype:
        raise TypeError(f"{name}: dtypes differ: {a.dtype}, {b.dtype}, out {out.dtype}; cast first")
    if a.dtype.kind not in "fiu" or (a.dtype.kind == "f" and a.dtype not in FLOATS):
        raise TypeError(f"{name}: dtype {a.dtype} unsupported (float32/64 or integer)")
    if not out.flags.writeable:
        raise ValueError(f"{name}: out is read-only")


def _needs_temp(a, b, out):
    """out overlaps an input, or has strides the kernels cannot write through."""
    if not out.flags.c_contiguous and (
        min(out.strides) < 0 or any(s % out.itemsize for s in out.strides)
    ):
        return True
    return np.may_share_memory(out, a) or np.may_share_memory(out, b)


def _via_temp(fn, a, b, out, accumulate):
    tmp = np.empty(out.shape, out.dtype)
    fn(a, b, tmp)
    out[...] = out + tmp if accumulate else tmp


def _grid(M, N, nt, nr):
    """Split rows (tm = nt) or columns (tn = nt): whichever duplicates less packing."""
    pm, pn = -(-M // MR), -(-N // nr)
    if (M >= N and pm >= nt) or pn < nt:
        return nt, 1
    return 1, nt


def _use_simple(M, N, K, nr, acs):
    """Where the packed kernel loses: tiny products, narrow N with rows of a contiguous (dot
    products), and fewer rows than one tile (padding wastes FMAs; B is packed for one use)."""
    return M * N * K < SMALL_MNK or (2 * N < nr and acs == 1) or M < MR


def gemm(a, b, out, accumulate=False) -> None:
    """out[M,N] = a[M,K] @ b[K,N] (or += when accumulate), for any strides.

    >>> a = np.ones((2, 3), np.float32); out = np.empty((2, 2), np.float32)
    >>> gemm(a, a.T, out); out.tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """
    _check("gemm", a, b, out, 2)
    (M, K), N = a.shape, b.shape[1]
    if M == 0 or N == 0:
        return
    if K == 0:
        if not accumulate:
            out[...] = 0
        return
    if _needs_temp(a, b, out):
        return _via_temp(gemm, a, b, out, accumulate)
    fa, fb, fo = _flat(a), _flat(b), _flat(out)
    args = (*fa, *fb, *fo)
    if out.dtype not in FLOATS:
        return _small(*args, M, N, K, accumulate)
    nr = _NR[out.dtype]
    if _use_simple(M, N, K, nr, fa[3]):
        return _small(*args, M, N, K, accumulate)
    if fo[3] != 1 and fo[2] == 1:  # column-major out: compute out.T = b.T @ a.T instead
        return gemm(b.T, a.T, out.T, accumulate)
    if M * N * K < SERIAL_MNK:
        return _gemm_block(*args, 0, M, 0, N, K, accumulate, _workspace(out.dtype, 1)[0])
    nt = numba.get_num_threads()
    ws = _workspace(out.dtype, nt)
    if nt == 1:
        return _gemm_block(*args, 0, M, 0, N, K, accumulate, ws[0])
    _gemm_par(*args, M, N, K, accumulate, ws, *_grid(M, N, nt, nr))


def gemm_batched(a, b, out) -> None:
    """out[B,M,N] = a[B,M,K] @ b[B,K,N]; any strides (batch stride 0 broadcasts).

    >>> a = np.ones((4, 2, 3)); out = np.empty((4, 2, 2))
    >>> gemm_batched(a, np.broadcast_to(np.ones((1, 3, 2)), (4, 3, 2)), out); float(out[3, 1, 1])
    3.0
    """
    _check("gemm_batched", a, b, out, 3)
    (nb, M, K), N = a.shape, b.shape[2]
    if nb == 0 or M == 0 or N == 0:
        return
    if K == 0:
        out[...] = 0
        return
    if _needs_temp(a, b, out):
        return _via_temp(gemm_batched, a, b, out, False)
    fa, fb = _flat(a), _flat(b)
    args = (*fa, *fb, *_flat(out), nb, M, N, K)
    if out.dtype not in FLOATS:
        return _small_batched(*args)
    nt = numba.get_num_threads()
    simple = _use_simple(M, N, K, _NR[out.dtype], fa[4])
    ws = _workspace(out.dtype, nt)
    if nt == 1 or nb * M * N * K < SERIAL_MNK:
        return _batched(*args, simple, ws[0])
    if nb >= nt:
        return _batched_par(*args, simple, ws)
    for i in range(nb):  # fewer matrices than threads: parallelize inside each one
        gemm(a[i], b[i], out[i])
