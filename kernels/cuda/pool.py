"""CUDA pooling and nearest-upsampling kernels over planes of (N, C, H, W) data.

Inputs are (buffer, element offset, strides (sn, sc, sh, sw)) with ``dims`` = (N, C, H, W)
(a 3-D (C, H, W) tensor is N = 1); outputs are contiguous (N*C, OH, OW) buffers. One
thread per output element, grid-stride loops, metadata by value (int tuples). Semantics are
the CPU kernels' (kernels/cpu/pool.py): max pooling propagates NaN (``v > best or isnan(v)``,
the last NaN wins) and records the flat argmax ``h*W + w``; average pools sum in float64.

Every backward is a gather, not a scatter: each input-gradient element loops over the output
windows that can contain it in (oh, ow) order and sums their contributions, so no atomics,
deterministic results, and the CPU scatter's order of additions per element."""

import math

from numba import cuda

from ._device import SIM

__all__ = [
    "adaptive_avgpool2d",
    "adaptive_avgpool2d_backward",
    "avgpool2d",
    "avgpool2d_backward",
    "maxpool2d",
    "maxpool2d_backward",
    "plane_gather",
    "typecheck_cases",
    "upsample_nearest2d",
    "upsample_nearest2d_backward",
]

_opts = dict(cache=not SIM)


@cuda.jit(device=True)
def _split(e, C, H, W):
    """Flat index of a contiguous (N, C, H, W) element -> (n, c, h, w)."""
    w = e % W
    t = e // W
    h = t % H
    t = t // H
    return t // C, t % C, h, w


@cuda.jit(device=True)
def _first(lo, s):
    """The first k >= 0 with k*s >= lo (ceil division, clamped at 0)."""
    if lo <= 0:
        return 0
    return (lo + s - 1) // s


# --------------------------------------------------------------------------- max pooling
@cuda.jit(**_opts)
def maxpool2d(x, xo, xs, dims, geo, OH, OW, out, idx, ninf):
    """out = window max of x (-inf padding, ``ninf`` typed), idx = flat argmax in the plane."""
    N, C, H, W = dims
    kh, kw, sh, sw, ph, pw, dh, dw = geo
    sn, sc, sy, sx = xs
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        n, c, oh, ow = _split(e, C, OH, OW)
        base = xo + n * sn + c * sc
        h0 = oh * sh - ph
        w0 = ow * sw - pw
        hs = h0
        while hs < 0:
            hs += dh
        ws = w0
        while ws < 0:
            ws += dw
        best = ninf
        bi = hs * W + ws
        for i in range(kh):
            ih = h0 + i * dh
            if ih < 0 or ih >= H:
                continue
            for j in range(kw):
                iw = w0 + j * dw
                if iw < 0 or iw >= W:
                    continue
                v = x[base + ih * sy + iw * sx]
                if v > best or math.isnan(v):
                    best = v
                    bi = ih * W + iw
        out[e] = best
        idx[e] = bi


