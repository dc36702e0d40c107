"""Recurrent math and ``embedding_bag`` for ``engine.nn.functional``, written with engine ops
only (so autograd and the CUDA device come for free).

The recurrent layers (``nn.RNN``/``nn.LSTM``/``nn.GRU`` in ``modules/rnn.py``) call
:func:`_run_layers`: per layer and direction one matmul projects the input of every time step
(biases folded in), then the loop over time: on CPU (float32/float64, equal lengths, no
``proj_size``) one node for the whole direction that loops over raw arrays
(``_rnn_sequence.py``), otherwise a Python loop over engine ops with one matmul and one fused
pointwise node per step (``_rnn_fused.py``). Padded input is treated as a
packed sequence whose batch sizes are all equal, so one loop serves both.

>>> import engine, engine.nn.functional as F
>>> w = engine.arange(6.0).reshape(3, 2)
>>> F.embedding_bag(engine.tensor([0, 1, 2]), w, engine.tensor([0, 2]), mode="sum")
tensor([[2., 4.],
        [4., 5.]])
"""

from __future__ import annotations

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.matmul import addmm, mm
from ._rnn_fused import gru_pointwise, lstm_pointwise
from ._rnn_sequence import fusable, gru_layer, lstm_layer, rnn_layer

__all__ = ["embedding_bag"]


# ---- one time step of each cell ---------------------------------------------------------------
# ``gi`` is the input projection x W_ih^T + b_ih (+ b_hh for RNN/LSTM, whose b_hh folds in).
def _rnn_step(gi: Tensor, h: Tensor, w_hh_t: Tensor, relu: bool) -> Tensor:
    pre = addmm(gi, h, w_hh_t)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(gi, h, c, w_hh_t, w_hr_t):
    """LSTM gates in torch's order i, f, g, o; ``w_hr_t`` projects h (``proj_size``)."""
    h, c = lstm_pointwise(addmm(gi, h, w_hh_t), c)
    if w_hr_t is not None:
        h = mm(h, w_hr_t)
    return h, c


def _gru_step(gi, h, w_hh_t, b_hh):
    """GRU gates in torch's order r, z, n: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``."""
    gh = mm(h, w_hh_t) if b_hh is None else addmm(b_hh, h, w_hh_t)
    return gru_pointwise(gi, gh, h)


def _input_proj(mode: str, x: Tensor, w_ih, b_ih, b_hh) -> Tensor:
    """x W_ih^T + b_ih (+ b_hh unless GRU, whose b_hn sits inside r * (...))."""
    if b_ih is None:
        return mm(x, w_ih.t())
    bias = b_ih if mode == "GRU" else b_ih + b_hh
    return addmm(bias, x, w_ih.t())


def _cell(mode, gi, h, c, w, nonlin_relu=False):
    """Apply one step; ``w`` = (w_hh_t, b_hh, w_hr_t). Returns (h, c) (c None unless LSTM)."""
    w_hh_t, b_hh, w_hr_t = w
    if mode == "LSTM":
        return _lstm_step(gi, h, c, w_hh_t, w_hr_t)
    if mode == "GRU":
        return _gru_step(gi, h, w_hh_t, b_hh), None
    return _rnn_step(gi, h, w_hh_t, nonlin_relu), None


