"""Gamma(concentration, rate) and Beta(concentration1, concentration0).

Sampling draws from numpy's gamma sampler seeded from the engine's generator (so
``manual_seed`` makes draws reproducible). ``rsample`` is differentiable in both parameters:
the gradient of a standard-gamma draw ``x`` with respect to its concentration ``a`` is the
implicit-reparameterisation one (PyTorch's), ``dx/da = -(dP(a, x)/da) / p(x; a)`` with ``P`` the
regularised incomplete gamma function (evaluated in float64 on the host; its derivative in
``a`` by central differences). Beta draws are ``X / (X + Y)`` of two gamma draws, so their
per-sample gradients differ from PyTorch's direct Beta formula while having the same
expectation.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._size import Size
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Beta", "Gamma"]


def _lgamma(a):
    return np.frompyfunc(math.lgamma, 1, 1)(a).astype(np.float64)


def _gammainc(a, x):
    """Regularised lower incomplete gamma P(a, x), float64, elementwise (series for
    x < a + 1, Lentz's continued fraction otherwise)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    pref = np.exp(-x + a * np.log(np.maximum(x, 1e-300)) - _lgamma(a))
    ser = x < a + 1
    if ser.any():
        aa, xx = a[ser], x[ser]
        term = 1.0 / aa
        total = term.copy()
        for n in range(1, 1000):
            term = term * xx / (aa + n)
            total += term
            if np.all(np.abs(term) < 1e-17 * np.abs(total)):
                break
        out[ser] = total * pref[ser]
    cf = ~ser
    if cf.any():
        aa, xx = a[cf], x[cf]
        tiny = 1e-300
        b = xx + 1 - aa
        c = np.full(aa.shape, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, 1000):
            an = -i * (i - aa)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1) < 1e-16):
                break
        out[cf] = 1 - pref[cf] * h
    return out


def _dsample_dconcentration(a, x):
    """dx/da for x ~ Gamma(a, 1) (implicit reparameterisation)."""
    a = np.asarray(a, np.float64)
    x = np.asarray(x, np.float64)
    h = 1e-5 * np.maximum(a, 1.0)
    dP = (_gammainc(a + h, x) - _gammainc(np.maximum(a - h, 1e-12), x)) / (
        a + h - np.maximum(a - h, 1e-12))
    logpdf = (a - 1) * np.log(np.maximum(x, 1e-300)) - x - _lgamma(a)
    return -dP / np.maximum(np.exp(logpdf), 1e-300)


def _standard_gamma(concentration, shape):
    """Draws of Gamma(concentration, 1) of ``shape``, differentiable in the concentration."""
    from .. import from_numpy, randint
    from ..autograd import Function

    class _StandardGamma(Function):
        @staticmethod
        def forward(ctx, alpha):
            seed = int(randint(0, 2 ** 31 - 1, (1,)).item())
            al = alpha.detach().cpu().numpy()
            x = np.asarray(np.random.default_rng(seed).standard_gamma(al), dtype=al.dtype)
            x = np.maximum(x, np.finfo(al.dtype).tiny)
            out = from_numpy(np.array(x, dtype=al.dtype)).to(alpha.device)
            ctx.save_for_backward(alpha, out)
            return out

        @staticmethod
        def backward(ctx, g):
            alpha, x = ctx.saved_tensors
            d = _dsample_dconcentration(alpha.detach().cpu().numpy(), x.detach().cpu().numpy())
            return g * from_numpy(d.astype(alpha.detach().cpu().numpy().dtype)).to(g.device)

    return _StandardGamma.apply(concentration.expand(tuple(shape)).contiguous())


class Gamma(Distribution):
    """Gamma with shape ``concentration`` and inverse scale ``rate``.

    >>> import engine as torch
    >>> torch.distributions.Gamma(2.0, 4.0).mean
    tensor(0.5000)
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        batch_shape = Size() if isinstance(concentration, numbers.Number) and isinstance(
            rate, numbers.Number) else self.concentration.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        return _standard_gamma(self.concentration, shape) / self.rate.expand(shape)

    def log_prob(self, value):
        from .. import lgamma, xlogy
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - lgamma(self.concentration))

    def entropy(self):
        from .. import digamma, lgamma
        return (self.concentration - self.rate.log() + lgamma(self.concentration)
                + (1.0 - self.concentration) * digamma(self.concentration))


class Beta(Distribution):
    """Beta with ``concentration1`` (alpha) and ``concentration0`` (beta).

    >>> import engine as torch
    >>> torch.distributions.Beta(2.0, 2.0).mean
    tensor(0.5000)
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        batch_shape = Size() if isinstance(concentration1, numbers.Number) and isinstance(
            concentration0, numbers.Number) else self.concentration1.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(batch_shape)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return (self.concentration1 - 1) / (self.concentration1 + self.concentration0 - 2)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        x = _standard_gamma(self.concentration1, shape)
        y = _standard_gamma(self.concentration0, shape)
        return x / (x + y)

    def log_prob(self, value):
        from .. import lgamma, xlogy
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (xlogy(a - 1, value) + xlogy(b - 1, 1 - value)
                + lgamma(a + b) - lgamma(a) - lgamma(b))

    def entropy(self):
        from .. import digamma, lgamma
        a, b = self.concentration1, self.concentration0
        t = a + b
        return (lgamma(a) + lgamma(b) - lgamma(t) - (a - 1) * digamma(a) - (b - 1) * digamma(b)
                + (t - 2) * digamma(t))
