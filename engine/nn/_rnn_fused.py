"""The pointwise part of one LSTM / GRU step as one autograd node (kernels/cpu/rnn.py).

On CPU float32/float64 the forward and backward are one fused kernel each; the backward
switches to the same formulas written with engine ops when it is itself differentiated
(``create_graph``), so double backward works. Other devices and dtypes use the composite
(engine ops throughout), which is also the reference the kernels are tested against."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import empty_tensor
from ..autograd.grad_mode import _enabled
from ..autograd.graph import record
from ..ops._common import needs_grad
from ..ops.shape import cat

__all__ = ["lstm_pointwise", "gru_pointwise"]


def _fusable(*ts) -> bool:
    dt = ts[0].dtype
    return (dt in (D.float32, D.float64) and all(t.is_cpu and t.dtype == dt for t in ts))


def _np(t):
    """A C-contiguous numpy array of ``t``'s values (no copy when already contiguous)."""
    return np.ascontiguousarray(t.detach()._np())


# ---- LSTM: gates (B, 4H) in order i, f, g, o; c (B, H) -> (h, c') --------------------------
def _lstm_ops(gates, c):
    H = c.shape[1]
    i, f = gates.narrow(1, 0, H).sigmoid(), gates.narrow(1, H, H).sigmoid()
    g, o = gates.narrow(1, 2 * H, H).tanh(), gates.narrow(1, 3 * H, H).sigmoid()
    return i, f, g, o


def _lstm_composite(gates, c):
    i, f, g, o = _lstm_ops(gates, c)
    c = f * c + i * g
    return o * c.tanh(), c


def _lstm_backward_ops(gates, c, dh, dc):
    i, f, g, o = _lstm_ops(gates, c)
    t = (f * c + i * g).tanh()
    dct = dc + dh * o * (1 - t * t)
    d = cat([dct * g * i * (1 - i), dct * c * f * (1 - f), dct * i * (1 - g * g),
             dh * t * o * (1 - o)], 1)
    return d, dct * f


def lstm_pointwise(gates, c):
    """``h, c'`` of an LSTM step from the gate pre-activations and the previous cell state."""
    if not _fusable(gates, c):
        return _lstm_composite(gates, c)
    from kernels.cpu import rnn as KR
    B, H = c.shape
    dt = gates.dtype
    gn, cn_prev = _np(gates), _np(c)
    h, cn = empty_tensor((B, H), dt), empty_tensor((B, H), dt)
    acts, tc = np.empty((B, 4 * H), dt.np), np.empty((B, H), dt.np)
    KR.lstm_forward(gn, cn_prev, h._np(), cn._np(), acts, tc)
    if needs_grad(gates, c):
        def bw(node, dh, dc):
            gs, cs = node.saved_tensor(0), node.saved_tensor(1)  # in-place checks
            if _enabled.get():  # create_graph: differentiable formulas
                return _lstm_backward_ops(gs, cs, dh, dc)
            dg, dcp = empty_tensor((B, 4 * H), dt), empty_tensor((B, H), dt)
            KR.lstm_backward(_np(dh), np.zeros((B, H), dt.np), _np(dc), acts, cn_prev, tc,
                             dg._np(), dcp._np())
            return dg, dcp
        record("FusedLstmCellBackward0", (gates, c), (h, cn), bw, ((gates, False), (c, False)))
    return h, cn


# ---- GRU: gi, gh (B, 3H) in order r, z, n; h (B, H) -> h' --------------------------------
def _gru_ops(gi, gh, h):
    H = h.shape[1]
    rz = (gi.narrow(1, 0, 2 * H) + gh.narrow(1, 0, 2 * H)).sigmoid()
    r, z = rz.narrow(1, 0, H), rz.narrow(1, H, H)
    n = (gi.narrow(1, 2 * H, H) + r * gh.narrow(1, 2 * H, H)).tanh()
    return r, z, n


def _gru_backward_ops(gi, gh, h, dh):
    H = h.shape[1]
    r, z, n = _gru_ops(gi, gh, h)
    dpn = dh * (1 - z) * (1 - n * n)
    dpr = dpn * gh.narrow(1, 2 * H, H) * r * (1 - r)
    dpz = dh * (h - n) * z * (1 - z)
    return cat([dpr, dpz, dpn], 1), cat([dpr, dpz, dpn * r], 1), dh * z


def gru_pointwise(gi, gh, h):
    """``h'`` of a GRU step from the input and hidden projections and the previous state."""
    if not _fusable(gi, gh, h):
        r, z, n = _gru_ops(gi, gh, h)
        return n + z * (h - n)
    from kernels.cpu import rnn as KR
    B, H = h.shape
    dt = h.dtype
    gin, ghn, hn = _np(gi), _np(gh), _np(h)
    out = empty_tensor((B, H), dt)
    acts = np.empty((B, 3 * H), dt.np)
    KR.gru_forward(gin, ghn, hn, out._np(), acts)
    if needs_grad(gi, gh, h):
        def bw(node, dh):
            gis, ghs, hs = (node.saved_tensor(k) for k in range(3))
            if _enabled.get():
                return _gru_backward_ops(gis, ghs, hs, dh)
            dgi, dgh = empty_tensor((B, 3 * H), dt), empty_tensor((B, 3 * H), dt)
            dhp = empty_tensor((B, H), dt)
            KR.gru_backward(_np(dh), np.zeros((B, H), dt.np), ghn, hn, acts, dgi._np(),
                            dgh._np(), dhp._np())
            return dgi, dgh, dhp
        record("FusedGruCellBackward0", (gi, gh, h), (out,), bw,
               ((gi, False), (gh, False), (h, False)))
    return out
