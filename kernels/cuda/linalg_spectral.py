"""CUDA spectral factorizations for small batched matrices, in the layout of
``kernels/cuda/linalg.py`` (one thread block per matrix, in place on contiguous buffers):

* ``geqrf`` / ``orgqr``: Householder QR with LAPACK dlarfg's reflector convention (so R's
  signs match LAPACK's), Q formed by applying the reflectors to identity columns.
* ``syevj``: symmetric eigen-decomposition by cyclic two-sided Jacobi rotations (rotation
  parameters in float64), eigenvalues sorted ascending; a NaN/inf input gives all NaN.
* ``gesvj``: SVD of a tall matrix by one-sided (Hestenes) Jacobi, dot products reduced with a
  shared-memory tree (block size a power of two <= NT_MAX); the left singular vectors the
  rotations do not give (zero singular values, full_matrices) are completed to an orthonormal
  basis by a Householder QR of the ones they do."""

import math

from numba import cuda, float64, int64

from ._device import SIM
from .linalg import NT_MAX

__all__ = ["geqrf", "gesvj", "orgqr", "syevj", "typecheck_cases"]

_opts = {"cache": not SIM}
_SH3 = 3 * NT_MAX  # the SVD's three reduction rows (a literal for cuda.shared.array)


# ---------------------------------------------------------------------------------- QR
@cuda.jit(device=True)
def _householder(a, base, M, N, j, c0, K, tau, tb, tid, nt):
    """Reflector j of a[base] (M rows, row stride N) from column c0 (LAPACK dlarfg), stored
    below row j in that column with tau[tb + j]; applied to columns c0+1 .. K-1."""
    if tid == 0:
        alpha = float64(a[base + j * N + c0])
        xn = 0.0
        for i in range(j + 1, M):
            v = float64(a[base + i * N + c0])
            xn += v * v
        if xn == 0:
            tau[tb + j] = 0
        else:
            beta = -math.copysign(math.sqrt(alpha * alpha + xn), alpha)
            tau[tb + j] = (beta - alpha) / beta
            scale = 1.0 / (alpha - beta)
            for i in range(j + 1, M):
                a[base + i * N + c0] = a[base + i * N + c0] * scale
            a[base + j * N + c0] = beta
    cuda.syncthreads()
    t = tau[tb + j]
    if t != 0:
        for c in range(c0 + 1 + tid, K, nt):
            w = a[base + j * N + c]
            for i in range(j + 1, M):
                w += a[base + i * N + c0] * a[base + i * N + c]
            w = w * t
            a[base + j * N + c] = a[base + j * N + c] - w
            for i in range(j + 1, M):
                a[base + i * N + c] = a[base + i * N + c] - w * a[base + i * N + c0]
    cuda.syncthreads()


@cuda.jit(**_opts)
def geqrf(a, NB, M, N, tau):
    """In place: a[b] (M, N) -> R on and above the diagonal, the Householder vectors (unit
    first entry implied) below it; tau[b] (min(M, N)) their scalars (LAPACK geqrf)."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    K = min(M, N)
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        for j in range(K):
            _householder(a, b * M * N, M, N, j, j, N, tau, b * K, tid, nt)


@cuda.jit(device=True)
def _apply_q(h, hb, M, N, R, tau, tb, q, qb, QC, c):
    """Column c of q[qb] (M, QC) <- H_0 ... H_{R-1} e_c, the reflectors in h[hb] (row
    stride N, reflector j in column j below row j)."""
    for i in range(M):
        q[qb + i * QC + c] = 0
    q[qb + c * QC + c] = 1
    for j in range(R - 1, -1, -1):
        t = tau[tb + j]
        if t == 0:
            continue
        w = q[qb + j * QC + c]
        for i in range(j + 1, M):
            w += h[hb + i * N + j] * q[qb + i * QC + c]
        w = w * t
        q[qb + j * QC + c] = q[qb + j * QC + c] - w
        for i in range(j + 1, M):
            q[qb + i * QC + c] = q[qb + i * QC + c] - w * h[hb + i * N + j]


@cuda.jit(**_opts)
def orgqr(h, tau, NB, M, N, q, QC):
    """q[b] (M, QC) <- the first QC columns of Q = H_0 ... H_{k-1} from geqrf's output."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    K = min(M, N)
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        for c in range(tid, QC, nt):
            _apply_q(h, b * M * N, M, N, K, tau, b * K, q, b * M * QC, QC, c)


