"""Stochastic gradient descent (optionally with momentum / Nesterov momentum)."""

from __future__ import annotations

from kernels.cpu.optim import sgd_step

from .. import _tensor as _T
from ..autograd.grad_mode import no_grad
from . import optimizer as _O
from .optimizer import Optimizer, _cast_scalars, _flat, _fusable, _to_scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Implements stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``:

    ``g = grad (+ weight_decay * p)``; with momentum ``b = g`` on the first step, then
    ``b = momentum * b + (1 - dampening) * g``; ``g = g + momentum * b`` (nesterov) or ``b``;
    ``p -= lr * g`` (``+=`` with ``maximize``).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure=None):
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                _sgd_group(self.state, group)
        return loss


def _sgd_group(state, group) -> None:
    lr = _to_scalar(group["lr"])
    momentum = group["momentum"]
    dampening = group["dampening"]
    wd = group["weight_decay"]
    wd = _to_scalar(wd)
    nesterov = group["nesterov"]
    maximize = group["maximize"]
    fused = _O._FUSED
    scal = {}
    for p in group["params"]:
        g = p._grad
        if g is None:
            continue
        st = buf = None
        if momentum != 0:
            st = state[p]
            buf = st.get("momentum_buffer")
        if fused and (_fusable(p, g) if buf is None else _fusable(p, g, buf)):
            dt = p._dtype
            sc = scal.get(dt)
            if sc is None:
                sc = scal[dt] = _cast_scalars(dt, wd, momentum, 1 - dampening, -lr)
            pf = _flat(p)
            if st is None:
                mode, bf = 0, pf
            elif buf is None:
                buf = _T.empty_tensor(p._shape, dt, p._storage.device)
                st["momentum_buffer"] = buf
                mode, bf = 1, _flat(buf)
            else:
                mode, bf = 2, _flat(buf)
                buf._storage.version += 1
            sgd_step(pf, _flat(g), bf, maximize, nesterov, mode, sc)
            p._storage.version += 1
            continue
        # engine-op path (CUDA, strided, float16): PyTorch's single-tensor SGD
        grad = g.neg() if maximize else g
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        if momentum != 0:
            if buf is None:
                buf = grad.detach().clone()
                st["momentum_buffer"] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        p.add_(grad, alpha=-lr)
