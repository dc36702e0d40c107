"""``engine.autograd.functional``: vjp, jvp, jacobian, hessian, hvp, vhp."""

from __future__ import annotations

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    from . import grad
    single = hasattr(inputs, "_shape")
    ins = (inputs,) if single else tuple(inputs)
    ins = tuple(x.detach().requires_grad_(True) for x in ins)
    out = func(*ins)
    g = grad(out, ins, v, create_graph=create_graph, allow_unused=True)
    g = tuple(gi if gi is not None else x * 0 for gi, x in zip(g, ins))
    return out, (g[0] if single else g)


def jacobian(func, inputs, create_graph=False, strict=False):
    from ..ops.creation import zeros
    from ..ops.shape import stack
    from . import grad
    single = hasattr(inputs, "_shape")
    ins = (inputs,) if single else tuple(inputs)
    ins = tuple(x.detach().requires_grad_(True) for x in ins)
    out = func(*ins)
    rows = [[] for _ in ins]
    flat = out.reshape(-1)
    for k in range(flat.numel()):
        gs = grad(flat[k], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
        for r, g, x in zip(rows, gs, ins):
            r.append(g if g is not None else zeros(x._shape, dtype=x._dtype))
    jac = tuple(stack(r).reshape(out._shape + x._shape) for r, x in zip(rows, ins))
    return jac[0] if single else jac


def hessian(func, inputs, create_graph=False, strict=False):
    from . import grad

    def g(x):
        (gx,) = grad(func(x), x, create_graph=True)
        return gx
    return jacobian(g, inputs, create_graph=create_graph)


def hvp(func, inputs, v, create_graph=False, strict=False):
    from . import grad
    x = inputs.detach().requires_grad_(True)
    out = func(x)
    (gx,) = grad(out, x, create_graph=True)
    (h,) = grad((gx * v).sum(), x, create_graph=create_graph)
    return out, h


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J @ v)``: the Jacobian-vector product, computed with two reverse passes
    (the double-vjp trick). ``inputs`` and ``v`` are a tensor or tuples of tensors; ``v`` may be
    omitted when the input has a single element.

    >>> import engine as torch
    >>> torch.autograd.functional.jvp(torch.sin, torch.zeros(2), torch.ones(2))
    (tensor([0., 0.]), tensor([1., 1.]))
    """
    from ..func import _jvp_core
    from ..ops.creation import ones_like
    single = hasattr(inputs, "_shape")
    ins = (inputs,) if single else tuple(inputs)
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        vs = (ones_like(ins[0]),)
    else:
        vs = (v,) if hasattr(v, "_shape") else tuple(v)
    if len(vs) != len(ins):
        raise RuntimeError(f"v has {len(vs)} tensors but inputs has {len(ins)}: jvp expects one "
                           "tangent per input")
    for i, (x, t) in enumerate(zip(ins, vs)):
        if tuple(x.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: input {i} has shape {list(x.shape)} but v[{i}] "
                               f"has shape {list(t.shape)}")
    base = tuple(x.detach() for x in ins) if not create_graph else ins
    out, jv, _ = _jvp_core(func, base, vs, False, "jvp")
    return out, jv


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v @ H)``; for a scalar function equal to ``hvp`` (the Hessian is
    symmetric)."""
    return hvp(func, inputs, v, create_graph=create_graph, strict=strict)
