"""The remaining torch.nn layers: 3-D convolution / pooling / batch norm, padding modules,
LP pooling, max unpooling, distances, channel shuffle, local response norm, feature alpha
dropout, the multilabel / distance-triplet / CTC losses, the lazy modules, SyncBatchNorm and the
deprecated ``Container``. ``engine/nn/modules/__init__.py`` re-exports ``__all__``.

>>> import engine
>>> engine.nn.CosineSimilarity(dim=0)(engine.tensor([1., 0.]), engine.tensor([1., 1.])).item() > 0.7
True
"""

from __future__ import annotations

import warnings

from ..._tensor import Tensor
from .. import functional as F
from ._more_3d import *
from ._more_3d import __all__ as _all_3d
from ._more_adaptive import AdaptiveLogSoftmaxWithLoss, FractionalMaxPool2d, FractionalMaxPool3d
from ._more_padding import *
from ._more_padding import __all__ as _all_pad
from .dropout import _DropoutNd
from .lazy import *
from .lazy import __all__ as _all_lazy
from .loss import _Loss, _WeightedLoss
from .module import Module

__all__ = (["AdaptiveLogSoftmaxWithLoss", "ChannelShuffle", "Container", "CosineSimilarity",
            "CTCLoss", "FeatureAlphaDropout", "FractionalMaxPool2d", "FractionalMaxPool3d",
            "LocalResponseNorm", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
            "PairwiseDistance", "TripletMarginWithDistanceLoss"]
           + list(_all_3d) + list(_all_pad) + [n for n in _all_lazy if n != "is_lazy"])


class CosineSimilarity(Module):
    """Cosine similarity of x1 and x2 along ``dim``."""

    __constants__ = ("dim", "eps")

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """p-norm distance ``||x1 - x2 + eps||_p`` along the last dim."""

    __constants__ = ("norm", "eps", "keepdim")

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class ChannelShuffle(Module):
    """Shuffles the channels of (N, C, *) input in ``groups`` (ShuffleNet).

    >>> import engine
    >>> engine.nn.ChannelShuffle(2)
    ChannelShuffle(groups=2)
    """

    __constants__ = ("groups",)

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class LocalResponseNorm(Module):
    """Normalises each channel by the energy of its ``size`` neighbouring channels."""

    __constants__ = ("size", "alpha", "beta", "k")

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (for SELU networks)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)


class MultiLabelMarginLoss(_Loss):
    """Multi-class multi-label hinge loss (targets: class indices, -1 terminated)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-vs-all logistic loss over C classes (targets in {0, 1})."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet margin loss with any distance function (default: PairwiseDistance())."""

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater "
                             f"than 0, got {margin} instead")
        self.distance_function = (distance_function if distance_function is not None
                                  else PairwiseDistance())
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss (see ``F.ctc_loss``)."""

    def __init__(self, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: Tensor, targets: Tensor, input_lengths,
                target_lengths) -> Tensor:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


class Container(Module):
    """Deprecated: a Module holding the submodules given as keyword arguments."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of it's functionality is now "
                      "implemented in nn.Module. Subclass that instead.", FutureWarning,
                      stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)
