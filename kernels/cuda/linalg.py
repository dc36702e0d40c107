"""CUDA dense linear algebra for small batched matrices: one thread block per matrix of the
batch (a grid-stride loop over the batch), the block's threads sharing the rows/columns of
each elimination step with ``cuda.syncthreads()`` between steps. Every kernel works in place
on a contiguous (NB, M, N) device buffer (the caller makes the copy) plus int64 metadata by
value; float32 and float64. The spectral kernels (QR, eigh, SVD) are in ``linalg_spectral``.

* ``getrf``: LU with partial pivoting, LAPACK getrf's pivot choice (the first largest |a|, a
  NaN counting as the largest), the same element operations as the host ``lu_np``.
* ``getrs``: solve with a packed LU and its pivots (threads over right-hand-side columns).
* ``lu_det`` / ``lu_slogdet``: determinants from a packed LU (one thread per matrix).
* ``piv_to_perm``: the permutation matrix P of A = P L U from LAPACK's 1-based swaps.
* ``potrf``: Cholesky (right-looking, reads the lower triangle), LAPACK potrf's ``info``.
* ``trsm``: triangular solve op(A) X = B, A strided (may be a broadcast), X in place.

Block sizes: ``block_for`` (powers of two up to ``NT_MAX``; the Jacobi SVD reduces dot
products with a shared-memory tree). No warp intrinsics (the simulator lacks them)."""

import math

from numba import cuda, float64, int64

from ._device import SIM

__all__ = [
    "NT_MAX",
    "block_for",
    "getrf",
    "getrs",
    "lu_det",
    "lu_slogdet",
    "piv_to_perm",
    "potrf",
    "trsm",
    "typecheck_cases",
]

_opts = {"cache": not SIM}
NT_MAX = 8 if SIM else 128


def block_for(*dims) -> int:
    """Threads per block for matrices whose largest dimension is max(dims): a power of two."""
    n = max([1, *dims])
    return min(NT_MAX, 1 << (n - 1).bit_length())


# ---------------------------------------------------------------------------------- LU
@cuda.jit(**_opts)
def getrf(a, NB, M, N, piv, info, pivot):
    """In place: a[b] (M, N) -> its packed LU (unit L below the diagonal); piv[b, j] the
    1-based row swapped with row j (j + 1 throughout without ``pivot``); info[b] the first
    zero pivot (1-based, 0: none)."""
    sh = cuda.shared.array(1, int64)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    K = min(M, N)
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        base = b * M * N
        if tid == 0:
            info[b] = 0
        for j in range(K):
            if tid == 0:
                p = j
                best = abs(a[base + j * N + j])
                found_nan = math.isnan(best)
                for i in range(j + 1, M):
                    if found_nan or not pivot:
                        break
                    v = abs(a[base + i * N + j])
                    if math.isnan(v):
                        p = i
                        found_nan = True
                    elif v > best:
                        p = i
                        best = v
                sh[0] = p
                piv[b * K + j] = p + 1
                if a[base + p * N + j] == 0 and info[b] == 0:
                    info[b] = j + 1
            cuda.syncthreads()
            p = sh[0]
            if p != j:
                for c in range(tid, N, nt):
                    t = a[base + j * N + c]
                    a[base + j * N + c] = a[base + p * N + c]
                    a[base + p * N + c] = t
            cuda.syncthreads()
            d = a[base + j * N + j]
            if d != 0:
                for i in range(j + 1 + tid, M, nt):
                    a[base + i * N + j] = a[base + i * N + j] / d
            cuda.syncthreads()
            R = M - j - 1
            C = N - j - 1
            for t in range(tid, R * C, nt):
                i = j + 1 + t // C
                c = j + 1 + t % C
                a[base + i * N + c] = a[base + i * N + c] - a[base + i * N + j] * a[base + j * N + c]
            cuda.syncthreads()


@cuda.jit(**_opts)
def getrs(lu, piv, info, NB, N, x, K, nan_bad):
    """In place: x[b] (N, K) <- A[b]^{-1} x[b] with A[b] = P L U packed in lu (NB, N, N);
    with ``nan_bad`` a matrix whose info is not 0 gets NaN."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        la = b * N * N
        xb = b * N * K
        bad = nan_bad and info[b] != 0
        for c in range(tid, K, nt):
            if bad:
                for i in range(N):
                    x[xb + i * K + c] = math.nan
                continue
            for j in range(N):
                p = piv[b * N + j] - 1
                if p != j:
                    t = x[xb + j * K + c]
                    x[xb + j * K + c] = x[xb + p * K + c]
                    x[xb + p * K + c] = t
            for i in range(N):
                s = x[xb + i * K + c]
                for m in range(i):
                    s -= lu[la + i * N + m] * x[xb + m * K + c]
                x[xb + i * K + c] = s
            for i in range(N - 1, -1, -1):
                s = x[xb + i * K + c]
                for m in range(i + 1, N):
                    s -= lu[la + i * N + m] * x[xb + m * K + c]
                x[xb + i * K + c] = s / lu[la + i * N + i]


@cuda.jit(**_opts)
def lu_det(lu, piv, NB, N, out):
    """out[b] = det(A[b]) = (-1)^(row swaps) * prod(diag(U)) (one thread per matrix)."""
    for b in range(cuda.grid(1), NB, cuda.gridsize(1)):
        d = lu[b * N * N] * 0 + 1
        neg = False
        for j in range(N):
            d = d * lu[b * N * N + j * N + j]
            if piv[b * N + j] != j + 1:
                neg = not neg
        out[b] = -d if neg else d


@cuda.jit(**_opts)
def lu_slogdet(lu, piv, NB, N, sign, logabs):
    """(sign, log|det|) of A[b] from its LU; a zero pivot gives (0, -inf)."""
    for b in range(cuda.grid(1), NB, cuda.gridsize(1)):
        s = 1.0
        acc = 0.0
        zero = False
        for j in range(N):
            d = float64(lu[b * N * N + j * N + j])
            if piv[b * N + j] != j + 1:
                s = -s
            if d == 0:
                zero = True
            elif d < 0:
                s = -s
                acc += math.log(-d)
            else:
                acc += math.log(d)   # NaN propagates
        if zero:
            sign[b] = 0
            logabs[b] = -math.inf
        else:
            sign[b] = s
            logabs[b] = acc


@cuda.jit(**_opts)
def piv_to_perm(piv, NB, K, M, out):
    """out[b] (M, M) = P with P[perm[i], i] = 1 from the 1-based swaps piv[b] (K each): the
    identity's columns swapped as LAPACK swaps rows (one thread per matrix)."""
    for b in range(cuda.grid(1), NB, cuda.gridsize(1)):
        base = b * M * M
        for t in range(M * M):
            out[base + t] = 0
        for i in range(M):
            out[base + i * M + i] = 1
        for j in range(K):
            p = piv[b * K + j] - 1
            if p != j:
                for i in range(M):
                    t = out[base + i * M + j]
                    out[base + i * M + j] = out[base + i * M + p]
                    out[base + i * M + p] = t


