"""CUDA convolution kernels: im2col / col2im in F.unfold's column layout
``cols[N, C*kh*kw, OH*OW]`` (1-D data is 2-D with H = 1), the bias broadcast-add, and a
batch sum (the weight gradient's sum over samples). The GEMMs between them are
``kernels/cuda/matmul.py``'s (its ``amod`` argument lets a batch of (sample, group) pairs
share the group's weight).

Conventions (as every ``kernels/cuda`` family): grid-stride loops over output elements (any
grid is correct), metadata by value -- an input is (buffer, element offset, strides tuple),
shapes and the window geometry are int tuples. ``zero`` is a 0 of the data dtype (a typed
scalar argument), so accumulators keep the data type without per-dtype generated modules.
Every output element is computed by one thread from a fixed-order gather (no atomics): the
input gradient of im2col sums the column entries of a pixel in (i, j) order, as the CPU
kernel does, so results are deterministic."""

from numba import cuda

from ._device import SIM

__all__ = ["batch_sum", "bias_add", "col2im", "im2col", "typecheck_cases"]

_opts = dict(cache=not SIM)


@cuda.jit(**_opts)
def im2col(x, xo, xs, dims, geo, OH, OW, cols, co):
    """cols[co + (n*R + (c*kh+i)*kw+j)*L + oh*OW+ow] = x[n, c, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
    (0 outside); x is (N, C, H, W) = ``dims`` with strides ``xs`` from offset ``xo``."""
    N, C, H, W = dims
    kh, kw, sh, sw, ph, pw, dh, dw = geo
    sn, sc, sy, sx = xs
    L = OH * OW
    R = C * kh * kw
    for e in range(cuda.grid(1), N * R * L, cuda.gridsize(1)):
        l = e % L
        t = e // L
        r = t % R
        n = t // R
        ow = l % OW
        oh = l // OW
        j = r % kw
        t = r // kw
        i = t % kh
        c = t // kh
        ih = oh * sh - ph + i * dh
        iw = ow * sw - pw + j * dw
        if ih >= 0 and ih < H and iw >= 0 and iw < W:
            cols[co + e] = x[xo + n * sn + c * sc + ih * sy + iw * sx]
        else:
            cols[co + e] = 0


@cuda.jit(**_opts)
def col2im(cols, co, dims, geo, OH, OW, gx, zero):
    """The adjoint of ``im2col`` (F.fold): gx[n, c, ih, iw] (contiguous ``dims``) = the sum
    of the contiguous column entries (from offset ``co``) that read that pixel."""
    N, C, H, W = dims
    kh, kw, sh, sw, ph, pw, dh, dw = geo
    L = OH * OW
    R = C * kh * kw
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        iw = e % W
        t = e // W
        ih = t % H
        t = t // H
        c = t % C
        n = t // C
        acc = zero
        base = co + (n * R + c * kh * kw) * L
        for i in range(kh):
            a = ih + ph - i * dh
            if a < 0 or a % sh != 0 or a // sh >= OH:
                continue
            oh = a // sh
            for j in range(kw):
                b = iw + pw - j * dw
                if b < 0 or b % sw != 0 or b // sw >= OW:
                    continue
                acc += cols[base + (i * kw + j) * L + oh * OW + b // sw]
        gx[e] = acc


@cuda.jit(**_opts)
def bias_add(out, n, O, L, b, bo, bs):
    """out[e] += b[bo + ((e // L) % O) * bs] for a contiguous (N, O, L) ``out`` of n items."""
    for e in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[e] += b[bo + ((e // L) % O) * bs]


@cuda.jit(**_opts)
def batch_sum(tmp, NB, S, out, zero):
    """out[i] = sum over z < NB of tmp[z*S + i] (in order of z), for i < S."""
    for i in range(cuda.grid(1), S, cuda.gridsize(1)):
        acc = zero
        for z in range(NB):
            acc += tmp[z * S + i]
        out[i] = acc


def typecheck_cases(np):
    """(name, kernel, example args) for ``kernels.cuda._typecheck``."""
    cases = []
    st4, d4, geo = (4, 4, 2, 1), (1, 1, 2, 2), (1, 1, 1, 1, 0, 0, 1, 1)
    for dt in (np.float32, np.float64):
        a = np.zeros(4, dt)
        z = dt(0)
        n = np.dtype(dt).name
        cases += [
            (f"im2col {n}", im2col, (a, 0, st4, d4, geo, 2, 2, a, 0)),
            (f"col2im {n}", col2im, (a, 0, d4, geo, 2, 2, a, z)),
            (f"bias_add {n}", bias_add, (a, 4, 1, 4, a, 0, 1)),
            (f"batch_sum {n}", batch_sum, (a, 2, 2, a, z)),
        ]
    return cases
