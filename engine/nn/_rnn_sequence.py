"""A whole LSTM / GRU / RNN layer direction (all time steps) as one autograd node, on CPU.

The per-step path (functional_rnn._run_direction) costs two engine ops and two autograd nodes
per time step in each direction, ~20 us of Python each, which is most of a small recurrent
layer's time. Here LSTM and GRU run the whole time loop in one Numba call each way
(kernels/cpu/rnn.py: the step's product h W_hh^T and the fused cell), and the weight
gradient is one product over all steps (the engine's GEMM); the Elman RNN loops in numpy
around the same Numba step product. Only the input
projection (one matmul for all steps, outside) and this node are on the tape.

Used for unpacked (equal-length) float32/float64 CPU input without ``proj_size``. When the
backward is itself differentiated (``create_graph``), it recomputes the layer with the
per-step engine ops and differentiates that, so double backward keeps working."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import empty_tensor
from ..autograd.grad_mode import _enabled
from ..autograd.graph import record
from ..ops._common import needs_grad
from ._rnn_fused import _np

__all__ = ["fusable", "gru_layer", "lstm_layer", "rnn_layer"]


def fusable(mode, gi, h0, w_hh, w_hr, batch_sizes) -> bool:
    dt = gi.dtype
    return (mode in ("LSTM", "GRU", "RNN_TANH", "RNN_RELU") and w_hr is None and dt in (D.float32, D.float64)
            and gi.is_cpu and h0.is_cpu and h0.dtype == dt and w_hh.dtype == dt
            and len(set(batch_sizes)) == 1)


def _tensor(arr, dt):
    out = empty_tensor(arr.shape, dt)
    out._np()[...] = arr
    return out


def _mm(a: np.ndarray, b: np.ndarray):
    """a @ b through the engine's matmul (its own GEMM at these sizes): a multi-threaded BLAS
    call here would wake a second thread pool between Numba's kernels, which on a small
    machine made the whole layer ~3x slower."""
    from ..ops.creation import from_numpy
    from ..ops.matmul import mm
    return mm(from_numpy(a), from_numpy(b))


def _by_time(steps: np.ndarray, reverse: bool) -> np.ndarray:
    """Per-step arrays (step k) in time order (t = k forward, T-1-k reverse), contiguous."""
    return np.ascontiguousarray(steps[::-1]) if reverse else steps


def _finish(name, inputs, outs, grads_fn, recompute, saved):
    """Record the node: plain backward from ``grads_fn``; under create_graph, the gradients of
    ``recompute()`` (the per-step engine ops) with respect to the inputs."""
    def bw(node, *gout):
        ins = [node.saved_tensor(k) for k in range(len(saved))]  # in-place checks
        if _enabled.get():
            from ..autograd import grad
            from ..autograd.grad_mode import enable_grad
            with enable_grad():
                res = recompute(*ins)
            want = [i for i, t in enumerate(ins) if t is not None and t.requires_grad]
            pairs = [(r, g) for r, g in zip(res, gout) if r is not None and r.requires_grad]
            got = grad([r for r, _ in pairs], [ins[i] for i in want], [g for _, g in pairs],
                       create_graph=True, allow_unused=True)
            out = [None] * len(ins)
            for i, g in zip(want, got):
                out[i] = g
            return tuple(out)
        return grads_fn(*[_np(g) for g in gout])
    record(name, inputs, outs, bw, saved)
    return outs


def lstm_layer(gi, h0, c0, w_hh, T: int, reverse: bool, recompute):
    """Output (T*B, H), h_n, c_n of one LSTM direction from the input projection ``gi``
    (T*B, 4H, both biases folded in), ``h0``/``c0`` (B, H) and ``w_hh`` (4H, H)."""
    from kernels.cpu import rnn as KR
    dt = gi.dtype
    B, H = h0.shape
    G = _np(gi).reshape(T, B, 4 * H)
    W = _np(w_hh)
    Wt = np.ascontiguousarray(W.T)   # rows of W_hh^T stream contiguously in the kernel
    hs = np.empty((T + 1, B, H), dt.np)
    cs = np.empty((T + 1, B, H), dt.np)
    hs[0], cs[0] = _np(h0), _np(c0)
    acts = np.empty((T, B, 4 * H), dt.np)
    tc = np.empty((T, B, H), dt.np)
    KR.lstm_seq_forward(G, Wt, hs, cs, acts, tc, np.empty((B, 4 * H), dt.np), reverse)
    out = _tensor(_by_time(hs[1:], reverse).reshape(T * B, H), dt)
    h_n, c_n = _tensor(hs[T], dt), _tensor(cs[T], dt)
    if not needs_grad(gi, h0, c0, w_hh):
        return out, h_n, c_n

    def grads(d_out, d_hn, d_cn):
        dG = np.empty((T, B, 4 * H), dt.np)
        dh, dc = KR.lstm_seq_backward(d_out.reshape(T, B, H), W, acts, cs, tc, dG, d_hn.copy(),
                                      d_cn.copy(), np.empty((B, H), dt.np),
                                      np.empty((B, H), dt.np), reverse)
        dW = _mm(dG.reshape(T * B, 4 * H).T, hs[:T].reshape(T * B, H))
        return (_tensor(_by_time(dG, reverse).reshape(T * B, 4 * H), dt), _tensor(dh, dt),
                _tensor(dc, dt), dW)

    return _finish("FusedLstmLayerBackward0", (gi, h0, c0, w_hh), (out, h_n, c_n), grads,
                   recompute, ((gi, False), (h0, False), (c0, False), (w_hh, False)))


def gru_layer(gi, h0, w_hh, b_hh, T: int, reverse: bool, recompute):
    """Output (T*B, H) and h_n of one GRU direction from ``gi`` (T*B, 3H, with b_ih),
    ``h0`` (B, H), ``w_hh`` (3H, H) and ``b_hh`` (3H,) or None."""
    from kernels.cpu import rnn as KR
    dt = gi.dtype
    B, H = h0.shape
    G = _np(gi).reshape(T, B, 3 * H)
    W = _np(w_hh)
    Wt = np.ascontiguousarray(W.T)
    bias = None if b_hh is None else _np(b_hh)
    hs = np.empty((T + 1, B, H), dt.np)
    hs[0] = _np(h0)
    ghs = np.empty((T, B, 3 * H), dt.np)
    acts = np.empty((T, B, 3 * H), dt.np)
    KR.gru_seq_forward(G, Wt, np.empty(0, dt.np) if bias is None else bias, hs, ghs, acts,
                       reverse)
    out = _tensor(_by_time(hs[1:], reverse).reshape(T * B, H), dt)
    h_n = _tensor(hs[T], dt)
    if not needs_grad(gi, h0, w_hh, b_hh):
        return out, h_n

    def grads(d_out, d_hn):
        dGI = np.empty((T, B, 3 * H), dt.np)
        dGH = np.empty((T, B, 3 * H), dt.np)
        dh = KR.gru_seq_backward(d_out.reshape(T, B, H), W, ghs, hs, acts, dGI, dGH,
                                 d_hn.copy(), np.empty((B, H), dt.np), reverse)
        flat = dGH.reshape(T * B, 3 * H)
        res = (_tensor(_by_time(dGI, reverse).reshape(T * B, 3 * H), dt), _tensor(dh, dt),
               _mm(flat.T, hs[:T].reshape(T * B, H)))
        return res if b_hh is None else res + (_tensor(flat.sum(0), dt),)

    saved = ((gi, False), (h0, False), (w_hh, False)) + (
        () if b_hh is None else ((b_hh, False),))
    inputs = (gi, h0, w_hh) + (() if b_hh is None else (b_hh,))
    return _finish("FusedGruLayerBackward0", inputs, (out, h_n), grads, recompute, saved)


def rnn_layer(gi, h0, w_hh, T: int, reverse: bool, relu: bool, recompute):
    """Output (T*B, H) and h_n of one Elman RNN direction (tanh or relu) from ``gi``
    (T*B, H, both biases folded in), ``h0`` (B, H) and ``w_hh`` (H, H)."""
    dt = gi.dtype
    B, H = h0.shape
    G = _np(gi).reshape(T, B, H)
    W = _np(w_hh)
    Wt = np.ascontiguousarray(W.T)
    hs = np.empty((T + 1, B, H), dt.np)
    hs[0] = _np(h0)
    from kernels.cpu import rnn as KR
    for k in range(T):  # (the step products in Numba: no BLAS thread pool, as above)
        pre = hs[k + 1]
        KR.matmul_into(hs[k], Wt, pre, False)
        pre += G[T - 1 - k if reverse else k]
        if relu:
            np.maximum(pre, 0, out=pre)
        else:
            np.tanh(pre, out=pre)
    out = _tensor(_by_time(hs[1:], reverse).reshape(T * B, H), dt)
    h_n = _tensor(hs[T], dt)
    if not needs_grad(gi, h0, w_hh):
        return out, h_n

    def grads(d_out, d_hn):
        dO = d_out.reshape(T, B, H)
        dP = np.empty((T, B, H), dt.np)
        dh = d_hn
        for k in range(T - 1, -1, -1):
            d = dP[k]
            np.add(dO[T - 1 - k if reverse else k], dh, out=d)
            y = hs[k + 1]
            if relu:
                d *= y > 0
            else:
                d *= 1 - y * y
            dh = np.empty((B, H), dt.np)
            KR.matmul_into(d, W, dh, False)
        return (_tensor(_by_time(dP, reverse).reshape(T * B, H), dt), _tensor(dh, dt),
                _mm(dP.reshape(T * B, H).T, hs[:T].reshape(T * B, H)))

    return _finish("FusedRnnLayerBackward0", (gi, h0, w_hh), (out, h_n), grads, recompute,
                   ((gi, False), (h0, False), (w_hh, False)))
