"""NAdam, RAdam, ASGD, Rprop, LBFGS, SparseAdam, Adafactor and Muon (and
``swap_in_optimizer_params_and_state``), with ``torch.optim``'s semantics.

Every update is a sequence of in-place engine ops mirroring PyTorch's single-tensor
implementation (the one PyTorch itself runs for CPU tensors), so the same code runs on CPU and
CUDA. Scalar state (``step``, NAdam's ``mu_product``, ASGD's ``eta`` / ``mu``) is held as 0-d
float tensors in the default scalar dtype, exactly as PyTorch keeps it, so the rounding of those
running products matches PyTorch's.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict

from .. import _tensor as _T
from ..autograd.grad_mode import enable_grad, no_grad
from ..ops.creation import full_like, tensor, zeros, zeros_like
from .optimizer import Optimizer, _incr_step, _new_step, _to_scalar

__all__ = ["ASGD", "LBFGS", "Adafactor", "Muon", "NAdam", "RAdam", "Rprop", "SparseAdam",
           "swap_in_optimizer_params_and_state"]


def _check_lr(lr, strict: bool = False) -> None:
    if isinstance(lr, _T.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not ((0.0 < lr) if strict else (0.0 <= lr)):
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_betas(betas) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _scalar_state(st: dict, key: str) -> None:
    """Old checkpoints may hold a scalar state entry as a number: make it a 0-d tensor."""
    if key in st and not isinstance(st[key], _T.Tensor):
        st[key] = _new_step(float(st[key]))


def _setdefaults(opt: Optimizer, scalar_keys=(), **defaults) -> None:
    for group in opt.param_groups:
        for k, v in defaults.items():
            group.setdefault(k, v)
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                for key in ("step", *scalar_keys):
                    _scalar_state(st, key)


def _no_sparse(name: str, g) -> None:
    if getattr(g, "is_sparse", False):
        raise RuntimeError(f"{name} does not support sparse gradients")


class _PerParam(Optimizer):
    """What this file's optimizers share: ``step`` runs ``_group_step`` on each group under
    no_grad, and ``_with_grads`` walks a group's parameters that have a gradient."""

    def step(self, closure=None):
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                self._group_step(group)
        return loss

    def _group_step(self, group) -> None:
        raise NotImplementedError

    def _with_grads(self, group, init, real_only: bool = False):
        """``(param, grad, state)`` per parameter with a gradient (``grad`` negated under
        ``maximize``); ``init(p, g, state)`` fills an empty state first. Sparse gradients
        (and complex parameters when ``real_only``) raise, naming the optimizer."""
        name = type(self).__name__
        maximize = group.get("maximize", False)
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if real_only and p.is_complex():
                raise RuntimeError(f"{name} does not support complex parameters")
            _no_sparse(name, g)
            st = self.state[p]
            if len(st) == 0:
                init(p, g, st)
            yield p, (g.neg() if maximize else g), st


