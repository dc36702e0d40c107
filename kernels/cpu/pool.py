"""CPU pooling and nearest-upsampling kernels over planes ``x[P, H, W]`` (P = N*C), numpy
in/out, no engine imports. Each family has a serial and a ``prange`` (over planes) variant,
picked by size. Max-pool NaNs propagate as in PyTorch (``v > best or v != v``, the last NaN
wins); indices are flat ``h*W + w`` within the plane."""

import math

import numpy as np
from numba import njit, prange

from .conv import PAR_MIN, _opts

__all__ = [
    "adaptive_avgpool2d",
    "adaptive_avgpool2d_backward",
    "avgpool2d",
    "avgpool2d_backward",
    "maxpool2d",
    "maxpool2d_backward",
    "plane_gather",
    "upsample_nearest2d",
    "upsample_nearest2d_backward",
]


# --------------------------------------------------------------------------- max pooling
@njit(**_opts)
def _maxpool_plane(x, out, idx, p, kh, kw, sh, sw, ph, pw, dh, dw):
    H, W = x.shape[1], x.shape[2]
    OH, OW = out.shape[1], out.shape[2]
    for oh in range(OH):
        h0 = oh * sh - ph
        for ow in range(OW):
            w0 = ow * sw - pw
            best = -np.inf
            hs = h0
            while hs < 0:
                hs += dh
            ws = w0
            while ws < 0:
                ws += dw
            bi = hs * W + ws
            for i in range(kh):
                ih = h0 + i * dh
                if ih < 0 or ih >= H:
                    continue
                for j in range(kw):
                    iw = w0 + j * dw
                    if iw < 0 or iw >= W:
                        continue
                    v = x[p, ih, iw]
                    if v > best or math.isnan(v):
                        best = v
                        bi = ih * W + iw
            out[p, oh, ow] = best
            idx[p, oh, ow] = bi


@njit(**_opts)
def _maxpool_plane_inside(x, out, idx, p, kh, kw, sh, sw, dh, dw):
    """Every window lies inside the plane (no padding): no bounds checks."""
    W = x.shape[2]
    for oh in range(out.shape[1]):
        h0 = oh * sh
        for ow in range(out.shape[2]):
            w0 = ow * sw
            best = x[p, h0, w0]
            bi = h0 * W + w0
            for i in range(kh):
                for j in range(kw):
                    v = x[p, h0 + i * dh, w0 + j * dw]
                    if v > best or math.isnan(v):
                        best = v
                        bi = (h0 + i * dh) * W + w0 + j * dw
            out[p, oh, ow] = best
            idx[p, oh, ow] = bi


@njit(**_opts)
def _maxpool_plane_2x2(x, out, idx, p):
    """kernel 2, stride 2, no padding, windows inside: the common CNN downsampling."""
    W = x.shape[2]
    for oh in range(out.shape[1]):
        r0, r1 = x[p, 2 * oh], x[p, 2 * oh + 1]
        orow, irow = out[p, oh], idx[p, oh]
        b0 = 2 * oh * W
        for ow in range(out.shape[2]):
            k = 2 * ow
            best, bi = r0[k], b0 + k
            v = r0[k + 1]
            if v > best or math.isnan(v):
                best, bi = v, b0 + k + 1
            v = r1[k]
            if v > best or math.isnan(v):
                best, bi = v, b0 + W + k
            v = r1[k + 1]
            if v > best or math.isnan(v):
                best, bi = v, b0 + W + k + 1
            orow[ow] = best
            irow[ow] = bi


@njit(**_opts)
def _maxpool_any(x, out, idx, p, mode, kh, kw, sh, sw, ph, pw, dh, dw):
    if mode == 2:
        _maxpool_plane_2x2(x, out, idx, p)
    elif mode == 1:
        _maxpool_plane_inside(x, out, idx, p, kh, kw, sh, sw, dh, dw)
    else:
        _maxpool_plane(x, out, idx, p, kh, kw, sh, sw, ph, pw, dh, dw)


@njit(**_opts)
def _maxpool_serial(x, out, idx, mode, kh, kw, sh, sw, ph, pw, dh, dw):
    for p in range(x.shape[0]):
        _maxpool_any(x, out, idx, p, mode, kh, kw, sh, sw, ph, pw, dh, dw)


@njit(parallel=True, **_opts)
def _maxpool_par(x, out, idx, mode, kh, kw, sh, sw, ph, pw, dh, dw):
    for p in prange(x.shape[0]):
        _maxpool_any(x, out, idx, p, mode, kh, kw, sh, sw, ph, pw, dh, dw)


def maxpool2d(x, out, idx, kh, kw, sh, sw, ph, pw, dh, dw) -> None:
    """out[p,oh,ow] = max over the window of x[p] (-inf padding), idx = flat argmax in x[p]."""
    H, W = x.shape[1], x.shape[2]
    OH, OW = out.shape[1], out.shape[2]
    inside = (ph == 0 and pw == 0 and (OH - 1) * sh + (kh - 1) * dh < H
              and (OW - 1) * sw + (kw - 1) * dw < W)
    mode = 0
    if inside:
        mode = 2 if (kh, kw, sh, sw, dh, dw) == (2, 2, 2, 2, 1, 1) else 1
    k = _maxpool_par if out.size * kh * kw >= PAR_MIN * 2 else _maxpool_serial
    k(x, out, idx, mode, kh, kw, sh, sw, ph, pw, dh, dw)


