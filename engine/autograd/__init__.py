"""``engine.autograd``: backward, grad, custom Functions, gradcheck, anomaly detection."""

from __future__ import annotations

from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .gradcheck import gradcheck, gradgradcheck
from .anomaly import detect_anomaly, set_detect_anomaly, is_anomaly_enabled
from . import graph, functional, profiler

__all__ = ["backward", "grad", "Function", "FunctionCtx", "gradcheck", "gradgradcheck",
           "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "detect_anomaly", "set_detect_anomaly", "once_differentiable", "graph", "functional"]


def _make_grads(outputs, grads, create_graph):
    from ..ops.creation import ones_like
    out = []
    for o, g in zip(outputs, grads):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(got an output of shape {list(o._shape)}); pass "
                                   "gradient=... to backward()")
            g = ones_like(o)
        elif not hasattr(g, "_shape"):
            from ..ops.creation import full_like
            g = full_like(o, g)
        elif g._shape != o._shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                               f"{list(g._shape)} and output[0] has a shape of {list(o._shape)}.")
        out.append(g if create_graph else g.detach())
    return out


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if hasattr(x, "_shape") else tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves."""
    from .engine import run_backward
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) or (None,) * len(tensors)
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    run_backward(tensors, _make_grads(tensors, grads, create_graph), retain_graph, create_graph,
                 inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs`` (returned, not accumulated)."""
    from .engine import run_backward
    outputs = _as_tuple(outputs)
    single = hasattr(inputs, "_shape")
    inputs = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for o in outputs:
        if not o.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    res = run_backward(outputs, _make_grads(outputs, grads, create_graph), retain_graph,
                       create_graph, inputs=inputs, accumulate=False,
                       allow_unused=bool(allow_unused) or materialize_grads)
    if materialize_grads:
        from ..ops.creation import zeros_like
        res = [r if r is not None else zeros_like(i) for r, i in zip(res, inputs)]
    return tuple(res)
