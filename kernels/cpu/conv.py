"""CPU kernels for convolution and pooling over numpy arrays (no engine imports).

Layouts (all arrays C-contiguous unless stated):
- ``im2col(x[N,C,H,W]) -> cols[C*kh*kw, N, OH*OW]`` ("channel-major" columns, so one GEMM
  ``W[O, C*kh*kw] @ cols`` covers the whole batch); ``col2im`` is its adjoint (sums overlaps).
  ``cols`` may be any strided 3-D view (e.g. ``unfold``'s ``(N, CK, L)`` buffer transposed).
- pooling / upsampling kernels work on planes: ``x[P, H, W]`` with ``P = N*C``.
Every family has a serial and a ``prange`` variant; the caller picks by size (``PAR_MIN``).
Max-pool NaNs propagate as in PyTorch (``v > best or v != v``); indices are flat ``h*W + w``.
"""

import numpy as np
from numba import njit, prange

__all__ = ["PAR_MIN", "im2col", "col2im", "maxpool2d", "maxpool2d_backward", "plane_gather",
           "avgpool2d", "avgpool2d_backward", "adaptive_avgpool2d",
           "adaptive_avgpool2d_backward", "upsample_nearest2d", "upsample_nearest2d_backward",
           "swap01", "channel_sums"]

PAR_MIN = 1 << 15  # elements of work below which the serial variant runs
_opts = dict(cache=True, nogil=True, error_model="numpy")


# ------------------------------------------------------------------------- im2col / col2im
# Each (n, c) plane is first copied into a zero-bordered buffer (Hp, Wp) covering every
# window, so the row copies below need no bounds checks (measured ~2x faster than checking).
@njit(**_opts)
def _fill_padded(x, n, c, buf, ph, pw):
    for a in range(buf.shape[0]):
        for b in range(buf.shape[1]):
            buf[a, b] = 0
    for ih in range(x.shape[2]):
        for iw in range(x.shape[3]):
            buf[ih + ph, iw + pw] = x[n, c, ih, iw]


