"""Loss functions of ``engine.nn.functional`` (PyTorch's semantics, reductions and errors).

Class-index losses validate targets before picking logits (kernels don't bounds-check)."""

from __future__ import annotations

import warnings

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.graph import named_node, record
from ..ops._common import needs_grad, sum_to
from ..ops.elementwise import where
from ._softmax import log_softmax

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]

_INT = (D.int64, D.int32, D.int16, D.int8, D.uint8)
_SCALAR_NAME = {D.float64: "Double", D.float32: "Float", D.float16: "Half", D.int64: "Long",
                D.int32: "Int", D.int16: "Short", D.int8: "Char", D.uint8: "Byte",
                D.bool_: "Bool"}


def _mean_by(total, wsum):
    """``total / wsum`` whose gradient is 0 (not nan) when every target is ignored
    (``wsum == 0``; the value is then nan, as in torch)."""
    zero = wsum == 0
    return total / where(zero, 1.0, wsum) + where(zero, float("nan"), 0.0)


def _legacy_reduction(size_average, reduce, reduction="mean"):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}'"
                  " instead.", stacklevel=3)
    return ret


def _reduce(loss, reduction, name):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{name}: {reduction} is not a valid value for reduction")


def _same_shape(name, input, target, warn_only=True):
    for v, what in ((input, "input"), (target, "target")):
        if not isinstance(v, Tensor):
            raise TypeError(f"{name}(): argument '{what}' must be Tensor, not "
                            f"{type(v).__name__}")
    if tuple(input.shape) != tuple(target.shape):
        if warn_only:
            warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                          f"size ({input.shape}). This will likely lead to incorrect results "
                          "due to broadcasting. Please ensure they have the same size.",
                          stacklevel=3)
        else:
            raise ValueError(f"{name}: Using a target size ({target.shape}) that is different "
                             f"to the input size ({input.shape}) is deprecated. Please ensure "
                             "they have the same size.")


def _pointwise(name, input, target, size_average, reduce, reduction):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_shape(name, input, target)
    return reduction


# ---- regression -------------------------------------------------------------------------
@named_node("MseLossBackward0")
def _fused(name, inputs, forward, backward):
    """One autograd node for a composite (PyTorch's graph shape: ``MseLossBackward0`` whose
    next_functions are the inputs' nodes). ``backward(node, g, x...)`` returns input grads."""
    if not needs_grad(*inputs):
        return forward(*inputs)
    with no_grad():
        out = forward(*inputs)

    def bw(node, g):
        return backward(node, g, *(node.saved_tensor(i) for i in range(len(inputs))))
    record(name, inputs, (out,), bw, tuple((t, False) for t in inputs))
    return out