# --------------------------------------------------------------------------------------------
# NAdam
# --------------------------------------------------------------------------------------------
class NAdam(_PerParam):
    """Implements NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``.

    ``decoupled_weight_decay=True`` gives NAdamW. State per parameter: ``step``,
    ``mu_product`` (0-d tensors), ``exp_avg`` and ``exp_avg_sq``.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _setdefaults(self, ("mu_product",), maximize=False, foreach=None, capturable=False,
                     differentiable=False, decoupled_weight_decay=False)

    def _group_step(self, group) -> None:
        lr = _to_scalar(group["lr"])
        beta1, beta2 = (_to_scalar(b) for b in group["betas"])
        eps = group["eps"]
        wd = group["weight_decay"]
        psi = group["momentum_decay"]
        decoupled = group["decoupled_weight_decay"]
        def init(p, g, st):
            st["step"] = _new_step()
            st["mu_product"] = _new_step(1.0)
            st["exp_avg"] = zeros_like(p)
            st["exp_avg_sq"] = zeros_like(p)

        for p, grad, st in self._with_grads(group, init):
            exp_avg, exp_avg_sq, mu_product = st["exp_avg"], st["exp_avg_sq"], st["mu_product"]
            step = _incr_step(st["step"])
            bias_correction2 = 1 - beta2 ** step
            if wd != 0:
                if decoupled:
                    p.mul_(1 - lr * wd)
                else:
                    grad = grad.add(p, alpha=wd)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            mu_product.mul_(mu)
            mu_prod = mu_product.item()
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt()
            mu_product_next = mu_prod * mu_next
            denom.add_(eps)
            p.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_prod)))
            p.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))


# --------------------------------------------------------------------------------------------
# RAdam
# --------------------------------------------------------------------------------------------
class RAdam(_PerParam):
    """Implements RAdam (rectified Adam), as ``torch.optim.RAdam``.

    State per parameter: ``step``, ``exp_avg`` and ``exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _setdefaults(self, (), foreach=None, maximize=False, differentiable=False,
                     decoupled_weight_decay=False, capturable=False)

    def _group_step(self, group) -> None:
        lr = _to_scalar(group["lr"])
        beta1, beta2 = (_to_scalar(b) for b in group["betas"])
        eps = group["eps"]
        wd = group["weight_decay"]
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        def init(p, g, st):
            st["step"] = _new_step()
            st["exp_avg"] = zeros_like(p)
            st["exp_avg_sq"] = zeros_like(p)

        for p, grad, st in self._with_grads(group, init):
            exp_avg, exp_avg_sq = st["exp_avg"], st["exp_avg_sq"]
            step = _incr_step(st["step"])
            if wd != 0:
                if decoupled:
                    p.mul_(1 - lr * wd)
                else:
                    grad = grad.add(p, alpha=wd)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            bias_corrected_exp_avg = exp_avg / bias_correction1
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
                p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
            else:
                p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)


# --------------------------------------------------------------------------------------------
# ASGD
# --------------------------------------------------------------------------------------------
class ASGD(_PerParam):
    """Implements Averaged Stochastic Gradient Descent, as ``torch.optim.ASGD``.

    State per parameter: ``step``, ``eta``, ``mu`` (0-d tensors on the parameter's device) and
    ``ax`` (the running average of the parameter).
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _setdefaults(self, ("eta", "mu"), foreach=None, maximize=False, differentiable=False,
                     capturable=False)

    def _group_step(self, group) -> None:
        lr = _to_scalar(group["lr"])
        lambd = group["lambd"]
        alpha = group["alpha"]
        t0 = group["t0"]
        wd = group["weight_decay"]
        def init(p, g, st):
            dev = p.device
            st["step"] = _new_step().to(dev)
            st["eta"] = _new_step(lr).to(dev)
            st["mu"] = _new_step(1.0).to(dev)
            st["ax"] = zeros_like(p)

        for p, grad, st in self._with_grads(group, init):
            ax = st["ax"]
            _incr_step(st["step"])
            if wd != 0:
                grad = grad.add(p, alpha=wd)
            eta_value = st["eta"].item()
            p.mul_(1 - lambd * eta_value)
            p.add_(grad, alpha=-eta_value)
            mu_value = st["mu"].item()
            if mu_value != 1:
                ax.add_(p.sub(ax).mul_(mu_value))
            else:
                ax.copy_(p)
            step = st["step"].item()
            # (through a default-dtype tensor, as PyTorch's ``torch.as_tensor``: a float64 eta
            # loaded from a checkpoint still receives float32-rounded values)
            st["eta"].copy_(tensor(lr / ((1 + lambd * lr * step) ** alpha)))
            st["mu"].copy_(tensor(1 / max(1, step - t0)))


# --------------------------------------------------------------------------------------------
# Rprop
# --------------------------------------------------------------------------------------------
class Rprop(_PerParam):
    """Implements the resilient backpropagation algorithm, as ``torch.optim.Rprop``.

    State per parameter: ``step``, ``prev`` (the previous gradient) and ``step_size``.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _setdefaults(self, (), foreach=None, maximize=False, differentiable=False,
                     capturable=False)

    def _group_step(self, group) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        def init(p, g, st):
            st["step"] = _new_step()
            st["prev"] = zeros_like(p)
            st["step_size"] = full_like(g, _to_scalar(group["lr"]))

        for p, grad, st in self._with_grads(group, init):
            prev, step_size = st["prev"], st["step_size"]
            _incr_step(st["step"])
            sign = grad.mul(prev).sign()
            negative = sign.lt(0)
            zero = sign.eq(0)
            sign.masked_fill_(sign.gt(0), etaplus)
            sign.masked_fill_(negative, etaminus)
            sign.masked_fill_(zero, 1)
            step_size.mul_(sign).clamp_(step_size_min, step_size_max)
            # where the gradient changed sign, skip this update (and forget the gradient)
            grad = grad.masked_fill(negative, 0)
            p.addcmul_(grad.sign(), step_size, value=-1)
            prev.copy_(grad)


