"""Gamma(concentration, rate) and Beta(concentration1, concentration0).

Sampling draws from numpy's gamma sampler seeded from the engine's generator (so
``manual_seed`` makes draws reproducible). ``rsample`` is differentiable with respect to
``rate`` only: PyTorch's implicit-reparameterisation gradient with respect to the
concentration is not implemented, and asking for it raises NotImplementedError.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._size import Size
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Beta", "Gamma"]


def _standard_gamma(concentration, shape):
    from .. import from_numpy, randint
    seed = int(randint(0, 2 ** 31 - 1, (1,)).item())
    alpha = np.broadcast_to(concentration.detach().cpu().numpy(), tuple(shape))
    x = np.asarray(np.random.default_rng(seed).standard_gamma(alpha), dtype=alpha.dtype)
    tiny = np.finfo(alpha.dtype).tiny
    return from_numpy(np.array(np.maximum(x, tiny), dtype=alpha.dtype)).to(concentration.device)


def _no_concentration_grad(t, name):
    from ..autograd.grad_mode import is_grad_enabled
    if is_grad_enabled() and t.requires_grad:
        raise NotImplementedError(f"{name}.rsample: gradients with respect to the "
                                  "concentration are not implemented in this engine (PyTorch "
                                  "uses implicit reparameterisation); detach the concentration "
                                  "or use sample()")


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
        _no_concentration_grad(self.concentration, "Gamma")
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
        _no_concentration_grad(self.concentration1, "Beta")
        _no_concentration_grad(self.concentration0, "Beta")
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
