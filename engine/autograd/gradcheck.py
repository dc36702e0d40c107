"""Finite-difference checks of backward rules (float64 central differences)."""

from __future__ import annotations

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _numeric(fn, inputs, i, eps):
    x = inputs[i]
    flat = x.detach().reshape(-1)
    base = fn(*inputs)
    base = base if isinstance(base, tuple) else (base,)
    jac = [np.zeros((x.numel(), o.numel())) for o in base]

    def snapshot():
        # copy now: an output may be a view of the input we are about to perturb again
        r = fn(*inputs)  # grad mode stays on: gradgradcheck's fn itself calls autograd.grad
        r = r if isinstance(r, tuple) else (r,)
        return [o.detach().double().numpy().reshape(-1).copy() for o in r]

    for k in range(x.numel()):
        orig = float(flat[k].item())
        flat[k] = orig + eps
        plus = snapshot()
        flat[k] = orig - eps
        minus = snapshot()
        flat[k] = orig
        for j, (p, m) in enumerate(zip(plus, minus)):
            jac[j][k] = (p - m) / (2 * eps)
    return jac


def _analytic(fn, inputs, i, create_graph=False):
    from . import grad
    outs = fn(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    x = inputs[i]
    jac = [np.zeros((x.numel(), o.numel())) for o in outs]
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for k in range(o.numel()):
            g = o.new_zeros(o._shape)
            g.reshape(-1)[k] = 1.0
            (gx,) = grad(o, x, g, retain_graph=True, allow_unused=True)
            if gx is not None:
                jac[j][:, k] = gx.detach().double().numpy().reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              **_) -> bool:
    """Compare backward against central differences for every input requiring grad.
    The failure report names the input, the element and both values."""
    from .._tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            continue
        if x._dtype.name != "float64":
            import warnings
            warnings.warn("gradcheck: input is not float64; finite differences may be "
                          "inaccurate")
        num = _numeric(func, inputs, i, eps)
        ana = _analytic(func, inputs, i)
        for j, (n, a) in enumerate(zip(num, ana)):
            bad = ~np.isclose(a, n, atol=atol, rtol=rtol)
            if bad.any():
                k, m = np.argwhere(bad)[0]
                msg = (f"Jacobian mismatch for output {j} with respect to input {i}: element "
                       f"(input index {k}, output index {m}) numerical {n[k, m]:.8g} vs "
                       f"analytical {a[k, m]:.8g}\nnumerical:{n}\nanalytical:{a}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, **_) -> bool:
    """gradcheck of the first derivative (backward made with create_graph=True)."""
    from . import grad
    from .._tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = func(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    if grad_outputs is None:
        from ..ops.creation import randn
        grad_outputs = tuple(randn(o._shape, dtype=o._dtype) for o in outs)
    diff_in = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first(*ins):
        os = func(*ins)
        os = os if isinstance(os, tuple) else (os,)
        gs = grad(os, [ins[i] for i in diff_in], grad_outputs, create_graph=True,
                  allow_unused=True)
        return tuple(g if g is not None else ins[i] * 0 for g, i in zip(gs, diff_in))
    return gradcheck(first, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
