"""``engine.distributions``: probability distributions with PyTorch's API.

Normal, Bernoulli, Categorical, OneHotCategorical, Uniform, Exponential, Laplace, Gamma, Beta,
MultivariateNormal and Independent, each with ``sample``/``rsample`` (reparameterised where
PyTorch has it), ``log_prob``, ``entropy``, ``mean``/``variance``/``stddev``, ``batch_shape``/
``event_shape``, ``expand`` and argument validation; ``kl_divergence`` for Normal, Categorical,
OneHotCategorical, Bernoulli, Exponential, MultivariateNormal and Independent pairs.

>>> import engine as torch
>>> from engine.distributions import Categorical
>>> m = Categorical(torch.tensor([0.1, 0.9]))
>>> _ = torch.manual_seed(0); a = m.sample()
>>> m.log_prob(a).shape, m.entropy()
(torch.Size([]), tensor(0.3251))
"""

from __future__ import annotations

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Beta, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = [
           "Bernoulli",
           "Beta",
           "Categorical",
           "Distribution",
           "Exponential",
           "Gamma",
           "Independent",
           "Laplace",
           "MultivariateNormal",
           "Normal",
           "OneHotCategorical",
           "Uniform",
           "constraints",
           "kl_divergence",
           "register_kl",
]
