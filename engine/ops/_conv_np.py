"""NumPy-level convolution passes for engine/ops/conv.py: im2col (kernels/cpu/conv.py) and
per-sample GEMMs in F.unfold's column layout ``cols[N, C*kh*kw, OH*OW]``.

    forward  y[n]  = W @ cols[n]                     (batched GEMM, W broadcast)
    weight   gW    = sum_n g[n] @ cols[n]^T          (batched GEMM + sum over n)
    input    gx    = col2im(W^T @ g[n])              (= conv_transpose of grad_out)

W is (O, C*kh*kw) and g is (N, O, OH*OW): plain views of the NCHW data. Per-sample products
keep each operand in cache and need no layout shuffles (measured faster than one
(O, N*L) GEMM plus NCHW <-> CNHW copies). Groups add a group axis to every operand. GEMMs go
to BLAS or the engine's own GEMM exactly as ``matmul`` chooses (``set_matmul_backend``)."""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from .._tensor import Tensor
from .matmul import _use_blas

__all__ = [
    "KEEP_COLS_MAX",
    "Geo",
    "channel_sums",
    "dgrad_np",
    "fwd_np",
    "is_pointwise",
    "np4",
    "out4",
    "wgrad_np",
]


def _kernels():
    """kernels.cpu.conv, imported on first use (``import engine`` stays Numba-free)."""
    from kernels.cpu import conv
    return conv


def channel_sums(g, out) -> None:
    _kernels().channel_sums(g, out)


class Geo(NamedTuple):
    """Window geometry over (H, W): kernel, stride, leading padding, dilation."""
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int


# ------------------------------------------------------------------------- numpy helpers
_tls = threading.local()
# columns per chunk: whole batches run as one parallel GEMM + col2im (L2-sized serial chunks
# were 2x slower on 2 cores: conv2 input grad 5.5 -> 2.5 ms in the CNN benchmark)
CHUNK_BYTES = 64 << 20
MAX_CHUNKS = 32
KEEP_COLS_MAX = 64 << 20  # forward keeps its im2col columns for backward up to this size


def _ws(key: str, shape, dtype) -> np.ndarray:
    """A per-thread scratch array, reused across calls (no page faults per step)."""
    bufs = _tls.__dict__.setdefault("bufs", {})
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    b = bufs.get(key)
    if b is None or b.nbytes < n:
        b = bufs[key] = np.empty(max(n, 64), np.uint8)
    return b[:n].view(dtype).reshape(shape)


def np4(t: Tensor) -> np.ndarray:
    """C-contiguous numpy data of a 3-D or 4-D tensor as 4-D (H = 1 for 1-D data)."""
    a = t._np()
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    if a.ndim == 3:
        a = a.reshape(a.shape[0], a.shape[1], 1, a.shape[2])
    return a


def _bgemm(a, b, out, dt) -> None:
    """out[n, g] = a[g] @ b[n, g] for a (G, M, K), b (N, G, K, L), out (N, G, M, L)."""
    G = a.shape[0]
    if _use_blas(dt):
        if G == 1:
            np.matmul(a[0], b[:, 0], out=out[:, 0])
        else:
            np.matmul(a, b, out=out)
        return
    from kernels.cpu import matmul as MM
    N = b.shape[0]
    for g in range(G):
        MM.gemm_batched(np.broadcast_to(a[g], (N,) + a.shape[1:]), b[:, g], out[:, g])


def _wgemm(g4, c4, gw3, dt) -> None:
    """gw3[g] = sum_n g4[n, g] @ c4[n, g]^T for g4 (N, G, M, L), c4 (N, G, R, L)."""
    N, G, M, _ = g4.shape
    R = c4.shape[2]
    if N == 1:
        if _use_blas(dt):
            np.matmul(g4[0], c4[0].transpose(0, 2, 1), out=gw3)
        else:
            from kernels.cpu import matmul as MM
            MM.gemm_batched(g4[0], c4[0].transpose(0, 2, 1), gw3)
        return
    tmp = _ws("wtmp", (N, G, M, R), g4.dtype)
    if _use_blas(dt):
        np.matmul(g4, c4.transpose(0, 1, 3, 2), out=tmp)
    else:
        from kernels.cpu import matmul as MM
        for g in range(G):
            MM.gemm_batched(g4[:, g], c4[:, g].transpose(0, 2, 1), tmp[:, g])
    np.sum(tmp, axis=0, out=gw3)


