"""The CUDA backend's convolution and pooling entry points (re-exported by ``_backend``),
the same names and arguments as ``engine._cpu_backend``'s: tensors in, fresh contiguous
outputs written on the device (``kernels/cuda/conv.py``, ``kernels/cuda/pool.py`` and the
tiled GEMM). Nothing here reads device memory from the host.

Convolution is im2col + batched GEMM in F.unfold's column layout, batch index z = (sample,
group) with the group's weight shared (the GEMM's ``amod``):

    forward  y[n, g]   = W[g] @ cols[n, g]
    input    dcols     = W[g]^T @ g[n, g], then col2im (skipped for 1x1 convs)
    weight   gW[g]     = sum_n g[n, g] @ cols[n, g]^T   (per-sample GEMMs + a batch sum)"""

from __future__ import annotations

import numpy as np

from kernels.cuda import _device as KD

from .._tensor import empty_tensor, make

__all__ = [
    "adaptive_avgpool2d",
    "adaptive_avgpool2d_backward",
    "avgpool2d",
    "avgpool2d_backward",
    "channel_sums",
    "col2im",
    "conv_dgrad",
    "conv_forward",
    "conv_wgrad",
    "im2col",
    "maxpool2d",
    "maxpool2d_backward",
    "plane_gather",
    "upsample_nearest2d",
    "upsample_nearest2d_backward",
]


def _B():
    from . import _backend
    return _backend


def _KC():
    from kernels.cuda import conv
    return conv


def _KP():
    from kernels.cuda import pool
    return pool


def _run(kernel, n: int, out, *args) -> None:
    if n > 0:
        _B()._activate(out)
        _B().launch(kernel, *KD.launch_1d(n), *args)


def _zero(t):
    return t._dtype.np.type(0)


def _contig(t):
    """``t`` itself when contiguous, else a contiguous device copy (no autograd)."""
    if t._contig:
        return t
    out = empty_tensor(t._shape, t._dtype, t._storage.device)
    _B().copy_cast(t, out)
    return out


def _out(t):
    """The device array of a fresh contiguous output tensor."""
    if not t._contig or t._offset:
        raise RuntimeError("engine.cuda: internal error: conv/pool output must be contiguous")
    return t._storage.data


def _src4(t, line: bool = False):
    """(buffer, offset, (sn, sc, sh, sw), (N, C, H, W)) of a 4-D tensor, of a 3-D one as
    (1, C, H, W), or (``line``) of a 3-D (N, C, L) one as (N, C, 1, L)."""
    sh, st = t._shape, t._stride
    if len(sh) == 3:
        if line:
            sh, st = (sh[0], sh[1], 1, sh[2]), (st[0], st[1], 0, st[2])
        else:
            sh, st = (1,) + tuple(sh), (0,) + tuple(st)
    return (t._storage.data, int(t._offset), tuple(int(s) for s in st),
            tuple(int(s) for s in sh))


def _pointwise(geo, H, W, OH, OW) -> bool:
    return geo[0] == geo[1] == 1 and geo[4] == geo[5] == 0 and (OH, OW) == (H, W)


# ------------------------------------------------------------------------- convolution
def _columns(x, geo, OH, OW, keep=None):
    """(buffer, offset) of x's im2col columns (N, C*kh*kw, OH*OW): x itself for a
    contiguous 1x1 convolution, else ``keep`` or a fresh tensor filled on the device."""
    xd, xo, xs, (N, C, H, W) = _src4(x, line=True)
    if _pointwise(geo, H, W, OH, OW) and x._contig:
        return xd, xo, None
    cols = keep if keep is not None else empty_tensor(
        (N, C * geo[0] * geo[1], OH * OW), x._dtype, x._storage.device)
    _run(_KC().im2col, cols.numel(), cols, xd, xo, xs, (N, C, H, W), tuple(geo), OH, OW,
         _out(cols), 0)
    return cols._storage.data, 0, cols


def _bias(out, b, C: int, L: int) -> None:
    n = out.numel()
    _run(_KC().bias_add, n, out, _out(out), n, C, L, b._storage.data, int(b._offset),
         int(b._stride[0]))