@njit(**_opts)
def _scatter_plane(g, idx, gx, p):
    W = gx.shape[2]
    for ih in range(gx.shape[1]):
        for iw in range(W):
            gx[p, ih, iw] = 0
    for oh in range(g.shape[1]):
        for ow in range(g.shape[2]):
            k = idx[p, oh, ow]
            gx[p, k // W, k % W] += g[p, oh, ow]


@njit(**_opts)
def _scatter_plane_2x2(g, idx, gx, p):
    """Non-overlapping 2x2 windows: write every input pixel once (no zero pass)."""
    H, W = gx.shape[1], gx.shape[2]
    OH, OW = g.shape[1], g.shape[2]
    for ih in range(2 * OH, H):
        for iw in range(W):
            gx[p, ih, iw] = 0
    for oh in range(OH):
        r0, r1 = gx[p, 2 * oh], gx[p, 2 * oh + 1]
        grow, irow = g[p, oh], idx[p, oh]
        b0 = 2 * oh * W
        for ow in range(OW):
            k = irow[ow] - b0 - 2 * ow
            v = grow[ow]
            z = v * 0
            r0[2 * ow] = v if k == 0 else z
            r0[2 * ow + 1] = v if k == 1 else z
            r1[2 * ow] = v if k == W else z
            r1[2 * ow + 1] = v if k == W + 1 else z
        for iw in range(2 * OW, W):
            r0[iw] = 0
            r1[iw] = 0


@njit(**_opts)
def _scatter_any(g, idx, gx, p, two):
    if two:
        _scatter_plane_2x2(g, idx, gx, p)
    else:
        _scatter_plane(g, idx, gx, p)


@njit(**_opts)
def _scatter_serial(g, idx, gx, two):
    for p in range(gx.shape[0]):
        _scatter_any(g, idx, gx, p, two)


@njit(parallel=True, **_opts)
def _scatter_par(g, idx, gx, two):
    for p in prange(gx.shape[0]):
        _scatter_any(g, idx, gx, p, two)


def maxpool2d_backward(g, idx, gx, two_by_two: bool = False) -> None:
    """gx[p] = 0; gx[p].flat[idx[p,o]] += g[p,o] (the adjoint of ``plane_gather``).
    ``two_by_two``: the indices come from kernel 2 / stride 2 windows inside the plane."""
    (_scatter_par if gx.size >= PAR_MIN else _scatter_serial)(g, idx, gx, two_by_two)


@njit(**_opts)
def _gather_body(src, idx, out, p):
    W = src.shape[2]
    for oh in range(out.shape[1]):
        for ow in range(out.shape[2]):
            k = idx[p, oh, ow]
            out[p, oh, ow] = src[p, k // W, k % W]


@njit(**_opts)
def _gather_serial(src, idx, out):
    for p in range(out.shape[0]):
        _gather_body(src, idx, out, p)


@njit(parallel=True, **_opts)
def _gather_par(src, idx, out):
    for p in prange(out.shape[0]):
        _gather_body(src, idx, out, p)


def plane_gather(src, idx, out) -> None:
    """out[p,o] = src[p].flat[idx[p,o]]."""
    (_gather_par if out.size >= PAR_MIN else _gather_serial)(src, idx, out)


# --------------------------------------------------------------------------- avg pooling
@njit(**_opts)
def _avg_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    h0, w0 = oh * sh - ph, ow * sw - pw
    h1, w1 = min(h0 + kh, H + ph), min(w0 + kw, W + pw)
    pool = (h1 - h0) * (w1 - w0)
    h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
    if divisor > 0:
        d = divisor
    elif include_pad:
        d = pool
    else:
        d = (h1 - h0) * (w1 - w0)
    return h0, w0, h1, w1, d


@njit(**_opts)
def _avgpool_plane(x, out, p, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    H, W = x.shape[1], x.shape[2]
    for oh in range(out.shape[1]):
        for ow in range(out.shape[2]):
            h0, w0, h1, w1, d = _avg_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw,
                                            include_pad, divisor)
            s = 0.0
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    s += x[p, ih, iw]
            out[p, oh, ow] = s / d


@njit(**_opts)
def _avgpool_serial(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    for p in range(x.shape[0]):
        _avgpool_plane(x, out, p, kh, kw, sh, sw, ph, pw, include_pad, divisor)


@njit(parallel=True, **_opts)
def _avgpool_par(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    for p in prange(x.shape[0]):
        _avgpool_plane(x, out, p, kh, kw, sh, sw, ph, pw, include_pad, divisor)


def avgpool2d(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor) -> None:
    """PyTorch's avg_pool2d on planes (divisor 0 = none given)."""
    k = _avgpool_par if x.size * kh * kw >= PAR_MIN * 4 else _avgpool_serial
    k(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor)


@njit(**_opts)
def _avgpool_bw_plane(g, gx, p, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    H, W = gx.shape[1], gx.shape[2]
    for ih in range(H):
        for iw in range(W):
            gx[p, ih, iw] = 0
    for oh in range(g.shape[1]):
        for ow in range(g.shape[2]):
            h0, w0, h1, w1, d = _avg_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw,
                                            include_pad, divisor)
            v = g[p, oh, ow] / d
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    gx[p, ih, iw] += v


@njit(**_opts)
def _avgpool_bw_serial(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    for p in range(gx.shape[0]):
        _avgpool_bw_plane(g, gx, p, kh, kw, sh, sw, ph, pw, include_pad, divisor)


@njit(parallel=True, **_opts)
def _avgpool_bw_par(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    for p in prange(gx.shape[0]):
        _avgpool_bw_plane(g, gx, p, kh, kw, sh, sw, ph, pw, include_pad, divisor)


def avgpool2d_backward(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor) -> None:
    k = _avgpool_bw_par if gx.size * kh * kw >= PAR_MIN * 4 else _avgpool_bw_serial
    k(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor)


# ------------------------------------------------------------------ adaptive avg pooling
@njit(**_opts)
def _adaptive_plane(x, out, gx, g, p, backward):
    H, W = (gx.shape[1], gx.shape[2]) if backward else (x.shape[1], x.shape[2])
    OH, OW = (g.shape[1], g.shape[2]) if backward else (out.shape[1], out.shape[2])
    if backward:
        for ih in range(H):
            for iw in range(W):
                gx[p, ih, iw] = 0
    for oh in range(OH):
        h0 = (oh * H) // OH
        h1 = -((-(oh + 1) * H) // OH)
        for ow in range(OW):
            w0 = (ow * W) // OW
            w1 = -((-(ow + 1) * W) // OW)
            cnt = (h1 - h0) * (w1 - w0)
            if backward:
                v = g[p, oh, ow] / cnt
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        gx[p, ih, iw] += v
            else:
                s = 0.0
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        s += x[p, ih, iw]
                out[p, oh, ow] = s / cnt


@njit(**_opts)
def _adaptive_serial(x, out, gx, g, backward):
    P = gx.shape[0] if backward else x.shape[0]
    for p in range(P):
        _adaptive_plane(x, out, gx, g, p, backward)


@njit(parallel=True, **_opts)
def _adaptive_par(x, out, gx, g, backward):
    P = gx.shape[0] if backward else x.shape[0]
    for p in prange(P):
        _adaptive_plane(x, out, gx, g, p, backward)


def adaptive_avgpool2d(x, out) -> None:
    """out[p,oh,ow] = mean of x[p, floor(oh*H/OH):ceil((oh+1)*H/OH), (same for w)]."""
    k = _adaptive_par if x.size >= PAR_MIN else _adaptive_serial
    k(x, out, x, out, False)


def adaptive_avgpool2d_backward(g, gx) -> None:
    k = _adaptive_par if gx.size >= PAR_MIN else _adaptive_serial
    k(gx, g, gx, g, True)


# ------------------------------------------------------------------- nearest upsampling
@njit(**_opts)
def _up_plane(x, out, hi, wi, p):
    for oh in range(out.shape[1]):
        ih = hi[oh]
        for ow in range(out.shape[2]):
            out[p, oh, ow] = x[p, ih, wi[ow]]


@njit(**_opts)
def _up_bw_plane(g, gx, hi, wi, p):
    for ih in range(gx.shape[1]):
        for iw in range(gx.shape[2]):
            gx[p, ih, iw] = 0
    for oh in range(g.shape[1]):
        ih = hi[oh]
        for ow in range(g.shape[2]):
            gx[p, ih, wi[ow]] += g[p, oh, ow]


@njit(**_opts)
def _up_serial(a, b, hi, wi, backward):
    for p in range(a.shape[0]):
        if backward:
            _up_bw_plane(a, b, hi, wi, p)
        else:
            _up_plane(a, b, hi, wi, p)


@njit(parallel=True, **_opts)
def _up_par(a, b, hi, wi, backward):
    for p in prange(a.shape[0]):
        if backward:
            _up_bw_plane(a, b, hi, wi, p)
        else:
            _up_plane(a, b, hi, wi, p)


def upsample_nearest2d(x, out, hi, wi) -> None:
    """out[p, oh, ow] = x[p, hi[oh], wi[ow]] (hi, wi: int64 source indices)."""
    (_up_par if out.size >= PAR_MIN else _up_serial)(x, out, hi, wi, False)


def upsample_nearest2d_backward(g, gx, hi, wi) -> None:
    """The adjoint: gx[p, hi[oh], wi[ow]] += g[p, oh, ow]."""
    (_up_par if g.size >= PAR_MIN else _up_serial)(g, gx, hi, wi, True)
