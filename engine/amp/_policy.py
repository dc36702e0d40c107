"""Autocast op policies: the public functions are wrapped (once, on first use of autocast) by
a check of the active region; outside autocast the wrapper just calls the original."""

from __future__ import annotations

import functools

from .autocast_mode import _STATE, _active

__all__ = ["install"]

_LOW = ("matmul", "mm", "bmm", "addmm", "baddbmm", "mv", "__matmul__", "__rmatmul__",
        "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
        "conv_transpose3d", "prelu", "addbmm", "addmv", "addr", "chain_matmul")
_CUDA_FP32 = ("softmax", "log_softmax", "sum", "prod", "cumsum", "cumprod", "exp", "log",
              "log10", "log2", "log1p", "expm1", "pow", "reciprocal", "rsqrt", "norm",
              "logsumexp", "layer_norm", "group_norm", "cosine_similarity", "cdist", "dist",
              "softplus", "acos", "asin", "cosh", "sinh", "tan", "erfinv", "renorm", "pdist")
_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
           "kl_div", "binary_cross_entropy_with_logits", "poisson_nll_loss",
           "gaussian_nll_loss", "margin_ranking_loss", "soft_margin_loss",
           "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
           "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss")
_CPU_FP32 = _LOSSES + ("prod", "cdist", "trace", "quantile", "nanquantile",
                       "binary_cross_entropy", "avg_pool3d", "grid_sample")
_PROMOTE = ("cat", "stack", "concat", "concatenate", "dot", "addcmul", "addcdiv", "cross",
            "tensordot", "atan2", "bilinear", "scatter_add", "index_put", "vdot")

_installed = False


def _device_type(args, kwargs):
    from .._tensor import Tensor
    for a in args:
        if isinstance(a, Tensor):
            return a.device.type
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            return a[0].device.type
    for a in kwargs.values():
        if isinstance(a, Tensor):
            return a.device.type
    return None


def _eligible(t) -> bool:
    from .. import float64
    from .._tensor import Tensor
    return isinstance(t, Tensor) and t.is_floating_point() and t.dtype is not float64


def _cast_all(args, kwargs, dtype):
    def c(a):
        if _eligible(a):
            return a if a.dtype is dtype else a.to(dtype)
        if isinstance(a, (list, tuple)) and a and any(_eligible(x) for x in a):
            return type(a)(c(x) for x in a)
        return a
    return [c(a) for a in args], {k: c(v) for k, v in kwargs.items()}


def _widest(args, kwargs):
    from .. import float16, float32
    ts = []
    for a in list(args) + list(kwargs.values()):
        if _eligible(a):
            ts.append(a)
        elif isinstance(a, (list, tuple)):
            ts += [x for x in a if _eligible(x)]
    return float32 if any(t.dtype is float32 for t in ts) else float16


def _wrap(fn, name, policy):
    from .. import float32

    @functools.wraps(fn)
    def autocast_wrapper(*args, **kwargs):
        if not _STATE.get():
            return fn(*args, **kwargs)
        dev = _device_type(args, kwargs)
        dtype = _active(dev) if dev is not None else None
        if dtype is None:
            return fn(*args, **kwargs)
        pol = policy(dev)
        if pol is None:
            return fn(*args, **kwargs)
        if pol == "low":
            target = dtype
        elif pol == "fp32":
            target = float32
        elif pol == "promote":
            target = _widest(args, kwargs)
        else:  # "banned"
            raise RuntimeError(
                f"torch.nn.functional.{name} and torch.nn.BCELoss are unsafe to autocast.\n"
                "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
                "In this case, combine the two layers using torch.nn.functional."
                "binary_cross_entropy_with_logits\nor torch.nn.BCEWithLogitsLoss.  "
                "binary_cross_entropy_with_logits and BCEWithLogits are\nsafe to autocast.")
        a, k = _cast_all(args, kwargs, target)
        from .autocast_mode import autocast
        with autocast(dev, enabled=False):  # nested calls run as their inputs are
            return fn(*a, **k)

    autocast_wrapper._autocast_orig = fn
    return autocast_wrapper


def _policy_for(name):
    def pol(dev):
        if name in _LOW:
            return "low"
        if name == "binary_cross_entropy":
            return "fp32" if dev == "cpu" else "banned"
        if dev == "cuda" and (name in _CUDA_FP32 or name in _LOSSES):
            return "fp32"
        if dev == "cpu" and name in _CPU_FP32:
            return "fp32"
        if name in _PROMOTE:
            return "promote"
        return None
    return pol


def install() -> None:
    """Wrap the functions on engine, engine.nn.functional and Tensor (idempotent)."""
    global _installed
    if _installed:
        return
    import engine

    from .._tensor import Tensor
    from ..nn import functional as F
    names = set(_LOW) | set(_CUDA_FP32) | set(_CPU_FP32) | set(_PROMOTE) | {
        "binary_cross_entropy"}
    for owner in (engine, F, Tensor):
        for name in names:
            fn = owner.__dict__.get(name) if owner is Tensor else getattr(owner, name, None)
            if fn is None or not callable(fn) or hasattr(fn, "_autocast_orig"):
                continue
            setattr(owner, name, _wrap(fn, name, _policy_for(name)))
    _installed = True
