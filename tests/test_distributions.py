"""engine.distributions against torch.distributions: log_prob / entropy / moments for fixed
parameters, sample statistics (seeded, with tolerances), rsample gradients, validation."""

import math

import numpy as np
import pytest

import engine
import engine.distributions as ED

torch = pytest.importorskip("torch")
import torch.distributions as TD

RNG = np.random.default_rng(0)
LOC = RNG.standard_normal((2, 3))
SCALE = RNG.uniform(0.5, 2.0, (2, 3))
PROBS = RNG.dirichlet(np.ones(4), size=3)          # (3, 4)
LOGITS = RNG.standard_normal((3, 4))
P01 = RNG.uniform(0.05, 0.95, (2, 3))
A = RNG.standard_normal((3, 3))
COV = A @ A.T + 3 * np.eye(3)


def E(x):
    return engine.tensor(x) if isinstance(x, np.ndarray) else x


def T(x):
    return torch.tensor(x) if isinstance(x, np.ndarray) else x


def _close(e, t, rtol=1e-10, atol=1e-12):
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


# (name, args for both libraries, a value in the support)
CASES = [
    ("Normal", (LOC, SCALE), RNG.standard_normal((2, 3))),
    ("Laplace", (LOC, SCALE), RNG.standard_normal((2, 3))),
    ("Uniform", (LOC, LOC + SCALE), LOC + 0.5 * SCALE),
    ("Exponential", (SCALE,), RNG.uniform(0.1, 3, (2, 3))),
    ("Gamma", (SCALE, SCALE + 0.5), RNG.uniform(0.1, 3, (2, 3))),
    ("Beta", (SCALE, SCALE + 0.5), RNG.uniform(0.05, 0.95, (2, 3))),
    ("Bernoulli", (P01,), (RNG.uniform(size=(2, 3)) < 0.5).astype(np.float64)),
]


@pytest.mark.parametrize("name,args,value", CASES, ids=[c[0] for c in CASES])
def test_scalar_families_match_torch(name, args, value):
    e = getattr(ED, name)(*[E(a) for a in args])
    t = getattr(TD, name)(*[T(a) for a in args])
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    _close(e.log_prob(E(value)), t.log_prob(T(value)))
    _close(e.entropy(), t.entropy(), 1e-9)
    _close(e.mean, t.mean)
    _close(e.variance, t.variance)
    _close(e.stddev, t.stddev)
    assert e.has_rsample == t.has_rsample
    big = e.expand((4, 2, 3))
    assert tuple(big.batch_shape) == (4, 2, 3)
    _close(big.log_prob(E(value)), t.expand((4, 2, 3)).log_prob(T(value)))


@pytest.mark.parametrize("use_logits", [False, True])
def test_categorical_and_one_hot(use_logits):
    kw_e = {"logits": E(LOGITS)} if use_logits else {"probs": E(PROBS)}
    kw_t = {"logits": T(LOGITS)} if use_logits else {"probs": T(PROBS)}
    e, t = ED.Categorical(**kw_e), TD.Categorical(**kw_t)
    assert tuple(e.batch_shape) == (3,) and tuple(e.event_shape) == ()
    v = np.array([0, 3, 1])
    _close(e.log_prob(engine.tensor(v)), t.log_prob(torch.tensor(v)))
    _close(e.log_prob(engine.tensor(np.arange(4)).reshape(4, 1)),
           t.log_prob(torch.arange(4).reshape(4, 1)))
    _close(e.entropy(), t.entropy())
    _close(e.probs, t.probs)
    _close(e.logits, t.logits)
    assert e.sample((5,)).shape == t.sample((5,)).shape == (5, 3)
    assert e.mode.tolist() == t.mode.tolist()
    oe, ot = ED.OneHotCategorical(**kw_e), TD.OneHotCategorical(**kw_t)
    oh = np.eye(4)[v]
    _close(oe.log_prob(E(oh)), ot.log_prob(T(oh)))
    _close(oe.entropy(), ot.entropy())
    _close(oe.mean, ot.mean)
    _close(oe.variance, ot.variance)
    s = oe.sample((6,))
    assert tuple(s.shape) == (6, 3, 4) and np.all(s.numpy().sum(-1) == 1)