def conv_forward(x, w, b, geo, G: int, out, keep=None) -> None:
    """out (N, O, *out_hw) = conv(x, w) + b; the columns go to ``keep`` when given."""
    _, _, _, (N, C, _, _) = _src4(x, line=True)
    _, _, _, (_, O, OH, OW) = _src4(out, line=True)
    L, CK = OH * OW, C * geo[0] * geo[1]
    if out.numel() == 0:
        return
    if CK == 0:
        _B().fill(out, 0)
    else:
        cd, co, _cols = _columns(x, geo, OH, OW, keep)
        w = _contig(w)
        Og, CKg = O // G, CK // G
        _B().gemm_raw(w._storage.data, w._offset, (Og * CKg, CKg, 1), G, cd, co,
                      (CKg * L, L, 1), _out(out), N * G, Og, L, CKg)
    if b is not None:
        _bias(out, b, O, L)


def conv_dgrad(g, w, geo, G: int, gx, b=None) -> None:
    """gx (N, C, *S) = col2im(W^T @ g) (+ b): a conv's input gradient for grad_out ``g``,
    and the forward of a transposed conv (g = its input)."""
    _, _, _, (N, O, OH, OW) = _src4(g, line=True)
    _, _, _, (_, C, H, W) = _src4(gx, line=True)
    L, CK = OH * OW, C * geo[0] * geo[1]
    if gx.numel() == 0:
        return
    if g.numel() == 0:
        _B().fill(gx, 0)
    else:
        g = _contig(g)
        w = _contig(w)
        Og, CKg = O // G, CK // G
        point = _pointwise(geo, H, W, OH, OW)
        dcols = gx if point else empty_tensor((N, CK, L), gx._dtype, gx._storage.device)
        _B().gemm_raw(w._storage.data, w._offset, (Og * CKg, 1, CKg), G, g._storage.data,
                      g._offset, (Og * L, L, 1), _out(dcols), N * G, CKg, L, Og)
        if not point:
            _run(_KC().col2im, gx.numel(), gx, _out(dcols), 0, (N, C, H, W), tuple(geo), OH,
                 OW, _out(gx), _zero(gx))
    if b is not None:
        _bias(gx, b, C, H * W)


def conv_wgrad(g, x, geo, G: int, gw, keep=None) -> None:
    """gw (O, C/G, kh, kw) = sum_n g[n] @ cols(x)[n]^T per group (``keep``: the forward's
    columns)."""
    _, _, _, (N, O, OH, OW) = _src4(g, line=True)
    _, _, _, (_, C, _, _) = _src4(x, line=True)
    L, CK = OH * OW, C * geo[0] * geo[1]
    if gw.numel() == 0:
        return
    if x.numel() == 0 or g.numel() == 0:
        _B().fill(gw, 0)
        return
    cd, co, _cols = _columns(x, geo, OH, OW, keep)
    g = _contig(g)
    Og, CKg = O // G, CK // G
    dev = gw._storage.device
    tmp = gw if N == 1 else empty_tensor((N, O * CKg), gw._dtype, dev)
    _B().gemm_raw(g._storage.data, g._offset, (Og * L, L, 1), N * G, cd, co,
                  (CKg * L, 1, L), _out(tmp), N * G, Og, CKg, L)
    if N > 1:
        _run(_KC().batch_sum, O * CKg, gw, _out(tmp), N, O * CKg, _out(gw), _zero(gw))


def channel_sums(g, out) -> None:
    """out[c] = sum over n and the spatial positions of g[n, c, ...] (the bias gradient)."""
    g = _contig(g)
    N, C = g._shape[0], g._shape[1]
    L = g.numel() // max(N * C, 1)
    if C == 0:
        return
    if N * L == 0:
        _B().fill(out, 0)
        return
    dt, dev = g._dtype, g._storage.device
    part = empty_tensor((N * C,), dt, dev)
    rows = make(g._storage, (N * C, L), (L, 1), g._offset, dt, True)
    _B().reduce("sum", rows, part)
    cols = make(part._storage, (C, N), (1, C), 0, dt, False)
    _B().reduce("sum", cols, out)


def im2col(x, cols, geo, OH: int, OW: int) -> None:
    """F.unfold: cols (N, C*kh*kw, OH*OW) from x (N, C, H, W), any strides."""
    xd, xo, xs, dims = _src4(x)
    _run(_KC().im2col, cols.numel(), cols, xd, xo, xs, dims, tuple(geo), OH, OW, _out(cols), 0)


def col2im(c, gx, geo, OH: int, OW: int) -> None:
    """F.fold: gx (N, C, H, W) = the sums of the column entries reading each pixel."""
    c = _contig(c)
    _run(_KC().col2im, gx.numel(), gx, c._storage.data, int(c._offset), _src4(gx)[3],
         tuple(geo), OH, OW, _out(gx), _zero(gx))