@cuda.jit(**_opts)
def maxpool2d_backward(g, go, gs, idx, dims, geo, OH, OW, gx, zero):
    """gx[p].flat[k] = sum of g[p, o] over the windows o whose argmax idx[p, o] is k."""
    N, C, H, W = dims
    kh, kw, sh, sw, ph, pw, dh, dw = geo
    sn, sc, sy, sx = gs
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, ih, iw = _split(e, C, H, W)
        k = ih * W + iw
        ib = (n * C + c) * OH * OW
        gb = go + n * sn + c * sc
        oh1 = min(OH - 1, (ih + ph) // sh)
        ow0 = _first(iw + pw - (kw - 1) * dw, sw)
        ow1 = min(OW - 1, (iw + pw) // sw)
        acc = zero
        for oh in range(_first(ih + ph - (kh - 1) * dh, sh), oh1 + 1):
            for ow in range(ow0, ow1 + 1):
                if idx[ib + oh * OW + ow] == k:
                    acc += g[gb + oh * sy + ow * sx]
        gx[e] = acc


@cuda.jit(**_opts)
def plane_gather(src, so, ss, idx, dims, OH, OW, out):
    """out[p, o] = src[p].flat[idx[p, o]] (the adjoint of ``maxpool2d_backward``)."""
    N, C, _, W = dims
    sn, sc, sy, sx = ss
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        p = e // (OH * OW)
        k = idx[e]
        out[e] = src[so + (p // C) * sn + (p % C) * sc + (k // W) * sy + (k % W) * sx]


# --------------------------------------------------------------------------- avg pooling
@cuda.jit(device=True)
def _avg_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    h0 = oh * sh - ph
    w0 = ow * sw - pw
    h1 = min(h0 + kh, H + ph)
    w1 = min(w0 + kw, W + pw)
    pool = (h1 - h0) * (w1 - w0)
    h0 = max(h0, 0)
    w0 = max(w0, 0)
    h1 = min(h1, H)
    w1 = min(w1, W)
    if divisor > 0:
        d = divisor
    elif include_pad:
        d = pool
    else:
        d = (h1 - h0) * (w1 - w0)
    return h0, w0, h1, w1, d


@cuda.jit(**_opts)
def avgpool2d(x, xo, xs, dims, geo, include_pad, divisor, OH, OW, out):
    """PyTorch's avg_pool2d (geo = kh, kw, sh, sw, ph, pw; divisor 0 = none given)."""
    N, C, H, W = dims
    kh, kw, sh, sw, ph, pw = geo
    sn, sc, sy, sx = xs
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        n, c, oh, ow = _split(e, C, OH, OW)
        base = xo + n * sn + c * sc
        h0, w0, h1, w1, d = _avg_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw, include_pad,
                                        divisor)
        s = 0.0
        for ih in range(h0, h1):
            for iw in range(w0, w1):
                s += x[base + ih * sy + iw * sx]
        out[e] = s / d


@cuda.jit(**_opts)
def avgpool2d_backward(g, go, gs, dims, geo, include_pad, divisor, OH, OW, gx):
    """gx[p, ih, iw] = sum over the windows containing the pixel of g[p, o] / d(o)."""
    N, C, H, W = dims
    kh, kw, sh, sw, ph, pw = geo
    sn, sc, sy, sx = gs
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, ih, iw = _split(e, C, H, W)
        gb = go + n * sn + c * sc
        oh1 = min(OH - 1, (ih + ph) // sh)
        ow0 = _first(iw + pw - kw + 1, sw)
        ow1 = min(OW - 1, (iw + pw) // sw)
        s = 0.0
        for oh in range(_first(ih + ph - kh + 1, sh), oh1 + 1):
            for ow in range(ow0, ow1 + 1):
                h0, w0, h1, w1, d = _avg_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw,
                                                include_pad, divisor)
                if ih >= h0 and ih < h1 and iw >= w0 and iw < w1:
                    s += g[gb + oh * sy + ow * sx] / d
        gx[e] = s


@cuda.jit(**_opts)
def adaptive_avgpool2d(x, xo, xs, dims, OH, OW, out):
    """Mean over PyTorch's adaptive windows [floor(o*H/OH), ceil((o+1)*H/OH))."""
    N, C, H, W = dims
    sn, sc, sy, sx = xs
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        n, c, oh, ow = _split(e, C, OH, OW)
        base = xo + n * sn + c * sc
        h0 = (oh * H) // OH
        h1 = -((-(oh + 1) * H) // OH)
        w0 = (ow * W) // OW
        w1 = -((-(ow + 1) * W) // OW)
        s = 0.0
        for ih in range(h0, h1):
            for iw in range(w0, w1):
                s += x[base + ih * sy + iw * sx]
        out[e] = s / ((h1 - h0) * (w1 - w0))


@cuda.jit(**_opts)
def adaptive_avgpool2d_backward(g, go, gs, dims, OH, OW, gx):
    """The adjoint of ``adaptive_avgpool2d``: gx (contiguous ``dims``) from g (OH, OW)."""
    N, C, H, W = dims
    sn, sc, sy, sx = gs
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, ih, iw = _split(e, C, H, W)
        gb = go + n * sn + c * sc
        s = 0.0
        oh = (ih * OH) // H
        while oh < OH and (oh * H) // OH <= ih:
            h1 = -((-(oh + 1) * H) // OH)
            h0 = (oh * H) // OH
            ow = (iw * OW) // W
            while ow < OW and (ow * W) // OW <= iw:
                w1 = -((-(ow + 1) * W) // OW)
                w0 = (ow * W) // OW
                s += g[gb + oh * sy + ow * sx] / ((h1 - h0) * (w1 - w0))
                ow += 1
            oh += 1
        gx[e] = s


# ------------------------------------------------------------------- nearest upsampling
@cuda.jit(**_opts)
def upsample_nearest2d(x, xo, xs, dims, hi, wi, OH, OW, out):
    """out[p, oh, ow] = x[p, hi[oh], wi[ow]] (hi, wi: int64 device arrays)."""
    N, C = dims[0], dims[1]
    sn, sc, sy, sx = xs
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        n, c, oh, ow = _split(e, C, OH, OW)
        out[e] = x[xo + n * sn + c * sc + hi[oh] * sy + wi[ow] * sx]


@cuda.jit(**_opts)
def upsample_nearest2d_backward(g, go, gs, dims, hs, ws, gx, zero):
    """gx[p, ih, iw] = sum of g[p, oh, ow] over oh in [hs[ih], hs[ih+1]) and ow in
    [ws[iw], ws[iw+1]): the output positions that copy the pixel (the source maps are
    non-decreasing, so each pixel's copies are one block)."""
    N, C, H, W = dims
    sn, sc, sy, sx = gs
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, ih, iw = _split(e, C, H, W)
        gb = go + n * sn + c * sc
        acc = zero
        for oh in range(hs[ih], hs[ih + 1]):
            for ow in range(ws[iw], ws[iw + 1]):
                acc += g[gb + oh * sy + ow * sx]
        gx[e] = acc


def typecheck_cases(np):
    """(name, kernel, example args) for ``kernels.cuda._typecheck``."""
    cases = []
    st4, d4 = (4, 4, 2, 1), (1, 1, 2, 2)
    g8, g6 = (1, 1, 1, 1, 0, 0, 1, 1), (1, 1, 1, 1, 0, 0)
    i64 = np.zeros(4, np.int64)
    for dt in (np.float32, np.float64):
        a = np.zeros(4, dt)
        z = dt(0)
        n = np.dtype(dt).name
        cases += [
            (f"maxpool2d {n}", maxpool2d, (a, 0, st4, d4, g8, 2, 2, a, i64, dt(-np.inf))),
            (f"maxpool2d_backward {n}", maxpool2d_backward,
             (a, 0, st4, i64, d4, g8, 2, 2, a, z)),
            (f"plane_gather {n}", plane_gather, (a, 0, st4, i64, d4, 2, 2, a)),
            (f"avgpool2d {n}", avgpool2d, (a, 0, st4, d4, g6, True, 0, 2, 2, a)),
            (f"avgpool2d_backward {n}", avgpool2d_backward,
             (a, 0, st4, d4, g6, True, 0, 2, 2, a)),
            (f"adaptive_avgpool2d {n}", adaptive_avgpool2d, (a, 0, st4, d4, 2, 2, a)),
            (f"adaptive_avgpool2d_backward {n}", adaptive_avgpool2d_backward,
             (a, 0, st4, d4, 2, 2, a)),
            (f"upsample_nearest2d {n}", upsample_nearest2d, (a, 0, st4, d4, i64, i64, 2, 2, a)),
            (f"upsample_nearest2d_backward {n}", upsample_nearest2d_backward,
             (a, 0, st4, d4, i64, i64, a, z)),
        ]
    return cases
