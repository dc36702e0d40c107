"""Adadelta."""

from __future__ import annotations

from kernels.cpu.optim import adadelta_step

from .. import _tensor as _T
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from . import optimizer as _O
from .optimizer import Optimizer, _cast_scalars, _flat, _fusable, _incr_step, _new_step, _to_scalar

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Implements Adadelta, as ``torch.optim.Adadelta`` (state ``step``, ``square_avg``,
    ``acc_delta``)."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
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
                _adadelta_group(self.state, group)
        return loss


def _adadelta_group(state, group) -> None:
    lr = _to_scalar(group["lr"])
    rho = group["rho"]
    eps = group["eps"]
    wd = group["weight_decay"]
    maximize = group["maximize"]
    fused = _O._FUSED
    scal = {}
    for p in group["params"]:
        g = p._grad
        if g is None:
            continue
        st = state[p]
        if len(st) == 0:
            st["step"] = _new_step()
            st["square_avg"] = zeros_like(p)
            st["acc_delta"] = zeros_like(p)
        sq = st["square_avg"]
        acc = st["acc_delta"]
        _incr_step(st["step"])
        if fused and _fusable(p, g, sq, acc):
            dt = p._dtype
            sc = scal.get(dt)
            if sc is None:
                sc = scal[dt] = _cast_scalars(dt, wd, rho, 1 - rho, eps, -lr)
            adadelta_step(_flat(p), _flat(g), _flat(sq), _flat(acc), maximize, sc)
            for t in (p, sq, acc):
                t._storage.version += 1
            continue
        # engine-op path: PyTorch's single-tensor Adadelta
        grad = g.neg() if maximize else g
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        sq.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = sq.add(eps).sqrt_()
        delta = acc.add(eps).sqrt_()
        delta.div_(std).mul_(grad)
        acc.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-lr)
