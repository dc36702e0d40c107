"""Adamax (Adam with the infinity norm)."""

from __future__ import annotations

from kernels.cpu.optim import adamax_step

from .. import _tensor as _T
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from . import optimizer as _O
from .optimizer import Optimizer, _cast_scalars, _flat, _fusable, _incr_step, _new_step, _to_scalar

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Implements Adamax, as ``torch.optim.Adamax`` (state ``step``, ``exp_avg``,
    ``exp_inf``)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
        self._steps_as_tensors()

    def step(self, closure=None):
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                _adamax_group(self.state, group)
        return loss


def _adamax_group(state, group) -> None:
    lr = _to_scalar(group["lr"])
    beta1, beta2 = group["betas"]
    eps = group["eps"]
    wd = group["weight_decay"]
    maximize = group["maximize"]
    w1 = 1 - beta1
    fused = _O._FUSED
    for p in group["params"]:
        g = p._grad
        if g is None:
            continue
        st = state[p]
        if len(st) == 0:
            st["step"] = _new_step()
            st["exp_avg"] = zeros_like(p)
            st["exp_inf"] = zeros_like(p)
        m = st["exp_avg"]
        u = st["exp_inf"]
        step = _incr_step(st["step"])
        clr = lr / (1 - beta1 ** step)
        if fused and _fusable(p, g, m, u):
            dt = p._dtype
            sc = _cast_scalars(dt, wd, w1, 1 - dt.np.type(w1), beta2, eps, -clr)
            adamax_step(_flat(p), _flat(g), _flat(m), _flat(u), maximize, abs(w1) >= 0.5, sc)
            for t in (p, m, u):
                t._storage.version += 1
            continue
        # engine-op path: PyTorch's single-tensor Adamax
        grad = g.neg() if maximize else g
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        m.lerp_(grad, w1)
        u.mul_(beta2).maximum_(grad.abs().add_(eps))
        p.addcdiv_(m, u, value=-clr)