def _run_direction(mode, gi, h0, c0, w, batch_sizes, offsets, reverse, relu):
    """The loop over time of one layer and direction over packed rows ``gi`` (N, G).
    Sequences are sorted by length, so a sequence that ends drops off the batch's end (forward)
    or joins it (reverse). Returns (output (N, H), h_n, c_n)."""
    from ..ops.shape import cat
    T = len(batch_sizes)
    outs = [None] * T
    ended_h, ended_c = [], []
    lstm = mode == "LSTM"
    if reverse:
        cur = batch_sizes[-1]
        h = h0 if cur == h0.shape[0] else h0.narrow(0, 0, cur)
        c = (c0 if cur == c0.shape[0] else c0.narrow(0, 0, cur)) if lstm else None
        steps = range(T - 1, -1, -1)
    else:
        cur, h, c, steps = h0.shape[0], h0, c0, range(T)
    for t in steps:
        b = batch_sizes[t]
        if b < cur:  # forward: sequences cur-1 .. b end here
            ended_h.append(h.narrow(0, b, cur - b))
            h = h.narrow(0, 0, b)
            if lstm:
                ended_c.append(c.narrow(0, b, cur - b))
                c = c.narrow(0, 0, b)
        elif b > cur:  # reverse: sequences cur .. b-1 start here (from h0)
            h = cat([h, h0.narrow(0, cur, b - cur)])
            if lstm:
                c = cat([c, c0.narrow(0, cur, b - cur)])
        cur = b
        h, c = _cell(mode, gi.narrow(0, offsets[t], b), h, c, w, relu)
        outs[t] = h
    if ended_h:
        h = cat([h] + ended_h[::-1])
        c = cat([c] + ended_c[::-1]) if lstm else None
    return (outs[0] if T == 1 else cat(outs)), h, c


def _run_layers(mode, x, hx, cx, weights, batch_sizes, num_layers, bidirectional, dropout,
                training, relu=False):
    """Stacked (bi)directional recurrence over packed rows ``x`` (N, input_size).
    ``weights[layer * D + d]`` = (w_ih, w_hh, b_ih, b_hh, w_hr) (biases/w_hr may be None);
    ``hx``/``cx``: (L * D, B, H). Returns (output (N, D * H_out), h_n, c_n)."""
    from ..ops.shape import cat, stack
    from .functional import dropout as _dropout
    offsets, o = [], 0
    for b in batch_sizes:
        offsets.append(o)
        o += b
    ndir = 2 if bidirectional else 1
    hs, cs = [], []
    for layer in range(num_layers):
        if layer and dropout and training:
            x = _dropout(x, dropout, True)
        outs = []
        for d in range(ndir):
            k = layer * ndir + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            gi = _input_proj(mode, x, w_ih, b_ih, b_hh)
            w = (w_hh.t(), b_hh if mode == "GRU" else None,
                 None if w_hr is None else w_hr.t())
            h0, c0 = hx[k], None if cx is None else cx[k]
            if fusable(mode, gi, h0, w_hh, w_hr, batch_sizes):
                out, h, c = _fused_direction(mode, gi, h0, c0, w_hh, b_hh, batch_sizes,
                                             offsets, d == 1, relu)
            else:
                out, h, c = _run_direction(mode, gi, h0, c0, w, batch_sizes, offsets, d == 1,
                                           relu)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = outs[0] if ndir == 1 else cat(outs, 1)
    h_n = stack(hs)
    return x, h_n, (stack(cs) if cx is not None else None)


def _fused_direction(mode, gi, h0, c0, w_hh, b_hh, batch_sizes, offsets, reverse, relu):
    """One direction as one node (``_rnn_sequence``); its create_graph backward differentiates
    the per-step path (``_run_direction``) instead."""
    T = len(batch_sizes)
    if mode.startswith("RNN"):
        def recompute(gi_, h0_, w_hh_):
            return _run_direction(mode, gi_, h0_, None, (w_hh_.t(), None, None), batch_sizes,
                                  offsets, reverse, relu)[:2]
        out, h = rnn_layer(gi, h0, w_hh, T, reverse, relu, recompute)
        return out, h, None
    if mode == "LSTM":
        def recompute(gi_, h0_, c0_, w_hh_):
            return _run_direction(mode, gi_, h0_, c0_, (w_hh_.t(), None, None), batch_sizes,
                                  offsets, reverse, False)
        return lstm_layer(gi, h0, c0, w_hh, T, reverse, recompute)

    def recompute(gi_, h0_, w_hh_, b_hh_=None):
        return _run_direction(mode, gi_, h0_, None, (w_hh_.t(), b_hh_, None), batch_sizes,
                              offsets, reverse, False)[:2]
    out, h = gru_layer(gi, h0, w_hh, b_hh, T, reverse, recompute)
    return out, h, None


