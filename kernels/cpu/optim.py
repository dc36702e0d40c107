"""Fused optimizer updates (one pass over a parameter, its gradient and its state).

Flat, contiguous 1-D arrays of one float dtype; every scalar argument arrives already cast to
that dtype, so the arithmetic stays in the parameter's precision, in the same order as
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

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step",
           "adamax_step"]

_opts = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_opts)
def sgd_step(p, g, buf, maximize, wd, momentum, one_m_damp, nesterov, buf_mode, neg_lr):
    """buf_mode: 0 no momentum, 1 first step (buf <- grad), 2 buf <- buf*momentum + (1-d)*grad."""
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
def adam_step(p, g, m, v, vmax, amsgrad, maximize, wd, decoupled_mul, w1, w1_hi, one_m_w1,
              beta2, one_m_beta2, bc2_sqrt, eps, neg_step_size):
    """Adam / AdamW. ``wd`` is the coupled (L2) decay (0 for AdamW); ``decoupled_mul`` is
    ``1 - lr * weight_decay`` for AdamW (1 otherwise)."""
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
            if vi > a or vi != vi:
                a = vi
            vmax[i] = a
            vi = a
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + neg_step_size * mi / denom


@njit(**_opts)
def rmsprop_step(p, g, sq, gavg, buf, maximize, wd, alpha, one_m_alpha, centered, w, w_hi,
                 one_m_w, eps, use_momentum, momentum, neg_one, neg_lr):
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
def adagrad_step(p, g, s, maximize, wd, eps, neg_clr):
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        si = s[i] + gi * gi
        s[i] = si
        p[i] = p[i] + neg_clr * gi / (np.sqrt(si) + eps)


@njit(**_opts)
def adadelta_step(p, g, sq, acc, maximize, wd, rho, one_m_rho, eps, neg_lr):
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
def adamax_step(p, g, m, u, maximize, wd, w1, w1_hi, one_m_w1, beta2, eps, neg_clr):
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
        if b > a or b != b:
            a = b
        u[i] = a
        p[i] = p[i] + neg_clr * mi / a