@njit(**_opts)
def _im2col_plane(x, cols, n, c, buf, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    _fill_padded(x, n, c, buf, ph, pw)
    for i in range(kh):
        for j in range(kw):
            dst = cols[n, (c * kh + i) * kw + j]
            o = j * dw
            for oh in range(OH):
                row = buf[oh * sh + i * dh]
                b = oh * OW
                if sw == 1:
                    for ow in range(OW):
                        dst[b + ow] = row[o + ow]
                else:
                    for ow in range(OW):
                        dst[b + ow] = row[o + ow * sw]


@njit(**_opts)
def _im2col_serial(x, cols, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    C = x.shape[1]
    buf = np.empty((Hp, Wp), x.dtype)
    for t in range(x.shape[0] * C):
        _im2col_plane(x, cols, t // C, t % C, buf, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


@njit(parallel=True, **_opts)
def _im2col_par(x, cols, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    C = x.shape[1]
    for t in prange(x.shape[0] * C):
        buf = np.empty((Hp, Wp), x.dtype)
        _im2col_plane(x, cols, t // C, t % C, buf, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


def _padded_hw(H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    return (max(H + ph, (OH - 1) * sh + (kh - 1) * dh + 1),
            max(W + pw, (OW - 1) * sw + (kw - 1) * dw + 1))


def im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW) -> None:
    """cols[n, (c*kh+i)*kw+j, oh*OW+ow] = x[n, c, oh*sh-ph+i*dh, ow*sw-pw+j*dw] (0 outside);
    ``cols`` has F.unfold's layout (N, C*kh*kw, OH*OW). OH, OW may be smaller than the
    natural output size (a transposed conv's geometry).

    >>> x = np.arange(4.).reshape(1, 1, 2, 2); c = np.empty((1, 4, 1))
    >>> im2col(x, c, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1); c.ravel().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    if OH <= 0 or OW <= 0:
        return
    Hp, Wp = _padded_hw(x.shape[2], x.shape[3], kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
    k = _im2col_par if cols.size >= PAR_MIN else _im2col_serial
    k(x, cols, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


@njit(**_opts)
def _col2im_plane(cols, gx, n, c, buf, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    for a in range(buf.shape[0]):
        for b in range(buf.shape[1]):
            buf[a, b] = 0
    for i in range(kh):
        for j in range(kw):
            src = cols[n, (c * kh + i) * kw + j]
            o = j * dw
            for oh in range(OH):
                row = buf[oh * sh + i * dh]
                b = oh * OW
                if sw == 1:
                    for ow in range(OW):
                        row[o + ow] += src[b + ow]
                else:
                    for ow in range(OW):
                        row[o + ow * sw] += src[b + ow]
    for ih in range(gx.shape[2]):
        for iw in range(gx.shape[3]):
            gx[n, c, ih, iw] = buf[ih + ph, iw + pw]


@njit(**_opts)
def _col2im_serial(cols, gx, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    C = gx.shape[1]
    buf = np.empty((Hp, Wp), gx.dtype)
    for t in range(gx.shape[0] * C):
        _col2im_plane(cols, gx, t // C, t % C, buf, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


@njit(parallel=True, **_opts)
def _col2im_par(cols, gx, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    C = gx.shape[1]
    for t in prange(gx.shape[0] * C):
        buf = np.empty((Hp, Wp), gx.dtype)
        _col2im_plane(cols, gx, t // C, t % C, buf, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


def col2im(cols, gx, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW) -> None:
    """The adjoint of ``im2col`` (F.fold): gx[N,C,H,W] = sum of the cols entries that read
    each pixel."""
    if OH <= 0 or OW <= 0:
        gx[...] = 0
        return
    Hp, Wp = _padded_hw(gx.shape[2], gx.shape[3], kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
    k = _col2im_par if cols.size >= PAR_MIN else _col2im_serial
    k(cols, gx, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


# -------------------------------------------------------------- layout shuffles (N,C,L)<->(C,N,L)
@njit(**_opts)
def _shuffle_row(src, dst, bias, add_bias, a, b):
    L = src.shape[2]
    if add_bias:
        v = bias[a]
        for k in range(L):
            dst[b, a, k] = src[a, b, k] + v
    else:
        for k in range(L):
            dst[b, a, k] = src[a, b, k]


@njit(**_opts)
def _shuffle_serial(src, dst, bias, add_bias):
    B = src.shape[1]
    for t in range(src.shape[0] * B):
        _shuffle_row(src, dst, bias, add_bias, t // B, t % B)


@njit(parallel=True, **_opts)
def _shuffle_par(src, dst, bias, add_bias):
    B = src.shape[1]
    for t in prange(src.shape[0] * B):
        _shuffle_row(src, dst, bias, add_bias, t // B, t % B)


def swap01(src, dst, bias=None) -> None:
    """dst[b, a, :] = src[a, b, :] (+ bias[a]): (N,C,L) <-> (C,N,L) layout changes."""
    k = _shuffle_par if src.size >= PAR_MIN else _shuffle_serial
    if bias is None:
        k(src, dst, src[:, 0, 0], False)
    else:
        k(src, dst, bias, True)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _row_sum(g, n, c):
    s = g[n, c, 0] * 0
    for k in range(g.shape[2]):
        s += g[n, c, k]
    return s


@njit(**_opts)
def channel_sums(g, out):
    """out[c] = sum over n, l of g[n, c, l] (vectorised rows, rows added in float64)."""
    N, C, L = g.shape
    for c in range(C):
        s = 0.0
        if L:
            for n in range(N):
                s += _row_sum(g, n, c)
        out[c] = s


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
                    if v > best or v != v:
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
                    if v > best or v != v:
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
            if v > best or v != v:
                best, bi = v, b0 + k + 1
            v = r1[k]
            if v > best or v != v:
                best, bi = v, b0 + W + k
            v = r1[k + 1]
            if v > best or v != v:
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
