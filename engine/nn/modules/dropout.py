"""Dropout modules: active in train mode, identity in eval mode."""

from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]


class _DropoutNd(Module):
    fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes elements with probability ``p`` in training, scaling the rest by 1/(1-p).

    >>> import engine
    >>> engine.nn.Dropout(0.2)
    Dropout(p=0.2, inplace=False)
    """

    fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    fn = staticmethod(F.alpha_dropout)
