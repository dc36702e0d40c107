"""nn.utils.parametrize / parametrizations / legacy weight_norm & spectral_norm, and
utils.checkpoint, against torch."""

import warnings

import numpy as np
import pytest

import engine
from engine.nn.utils import parametrize
from engine.utils.checkpoint import checkpoint, checkpoint_sequential

torch = pytest.importorskip("torch")


def _twins(e_mod, t_mod, seed=0):
    """Copy torch's parameters/buffers into the engine module (same names)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    e_mod.load_state_dict({k: engine.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return e_mod, t_mod


def _compare(e_mod, t_mod, x, rtol=1e-5, atol=1e-5):
    ye, yt = e_mod(engine.tensor(x)), t_mod(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    pe, pt = dict(e_mod.named_parameters()), dict(t_mod.named_parameters())
    assert set(pe) == set(pt)
    for k in pt:
        np.testing.assert_allclose(pe[k].grad.numpy(), pt[k].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=k)


X = np.random.default_rng(9).standard_normal((5, 3)).astype(np.float32)


class Symmetric(engine.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class TSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


def test_register_parametrization_matches_torch():
    e, t = engine.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    parametrize.register_parametrization(e, "weight", Symmetric())
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TSymmetric())
    assert type(e).__name__ == "ParametrizedLinear"
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    _twins(e, t, 1)
    assert bool((e.weight == e.weight.T).all())
    _compare(e, t, X)
    assert repr(e) == repr(t).replace("TSymmetric", "Symmetric")
    assert parametrize.is_parametrized(e) and parametrize.is_parametrized(e, "weight")
    assert not parametrize.is_parametrized(e, "bias")
    # assignment goes through right_inverse
    A = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    e.weight = engine.tensor(A)
    with torch.no_grad():
        t.weight = torch.tensor(A)
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy())
    with parametrize.cached():
        assert e.weight is e.weight
    assert e.weight is not e.weight
    parametrize.remove_parametrizations(e, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    assert type(e) is engine.nn.Linear and isinstance(e.weight, engine.nn.Parameter)
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy())


def test_parametrization_shape_check_and_missing_name():
    class Bad(engine.nn.Module):
        def forward(self, X):
            return X[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(engine.nn.Linear(3, 3), "weight", Bad())
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(engine.nn.Linear(3, 3), "nope", Symmetric())


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization(dim):
    e = engine.nn.utils.parametrizations.weight_norm(engine.nn.Linear(3, 4), dim=dim)
    t = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 4), dim=dim)
    assert sorted(e.state_dict()) == ["bias", "parametrizations.weight.original0",
                                      "parametrizations.weight.original1"]
    _twins(e, t, 2)
    _compare(e, t, X)


def test_weight_norm_conv_and_legacy():
    e = engine.nn.utils.parametrizations.weight_norm(engine.nn.Conv2d(2, 3, 3))
    t = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv2d(2, 3, 3))
    _twins(e, t, 3)
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 5)).astype(np.float32)
    _compare(e, t, x, 1e-4, 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = engine.nn.utils.weight_norm(engine.nn.Linear(3, 4))
        t = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4))
    assert sorted(e.state_dict()) == sorted(t.state_dict()) == ["bias", "weight_g", "weight_v"]
    _twins(e, t, 5)
    _compare(e, t, X)
    engine.nn.utils.remove_weight_norm(e)
    torch.nn.utils.remove_weight_norm(t)
    assert sorted(e.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("legacy", [False, True])
def test_spectral_norm(legacy):
    torch.manual_seed(0)
    if legacy:
        e, t = engine.nn.utils.spectral_norm(engine.nn.Linear(3, 4)), \
            torch.nn.utils.spectral_norm(torch.nn.Linear(3, 4))
    else:
        e = engine.nn.utils.parametrizations.spectral_norm(engine.nn.Linear(3, 4))
        t = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 4))
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    _twins(e, t, 6)  # copies torch's u/v buffers too
    for _ in range(2):  # power iteration each training forward
        e.zero_grad(), t.zero_grad()
        _compare(e, t, X)
    e.eval(), t.eval()
    np.testing.assert_allclose(e(engine.tensor(X)).detach().numpy(),
                               t(torch.tensor(X)).detach().numpy(), rtol=1e-5, atol=1e-5)
    # after enough power-iteration steps the normalised weight's largest singular value is 1
    e.train()
    with engine.no_grad():
        for _ in range(30):
            e(engine.tensor(X))
    e.eval()
    s = np.linalg.svd(e.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(s - 1) < 1e-3


@pytest.mark.parametrize("shape,omap", [((3, 3), None), ((4, 3), None), ((3, 3), "cayley"),
                                        ((3, 4), "householder")])
def test_orthogonal(shape, omap):
    out_f, in_f = shape
    e = engine.nn.utils.parametrizations.orthogonal(engine.nn.Linear(in_f, out_f),
                                                    orthogonal_map=omap)
    t = torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(in_f, out_f),
                                                   orthogonal_map=omap)
    W = e.weight.detach().numpy()
    small = W.T @ W if out_f >= in_f else W @ W.T
    np.testing.assert_allclose(small, np.eye(min(shape)), atol=1e-5)
    _twins(e, t, 7)
    _compare(e, t, np.random.default_rng(8).standard_normal((2, in_f)).astype(np.float32),
             1e-4, 1e-4)


def _ck_model(M):
    M.manual_seed(0)
    return M.nn.Sequential(M.nn.Linear(4, 8), M.nn.Tanh(), M.nn.Dropout(0.5), M.nn.Linear(8, 2))


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_matches_plain_backward_with_dropout(reentrant):
    m = _ck_model(engine)
    x = engine.randn(3, 4, requires_grad=True)
    engine.manual_seed(1)
    m(x).pow(2).sum().backward()
    ref = [p.grad.clone() for p in m.parameters()] + [x.grad.clone()]
    m.zero_grad()
    x.grad = None
    engine.manual_seed(1)
    y = checkpoint(m, x, use_reentrant=reentrant)
    engine.rand(5)  # RNG use between forward and backward must not change the recompute
    y.pow(2).sum().backward()
    got = [p.grad for p in m.parameters()] + [x.grad]
    for a, b in zip(ref, got):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_checkpoint_non_reentrant_params_only_autograd_grad_and_kwargs():
    m = _ck_model(engine).eval()
    x = engine.randn(3, 4)
    checkpoint(m, x, use_reentrant=False).sum().backward()
    g1 = m[0].weight.grad.clone()
    m.zero_grad()
    m(x).sum().backward()
    np.testing.assert_allclose(g1.numpy(), m[0].weight.grad.numpy(), rtol=1e-6)
    xe = engine.randn(4, dtype=engine.float64, requires_grad=True)
    f = lambda t, scale=1.0: (t.sin() * t).sum() * scale
    (g,) = engine.autograd.grad(checkpoint(f, xe, use_reentrant=False, scale=2.0), xe)
    v = xe.detach().numpy()
    np.testing.assert_allclose(g.numpy(), 2 * (np.sin(v) + v * np.cos(v)), rtol=1e-12)
    with pytest.raises(ValueError, match="Unexpected keyword"):
        checkpoint(f, xe, use_reentrant=True, scale=2.0)
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(f, xe)


def test_checkpoint_vs_torch_and_sequential():
    xn = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    e = engine.nn.Sequential(engine.nn.Linear(4, 6), engine.nn.Tanh(), engine.nn.Linear(6, 6),
                             engine.nn.ReLU(), engine.nn.Linear(6, 1))
    t = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 6),
                            torch.nn.ReLU(), torch.nn.Linear(6, 1))
    _twins(e, t, 11)
    xe = engine.tensor(xn, requires_grad=True)
    xt = torch.tensor(xn, requires_grad=True)
    ye = checkpoint_sequential(e, 2, xe, use_reentrant=False)
    yt = torch.utils.checkpoint.checkpoint_sequential(t, 2, xt, use_reentrant=False)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (n, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)
