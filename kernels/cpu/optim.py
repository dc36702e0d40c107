"""Fused optimizer updates (one pass over a parameter, its gradient and its state).

Flat, contiguous 1-D arrays of one float dtype; the scalar hyperparameters arrive packed in one
small array ``sc`` of that dtype (cheap to dispatch), so the arithmetic stays in the parameter's
precision, in the same order as
PyTorch's single-tensor ("for-loop") implementations:

* ``add(x, y, alpha)``  -> ``x + alpha * y``
* ``addcmul(x, a, b, v)`` -> ``x + v * a * b``;  ``addcdiv(x, a, b, v)`` -> ``x + v * a / b``
* ``lerp(x, y, w)``     -> ``x + w * (y - x)`` when ``|w| < 0.5`` else ``y - (y - x) * (1 - w)``
* ``maximum`` propagates NaN.

Used by ``engine.optim`` for CPU parameters; other devices use the engine-op path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "adadelta_step",
    "adagrad_step",
    "adam_step",
    "adamax_step",
    "rmsprop_step",
    "sgd_step",
]

_opts = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_opts)
def sgd_step(p, g, buf, maximize, nesterov, buf_mode, sc):
    """buf_mode: 0 no momentum, 1 first step (buf <- grad), 2 buf <- buf*momentum + (1-d)*grad.
    sc = [weight_decay, momentum, 1 - dampening, -lr]."""
    wd, momentum, one_m_damp, neg_lr = sc[0], sc[1], sc[2], sc[3]
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        if buf_mode != 0:
            if buf_mode == 1:
                b = gi
            else:
                b = buf[i] * momentum + one_m_damp * gi
            buf[i] = b
            if nesterov:
                gi = gi + momentum * b
            else:
                gi = b
        p[i] = p[i] + neg_lr * gi


@njit(**_opts)
def adam_step(p, g, m, v, vmax, amsgrad, maximize, w1_hi, sc):
    """Adam / AdamW. sc = [wd, decoupled_mul, w1, 1 - w1, beta2, 1 - beta2, sqrt(bc2), eps,
    -lr / bc1]: ``wd`` is the coupled (L2) decay (0 for AdamW); ``decoupled_mul`` is
    ``1 - lr * weight_decay`` for AdamW (1 otherwise); w1 = 1 - beta1 (lerp weight)."""
    wd, decoupled_mul, w1, one_m_w1, beta2 = sc[0], sc[1], sc[2], sc[3], sc[4]
    one_m_beta2, bc2_sqrt, eps, neg_step_size = sc[5], sc[6], sc[7], sc[8]
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        pi = p[i]
        if decoupled_mul != 1:
            pi = pi * decoupled_mul
        if wd != 0:
            gi = gi + wd * pi
        mi = m[i]
        if w1_hi:
            mi = gi - (gi - mi) * one_m_w1
        else:
            mi = mi + w1 * (gi - mi)
        m[i] = mi
        vi = v[i] * beta2 + one_m_beta2 * gi * gi
        v[i] = vi
        if amsgrad:
            a = vmax[i]
            if vi > a or np.isnan(vi):
                a = vi
            vmax[i] = a
            vi = a
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + neg_step_size * mi / denom


@njit(**_opts)
def rmsprop_step(p, g, sq, gavg, buf, maximize, centered, w_hi, use_momentum, sc):
    """sc = [wd, alpha, 1 - alpha, w (= 1 - alpha), 1 - w, eps, momentum, -1, -lr]."""
    wd, alpha, one_m_alpha, w, one_m_w = sc[0], sc[1], sc[2], sc[3], sc[4]
    eps, momentum, neg_one, neg_lr = sc[5], sc[6], sc[7], sc[8]
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        s = sq[i] * alpha + one_m_alpha * gi * gi
        sq[i] = s
        if centered:
            ga = gavg[i]
            if w_hi:
                ga = gi - (gi - ga) * one_m_w
            else:
                ga = ga + w * (gi - ga)
            gavg[i] = ga
            avg = np.sqrt(s + neg_one * ga * ga)
        else:
            avg = np.sqrt(s)
        avg = avg + eps
        if use_momentum:
            b = buf[i] * momentum + gi / avg
            buf[i] = b
            p[i] = p[i] + neg_lr * b
        else:
            p[i] = p[i] + neg_lr * gi / avg


@njit(**_opts)
def adagrad_step(p, g, s, maximize, sc):
    """sc = [wd, eps, -clr]."""
    wd, eps, neg_clr = sc[0], sc[1], sc[2]
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        si = s[i] + gi * gi
        s[i] = si
        p[i] = p[i] + neg_clr * gi / (np.sqrt(si) + eps)


@njit(**_opts)
def adadelta_step(p, g, sq, acc, maximize, sc):
    """sc = [wd, rho, 1 - rho, eps, -lr]."""
    wd, rho, one_m_rho, eps, neg_lr = sc[0], sc[1], sc[2], sc[3], sc[4]
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        s = sq[i] * rho + one_m_rho * gi * gi
        sq[i] = s
        std = np.sqrt(s + eps)
        delta = np.sqrt(acc[i] + eps)
        delta = delta / std * gi
        acc[i] = acc[i] * rho + one_m_rho * delta * delta
        p[i] = p[i] + neg_lr * delta


@njit(**_opts)
def adamax_step(p, g, m, u, maximize, w1_hi, sc):
    """sc = [wd, w1 (= 1 - beta1), 1 - w1, beta2, eps, -clr]."""
    wd, w1, one_m_w1, beta2, eps, neg_clr = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        mi = m[i]
        if w1_hi:
            mi = gi - (gi - mi) * one_m_w1
        else:
            mi = mi + w1 * (gi - mi)
        m[i] = mi
        a = u[i] * beta2
        b = np.abs(gi) + eps
        if b > a or np.isnan(b):
            a = b
        u[i] = a
        p[i] = p[i] + neg_clr * mi / a