# ---------------------------------------------------------------------------------- eigh
@cuda.jit(**_opts)
def syevj(a, NB, N, lower, v, w, vout, order, eps, max_sweeps):
    """Symmetric eigen-decomposition of a[b] (N, N; only the ``lower`` or upper triangle is
    read) by cyclic Jacobi rotations: w[b] ascending eigenvalues, vout[b] the eigenvectors
    as columns. v (NB, N, N) and order (NB, N) are scratch; a is overwritten."""
    shf = cuda.shared.array(2, float64)
    shi = cuda.shared.array(2, int64)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        base = b * N * N
        if tid == 0:
            shi[1] = 0
        for t in range(tid, N * N, nt):
            i = t // N
            c = t % N
            if c > i:
                a[base + t] = a[base + c * N + i] if lower else a[base + t]
            elif c < i and not lower:
                a[base + t] = a[base + c * N + i]
            v[base + t] = 1 if i == c else 0
        cuda.syncthreads()
        for _sweep in range(max_sweeps):
            if tid == 0:
                off = 0.0
                tot = 0.0
                for t in range(N * N):
                    x = float64(a[base + t])
                    tot += x * x
                    if t // N != t % N:
                        off += x * x
                shi[1] = 1 if math.isnan(off) else 0   # NaN/inf input: NaN out (LAPACK)
                shi[0] = 1 if (off <= eps * eps * tot or shi[1] != 0) else 0
            cuda.syncthreads()
            if shi[0] != 0:
                break
            for p in range(N - 1):
                for q in range(p + 1, N):
                    if tid == 0:
                        apq = float64(a[base + p * N + q])
                        cs = 1.0
                        sn = 0.0
                        if apq != 0:
                            tau = (float64(a[base + q * N + q]) - float64(a[base + p * N + p])) / (2 * apq)
                            t = 1.0 / (abs(tau) + math.sqrt(1.0 + tau * tau))
                            if tau < 0:
                                t = -t
                            cs = 1.0 / math.sqrt(1.0 + t * t)
                            sn = t * cs
                        shf[0] = cs
                        shf[1] = sn
                    cuda.syncthreads()
                    cs = shf[0]
                    sn = shf[1]
                    if sn != 0:
                        for k in range(tid, N, nt):
                            x = a[base + k * N + p]
                            y = a[base + k * N + q]
                            a[base + k * N + p] = cs * x - sn * y
                            a[base + k * N + q] = sn * x + cs * y
                            x = v[base + k * N + p]
                            y = v[base + k * N + q]
                            v[base + k * N + p] = cs * x - sn * y
                            v[base + k * N + q] = sn * x + cs * y
                        cuda.syncthreads()
                        for k in range(tid, N, nt):
                            x = a[base + p * N + k]
                            y = a[base + q * N + k]
                            a[base + p * N + k] = cs * x - sn * y
                            a[base + q * N + k] = sn * x + cs * y
                        cuda.syncthreads()
                        if tid == 0:
                            a[base + p * N + q] = 0
                            a[base + q * N + p] = 0
                    cuda.syncthreads()
        cuda.syncthreads()
        if tid == 0:  # ascending order (selection sort, ties keep their order)
            for i in range(N):
                order[b * N + i] = i
            for i in range(N):
                m = i
                for k in range(i + 1, N):
                    if a[base + order[b * N + k] * (N + 1)] < a[base + order[b * N + m] * (N + 1)]:
                        m = k
                t = order[b * N + i]
                order[b * N + i] = order[b * N + m]
                order[b * N + m] = t
            for i in range(N):
                w[b * N + i] = a[base + order[b * N + i] * (N + 1)]
        cuda.syncthreads()
        bad = shi[1] != 0
        for t in range(tid, N * N, nt):
            i = t // N
            c = t % N
            vout[base + t] = math.nan if bad else v[base + i * N + order[b * N + c]]
            if bad and i == 0:
                w[b * N + c] = math.nan
        cuda.syncthreads()


# ---------------------------------------------------------------------------------- SVD
@cuda.jit(device=True)
def _block_sum3(sh, tid, nt):
    """Tree-sum sh[0:nt], sh[NT:NT+nt], sh[2NT:2NT+nt] into their first slots."""
    s = nt // 2
    while s > 0:
        if tid < s:
            sh[tid] += sh[tid + s]
            sh[NT_MAX + tid] += sh[NT_MAX + tid + s]
            sh[2 * NT_MAX + tid] += sh[2 * NT_MAX + tid + s]
        cuda.syncthreads()
        s //= 2


@cuda.jit(device=True)
def _jacobi_sweeps(a, base, M, N, v, vb, sh, shf, shi, tid, nt, eps, max_sweeps):
    for _sweep in range(max_sweeps):
        if tid == 0:
            shi[0] = 0
        cuda.syncthreads()
        for p in range(N - 1):
            for q in range(p + 1, N):
                al = 0.0
                be = 0.0
                ga = 0.0
                for i in range(tid, M, nt):
                    x = float64(a[base + i * N + p])
                    y = float64(a[base + i * N + q])
                    al += x * x
                    be += y * y
                    ga += x * y
                sh[tid] = al
                sh[NT_MAX + tid] = be
                sh[2 * NT_MAX + tid] = ga
                cuda.syncthreads()
                _block_sum3(sh, tid, nt)
                if tid == 0:
                    al = sh[0]
                    be = sh[NT_MAX]
                    ga = sh[2 * NT_MAX]
                    cs = 1.0
                    sn = 0.0
                    if ga != 0 and abs(ga) > eps * math.sqrt(al * be):
                        zeta = (be - al) / (2 * ga)
                        t = 1.0 / (abs(zeta) + math.sqrt(1.0 + zeta * zeta))
                        if zeta < 0:
                            t = -t
                        cs = 1.0 / math.sqrt(1.0 + t * t)
                        sn = t * cs
                        shi[0] += 1
                    shf[0] = cs
                    shf[1] = sn
                cuda.syncthreads()
                cs = shf[0]
                sn = shf[1]
                if sn != 0:
                    for i in range(tid, M, nt):
                        x = a[base + i * N + p]
                        y = a[base + i * N + q]
                        a[base + i * N + p] = cs * x - sn * y
                        a[base + i * N + q] = sn * x + cs * y
                    for i in range(tid, N, nt):
                        x = v[vb + i * N + p]
                        y = v[vb + i * N + q]
                        v[vb + i * N + p] = cs * x - sn * y
                        v[vb + i * N + q] = sn * x + cs * y
                cuda.syncthreads()
        done = shi[0] == 0
        cuda.syncthreads()
        if done:
            break