def _mse_backward(reduction):
    def bw(node, g, x, t):
        d = x - t
        gd = d * (g * (2.0 / max(d.numel(), 1) if reduction == "mean" else 2.0))
        ex, et = (e[0] is not None for e in node.next_functions)
        return (sum_to(gd, tuple(x.shape)) if ex else None,
                sum_to(-gd, tuple(t.shape)) if et else None)
    return bw


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2``, reduced."""
    reduction = _pointwise("mse_loss", input, target, size_average, reduce, reduction)
    if weight is None and reduction in ("mean", "sum", "none"):
        return _fused("MseLossBackward0", (input, target),
                      lambda x, t: _reduce((x - t) * (x - t), reduction, "mse_loss"),
                      _mse_backward(reduction))
    d = input - target
    loss = d * d
    return _reduce(loss * weight if weight is not None else loss, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _pointwise("l1_loss", input, target, size_average, reduce, reduction)
    loss = (input - target).abs()
    return _reduce(loss * weight if weight is not None else loss, reduction, "l1_loss")


@named_node("SmoothL1LossBackward0")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta: float = 1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (L1 when beta == 0)."""
    reduction = _pointwise("smooth_l1_loss", input, target, size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    loss = where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


@named_node("HuberLossBackward0")
def huber_loss(input, target, reduction="mean", delta: float = 1.0, weight=None):
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)."""
    _same_shape("huber_loss", input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = (input - target).abs()
    loss = where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(loss * weight if weight is not None else loss, reduction, "huber_loss")


# ---- classification ---------------------------------------------------------------------
def _class_mask(target, C):
    """(N, C, ...) boolean mask of ``target`` (N, ...) against the class axis."""
    from ..ops.creation import arange
    cls = arange(C, device=target.device).reshape((1, C) + (1,) * (target.ndim - 1))
    return target.unsqueeze(1) == cls


def _pick(x, target, C):
    """x[n, target[n, ...], ...] for a validated target (ignored entries hold any valid id)."""
    if hasattr(Tensor, "gather") and x.ndim == 2:
        return x.gather(1, target.unsqueeze(1)).squeeze(1)
    return where(_class_mask(target, C), x, 0.0).sum(1)


def _class_weights(weight, t):
    """weight[t] for a validated class-index tensor ``t`` (no gradient, as in PyTorch)."""
    from ._shape_fns import take_rows
    return take_rows(weight.detach().unsqueeze(1), t.reshape(-1)).reshape(tuple(t.shape))


def _check_targets(name, input, target, ignore_index):
    if target.dtype not in _INT:  # (torch takes only Long or Byte; any integer works here)
        raise RuntimeError(f"{name}: expected target of integer dtype (class indices) but got "
                           f"{target.dtype} with shape {tuple(target.shape)} for input of shape "
                           f"{tuple(input.shape)} and dtype {input.dtype}")
    if input.ndim < 1 or input.ndim == 1 and target.ndim != 0 or \
            input.ndim >= 2 and tuple(target.shape) != (input.shape[0],) + \
            tuple(input.shape[2:]):
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}) in {name} (input shape "
                             f"{tuple(input.shape)}, target shape {tuple(target.shape)}).")
        raise RuntimeError(f"{name}: expected target of shape "
                           f"{(input.shape[0],) + tuple(input.shape[2:]) if input.ndim > 1 else ()}"
                           f" for input of shape {tuple(input.shape)}, but got target shape "
                           f"{tuple(target.shape)}")
    C = input.shape[1] if input.ndim > 1 else input.shape[0]
    if not target.numel():
        return C, False
    if not target.is_cpu:  # CUDA: checked in a kernel, raised at the next synchronisation
        from ..cuda.indexing import check_range
        check_range(target, 0, C, ignore_index, IndexError,
                    f"Target {{v}} is out of bounds. ({name}: class indices must be in "
                    f"[0, {C - 1}] or equal ignore_index={ignore_index}; input shape "
                    f"{tuple(input.shape)}, target shape {tuple(target.shape)})", name)
        return C, True  # whether a target is ignored is not known without a copy: masked path
    t = target._np() if target.is_cpu else target.detach().cpu()._np()  # host check, no kernels
    ign = t == ignore_index
    bad = ((t < 0) | (t >= C)) & ~ign
    if bad.any():
        v = int(t[bad].min()) if t[bad].min() < 0 else int(t[bad].max())
        raise IndexError(f"Target {v} is out of bounds. ({name}: class indices must be in "
                         f"[0, {C - 1}] or equal ignore_index={ignore_index}; input shape "
                         f"{tuple(input.shape)}, target shape {tuple(target.shape)})")
    return C, bool(ign.any())


@named_node(lambda input, *a, **k: "NllLoss2DBackward0" if input.ndim > 2 else
            "NllLossBackward0")
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log likelihood of class indices: ``-weight[t] * input[n, t]``; the mean
    divides by the summed weights of non-ignored targets."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError(f"nll_loss: a 1-D input of shape {tuple(input.shape)} needs a 0-D "
                               f"target, got target shape {tuple(target.shape)}")
        out = nll_loss(input.unsqueeze(0), target.reshape(1), weight, None, ignore_index, None,
                       reduction)
        return out.squeeze(0) if reduction == "none" else out
    C, has_ignored = _check_targets("nll_loss", input, target, ignore_index)
    if weight is not None and tuple(weight.shape) != (C,):
        raise RuntimeError(f"nll_loss: weight tensor should be defined either for all {C} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if not has_ignored and weight is None and input.ndim == 2 and reduction in (
            "mean", "sum", "none"):  # the common case: one node, as PyTorch's NllLossBackward0
        idx = target.unsqueeze(1)

        def bw(node, g, x):
            gi = -g / x.shape[0] if reduction == "mean" else -g
            if gi.ndim == 0:
                gi = gi.expand(x.shape[0])
            return (x.new_zeros(tuple(x.shape)).scatter(1, idx, gi.unsqueeze(1)),)
        return _fused("NllLossBackward0", (input,),
                      lambda x: _reduce(-x.gather(1, idx).squeeze(1), reduction, "nll_loss"), bw)
    if not has_ignored and weight is None:
        picked = _pick(input, target, C)
        return _reduce(-picked, reduction, "nll_loss")
    keep = target != ignore_index
    safe_t = where(keep, target, 0) if has_ignored else target
    picked = _pick(input, safe_t, C)
    w = keep.to(input.dtype)
    if weight is not None:
        w = w * _class_weights(weight, safe_t)
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return _mean_by(loss.sum(), w.sum())
    raise ValueError(f"nll_loss: {reduction} is not a valid value for reduction")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """log_softmax over the class dim (1, or 0 for a 1-D input) then NLL; targets are class
    indices (integer, shape input minus the class dim) or class probabilities (float, the
    input's shape)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("cross_entropy(): input and target must be Tensors")
    if (label_smoothing == 0.0 and weight is None and input.ndim == 2 and input.is_cpu
            and input.dtype in (D.float32, D.float64) and target.dtype in _INT
            and target.ndim == 1 and reduction in ("mean", "sum", "none")
            and input.shape[0] > 0 and input.shape[1] > 0):
        if not _check_targets("cross_entropy", input, target, ignore_index)[1]:
            return _ce_fused(input, target, reduction)
    cdim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, cdim)
    C = input.shape[cdim] if input.ndim else 0
    wshape = (C,) + (1,) * (input.ndim - 1 - cdim)
    if target.dtype.is_floating_point:
        return _ce_probs(input, logp, target, weight, reduction, label_smoothing, cdim, C,
                         wshape)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return nll
    lp = logp * weight.reshape(wshape) if weight is not None else logp
    keep = target != ignore_index
    smooth = where(keep, -lp.sum(cdim), 0.0)
    if reduction == "mean":
        if weight is not None:
            wsum = _class_weights(weight, where(keep, target, 0)) * keep
            ret = _mean_by(smooth.sum(), wsum.sum())
        else:
            ret = _mean_by(smooth.sum(), keep.sum())
    else:
        ret = _reduce(smooth, reduction, "cross_entropy")
    return (1 - label_smoothing) * nll + ret * (label_smoothing / C)


