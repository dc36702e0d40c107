"""RMSprop (optionally centered, with momentum)."""

from __future__ import annotations

from kernels.cpu.optim import rmsprop_step

from .. import _tensor as _T
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from . import optimizer as _O
from .optimizer import Optimizer, _cast_scalars, _flat, _fusable, _incr_step, _new_step, _to_scalar

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Implements RMSprop, as ``torch.optim.RMSprop``.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0) and
    ``grad_avg`` (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
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
                _rmsprop_group(self.state, group)
        return loss


def _rmsprop_group(state, group) -> None:
    lr = _to_scalar(group["lr"])
    alpha = group["alpha"]
    eps = group["eps"]
    wd = group["weight_decay"]
    momentum = group["momentum"]
    centered = group["centered"]
    maximize = group["maximize"]
    w = 1 - alpha
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
            if momentum > 0:
                st["momentum_buffer"] = zeros_like(p)
            if centered:
                st["grad_avg"] = zeros_like(p)
        sq = st["square_avg"]
        buf = st["momentum_buffer"] if momentum > 0 else sq
        gavg = st["grad_avg"] if centered else sq
        _incr_step(st["step"])
        if fused and _fusable(p, g, sq, buf, gavg):
            dt = p._dtype
            sc = scal.get(dt)
            if sc is None:
                sc = scal[dt] = _cast_scalars(dt, wd, alpha, 1 - alpha, w, 1 - dt.np.type(w),
                                              eps, momentum, -1, -lr)
            rmsprop_step(_flat(p), _flat(g), _flat(sq), _flat(gavg), _flat(buf), maximize,
                         centered, abs(w) >= 0.5, momentum > 0, sc)
            for t in (p, sq, buf, gavg):
                t._storage.version += 1
            continue
        # engine-op path: PyTorch's single-tensor RMSprop
        grad = g.neg() if maximize else g
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        sq.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if centered:
            gavg.lerp_(grad, w)
            avg = sq.addcmul(gavg, gavg, value=-1).sqrt_()
        else:
            avg = sq.sqrt()
        avg = avg.add_(eps)
        if momentum > 0:
            buf.mul_(momentum).addcdiv_(grad, avg)
            p.add_(buf, alpha=-lr)
        else:
            p.addcdiv_(grad, avg, value=-lr)