@pytest.mark.parametrize("param", ["covariance_matrix", "scale_tril", "precision_matrix"])
def test_multivariate_normal(param):
    mat = {"covariance_matrix": COV, "scale_tril": np.linalg.cholesky(COV),
           "precision_matrix": np.linalg.inv(COV)}[param]
    loc = RNG.standard_normal((2, 3))
    e = ED.MultivariateNormal(E(loc), **{param: E(mat)})
    t = TD.MultivariateNormal(T(loc), **{param: T(mat)})
    assert tuple(e.batch_shape) == (2,) and tuple(e.event_shape) == (3,)
    x = RNG.standard_normal((4, 2, 3))
    _close(e.log_prob(E(x)), t.log_prob(T(x)), 1e-9)
    _close(e.entropy(), t.entropy(), 1e-9)
    _close(e.variance, t.variance, 1e-9)
    _close(e.covariance_matrix, t.covariance_matrix, 1e-9)
    _close(e.scale_tril, t.scale_tril, 1e-9)
    _close(e.precision_matrix, t.precision_matrix, 1e-8, 1e-10)
    assert e.rsample((5,)).shape == (5, 2, 3)


def test_independent():
    e = ED.Independent(ED.Normal(E(LOC), E(SCALE)), 1)
    t = TD.Independent(TD.Normal(T(LOC), T(SCALE)), 1)
    assert tuple(e.batch_shape) == (2,) and tuple(e.event_shape) == (3,)
    x = RNG.standard_normal((5, 2, 3))
    _close(e.log_prob(E(x)), t.log_prob(T(x)))
    _close(e.entropy(), t.entropy())
    assert e.has_rsample


def test_kl_divergences():
    pairs = [
        (lambda M, D: D.Normal(M.tensor(LOC), M.tensor(SCALE)),
         lambda M, D: D.Normal(M.tensor(LOC * 0.5), M.tensor(SCALE + 1))),
        (lambda M, D: D.Categorical(probs=M.tensor(PROBS)),
         lambda M, D: D.Categorical(logits=M.tensor(LOGITS))),
        (lambda M, D: D.OneHotCategorical(probs=M.tensor(PROBS)),
         lambda M, D: D.OneHotCategorical(logits=M.tensor(LOGITS))),
        (lambda M, D: D.Bernoulli(M.tensor(P01)), lambda M, D: D.Bernoulli(M.tensor(P01[::-1].copy()))),
        (lambda M, D: D.Exponential(M.tensor(SCALE)),
         lambda M, D: D.Exponential(M.tensor(SCALE + 1))),
        (lambda M, D: D.MultivariateNormal(M.tensor(LOC), M.tensor(COV)),
         lambda M, D: D.MultivariateNormal(M.tensor(LOC[::-1].copy()),
                                           scale_tril=M.tensor(np.linalg.cholesky(COV + np.eye(3))))),
    ]
    for p, q in pairs:
        _close(ED.kl_divergence(p(engine, ED), q(engine, ED)),
               TD.kl_divergence(p(torch, TD), q(torch, TD)), 1e-9)
    with pytest.raises(NotImplementedError, match="No KL"):
        ED.kl_divergence(ED.Normal(0.0, 1.0), ED.Laplace(0.0, 1.0))


@pytest.mark.parametrize("make,mean,var", [
    (lambda: ED.Normal(1.5, 2.0), 1.5, 4.0),
    (lambda: ED.Laplace(-1.0, 0.5), -1.0, 0.5),
    (lambda: ED.Uniform(-1.0, 3.0), 1.0, 16 / 12),
    (lambda: ED.Exponential(2.0), 0.5, 0.25),
    (lambda: ED.Gamma(3.0, 2.0), 1.5, 0.75),
    (lambda: ED.Beta(2.0, 5.0), 2 / 7, 10 / (49 * 8)),
    (lambda: ED.Bernoulli(0.3), 0.3, 0.21),
])
def test_sample_statistics(make, mean, var):
    engine.manual_seed(1234)
    n = 40000
    s = make().sample((n,)).numpy().astype(np.float64)
    assert s.shape == (n,)
    # 5 standard errors of the mean; variance within 5%
    assert abs(s.mean() - mean) < 5 * math.sqrt(var / n), s.mean()
    assert abs(s.var() - var) < 0.05 * var, s.var()


def test_categorical_sample_frequencies_and_mvn_covariance():
    engine.manual_seed(7)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    s = ED.Categorical(engine.tensor(p)).sample((20000,)).numpy()
    freq = np.bincount(s, minlength=4) / len(s)
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / len(s))), freq
    x = ED.MultivariateNormal(engine.zeros(3, dtype=engine.float64),
                              engine.tensor(COV)).sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(x.T), COV, atol=0.25)


