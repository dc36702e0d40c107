"""``engine.nn.functional``: convolution, pooling, batch norm and nearest interpolation.

The ops themselves live in ``engine/ops/conv.py`` and ``engine/ops/pool.py`` (Numba
im2col / pooling kernels, GEMM); batch norm is a composition of engine ops, so its
gradients (of any order) come from theirs. ``engine.nn.functional`` re-exports ``__all__``.

>>> import engine as torch
>>> import engine.nn.functional as F
>>> x = torch.randn(2, 3, 8, 8)
>>> F.max_pool2d(F.conv2d(x, torch.randn(4, 3, 3, 3), padding=1), 2).shape
torch.Size([2, 4, 4, 4])
"""

from __future__ import annotations

from ..autograd.graph import named_node

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from ..ops.pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    interpolate,
    max_pool1d,
    max_pool2d,
    upsample,
    upsample_nearest,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "fold",
    "interpolate",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "unfold",
    "upsample",
    "upsample_nearest",
]


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _bn_check(x: Tensor, running_mean, running_var, weight, bias, training: bool) -> int:
    if not isinstance(x, Tensor):
        raise TypeError(f"batch_norm(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected 2D or more input (N, C, ...), got "
                         f"{x.ndim}D input of size {tuple(x.shape)}")
    C = x._shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"batch_norm: {name} should contain {C} elements not "
                               f"{t.numel()}")
    n = x.numel() // C if C else 0
    if training and n <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {x.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    return n


@named_node("NativeBatchNormBackward0")
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of ``input``.

    Training: batch mean and biased variance normalise; ``running_mean`` / ``running_var``
    (when given) are updated in place with ``momentum`` and the *unbiased* variance, as
    PyTorch does. Evaluation: the running statistics normalise.

    >>> import engine as torch
    >>> x = torch.tensor([[1., 2.], [3., 6.]])
    >>> rm, rv = torch.zeros(2), torch.ones(2)
    >>> y = torch.nn.functional.batch_norm(x, rm, rv, training=True, momentum=0.5)
    >>> [round(v, 4) for v in y[1].tolist()], rm.tolist(), rv.tolist()
    ([1.0, 1.0], [1.0, 2.0], [1.5, 4.5])
    """
    x = input
    n = _bn_check(x, running_mean, running_var, weight, bias, training)
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, x._shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, correction=0)
        if running_mean is not None or running_var is not None:
            m = 0.0 if momentum is None else float(momentum)
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - m).add_(mean.detach().to(running_mean.dtype) * m)
                if running_var is not None:
                    unb = var.detach() * (n / (n - 1))
                    running_var.mul_(1 - m).add_(unb.to(running_var.dtype) * m)
    else:
        mean, var = running_mean, running_var
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    y = (x - mean.reshape(shape)) * scale.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y
