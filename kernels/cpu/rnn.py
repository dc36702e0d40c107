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

__all__ = ["gru_backward", "gru_forward", "gru_seq_backward", "gru_seq_forward",
           "lstm_backward", "lstm_forward", "lstm_seq_backward", "lstm_seq_forward",
           "matmul_into"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def lstm_forward(gates, c, h_out, c_out, acts, tc):
    """h, c' of one LSTM step; saves the activated gates ``acts`` and ``tc = tanh(c')``.
    One contiguous pass per quantity, so LLVM vectorises the float32 sigmoid/tanh polynomials
    (4x faster than one interleaved pass over j at B=16, H=64)."""
    B, H = c.shape
    for b in range(B):
        gr, ar = gates[b], acts[b]
        for j in range(2 * H):
            ar[j] = fsigmoid(gr[j])
        for j in range(2 * H, 3 * H):
            ar[j] = ftanh(gr[j])
        for j in range(3 * H, 4 * H):
            ar[j] = fsigmoid(gr[j])
        cr, hr, co, tr = c[b], h_out[b], c_out[b], tc[b]
        for j in range(H):
            co[j] = ar[H + j] * cr[j] + ar[j] * ar[2 * H + j]
        for j in range(H):
            tr[j] = ftanh(co[j])
        for j in range(H):
            hr[j] = ar[3 * H + j] * tr[j]


@njit(**_JIT)
def lstm_backward(dh, dh2, dc, acts, c, tc, d_gates, dc_prev):
    """Gradients of the gate pre-activations and of the previous cell state, for the output
    gradient ``dh + dh2`` (a layer adds the output's and the next step's). ``dc_prev`` first
    holds the cell gradient, then is scaled by f; contiguous passes vectorise (5x)."""
    B, H = c.shape
    for b in range(B):
        ar, dr, dcp = acts[b], d_gates[b], dc_prev[b]
        dhr, dh2r, dcr, cr, tr = dh[b], dh2[b], dc[b], c[b], tc[b]
        for j in range(H):
            d = dhr[j] + dh2r[j]
            t = tr[j]
            o = ar[3 * H + j]
            dr[3 * H + j] = d * t * o * (1 - o)
            dcp[j] = dcr[j] + d * o * (1 - t * t)
        for j in range(H):
            i = ar[j]
            dr[j] = dcp[j] * ar[2 * H + j] * i * (1 - i)
        for j in range(H):
            f = ar[H + j]
            dr[H + j] = dcp[j] * cr[j] * f * (1 - f)
        for j in range(H):
            g = ar[2 * H + j]
            dr[2 * H + j] = dcp[j] * ar[j] * (1 - g * g)
        for j in range(H):
            dcp[j] = dcp[j] * ar[H + j]


@njit(**_JIT)
def gru_forward(gi, gh, h, h_out, acts):
    """h' of one GRU step; saves r, z, n in ``acts`` (B, 3H). Contiguous passes, as above."""
    B, H = h.shape
    for b in range(B):
        xr, hr, ar, hp, ho = gi[b], gh[b], acts[b], h[b], h_out[b]
        for j in range(2 * H):
            ar[j] = fsigmoid(xr[j] + hr[j])
        for j in range(H):
            ar[2 * H + j] = xr[2 * H + j] + ar[j] * hr[2 * H + j]
        for j in range(2 * H, 3 * H):
            ar[j] = ftanh(ar[j])
        for j in range(H):
            n = ar[2 * H + j]
            ho[j] = n + ar[H + j] * (hp[j] - n)


@njit(**_JIT)
def gru_backward(dh, dh2, gh, h, acts, d_gi, d_gh, dh_prev):
    """Gradients of both gate projections and of the previous hidden state (its pointwise
    part), for the output gradient ``dh + dh2``."""
    B, H = h.shape
    for b in range(B):
        ar, hr, dx, dhh, dp = acts[b], gh[b], d_gi[b], d_gh[b], dh_prev[b]
        dhr, dh2r, hp = dh[b], dh2[b], h[b]
        for j in range(H):
            d = dhr[j] + dh2r[j]
            z, n = ar[H + j], ar[2 * H + j]
            dpn = d * (1 - z) * (1 - n * n)
            dx[2 * H + j] = dpn
            dx[H + j] = d * (hp[j] - n) * z * (1 - z)
            dp[j] = d * z
        for j in range(H):
            r = ar[j]
            dx[j] = dx[2 * H + j] * hr[2 * H + j] * r * (1 - r)
        for j in range(2 * H):
            dhh[j] = dx[j]
        for j in range(H):
            dhh[2 * H + j] = dx[2 * H + j] * ar[j]


# ---- whole sequences: the time loop inside one call (engine/nn/_rnn_sequence.py) ----------
# One call per layer direction instead of two Python calls (a BLAS product and a cell kernel)
# per time step: the per-step product is small (B x H x G*H), and a multi-threaded BLAS
# waking its pool for it every step, between Numba's kernels, cost more than the arithmetic.
# Arrays are C-contiguous; per-step arrays are indexed by processing step k (time T-1-k when
# ``reverse``), input projections and output gradients by time.
@njit(**_JIT)
def matmul_into(a, b, out, accumulate):
    """out (+)= a @ b for 2-D a (M, K), b (K, N): rows of b stream contiguously (vectorises)."""
    M, K = a.shape
    N = b.shape[1]
    for m in range(M):
        row = out[m]
        if not accumulate:
            for n in range(N):
                row[n] = 0
        ar = a[m]
        for k in range(K):
            v = ar[k]
            br = b[k]
            for n in range(N):
                row[n] += v * br[n]


@njit(**_JIT)
def lstm_seq_forward(G, Wt, hs, cs, acts, tc, gates, reverse):
    """All steps of one LSTM direction: G (T, B, 4H), Wt = W_hh^T (H, 4H), hs/cs (T+1, B, H)
    with [0] = h0/c0; fills hs, cs, acts (T, B, 4H), tc (T, B, H); gates (B, 4H) scratch."""
    T = G.shape[0]
    for k in range(T):
        t = T - 1 - k if reverse else k
        gates[:] = G[t]
        matmul_into(hs[k], Wt, gates, True)
        lstm_forward(gates, cs[k], hs[k + 1], cs[k + 1], acts[k], tc[k])


@njit(**_JIT)
def lstm_seq_backward(dO, W, acts, cs, tc, dG, dh, dc, dh_next, dc_prev, reverse):
    """Backward of ``lstm_seq_forward``: dO (T, B, H) output grads by time, W = W_hh (4H, H);
    fills dG (T, B, 4H) by step; dh/dc (B, H) hold the grads of h_n/c_n on entry. Returns the
    arrays holding the grads of h0 and c0 (the four (B, H) buffers are swapped in turn)."""
    T = dO.shape[0]
    for k in range(T - 1, -1, -1):
        t = T - 1 - k if reverse else k
        lstm_backward(dO[t], dh, dc, acts[k], cs[k], tc[k], dG[k], dc_prev)
        matmul_into(dG[k], W, dh_next, False)
        dh, dh_next = dh_next, dh
        dc, dc_prev = dc_prev, dc
    return dh, dc


@njit(**_JIT)
def gru_seq_forward(G, Wt, bias, hs, ghs, acts, reverse):
    """All steps of one GRU direction: G (T, B, 3H), Wt (H, 3H), bias (3H,) or empty; fills
    hs (T+1, B, H; [0] = h0), ghs = h W_hh^T + b_hh (T, B, 3H) and acts (T, B, 3H)."""
    T = G.shape[0]
    B = hs.shape[1]
    for k in range(T):
        t = T - 1 - k if reverse else k
        gh = ghs[k]
        if bias.shape[0]:
            for b in range(B):
                gh[b] = bias
        matmul_into(hs[k], Wt, gh, bias.shape[0] > 0)
        gru_forward(G[t], gh, hs[k], hs[k + 1], acts[k])


@njit(**_JIT)
def gru_seq_backward(dO, W, ghs, hs, acts, dGI, dGH, dh, dh_prev, reverse):
    """Backward of ``gru_seq_forward``: fills dGI/dGH (T, B, 3H) by step; dh (B, H) holds the
    grad of h_n on entry; returns the array holding the grad of h0."""
    T = dO.shape[0]
    for k in range(T - 1, -1, -1):
        t = T - 1 - k if reverse else k
        gru_backward(dO[t], dh, ghs[k], hs[k], acts[k], dGI[k], dGH[k], dh_prev)
        matmul_into(dGH[k], W, dh_prev, True)
        dh, dh_prev = dh_prev, dh
    return dh
