"""CPU kernels for convolution over numpy arrays (no engine imports): im2col / col2im in
F.unfold's layout ``cols[N, C*kh*kw, OH*OW]`` for 1-D (H = 1) and 2-D data with stride,
padding and dilation, plus per-channel sums (the bias gradient). Pooling and upsampling
kernels live in ``pool.py``. Each family has a serial and a ``prange`` variant; the caller
picks by size (``PAR_MIN``).
"""

import numpy as np
from numba import njit, prange

__all__ = ["PAR_MIN", "channel_sums", "col2im", "im2col"]

PAR_MIN = 1 << 15  # elements of work below which the serial variant runs
_opts = {"cache": True, "nogil": True, "error_model": "numpy"}


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


def col2im(cols, gx, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, parallel=None) -> None:
    """The adjoint of ``im2col`` (F.fold): gx[N,C,H,W] = sum of the cols entries that read
    each pixel. ``parallel``: force the prange / serial variant (None: by size)."""
    if OH <= 0 or OW <= 0:
        gx[...] = 0
        return
    Hp, Wp = _padded_hw(gx.shape[2], gx.shape[3], kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
    par = cols.size >= PAR_MIN if parallel is None else parallel
    k = _col2im_par if par else _col2im_serial
    k(cols, gx, Hp, Wp, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


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
