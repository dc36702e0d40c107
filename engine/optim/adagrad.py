"""Adagrad."""

from __future__ import annotations

from kernels.cpu.optim import adagrad_step

from .. import _tensor as _T
from ..autograd.grad_mode import no_grad
from ..ops.creation import full_like
from . import optimizer as _O
from .optimizer import Optimizer, _cast_scalars, _flat, _fusable, _incr_step, _new_step, _to_scalar

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Implements Adagrad, as ``torch.optim.Adagrad`` (state ``step`` and ``sum`` are created
    for every parameter at construction)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["step"] = _new_step()
                st["sum"] = full_like(p, initial_accumulator_value)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
        self._steps_as_tensors()

    def share_memory(self) -> None:
        """No-op (engine CPU tensors live in ordinary process memory)."""

    def step(self, closure=None):
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        loss = self._closure_loss(closure)
        init = self.defaults["initial_accumulator_value"]
        with no_grad():
            for group in self.param_groups:
                _adagrad_group(self.state, group, init)
        return loss


def _adagrad_group(state, group, init_value) -> None:
    lr = _to_scalar(group["lr"])
    lr_decay = group["lr_decay"]
    wd = group["weight_decay"]
    eps = group["eps"]
    maximize = group["maximize"]
    fused = _O._FUSED
    for p in group["params"]:
        g = p._grad
        if g is None:
            continue
        st = state[p]
        if len(st) == 0:
            st["step"] = _new_step()
            st["sum"] = full_like(p, init_value)
        s = st["sum"]
        step = _incr_step(st["step"])
        clr = lr / (1 + (step - 1) * lr_decay)
        if fused and _fusable(p, g, s):
            sc = _cast_scalars(p._dtype, wd, eps, -clr)
            adagrad_step(_flat(p), _flat(g), _flat(s), maximize, sc)
            p._storage.version += 1
            s._storage.version += 1
            continue
        # engine-op path: PyTorch's single-tensor Adagrad
        grad = g.neg() if maximize else g
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        s.addcmul_(grad, grad, value=1)
        std = s.sqrt().add_(eps)
        p.addcdiv_(grad, std, value=-clr)