def _ce_probs(input, logp, target, weight, reduction, ls, cdim, C, wshape):
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"cross_entropy: class-probability targets must have the input's "
                           f"shape {tuple(input.shape)}, got {tuple(target.shape)} (dtype "
                           f"{target.dtype}); class indices must be an integer tensor")
    if ls > 0:
        target = target * (1 - ls) + ls / C
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(wshape)
    if reduction == "none":
        return -prod.sum(cdim)
    if reduction == "sum":
        return -prod.sum()
    if reduction == "mean":
        return -prod.sum() / (input.numel() // C)
    raise ValueError(f"cross_entropy: {reduction} is not a valid value for reduction")


@named_node("BinaryCrossEntropyBackward0")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """``-w (t log x + (1 - t) log(1 - x))`` with both logs clamped at -100 (as PyTorch)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_shape("binary_cross_entropy", input, target, warn_only=False)
    if target.dtype is not input.dtype:
        raise RuntimeError(f"binary_cross_entropy: Found dtype "
                           f"{_SCALAR_NAME.get(target.dtype, target.dtype)} but expected "
                           f"{_SCALAR_NAME.get(input.dtype, input.dtype)} (target {target.dtype}, "
                           f"input {input.dtype}; convert the target with .to(input.dtype))")
    with no_grad():
        if input.numel() and bool(((input < 0) | (input > 1)).any()):
            raise RuntimeError("binary_cross_entropy: all elements of input should be between "
                               f"0 and 1 (input shape {tuple(input.shape)})")
        lx = input.log().clamp_min(-100.0)
        l1x = (1 - input).log().clamp_min(-100.0)
        loss = -(target * lx + (1 - target) * l1x)
    if needs_grad(input, target):
        def bw(node, g):
            x, t = node.saved_tensor(0), node.saved_tensor(1)
            gx = g * (x - t) / ((1 - x) * x).clamp_min(1e-12)
            gt = None
            if node.ctx:
                gt = g * ((1 - x).log().clamp_min(-100.0) - x.log().clamp_min(-100.0))
            return gx, gt
        record("BinaryCrossEntropyBackward0", (input, target), (loss,), bw,
               ((input, False), (target, False)), target.requires_grad)
    if weight is not None:  # (torch multiplies in place: the loss keeps the input's dtype)
        loss = loss * weight.to(loss.dtype)
    return _reduce(loss, reduction, "binary_cross_entropy")


@named_node("BinaryCrossEntropyWithLogitsBackward0")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean", pos_weight=None):
    """Sigmoid + BCE in one stable expression (log-sum-exp form)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_shape("binary_cross_entropy_with_logits", input, target, warn_only=False)
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"binary_cross_entropy_with_logits: result type Float can't be cast "
                           f"to the desired output type {_SCALAR_NAME.get(target.dtype)} (target "
                           f"must be a floating point tensor of 0/1 labels or probabilities, got "
                           f"{target.dtype}; use target.float())")
    m = (-input).clamp_min(0)
    lse = ((-m).exp() + (-input - m).exp()).log() + m
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * lse
    else:
        loss = (1 - target) * input + lse
    if weight is not None:
        loss = loss * weight
    if loss.dtype is not target.dtype:  # torch computes in place on ``1 - target``: its dtype
        loss = loss.to(target.dtype)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False):
    """Pointwise ``target * (log target - input)`` (input holds log-probabilities)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean"):
    """1 - cos(x1, x2) for target 1, max(0, cos - margin) for target -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"cosine_embedding_loss: expected 1D or 2D inputs of equal shape, "
                           f"got {tuple(input1.shape)} and {tuple(input2.shape)}")
    d = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(d)
    mag = (((input1 * input1).sum(d) + eps) * ((input2 * input2).sum(d) + eps)).sqrt()
    cos = prod / mag
    zeros = cos * 0
    pos = where(target == 1, 1 - cos, zeros)
    neg = where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(pos + neg, reduction, "cosine_embedding_loss")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce((1 + (-target * input).exp()).log(), reduction, "soft_margin_loss")


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction,
                   "margin_ranking_loss")


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    zeros = input * 0
    loss = where(target == 1, input, zeros) + where(target == -1, (margin - input).clamp_min(0),
                                                    zeros)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        import math
        st = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + where(target > 1, st, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    import math
    if var.ndim == input.ndim - 1 or (var.ndim == input.ndim and var.shape[-1] == 1 and
                                      input.shape[-1] != 1):
        var = var if var.ndim == input.ndim else var.unsqueeze(-1)
    with no_grad():
        if bool((var < 0).any()):
            raise ValueError("var has negative entry/entries")
    v = var.clamp_min(eps)
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    from .functional import pairwise_distance
    reduction = _legacy_reduction(size_average, reduce, reduction)
    dp = pairwise_distance(anchor, positive, p, eps)
    dn = pairwise_distance(anchor, negative, p, eps)
    if swap:
        from ..ops.elementwise import binary
        dn = binary("minimum", dn, pairwise_distance(positive, negative, p, eps))
    return _reduce((dp - dn + margin).clamp_min(0), reduction, "triplet_margin_loss")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x = input if input.ndim == 2 else input.unsqueeze(0)
    t = target.reshape(-1)
    C = _check_targets("multi_margin_loss", x, t, -(10 ** 9))[0]
    xy = _pick(x, t, C).unsqueeze(1)
    z = (margin - xy + x).clamp_min(0)
    z = z ** p if p != 1 else z
    if weight is not None:
        z = z * _class_weights(weight, t).unsqueeze(1)
    z = where(_class_mask(t, C), 0.0, z)
    loss = z.sum(1) / C
    loss = loss if input.ndim == 2 else loss.squeeze(0)
    return _reduce(loss, reduction, "multi_margin_loss")


def _ce_fused(input, target, reduction):
    """cross_entropy of (N, C) logits and class indices in one kernel each way
    (kernels/cpu/loss.py). One node, ``NllLossBackward0`` as PyTorch names its top node; its
    backward is the fused kernel, or engine ops when differentiated again (create_graph)."""
    import numpy as np
    from kernels.cpu import loss as KL
    from .._tensor import empty_tensor
    from ..autograd.grad_mode import _enabled
    N, C = input.shape
    dt = input.dtype
    xd = input.detach()
    if not xd.is_contiguous():
        xd = xd.contiguous()
    tn = np.ascontiguousarray(target._np(), dtype=np.int64)
    lse = empty_tensor((N,), dt)
    li = empty_tensor((N,), dt)
    KL.ce_forward(xd._np(), tn, lse._np(), li._np())
    out = li if reduction == "none" else li.sum() if reduction == "sum" else li.mean()
    if needs_grad(input):
        def bw(node, g):
            xs = node.saved_tensor(0)  # raises if the logits were modified in place
            if _enabled.get():  # create_graph: the same gradient from differentiable ops
                from ._shape_fns import one_hot
                d = xs.softmax(1) - one_hot(target, C).to(dt)
                return (d * (g.unsqueeze(1) if reduction == "none" else
                             g / N if reduction == "mean" else g),)
            if reduction == "none":
                gv = np.ascontiguousarray(g._np(), dtype=dt.np)
            else:
                gv = np.full(N, g.item() / (N if reduction == "mean" else 1), dtype=dt.np)
            gx = empty_tensor((N, C), dt)
            KL.ce_backward(xd._np(), tn, lse._np(), gv, gx._np())
            return (gx,)
        record("NllLossBackward0", (input,), (out,), bw, ((input, False),))
    return out