# ----------------------------------------------------------------------------- pooling
def _ohw(t):
    return int(t._shape[-2]), int(t._shape[-1])


def maxpool2d(x, out, idx, kh, kw, sh, sw, ph, pw, dh, dw) -> None:
    """out = window max over the planes of x, idx (int64) = the flat argmax h*W + w."""
    xd, xo, xs, dims = _src4(x)
    geo = (kh, kw, sh, sw, ph, pw, dh, dw)
    _run(_KP().maxpool2d, out.numel(), out, xd, xo, xs, dims, geo, *_ohw(out), _out(out),
         _out(idx), x._dtype.np.type(-np.inf))


def maxpool2d_backward(g, idx, gx, geo, two_by_two: bool = False) -> None:
    """gx[p].flat[idx[p, o]] += g[p, o], gathered per input pixel (geo: the pooling's
    (kh, kw, sh, sw, ph, pw, dh, dw))."""
    gd, go, gs, _ = _src4(g)
    _run(_KP().maxpool2d_backward, gx.numel(), gx, gd, go, gs, _out(idx), _src4(gx)[3],
         tuple(geo), *_ohw(g), _out(gx), _zero(gx))


def plane_gather(src, idx, out) -> None:
    """out[p, o] = src[p].flat[idx[p, o]]."""
    sd, so, ss, dims = _src4(src)
    _run(_KP().plane_gather, out.numel(), out, sd, so, ss, _out(idx), dims, *_ohw(out),
         _out(out))


def avgpool2d(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor) -> None:
    xd, xo, xs, dims = _src4(x)
    _run(_KP().avgpool2d, out.numel(), out, xd, xo, xs, dims, (kh, kw, sh, sw, ph, pw),
         bool(include_pad), int(divisor), *_ohw(out), _out(out))


def avgpool2d_backward(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor) -> None:
    gd, go, gs, _ = _src4(g)
    _run(_KP().avgpool2d_backward, gx.numel(), gx, gd, go, gs, _src4(gx)[3],
         (kh, kw, sh, sw, ph, pw), bool(include_pad), int(divisor), *_ohw(g), _out(gx))


def adaptive_avgpool2d(x, out) -> None:
    xd, xo, xs, dims = _src4(x)
    _run(_KP().adaptive_avgpool2d, out.numel(), out, xd, xo, xs, dims, *_ohw(out), _out(out))


def adaptive_avgpool2d_backward(g, gx) -> None:
    gd, go, gs, _ = _src4(g)
    _run(_KP().adaptive_avgpool2d_backward, gx.numel(), gx, gd, go, gs, _src4(gx)[3],
         *_ohw(g), _out(gx))


# ------------------------------------------------------------------- nearest upsampling
_maps: dict = {}


def _device_map(arr: np.ndarray, dev):
    """A cached device copy of a small int64 host map (source indices / block starts):
    uploaded once per geometry, never copied back."""
    key = (arr.tobytes(), dev.index or 0)
    d = _maps.get(key)
    if d is None:
        from numba import cuda
        if len(_maps) > 256:
            _maps.clear()
        d = _maps[key] = cuda.to_device(np.ascontiguousarray(arr, np.int64))
    return d


def upsample_nearest2d(x, out, hi, wi) -> None:
    """out[p, oh, ow] = x[p, hi[oh], wi[ow]] (hi, wi: host int64 source maps)."""
    xd, xo, xs, dims = _src4(x)
    dev = x._storage.device
    _B()._activate(out)
    _run(_KP().upsample_nearest2d, out.numel(), out, xd, xo, xs, dims, _device_map(hi, dev),
         _device_map(wi, dev), *_ohw(out), _out(out))


def upsample_nearest2d_backward(g, gx, hi, wi) -> None:
    """The adjoint: gx[p, i, j] = the sum of g over the block of outputs copying (i, j)."""
    gd, go, gs, _ = _src4(g)
    dims = _src4(gx)[3]
    H, W = dims[2], dims[3]
    dev = gx._storage.device
    _B()._activate(gx)
    hs = np.searchsorted(hi, np.arange(H + 1), side="left").astype(np.int64)
    ws = np.searchsorted(wi, np.arange(W + 1), side="left").astype(np.int64)
    _run(_KP().upsample_nearest2d_backward, gx.numel(), gx, gd, go, gs, dims,
         _device_map(hs, dev), _device_map(ws, dev), _out(gx), _zero(gx))