@cuda.jit(**_opts)
def gesvj(a, NB, M, N, v, s, order, u, MU, vh, h, tau, eps, max_sweeps):
    """SVD of the tall a[b] (M >= N; overwritten): s[b] (N) descending, u[b] (M, MU) with MU
    = N or M (full), vh[b] (N, N). v (NB, N, N), order (NB, N), h (NB, M, N) and tau (NB, N)
    are scratch."""
    sh = cuda.shared.array(_SH3, float64)
    shf = cuda.shared.array(2, float64)
    shi = cuda.shared.array(1, int64)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        base = b * M * N
        vb = b * N * N
        for t in range(tid, N * N, nt):
            v[vb + t] = 1 if t // N == t % N else 0
        cuda.syncthreads()
        _jacobi_sweeps(a, base, M, N, v, vb, sh, shf, shi, tid, nt, eps, max_sweeps)
        for c in range(tid, N, nt):
            acc = 0.0
            for i in range(M):
                x = float64(a[base + i * N + c])
                acc += x * x
            s[b * N + c] = math.sqrt(acc)
        cuda.syncthreads()
        if tid == 0:  # descending order; r = how many are clearly nonzero
            for i in range(N):
                order[b * N + i] = i
            for i in range(N):
                m = i
                for k in range(i + 1, N):
                    if s[b * N + order[b * N + k]] > s[b * N + order[b * N + m]]:
                        m = k
                t = order[b * N + i]
                order[b * N + i] = order[b * N + m]
                order[b * N + m] = t
            r = 0
            if N > 0:
                top = float64(s[b * N + order[b * N]])
                for i in range(N):
                    if float64(s[b * N + order[b * N + i]]) > top * eps and top > 0:
                        r = i + 1
            shi[0] = r
        cuda.syncthreads()
        r = shi[0]
        ub = b * M * MU
        for t in range(tid, M * MU, nt):
            i = t // MU
            c = t % MU
            val = a[base] * 0
            if c < r:
                k = order[b * N + c]
                val = a[base + i * N + k] / s[b * N + k]
            u[ub + t] = val
        for t in range(tid, N * N, nt):
            i = t // N
            c = t % N
            vh[vb + t] = v[vb + c * N + order[b * N + i]]
        cuda.syncthreads()
        for c in range(tid, N, nt):
            tau[b * N + c] = s[b * N + c]
        cuda.syncthreads()
        if tid == 0:  # sorted singular values (tau as scratch)
            for i in range(N):
                m = i
                for k in range(i + 1, N):
                    if tau[b * N + k] > tau[b * N + m]:
                        m = k
                t = tau[b * N + i]
                tau[b * N + i] = tau[b * N + m]
                tau[b * N + m] = t
        cuda.syncthreads()
        for c in range(tid, N, nt):
            s[b * N + c] = tau[b * N + c]
        cuda.syncthreads()
        if r < MU:  # complete u's columns r.. from a Householder QR of its first r columns
            for t in range(tid, M * N, nt):
                i = t // N
                c = t % N
                h[base + t] = u[ub + i * MU + c] if c < r else 0
            cuda.syncthreads()
            for j in range(r):
                _householder(h, base, M, N, j, j, r, tau, b * N, tid, nt)
            for c in range(r + tid, MU, nt):
                _apply_q(h, base, M, N, r, tau, b * N, u, ub, MU, c)
            cuda.syncthreads()


def typecheck_cases(np):
    """(name, kernel, example args) for ``kernels.cuda._typecheck``."""
    i64 = np.zeros(4, np.int64)
    cases = []
    for dt in (np.float32, np.float64):
        a = np.zeros(4, dt)
        n = np.dtype(dt).name
        cases += [
            (f"linalg geqrf {n}", geqrf, (a, 1, 2, 2, a)),
            (f"linalg orgqr {n}", orgqr, (a, a, 1, 2, 2, a, 2)),
            (f"linalg syevj {n}", syevj, (a, 1, 2, True, a, a, a, i64, 1e-7, 30)),
            (f"linalg gesvj {n}", gesvj, (a, 1, 2, 2, a, a, i64, a, 2, a, a, a, 1e-7, 30)),
        ]
    return cases
