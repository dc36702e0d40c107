"""``engine.nn.functional`` (imported as ``F``): activations, linear, dropout, embedding,
normalisation, padding, distances; losses live in ``functional_loss`` and convolution/pooling
in ``functional_conv`` (re-exported here).

>>> import engine, engine.nn.functional as F
>>> F.relu(engine.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from ..autograd.graph import named_node

import math

from .._tensor import Tensor
from ..autograd.graph import relabel
from ..ops import inplace as _I
from ..ops._common import needs_grad
from ..ops.elementwise import unary as _u
from ..ops.elementwise import where
from ._shape_fns import _safe_norm, embedding, one_hot, pad
from ._softmax import log_softmax, logsumexp, softmax, softmin
from .functional_loss import *
from .functional_loss import __all__ as _loss_all

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_",
           "celu", "celu_", "gelu", "silu", "mish", "softplus", "hardtanh", "hardtanh_",
           "hardsigmoid", "hardswish", "sigmoid", "tanh", "threshold", "threshold_",
           "logsigmoid", "softsign", "tanhshrink", "hardshrink", "softshrink", "glu", "prelu",
           "rrelu", "softmax", "log_softmax", "softmin", "logsumexp", "linear", "bilinear",
           "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "embedding",
           "one_hot", "layer_norm", "group_norm", "rms_norm", "normalize", "pad",
           "cosine_similarity", "pairwise_distance"] + list(_loss_all)


def _act(name, x, p=0, q=0, inplace=False, op=None):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op or name}(): argument 'input' must be Tensor, not "
                        f"{type(x).__name__}")
    if inplace:
        opn = (op or name) + "_"
        if needs_grad(x):  # compute from a copy: the op saves its input, which x overwrites
            _I._check_leaf(x, opn)
            return _I.apply_inplace(x, _u(name, x.clone(), p, q), opn)
        return _I.inplace_unary(name, x, opn, p, q)
    return _u(name, x, p, q)


# ---- activations ------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("relu", input, inplace=inplace)


def relu_(input: Tensor) -> Tensor:
    return _act("relu", input, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("relu6", input, inplace=inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _act("leaky_relu", input, negative_slope, inplace=inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return _act("leaky_relu", input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _act("elu", input, alpha, inplace=inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return _act("elu", input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("selu", input, inplace=inplace)


def selu_(input: Tensor) -> Tensor:
    return _act("selu", input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu: alpha must not be 0")
    return _act("celu", input, alpha, inplace=inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got '{approximate}'")
    return _act("gelu" if approximate == "none" else "gelu_tanh", input, op="gelu")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("silu", input, inplace=inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("mish", input, inplace=inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _act("softplus", input, beta, threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _act("hardtanh", input, min_val, max_val, inplace=inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("hardsigmoid", input, inplace=inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _act("hardswish", input, inplace=inplace)


def sigmoid(input: Tensor) -> Tensor:
    return _act("sigmoid", input)


def tanh(input: Tensor) -> Tensor:
    return _act("tanh", input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    return _act("threshold", input, threshold, value, inplace=inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _act("threshold", input, threshold, value, inplace=True)


def logsigmoid(input: Tensor) -> Tensor:
    return -_u("softplus", -input, 1.0, 20.0)


def softsign(input: Tensor) -> Tensor:
    return input / (1 + input.abs())


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return where((input > lambd) | (input < -lambd), input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x); a per-channel weight broadcasts over dim 1."""
    w = weight
    if weight.numel() > 1 and input.ndim >= 2:
        w = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return where(input > 0, input, input * w)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    if training:
        from ..ops.creation import rand
        a = rand(input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
        r = where(input >= 0, input, input * a)
        return input.copy_(r) if inplace else r
    return leaky_relu(input, (lower + upper) / 2, inplace)


# ---- linear -----------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``; ``input`` is (*, in_features), ``weight`` (out, in)."""
    if input.shape[-1:] != weight.shape[-1:] and weight.ndim == 2:
        raise RuntimeError(f"linear: mat1 and mat2 shapes cannot be multiplied "
                           f"({_rows(input)}x{input.shape[-1] if input.ndim else 1} and "
                           f"{weight.shape[1]}x{weight.shape[0]}): input shape "
                           f"{tuple(input.shape)}, weight shape {tuple(weight.shape)}")
    if input.ndim >= 2 and weight.ndim == 2 and input.dtype == weight.dtype and (
            bias is None or (bias.ndim <= 1 and bias.dtype == weight.dtype)):
        # PyTorch's path: one addmm/mm node on 2-D rows (ViewBackward0 on top if N-D)
        from ..ops.matmul import linear as _linear
        x2 = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
        out = _linear(x2, weight, bias)
        return out if input.ndim == 2 else out.reshape(tuple(input.shape[:-1]) +
                                                       (out.shape[-1],))
    if bias is not None and input.ndim >= 1 and weight.ndim == 2:
        x2 = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
        out = relabel(bias + x2.matmul(weight.t()), "AddmmBackward0")  # edges as addmm's
        return out if input.ndim == 2 else out.reshape(tuple(input.shape[:-1]) +
                                                       (out.shape[-1],))
    if input.ndim > 2:
        lead = tuple(input.shape[:-1])
        out = input.reshape(-1, input.shape[-1]).matmul(weight.t())
        out = out.reshape(lead + (out.shape[-1],))
    else:
        out = input.matmul(weight.t())
    return out + bias if bias is not None else out


def _rows(x):
    n = 1
    for s in x.shape[:-1]:
        n *= s
    return n


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """``y_k = x1^T W_k x2 + b_k``; weight (out, in1, in2)."""
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    o, i1, i2 = weight.shape
    t = x1.matmul(weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    out = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (o,))


# ---- dropout ----------------------------------------------------------------------------
def _check_p(p, name="dropout"):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{name} probability has to be between 0 and 1, but got {p}")


def _drop(input, p, training, inplace, mask_shape):
    _check_p(p)
    if not training or p == 0.0:
        return input
    from ..ops.creation import rand
    if p == 1.0:
        scale = input.new_zeros(mask_shape)
    else:
        keep = rand(mask_shape, device=input.device) >= p
        scale = where(keep, 1.0 / (1.0 - p), 0.0).to(input.dtype)
    if inplace:
        return input.mul_(scale)
    return input * scale


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``."""
    return _drop(input, p, training, inplace, tuple(input.shape))


def _feature_drop(input, p, training, inplace, nd, name):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D input, but received a "
                           f"{input.ndim}D input of shape {tuple(input.shape)}")
    lead = input.ndim - nd
    return _drop(input, p, training, inplace, tuple(input.shape[:lead]) + (1,) * nd)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    return _feature_drop(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    return _feature_drop(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    return _feature_drop(input, p, training, inplace, 3, "dropout3d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False):
    """SELU-preserving dropout: dropped units take the SELU saturation value, then an affine
    fix keeps mean 0 and variance 1."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    from ..ops.creation import rand
    alpha = 1.7580993408473766
    keep = rand(tuple(input.shape), device=input.device) >= p
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    b = a * alpha * p
    r = where(keep, input, -alpha) * a + b
    return input.copy_(r) if inplace else r


# ---- normalisation ----------------------------------------------------------------------
@named_node("NativeLayerNormBackward0")
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims (biased variance)."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if tuple(input.shape[input.ndim - k:]) != ns or k > input.ndim:
        raise RuntimeError(f"layer_norm: Given normalized_shape={list(ns)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in ns)}], but got input of size "
                           f"{list(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    mu = input.mean(dims, keepdim=True)
    xc = input - mu
    var = (xc * xc).mean(dims, keepdim=True)
    out = xc * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    if eps is None:
        import numpy as np
        eps = float(np.finfo(input.dtype.np).eps)
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


@named_node("NativeGroupNormBackward0")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each of ``num_groups`` channel groups of an (N, C, *) input."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"group_norm: Expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    x = input.reshape(n, num_groups, -1)
    mu = x.mean(2, keepdim=True)
    xc = x - mu
    var = (xc * xc).mean(2, keepdim=True)
    out = (xc * (var + eps).rsqrt()).reshape(tuple(input.shape))
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    if isinstance(input, Tensor) and not input.dtype.is_floating_point:
        raise RuntimeError(f"normalize: linalg.vector_norm: Expected a floating point or "
                           f"complex tensor as input. Got {input.dtype} (convert with "
                           f".float())")
    n = _safe_norm(input, p, dim, keepdim=True)
    return input / n.clamp_min(eps)


# ---- distances --------------------------------------------------------------------------
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    n1 = _safe_norm(x1, 2, dim, keepdim=True).clamp_min(eps)
    n2 = _safe_norm(x2, 2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    d = max(x1.ndim, x2.ndim) - 1
    return _safe_norm(x1 - x2 + eps, p, max(d, 0), keepdim=keepdim)


try:  # convolution / pooling / batch norm / interpolation (another module, may be absent)
    from . import functional_conv as _conv
    for _name in getattr(_conv, "__all__", ()):
        if _name not in globals():
            globals()[_name] = getattr(_conv, _name)
            __all__.append(_name)
except ImportError:  # pragma: no cover
    pass

# adaptive max pooling, instance norm, linear/bilinear interpolate, pixel (un)shuffle; its
# interpolate/upsample extend (and replace) the nearest-only ones from functional_conv
from . import functional_extra as _extra  # noqa: E402
for _name in _extra.__all__:
    globals()[_name] = getattr(_extra, _name)
    if _name not in __all__:
        __all__.append(_name)

# recurrent/embedding_bag, attention, and the remaining layers (3-d, padding, distances) live in
# their own files; each is re-exported when present
for _modname in ("functional_rnn", "functional_attention", "functional_more"):
    try:
        _m = __import__(f"{__package__}.{_modname}", fromlist=["__all__"])
    except ModuleNotFoundError as _e:
        if _e.name != f"{__package__}.{_modname}":
            raise
        continue
    for _name in _m.__all__:
        globals()[_name] = getattr(_m, _name)
        if _name not in __all__:
            __all__.append(_name)