def _cell_forward(mode, input, h, c, w_ih, w_hh, b_ih, b_hh, relu=False):
    """One step of RNNCell / LSTMCell / GRUCell on (B, input_size) rows."""
    gi = _input_proj(mode, input, w_ih, b_ih, b_hh)
    return _cell(mode, gi, h, c, (w_hh.t(), b_hh if mode == "GRU" else None, None), relu)


# ---- embedding_bag ------------------------------------------------------------------------
def _bag_index(input, offsets, include_last_offset, padding_idx):
    """Bag number of every index (bags = len(offsets) - include_last_offset); entries equal to
    ``padding_idx`` or past the last offset go to an extra bag (number ``bags``) that is dropped."""
    from ..ops.creation import arange, full_like
    from ..ops.masked import where
    bags = offsets.shape[0] - (1 if include_last_offset else 0)
    n = input.shape[0]
    offs = offsets.to(D.int64)
    pos = arange(n, device=input.device, dtype=D.int64)
    from ..ops.shape_misc import searchsorted
    bag = searchsorted(offs.contiguous(), pos, right=True) - 1
    if include_last_offset:
        bag = bag.clamp(max=bags)
    if padding_idx is not None:
        bag = where(input == padding_idx, full_like(bag, bags), bag)
    return bag, bags


def _check_bag_args(input, weight, offsets, per_sample_weights, mode):
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    if input.dim() == 2 and offsets is not None:
        raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a "
                         "mini-batch of fixed length sequences. However, found offsets of type "
                         f"{type(offsets)}")
    if input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    elif input.dim() != 2:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if input.dtype not in (D.int64, D.int32):
        raise RuntimeError(f"embedding_bag: expected input to be an int64 or int32 tensor of "
                           f"indices, got {input.dtype}; convert it with input.long()")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxes of bags of embeddings, without materialising the per-index rows'
    bag layout: 1-D ``input`` with ``offsets`` (start of each bag), or 2-D ``input`` (one bag
    per row). Empty bags give zeros; ``padding_idx`` entries are left out of every bag."""
    if weight.dtype == D.int64 and input.is_floating_point():  # the old (weight, input) order
        import warnings
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage "
                      "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
                      "`embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    _check_bag_args(input, weight, offsets, per_sample_weights, mode)
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    V = weight.shape[0]
    if padding_idx is not None:
        if not -V <= padding_idx < V:
            raise RuntimeError(f"embedding_bag: padding_idx must be within the number of "
                               f"embeddings ({V}), got {padding_idx}")
        padding_idx %= V
    if input.dim() == 2:
        from ..ops.creation import arange, zeros
        if input.shape[1]:
            offsets = arange(0, input.numel(), input.shape[1], device=input.device)
        else:  # bags of length 0: all start at 0
            offsets = zeros(input.shape[0], dtype=D.int64, device=input.device)
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif offsets.is_cpu and offsets.numel() and int(offsets[0]) != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(offsets[0])}")
    from .functional import embedding
    if max_norm is not None:
        with no_grad():
            embedding(input, weight, max_norm=max_norm, norm_type=norm_type)
    rows = embedding(input, weight, scale_grad_by_freq=scale_grad_by_freq)
    bag, bags = _bag_index(input, offsets, include_last_offset, padding_idx)
    return _reduce_bags(rows, bag, bags, mode, per_sample_weights)


def _reduce_bags(rows, bag, bags, mode, per_sample_weights):
    from ..ops.creation import ones, zeros
    dim = rows.shape[1]
    out = zeros(bags + 1, dim, dtype=rows.dtype, device=rows.device)
    if mode == "max":
        idx = bag.unsqueeze(1).expand(bag.shape[0], dim)
        out = out.scatter_reduce(0, idx, rows, "amax", include_self=False)
        return out.narrow(0, 0, bags)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(1)
    out = out.index_add(0, bag, rows).narrow(0, 0, bags)
    if mode == "mean":
        with no_grad():
            count = zeros(bags + 1, dtype=rows.dtype, device=rows.device).index_add(
                0, bag, ones(bag.shape[0], dtype=rows.dtype, device=rows.device))
            count = count.narrow(0, 0, bags).clamp(min=1).unsqueeze(1)
        out = out / count
    return out