# --------------------------------------------------------------------------------------------
# LBFGS
# --------------------------------------------------------------------------------------------
def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic interpolating (x1, f1, g1) and (x2, f2, g2), clipped to bounds."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square.sqrt() if isinstance(d2_square, _T.Tensor) else math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search satisfying the strong Wolfe conditions (PyTorch's port of minFunc's)."""
    d_norm = d.abs().max()
    g = g.clone()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.clone()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [t]
            bracket_f = [f_new]
            bracket_g = [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.clone()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev = tmp
        f_prev = f_new
        g_prev = g_new.clone()
        gtd_prev = gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the max number of iterations
        bracket = [0, t]
        bracket_f = [f, f_new]
        bracket_g = [g, g_new]

    # zoom phase: the bracket holds a point satisfying the criteria (or we are out of budget)
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.clone()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.clone()
            bracket_gtd[low_pos] = gtd_new

    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals


class LBFGS(Optimizer):
    """Implements L-BFGS, as ``torch.optim.LBFGS`` (one param group; ``step`` needs a closure
    that re-evaluates the loss and its gradients).

    Args:
        lr: learning rate (default: 1).
        max_iter: maximal number of iterations per optimization step (default: 20).
        max_eval: maximal number of function evaluations per step (default: max_iter * 1.25).
        tolerance_grad: termination tolerance on first order optimality (default: 1e-7).
        tolerance_change: termination tolerance on function value / parameter changes
            (default: 1e-9).
        history_size: update history size (default: 100).
        line_search_fn: either ``'strong_wolfe'`` or None (default: None).
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.param_groups:
            self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(p.numel() for p in self._params)
        return self._numel_cache

    def _gather_flat_grad(self):
        from ..ops.shape import cat
        views = []
        for p in self._params:
            if p._grad is None:
                views.append(zeros(p.numel(), dtype=p.dtype, device=p.device))
            else:
                views.append(p._grad.reshape(-1))
        return cat(views, 0)

    def _add_grad(self, step_size, update) -> None:
        offset = 0
        for p in self._params:
            numel = p.numel()
            p.add_(update[offset:offset + numel].view_as(p), alpha=step_size)
            offset += numel
        if offset != self._numel():
            raise AssertionError(f"Expected offset {offset} to equal {self._numel()}")

    def _clone_param(self):
        return [p.clone() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, pdata in zip(self._params, params_data):
            p.copy_(pdata)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure):  # type: ignore[override]
        """Perform a single optimization step (up to ``max_iter`` L-BFGS iterations).

        Args:
            closure: a callable that clears the gradients, computes the loss, calls
                ``backward()`` and returns the loss.
        """
        if closure is None:
            raise RuntimeError("LBFGS.step() requires a closure that re-evaluates the model "
                               "and returns the loss, e.g. opt.step(closure)")
        if len(self.param_groups) != 1:
            raise AssertionError(
                f"Expected exactly one param_group, but got {len(self.param_groups)}")
        with no_grad():
            return self._step(closure)

    def _step(self, user_closure):
        def closure():
            with enable_grad():
                return user_closure()

        group = self.param_groups[0]
        lr = _to_scalar(group["lr"])
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        # the state lives on the first parameter (as in PyTorch)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        opt_cond = flat_grad.abs().max() <= tolerance_grad
        if opt_cond:  # already optimal
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the descent direction
            if state["n_iter"] == 1:
                d = flat_grad.neg()
                old_dirs = []
                old_stps = []
                ro = []
                H_diag = 1
            else:
                y = flat_grad.sub(prev_flat_grad)
                s = d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:  # shift the history
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                # two-loop recursion: q = -H * grad
                q = flat_grad.neg()
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q.add_(old_dirs[i], alpha=-al[i])
                d = r = q.mul(H_diag)
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r.add_(old_stps[i], alpha=al[i] - be_i)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone()
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss

            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr
            else:
                t = lr

            gtd = flat_grad.dot(d)  # directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = flat_grad.abs().max() <= tolerance_grad
            else:
                self._add_grad(t, d)  # fixed-step update
                if n_iter != max_iter:
                    # re-evaluate (no re-evaluation on the last iteration)
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = flat_grad.abs().max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # stopping conditions
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if d.mul(t).abs().max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss


# --------------------------------------------------------------------------------------------
# SparseAdam
# --------------------------------------------------------------------------------------------
class SparseAdam(Optimizer):
    """``torch.optim.SparseAdam``: Adam for dense parameters with *sparse-layout* gradients
    (e.g. ``nn.Embedding(sparse=True)``).

    engine has no sparse layout, so every gradient is dense and ``step`` raises PyTorch's
    error for dense gradients (use :class:`~engine.optim.Adam`).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        _check_lr(lr, strict=True)
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        sparse_params, complex_params = [], []
        for index, param_group in enumerate(self.param_groups):
            for d_index, d_param in enumerate(param_group["params"]):
                if getattr(d_param, "is_sparse", False):
                    sparse_params.append([index, d_index])
                if d_param.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires "
                             "dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def step(self, closure=None):
        """Raise for dense gradients (the only kind engine has), as PyTorch does."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is not None and not getattr(g, "is_sparse", False):
                    raise RuntimeError("SparseAdam does not support dense gradients, please "
                                       "consider Adam instead")
        return loss


# --------------------------------------------------------------------------------------------
# Adafactor
# --------------------------------------------------------------------------------------------
class Adafactor(_PerParam):
    """Implements Adafactor, as ``torch.optim.Adafactor``: for parameters with 2+ dims the
    second moment is kept factored (``row_var`` / ``col_var``), for vectors as ``variance``;
    the step is relative to the parameter's RMS and clipped by ``d``.

    ``eps=(eps1, eps2)``: ``eps1`` (default: the dtype's machine epsilon) regularises the
    second moment, ``eps2`` bounds the relative step size from below.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _setdefaults(self, (), foreach=None)

    def _group_step(self, group) -> None:
        from .. import _dtype as D
        from ..ops.reduce import norm
        lr = _to_scalar(group["lr"])
        eps1, eps2 = group["eps"]
        d = group["d"]
        wd = group["weight_decay"]
        beta2_decay = group["beta2_decay"]
        def init(p, g, st):
            st["step"] = _new_step()
            if g.dim() > 1:
                st["row_var"] = zeros(*g.shape[:-1], 1, dtype=g.dtype, device=g.device)
                st["col_var"] = zeros(*g.shape[:-2], 1, g.shape[-1], dtype=g.dtype,
                                      device=g.device)
            else:
                st["variance"] = zeros_like(g)

        for p, grad, st in self._with_grads(group, init, real_only=True):
            if eps1 is None:  # (PyTorch keeps the first parameter's for the whole group)
                eps1 = D.finfo(p.dtype).eps
            step = _incr_step(st["step"])
            one_minus_beta2_t = step ** beta2_decay
            rho_t = min(lr, 1 / (step ** 0.5))
            alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho_t
            if wd != 0:
                p.mul_(1 - lr * wd)
            if grad.dim() > 1:
                row_var, col_var = st["row_var"], st["col_var"]
                row_mean = norm(grad, dim=-1, keepdim=True).square_().div_(grad.size(-1))
                row_var.lerp_(row_mean, one_minus_beta2_t)
                col_mean = norm(grad, dim=-2, keepdim=True).square_().div_(grad.size(-2))
                col_var.lerp_(col_mean, one_minus_beta2_t)
                var_estimate = row_var @ col_var
                var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
            else:
                variance = st["variance"]
                variance.lerp_(grad * grad, one_minus_beta2_t)
                var_estimate = variance.clone()
            update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
            update.mul_(grad)
            denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))
            p.add_(update, alpha=-alpha / denom)


