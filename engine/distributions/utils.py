"""Helpers shared by the distributions (PyTorch's ``distributions.utils``)."""

from __future__ import annotations

import numbers

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
]


def _is_tensor(x) -> bool:
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def broadcast_all(*values):
    """Broadcast tensors and Python numbers to one shape (numbers take the default dtype or
    the tensors' dtype)."""
    from .. import broadcast_tensors, get_default_dtype, tensor
    if not all(_is_tensor(v) or isinstance(v, numbers.Number) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(_is_tensor(v) for v in values):
        ref = next((v for v in values if _is_tensor(v)), None)
        dtype = ref.dtype if ref is not None else get_default_dtype()
        device = ref.device if ref is not None else None
        values = [v if _is_tensor(v) else tensor(float(v), dtype=dtype, device=device)
                  for v in values]
    return tuple(broadcast_tensors(*values))


def clamp_probs(probs):
    from .. import finfo
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary: bool = False):
    from .. import sigmoid, softmax
    return sigmoid(logits) if is_binary else softmax(logits, dim=-1)


def probs_to_logits(probs, is_binary: bool = False):
    from .. import log, log1p
    ps = clamp_probs(probs)
    if is_binary:
        return log(ps) - log1p(-ps)
    return log(ps)


class lazy_property:
    """Computed on first access, then stored on the instance (PyTorch's lazy_property)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        from ..autograd.grad_mode import enable_grad
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
