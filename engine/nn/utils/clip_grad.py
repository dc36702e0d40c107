"""Gradient clipping: by global norm (``clip_grad_norm_``) or elementwise by value."""

from __future__ import annotations

import math

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]


def _as_list(x):
    return [x] if isinstance(x, Tensor) else list(x)


def _norm(g: Tensor, p: float) -> Tensor:
    if p == math.inf:
        return g.abs().amax() if g.numel() else g.new_zeros(())
    if p == 1:
        return g.abs().sum()
    if p == 2:
        return (g * g).sum().sqrt()
    if p == 0:
        return (g != 0).sum().to(g.dtype)
    return (g.abs() ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The ``norm_type``-norm of all tensors together (as if concatenated)."""
    ts = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    from ...ops.creation import tensor
    if not ts:
        return tensor(0.0)
    with no_grad():
        norms = [_norm(t.detach(), norm_type).float() for t in ts]
        dev = ts[0].device
        norms = [n.to(dev) for n in norms]
        from ...ops.shape import stack
        total = _norm(stack(norms), norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None):
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (max_norm / (total_norm + 1e-6)).clamp_max(1.0)
        for g in grads:
            g.mul_(coef.to(g.device).to(g.dtype))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Rescale the gradients so their global ``norm_type``-norm is at most ``max_norm``;
    returns the norm before clipping.

    >>> import engine
    >>> p = engine.nn.Parameter(engine.ones(4)); p.grad = engine.full((4,), 3.0)
    >>> engine.nn.utils.clip_grad_norm_([p], 1.0)
    tensor(6.)
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient elementwise into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)