# --------------------------------------------------------------------------------------------
# Muon
# --------------------------------------------------------------------------------------------
_MUON_NS = (3.4445, -4.7750, 2.0315)


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps: int, eps: float):
    """The orthogonalisation ``U V^T`` of ``grad = U S V^T`` by a quintic Newton-Schulz
    iteration. PyTorch runs it in bfloat16; engine has no bfloat16 and runs it in float32
    (float64 for float64 gradients)."""
    from .. import _dtype as D
    from ..ops.matmul import addmm
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    ortho_grad = grad.to(D.float64 if grad.dtype is D.float64 else D.float32)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    ortho_grad = ortho_grad / ortho_grad.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram_matrix = ortho_grad @ ortho_grad.T
        gram_update = addmm(gram_matrix, gram_matrix, gram_matrix, beta=b, alpha=c)
        ortho_grad = addmm(ortho_grad, gram_update, ortho_grad, beta=a)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    return ortho_grad


def _muon_adjust_lr(lr, adjust_lr_fn, param_shape):
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        adjusted_ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        adjusted_ratio = 0.2 * math.sqrt(max(A, B))
    else:
        adjusted_ratio = 1.0
    return lr * adjusted_ratio


class Muon(_PerParam):
    """Implements Muon (MomentUm Orthogonalized by Newton-Schulz), as ``torch.optim.Muon``,
    for 2-D parameters: SGD momentum (Nesterov by default) whose update is orthogonalised,
    with decoupled weight decay.

    PyTorch orthogonalises in bfloat16; engine (no bfloat16) does it in float32, so the
    updates agree with PyTorch's only to bfloat16 precision.
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=_MUON_NS, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        if isinstance(lr, _T.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _group_step(self, group) -> None:
        lr = _to_scalar(group["lr"])
        wd = group["weight_decay"]
        momentum = group["momentum"]
        def init(p, g, st):
            st["momentum_buffer"] = zeros_like(g)

        for p, g, st in self._with_grads(group, init, real_only=True):
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            buf = st["momentum_buffer"]
            buf.lerp_(g, 1 - momentum)
            update = g.lerp(buf, momentum) if group["nesterov"] else buf
            update = _zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                                 group["ns_steps"], group["eps"])
            adjusted_lr = _muon_adjust_lr(lr, group["adjust_lr_fn"], p.shape)
            p.mul_(1 - lr * wd)
            p.add_(update.to(p.dtype), alpha=-adjusted_lr)


# --------------------------------------------------------------------------------------------
# swap_in_optimizer_params_and_state
# --------------------------------------------------------------------------------------------
_SWAP = "swap_in_optimizer_params_and_state"


def _swap_in_plan(optimizer, swapin_parameters, swapin_optim_state):
    """Validate a ``state_dict()``-shaped swap-in and pair each live group with its new
    params: ``(state, [(live_group, swapin_group, params), ...])``."""
    if not optimizer.state:
        raise RuntimeError(f"{_SWAP} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(  # noqa: TRY004 (PyTorch raises RuntimeError)
            f"{_SWAP} requires a DCP-style optimizer state_dict.")
    state = swapin_optim_state.get("state")
    if not isinstance(state, dict):
        raise RuntimeError(  # noqa: TRY004 (PyTorch raises RuntimeError)
            f"{_SWAP} requires swapin_optim_state['state'] to be a dict mapping packed "
            f"parameter ids to per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(k, _T.Tensor) for k in state):
        raise RuntimeError(f"{_SWAP} requires optimizer.state_dict()-style state keyed by "
                           "packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_SWAP} requires per-parameter optimizer state entries to be "
                           "dictionaries.")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(  # noqa: TRY004 (PyTorch raises RuntimeError)
            f"{_SWAP} requires swapin_optim_state['param_groups'] to be a list "
            f"of param-group dicts, got {type(groups).__name__}.")
    if len(optimizer.param_groups) != len(groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups "
                           "than the live optimizer.")
    flat = list(swapin_parameters.values())
    offset = 0
    seen: set = set()
    plan = []
    for idx, (group, sgroup) in enumerate(zip(optimizer.param_groups, groups)):
        if not isinstance(sgroup, dict):
            raise RuntimeError(  # noqa: TRY004 (PyTorch raises RuntimeError)
                f"{_SWAP} requires each optimizer param group to be a "
                "dictionary.")
        ids = sgroup.get("params")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise RuntimeError(f"{_SWAP} requires optimizer.state_dict()-style "
                               "param_groups[*]['params'] entries keyed by packed parameter "
                               "ids.")
        if len(group["params"]) != len(ids):
            raise RuntimeError(f"swapin_optim_state param group {idx} has a different number "
                               "of params than the live optimizer param group.")
        swapin_only = [k for k in sgroup if k not in group]
        live_only = [k for k in group if k not in sgroup]
        if swapin_only or live_only:
            raise RuntimeError(f"{_SWAP} requires optimizer.state_dict()-style param group "
                               "keys to exactly match the live optimizer group keys for group "
                               f"{idx}. Keys only in swap-in: {swapin_only}. Keys only in "
                               f"live: {live_only}.")
        seen.update(ids)
        if offset + len(ids) > len(flat):
            raise RuntimeError(f"{_SWAP} requires the explicit parameter state to match "
                               "optimizer.param_groups ordering.")
        plan.append((group, sgroup, flat[offset:offset + len(ids)]))
        offset += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(f"{_SWAP} requires swapin_optim_state['state'] to be keyed only by "
                           f"packed parameter ids from param_groups[*]['params']; got extra "
                           f"keys {extra!r}.")
    return state, plan


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """Temporarily run ``optimizer`` on other parameters and state (restored on exit).

    Args:
        optimizer: the live optimizer (its state must already be initialized).
        swapin_parameters: a dict of tensors used as the parameters inside the context, in the
            order of the optimizer's parameters (e.g. ``model.named_parameters()`` order).
        swapin_optim_state: an ``optimizer.state_dict()``-shaped dict with the state and
            per-group hyperparameters to use; in-place updates of its tensors persist.
    """
    state, plan = _swap_in_plan(optimizer, swapin_parameters, swapin_optim_state)
    original_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        new_state: defaultdict = defaultdict(dict)
        for group, sgroup, params in plan:
            group["params"] = params
            for key, value in sgroup.items():
                if key != "params":
                    group[key] = value
            for p, pid in zip(params, sgroup["params"]):
                new_state[p] = dict(state.get(pid, {}))
        optimizer.state = new_state
        yield
    finally:
        for group, snap in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snap)
        optimizer.state = original_state