# ---------------------------------------------------------------------------------- Cholesky
@cuda.jit(**_opts)
def potrf(a, NB, N, info, upper):
    """In place: a[b] (N, N) -> L with A = L L^T from A's lower triangle (upper: L^T); a
    matrix that is not positive-definite gets info[b] = the order of the first failing
    leading minor and an all-zero factor."""
    sh = cuda.shared.array(1, int64)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        base = b * N * N
        if tid == 0:
            info[b] = 0
            sh[0] = 0
        cuda.syncthreads()
        for j in range(N):
            if tid == 0:
                d = a[base + j * N + j]
                if d > 0:
                    a[base + j * N + j] = math.sqrt(d)
                else:  # also NaN
                    info[b] = j + 1
                    sh[0] = 1
            cuda.syncthreads()
            if sh[0] != 0:
                break
            d = a[base + j * N + j]
            for i in range(j + 1 + tid, N, nt):
                a[base + i * N + j] = a[base + i * N + j] / d
            cuda.syncthreads()
            R = N - j - 1
            for t in range(tid, R * R, nt):
                i = j + 1 + t // R
                c = j + 1 + t % R
                if c <= i:
                    a[base + i * N + c] = a[base + i * N + c] - a[base + i * N + j] * a[base + c * N + j]
            cuda.syncthreads()
        cuda.syncthreads()
        failed = sh[0] != 0
        for t in range(tid, N * N, nt):
            i = t // N
            c = t % N
            if failed or c > i:
                a[base + t] = 0
        cuda.syncthreads()
        if upper:
            for t in range(tid, N * N, nt):
                i = t // N
                c = t % N
                if c < i:
                    a[base + c * N + i] = a[base + t]
                    a[base + t] = 0
        cuda.syncthreads()


# ---------------------------------------------------------------------------------- triangular
@cuda.jit(**_opts)
def trsm(a, ao, sab, sar, sac, NB, N, x, K, upper, unit):
    """In place: x[b] (N, K) <- T^{-1} x[b], T the upper/lower triangle of the strided A[b]
    (offset ao, batch/row/column strides; a batch stride 0 broadcasts); ``unit``: T's diagonal
    taken as 1. A zero diagonal gives inf/nan, no error (as LAPACK trtrs in torch)."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for b in range(cuda.blockIdx.x, NB, cuda.gridDim.x):
        ab = ao + b * sab
        xb = b * N * K
        for c in range(tid, K, nt):
            for r in range(N):
                i = N - 1 - r if upper else r
                s = x[xb + i * K + c]
                lo = i + 1 if upper else 0
                hi = N if upper else i
                for m in range(lo, hi):
                    s -= a[ab + i * sar + m * sac] * x[xb + m * K + c]
                if not unit:
                    s = s / a[ab + i * sar + i * sac]
                x[xb + i * K + c] = s


# ---------------------------------------------------------------------------------- typecheck
def typecheck_cases(np):
    """(name, kernel, example args) for ``kernels.cuda._typecheck``."""
    i32 = np.zeros(4, np.int32)
    cases = []
    for dt in (np.float32, np.float64):
        a = np.zeros(4, dt)
        n = np.dtype(dt).name
        cases += [
            (f"linalg getrf {n}", getrf, (a, 1, 2, 2, i32, i32, True)),
            (f"linalg getrs {n}", getrs, (a, i32, i32, 1, 2, a, 2, True)),
            (f"linalg lu_det {n}", lu_det, (a, i32, 1, 2, a)),
            (f"linalg lu_slogdet {n}", lu_slogdet, (a, i32, 1, 2, a, a)),
            (f"linalg piv_to_perm {n}", piv_to_perm, (i32, 1, 2, 2, a)),
            (f"linalg potrf {n}", potrf, (a, 1, 2, i32, False)),
            (f"linalg trsm {n}", trsm, (a, 0, 4, 2, 1, 1, 2, a, 2, True, False)),
        ]
    return cases