def test_rsample_gradients():
    loc = engine.tensor([0.5, -1.0], dtype=engine.float64, requires_grad=True)
    scale = engine.tensor([1.0, 2.0], dtype=engine.float64, requires_grad=True)
    engine.manual_seed(3)
    x = ED.Normal(loc, scale).rsample((1000,))
    x.mean().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [0.5, 0.5])  # d mean(loc + eps*scale)/d loc
    engine.manual_seed(3)
    eps = (ED.Normal(loc, scale).rsample((1000,)).detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(scale.grad.numpy(), eps.numpy().mean(0) / 2, rtol=1e-10)
    # reparameterised samples are differentiable for every family with has_rsample
    for make in (lambda a, b: ED.Laplace(a, b), lambda a, b: ED.Uniform(a, a + b),
                 lambda a, b: ED.Exponential(b),
                 lambda a, b: ED.MultivariateNormal(a, scale_tril=engine.diag_embed(b))):
        loc.grad = scale.grad = None
        make(loc, scale).rsample((3,)).sum().backward()
        assert scale.grad is not None and np.all(np.isfinite(scale.grad.numpy()))
    # ELBO-style gradient of log_prob matches torch
    lt = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    st = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    v = np.array([0.3, 0.7])
    loc.grad = scale.grad = None
    ED.Normal(loc, scale).log_prob(engine.tensor(v)).sum().backward()
    TD.Normal(lt, st).log_prob(torch.tensor(v)).sum().backward()
    _close(loc.grad, lt.grad)
    _close(scale.grad, st.grad)
    assert engine.autograd.gradcheck(
        lambda a, b: ED.MultivariateNormal(a, scale_tril=engine.diag_embed(b)).log_prob(
            engine.tensor([[0.1, 0.2]], dtype=engine.float64)), (loc, scale))


def test_reinforce_policy_gradient_matches_torch():
    w = RNG.standard_normal((4, 3))
    obs = RNG.standard_normal((5, 4))
    actions = np.array([0, 2, 1, 1, 0])
    returns = RNG.standard_normal(5)
    grads = []
    for M, D in ((engine, ED), (torch, TD)):
        W = M.tensor(w, requires_grad=True)
        probs = M.softmax(M.tensor(obs) @ W, dim=-1)
        m = D.Categorical(probs)
        loss = -(m.log_prob(M.tensor(actions)) * M.tensor(returns)).sum() - 0.01 * m.entropy().sum()
        loss.backward()
        grads.append(W.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-12)


def test_validation_errors():
    with pytest.raises(ValueError, match="scale.*GreaterThan"):
        ED.Normal(engine.zeros(2), -engine.ones(2))
    with pytest.raises(ValueError, match="not broadcastable"):
        ED.Normal(engine.zeros(2), engine.ones(2)).log_prob(engine.zeros(3))
    with pytest.raises(ValueError, match="support"):
        ED.Bernoulli(engine.tensor([0.5])).log_prob(engine.tensor([0.5]))
    with pytest.raises(ValueError, match="support"):
        ED.Categorical(engine.tensor([0.5, 0.5])).log_prob(engine.tensor(2))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        ED.Categorical()
    with pytest.raises(ValueError, match="Exactly one"):
        ED.MultivariateNormal(engine.zeros(2))
    # validate_args=False skips the checks (as torch)
    ED.Normal(engine.zeros(1), -engine.ones(1), validate_args=False)
    assert "Normal" in repr(ED.Normal(0.0, 1.0))


def test_gamma_rsample_implicit_gradient_matches_torch():
    a = engine.tensor([0.3, 1.0, 2.5, 10.0, 50.0], dtype=engine.float64, requires_grad=True)
    rate = engine.tensor([1.0, 2.0, 0.5, 1.0, 3.0], dtype=engine.float64, requires_grad=True)
    engine.manual_seed(0)
    x = ED.Gamma(a, rate).rsample()
    x.sum().backward()
    xs = x.detach().numpy() * rate.detach().numpy()  # the standard-gamma draws
    ref = torch._standard_gamma_grad(torch.tensor(a.detach().numpy()), torch.tensor(xs))
    np.testing.assert_allclose(a.grad.numpy(), ref.numpy() / rate.detach().numpy(), rtol=1e-3)
    np.testing.assert_allclose(rate.grad.numpy(), -xs / rate.detach().numpy() ** 2, rtol=1e-10)
    # Beta through two gamma draws: finite gradients; mean of d(sample)/d(alpha) > 0
    c1 = engine.full((4000,), 2.0, dtype=engine.float64, requires_grad=True)
    ED.Beta(c1, engine.full((4000,), 3.0, dtype=engine.float64)).rsample().sum().backward()
    g = c1.grad.numpy()
    assert np.all(np.isfinite(g)) and g.mean() > 0
    # E[dB/da] = d E[B]/da = b / (a + b)^2 = 3 / 25
    assert abs(g.mean() - 3 / 25) < 0.01
