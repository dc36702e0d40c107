"""Full backward hooks on modules: identity nodes around the module's tensor inputs and
outputs capture grad_output and grad_input, then call ``hook(module, grad_input,
grad_output)`` (its return value, if any, replaces grad_input), as PyTorch does."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.graph import record
from ...ops._common import needs_grad

__all__ = ["call_with_backward_hooks"]

_NODE = "BackwardHookFunctionBackward"


def _identity_node(ts, bw):
    """Aliases of ``ts`` whose single recorded node hands all their grads to ``bw``."""
    new = [t._alias() for t in ts]
    record(_NODE, ts, new, lambda node, *grads: bw(grads))
    return new


def _swap(values, positions, new):
    values = list(values)
    for pos, t in zip(positions, new):
        values[pos] = t
    return values


def call_with_backward_hooks(module, args, kwargs, forward):
    hooks = list(module._backward_hooks.values())
    state = {"grad_output": None}
    in_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and needs_grad(a)]
    n_in = sum(isinstance(a, Tensor) for a in args)

    def run_hooks(grad_input):
        for h in hooks:
            r = h(module, grad_input, state["grad_output"])
            if r is not None:
                grad_input = tuple(r)
        return grad_input

    if in_pos:
        def bw_in(grads):
            return run_hooks(tuple(grads))
        args = tuple(_swap(args, in_pos, _identity_node([args[i] for i in in_pos], bw_in)))
    out = forward(*args, **kwargs)
    single = isinstance(out, Tensor)
    outs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else ()
    out_pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and needs_grad(o)]
    if not out_pos:
        return out

    def bw_out(grads):
        state["grad_output"] = tuple(grads)
        if not in_pos:
            run_hooks((None,) * n_in)
        return grads
    new = _swap(outs, out_pos, _identity_node([outs[i] for i in out_pos], bw_out))
    return new[0] if single else type(out)(new)
