"""Fused pointwise parts of one LSTM / GRU time step (the matmuls stay separate).

A recurrent layer runs its cell once per time step from Python, and the cell's pointwise math
is ~13 small engine ops (sigmoid, tanh, gate slices, products) plus as many backward nodes,
each a few microseconds of dispatch: for an LSTM of batch 16 that overhead was ~9x the
arithmetic. These kernels do one step's pointwise math in one pass each way over (B, H).

Gate layouts are PyTorch's: LSTM ``gates`` (B, 4H) in order i, f, g, o; GRU ``gi``/``gh`` (B,
3H) in order r, z, n with ``n = tanh(gi_n + r * gh_n)``. All arrays are C-contiguous 2-D.
"""

from __future__ import annotations

from numba import njit

from kernels.fastmath import fsigmoid, ftanh

__all__ = ["lstm_forward", "lstm_backward", "gru_forward", "gru_backward"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def lstm_forward(gates, c, h_out, c_out, acts, tc):
    """h, c' of one LSTM step; saves the activated gates ``acts`` and ``tc = tanh(c')``."""
    B, H = c.shape
    for b in range(B):
        gr, ar = gates[b], acts[b]
        for j in range(H):
            i = fsigmoid(gr[j])
            f = fsigmoid(gr[H + j])
            g = ftanh(gr[2 * H + j])
            o = fsigmoid(gr[3 * H + j])
            cn = f * c[b, j] + i * g
            t = ftanh(cn)
            ar[j], ar[H + j], ar[2 * H + j], ar[3 * H + j] = i, f, g, o
            c_out[b, j] = cn
            tc[b, j] = t
            h_out[b, j] = o * t


@njit(**_JIT)
def lstm_backward(dh, dc, acts, c, tc, d_gates, dc_prev):
    """Gradients of the gate pre-activations and of the previous cell state."""
    B, H = c.shape
    for b in range(B):
        ar, dr = acts[b], d_gates[b]
        for j in range(H):
            i, f, g, o = ar[j], ar[H + j], ar[2 * H + j], ar[3 * H + j]
            t = tc[b, j]
            dct = dc[b, j] + dh[b, j] * o * (1 - t * t)
            dr[j] = dct * g * i * (1 - i)
            dr[H + j] = dct * c[b, j] * f * (1 - f)
            dr[2 * H + j] = dct * i * (1 - g * g)
            dr[3 * H + j] = dh[b, j] * t * o * (1 - o)
            dc_prev[b, j] = dct * f


@njit(**_JIT)
def gru_forward(gi, gh, h, h_out, acts):
    """h' of one GRU step; saves r, z, n in ``acts`` (B, 3H)."""
    B, H = h.shape
    for b in range(B):
        xr, hr, ar = gi[b], gh[b], acts[b]
        for j in range(H):
            r = fsigmoid(xr[j] + hr[j])
            z = fsigmoid(xr[H + j] + hr[H + j])
            n = ftanh(xr[2 * H + j] + r * hr[2 * H + j])
            ar[j], ar[H + j], ar[2 * H + j] = r, z, n
            h_out[b, j] = n + z * (h[b, j] - n)


@njit(**_JIT)
def gru_backward(dh, gh, h, acts, d_gi, d_gh, dh_prev):
    """Gradients of both gate projections and of the previous hidden state."""
    B, H = h.shape
    for b in range(B):
        ar, hr, dx, dhh = acts[b], gh[b], d_gi[b], d_gh[b]
        for j in range(H):
            r, z, n = ar[j], ar[H + j], ar[2 * H + j]
            d = dh[b, j]
            dpn = d * (1 - z) * (1 - n * n)
            dpr = dpn * hr[2 * H + j] * r * (1 - r)
            dpz = d * (h[b, j] - n) * z * (1 - z)
            dx[j], dx[H + j], dx[2 * H + j] = dpr, dpz, dpn
            dhh[j], dhh[H + j], dhh[2 * H + j] = dpr, dpz, dpn * r
            dh_prev[b, j] = d * z
