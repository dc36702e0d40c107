"""``engine.autograd.functional``: vjp, jacobian, hessian, hvp."""

from __future__ import annotations

__all__ = ["vjp", "jacobian", "hessian", "hvp"]


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
    from . import grad
    from ..ops.creation import zeros
    from ..ops.shape import stack
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
