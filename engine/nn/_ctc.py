"""Connectionist Temporal Classification loss (``F.ctc_loss``), composed of engine ops.

The forward (alpha) recursion of Graves et al. runs in log space over the time steps, all
batch items and extended-label positions at once (one masked log-sum-exp per step), so the
gradient is the autograd of those ops. Impossible paths are carried as a large negative
finite log-probability (no NaN gradients from ``-inf - -inf``) and reported as ``inf``.

PyTorch's own backward returns ``exp(log_probs) - posterior`` for ``log_probs``, which is the
true gradient only after it flows through a ``log_softmax``; for log-probabilities produced by
``log_softmax`` (the documented use) the gradients of the logits agree.

>>> import engine as torch
>>> import engine.nn.functional as F
>>> lp = torch.zeros(3, 1, 2).log_softmax(2)
>>> round(F.ctc_loss(lp, torch.tensor([[1]]), [3], [1], reduction='sum').item(), 4)
0.2877
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops.elementwise import where

__all__ = ["ctc_loss"]

_NEG = -1e30


def _lengths(v, name) -> list:
    if isinstance(v, Tensor):
        return [int(e) for e in v.reshape(-1).tolist()]
    if isinstance(v, int):
        raise TypeError(f"ctc_loss(): argument '{name}' must be a tuple of ints or a Tensor, "
                        f"not int")
    return [int(e) for e in v]


def _lse(parts):
    m = parts[0].detach()
    for p in parts[1:]:
        m = m.maximum(p.detach())
    s = None
    for p in parts:
        e = (p - m).exp()
        s = e if s is None else s + e
    return m + s.log()


def _targets(targets: Tensor, tl: list, N: int, blank: int, C: int) -> np.ndarray:
    t = targets.detach().cpu().numpy()
    S = max(tl) if tl else 0
    out = np.full((N, max(S, 1)), blank, dtype=np.int64)
    if t.ndim == 1:  # the targets of all batch items, concatenated
        off = 0
        if len(t) < sum(tl):
            raise RuntimeError(f"ctc_loss: Expected tensor to have size at least {sum(tl)} at "
                               f"dimension 0, but got size {len(t)} for argument #2 'targets'")
        for n in range(N):
            out[n, :tl[n]] = t[off:off + tl[n]]
            off += tl[n]
    else:
        if t.shape[1] < S:
            raise RuntimeError(f"Expected tensor to have size at least {S} at dimension 1, but "
                               f"got size {t.shape[1]} for argument #2 'targets' (while "
                               f"checking arguments for ctc_loss)")
        for n in range(N):
            out[n, :tl[n]] = t[n, :tl[n]]
    return out


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC loss of ``log_probs`` (T, N, C) (or (T, C)) against ``targets`` ((N, S) padded or
    the concatenated 1-D targets); ``reduction='mean'`` divides each loss by its target length
    and averages over the batch."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    lp = log_probs
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp.unsqueeze(1)
        if targets.ndim == 1:
            targets = targets.unsqueeze(0)
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got "
                           f"{list(log_probs.shape)}")
    T, N, C = lp.shape
    il, tl = _lengths(input_lengths, "input_lengths"), _lengths(target_lengths,
                                                              "target_lengths")
    if len(il) != N:
        raise RuntimeError(f"input_lengths must be of size batch_size ({N}), got {len(il)}")
    if len(tl) != N:
        raise RuntimeError(f"target_lengths must be of size batch_size ({N}), got {len(tl)}")
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    for v in il:
        if v > T:
            raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got "
                               f"value {v} (while checking arguments for ctc_loss)")
    tg = _targets(targets, tl, N, blank, C)
    S = tg.shape[1]
    L = 2 * S + 1
    ext = np.full((N, L), blank, dtype=np.int64)
    ext[:, 1::2] = tg
    skip = np.zeros((N, L), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    from ..ops.creation import tensor
    dev = lp.device
    ext_t = tensor(ext, device=dev)
    lpe = lp.gather(2, ext_t.unsqueeze(0).expand(T, N, L))          # (T, N, L)
    skip_t = tensor(skip, device=dev)
    init = np.zeros((N, L), dtype=bool)
    init[:, 0] = True
    init[:, 1] = np.array(tl) > 0
    alpha = where(tensor(init, device=dev), lpe[0], _NEG) if T else lpe.new_full((N, L), _NEG)
    il_t = tensor(np.array(il, dtype=np.int64), device=dev).unsqueeze(1)
    neg1 = lp.new_full((N, 1), _NEG)
    neg2 = lp.new_full((N, 2), _NEG)
    from ..ops.shape import cat
    for t in range(1, T):
        a2 = cat([neg1, alpha[:, :-1]], 1)
        a3 = where(skip_t, cat([neg2, alpha[:, :-2]], 1), _NEG)
        new = _lse([alpha, a2, a3]) + lpe[t]
        alpha = where(il_t > t, new, alpha)
    last = tensor(np.array([[2 * n, max(2 * n - 1, 0)] for n in tl], dtype=np.int64),
                  device=dev)
    fin = alpha.gather(1, last)
    two = tensor((np.array(tl) > 0).reshape(N, 1) & np.array([[True, True]]), device=dev)
    fin = where(two | tensor(np.array([[True, False]]), device=dev), fin, _NEG)
    loss = -_lse([fin[:, 0], fin[:, 1]])
    if T == 0:
        loss = where(tensor(np.array(tl) == 0, device=dev), loss * 0, float("inf"))
    bad = (loss > 1e29) | (tensor(np.array(il) == 0, device=dev) & tensor(np.array(tl) > 0,
                                                                           device=dev))
    loss = where(bad, 0.0 if zero_infinity else float("inf"), loss)
    if reduction == "mean":
        denom = tensor(np.maximum(np.array(tl), 1), device=dev).to(loss.dtype)
        return (loss / denom).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
