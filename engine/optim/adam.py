"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize."""

from __future__ import annotations

from kernels.cpu.optim import adam_step

from .. import _tensor as _T
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from . import optimizer as _O
from .optimizer import Optimizer, _cast_scalars, _flat, _fusable, _incr_step, _new_step, _to_scalar

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Implements Adam, as ``torch.optim.Adam`` (``decoupled_weight_decay=True`` is AdamW).

    State per parameter: ``step`` (0-d float tensor), ``exp_avg``, ``exp_avg_sq`` and, with
    ``amsgrad``, ``max_exp_avg_sq`` (all on the parameter's device).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
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
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], _T.Tensor) and isinstance(betas[1], _T.Tensor))):
            raise ValueError(  # noqa: TRY004 (PyTorch raises ValueError)
                "betas must be either both floats or both Tensors")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable,
                    "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)
        self._steps_as_tensors()

    def step(self, closure=None):
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                _adam_group(self.state, group)
        return loss


class AdamW(Adam):
    """Implements AdamW (Adam with decoupled weight decay ``p *= 1 - lr * weight_decay``)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


def _adam_group(state, group) -> None:
    lr = _to_scalar(group["lr"])
    beta1, beta2 = group["betas"]
    beta1, beta2 = _to_scalar(beta1), _to_scalar(beta2)
    eps = group["eps"]
    wd = group["weight_decay"]
    amsgrad = group["amsgrad"]
    maximize = group["maximize"]
    decoupled = group["decoupled_weight_decay"]
    w1 = 1 - beta1
    fused = _O._FUSED
    scal = {}
    for p in group["params"]:
        g = p._grad
        if g is None:
            continue
        st = state[p]
        if len(st) == 0:
            st["step"] = _new_step()
            st["exp_avg"] = zeros_like(p)
            st["exp_avg_sq"] = zeros_like(p)
            if amsgrad:
                st["max_exp_avg_sq"] = zeros_like(p)
        m = st["exp_avg"]
        v = st["exp_avg_sq"]
        vmax = st["max_exp_avg_sq"] if amsgrad else v
        step = _incr_step(st["step"])
        if fused and _fusable(p, g, m, v, vmax):
            dt = p._dtype
            key = (dt, step)
            sc = scal.get(key)
            if sc is None:
                bc1 = 1 - beta1 ** step
                bc2 = 1 - beta2 ** step
                wd_c = 0 if decoupled else wd
                dmul = 1 - lr * wd if (decoupled and wd != 0) else 1
                sc = scal[key] = _cast_scalars(dt, wd_c, dmul, w1, 1 - dt.np.type(w1),
                                               beta2, 1 - beta2, bc2 ** 0.5, eps,
                                               -(lr / bc1))
            adam_step(_flat(p), _flat(g), _flat(m), _flat(v), _flat(vmax), amsgrad, maximize,
                      abs(w1) >= 0.5, sc)
            p._storage.version += 1
            m._storage.version += 1
            v._storage.version += 1
            if amsgrad:
                vmax._storage.version += 1
            continue
        # engine-op path (CUDA, strided, float16): PyTorch's single-tensor Adam
        grad = g.neg() if maximize else g
        if wd != 0:
            if decoupled:
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        m.lerp_(grad, w1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bc1 = 1 - beta1 ** step
        bc2 = 1 - beta2 ** step
        if amsgrad:
            vmax.maximum_(v)
        denom = (vmax.sqrt() / bc2 ** 0.5).add_(eps)
        p.addcdiv_(m, denom, value=-(lr / bc1))