def is_pointwise(geo: Geo, H, W, OH, OW) -> bool:
    return geo.kh == geo.kw == 1 and geo.ph == geo.pw == 0 and (OH, OW) == (H, W)


def _cols(xa, geo, OH, OW, into=None) -> np.ndarray:
    """im2col of xa (N, C, H, W) into ``into`` or a scratch (N, C*kh*kw, OH*OW); xa itself
    for a 1x1 kernel."""
    N, C, H, W = xa.shape
    if is_pointwise(geo, H, W, OH, OW):
        return xa.reshape(N, C, H * W)
    cols = into if into is not None else _ws("cols", (N, C * geo.kh * geo.kw, OH * OW),
                                             xa.dtype)
    _kernels().im2col(xa, cols, *geo, OH, OW)
    return cols


def fwd_np(xa, wa, ba, geo, G, OH, OW, out, dt, keep=None) -> None:
    """out[N,O,OH,OW] = conv(xa, wa) + ba; the columns go to ``keep`` when given."""
    N, C = xa.shape[:2]
    O = wa.shape[0]
    CK, L = C * geo.kh * geo.kw, OH * OW
    cols = _cols(xa, geo, OH, OW, keep)
    _bgemm(wa.reshape(G, O // G, CK // G), cols.reshape(N, G, CK // G, L),
           out.reshape(N, G, O // G, L), dt)
    if ba is not None:
        out += ba.reshape(1, O, 1, 1)


def _chunk(N: int, per_sample: int) -> int:
    """Samples per chunk so that one chunk's columns stay in L2 (but chunks stay few)."""
    return max(1, min(N, CHUNK_BYTES // max(per_sample, 1)), -(-N // MAX_CHUNKS))


def dgrad_np(ga, wa, geo, G, gx, dt) -> None:
    """gx[N,C,H,W] = col2im(W^T @ g[n]) for ga (N, O, OH, OW): the input gradient of a conv
    (and the forward of a transposed conv)."""
    N, O, OH, OW = ga.shape
    C, H, W = gx.shape[1:]
    CK, L = C * geo.kh * geo.kw, OH * OW
    wt = wa.reshape(G, O // G, CK // G).transpose(0, 2, 1)
    g4 = ga.reshape(N, G, O // G, L)
    if is_pointwise(geo, H, W, OH, OW):
        _bgemm(wt, g4, gx.reshape(N, G, CK // G, L), dt)
        return
    nb = _chunk(N, CK * L * gx.itemsize)
    dcols = _ws("cols", (nb, CK, L), gx.dtype)
    par = None if nb == N else False  # chunks: serial (few parallel regions per step)
    for n0 in range(0, N, nb):  # chunks of samples keep the columns in cache
        n1 = min(N, n0 + nb)
        d = dcols[:n1 - n0]
        _bgemm(wt, g4[n0:n1], d.reshape(n1 - n0, G, CK // G, L), dt)
        _kernels().col2im(d, gx[n0:n1], *geo, OH, OW, par)


def wgrad_np(ga, xa, geo, G, gw, dt, cols=None) -> None:
    """gw[O, Cg, kh, kw] = sum_n g[n] @ cols(xa)[n]^T per group (``cols`` if already made)."""
    N, O, OH, OW = ga.shape
    CK, L = xa.shape[1] * geo.kh * geo.kw, OH * OW
    if cols is None:
        cols = _cols(xa, geo, OH, OW)
    _wgemm(ga.reshape(N, G, O // G, L), cols.reshape(N, G, CK // G, L),
           gw.reshape(G, O // G, CK // G), dt)


def out4(t: Tensor) -> np.ndarray:
    a = t._np()
    return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2]) if a.ndim == 3 else a
