"""engine.optim: trajectories against PyTorch (when installed) and numpy references."""

import copy
import warnings

import numpy as np
import pytest

import engine
import engine.optim as eoptim
from engine.optim import optimizer as _O

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def _init_arrays(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grad_fn(a: np.ndarray, k: int, i: int) -> np.ndarray:
    """A deterministic, parameter-dependent gradient (a quadratic-plus-wiggle loss)."""
    a64 = a.astype(np.float64)
    c = np.cos(np.arange(a.size, dtype=np.float64).reshape(a.shape) + i)
    g = 2.0 * (a64 - c) * (1.0 + 0.1 * k) + 0.3 * np.sin(3.0 * a64)
    return g.astype(a.dtype)


def _engine_params(arrays):
    return [engine.tensor(a.copy(), requires_grad=True) for a in arrays]


def _set_grads(params, k, to_tensor, skip=()):
    for i, p in enumerate(params):
        if i in skip:
            p.grad = None
            continue
        a = p.detach().numpy() if hasattr(p, "detach") else p
        p.grad = to_tensor(_grad_fn(np.array(a), k, i))


def _run_engine(cls, kwargs, arrays, steps, skip_at=None):
    params = _engine_params(arrays)
    opt = cls(params, **kwargs)
    for k in range(steps):
        _set_grads(params, k, engine.tensor, skip=(1,) if k == skip_at else ())
        opt.step()
    return params, opt


def _run_torch(torch, cls, kwargs, arrays, steps, skip_at=None):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = cls(params, **kwargs)
    for k in range(steps):
        _set_grads(params, k, torch.tensor, skip=(1,) if k == skip_at else ())
        opt.step()
    return params, opt


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.2}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True, "betas": (0.4, 0.99)}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-6}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True, "eps": 1e-4}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.05, "betas": (0.3, 0.99), "maximize": True}),
]


def _ids(c):
    return c[0] + "-" + "-".join(f"{k}={v}" for k, v in c[1].items())


@pytest.fixture(params=[True, False], ids=["fused", "engine_ops"])
def fused(request, monkeypatch):
    monkeypatch.setattr(_O, "_FUSED", request.param)
    return request.param


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_trajectory_matches_torch(case, fused):
    torch = pytest.importorskip("torch")
    name, kwargs = case
    arrays = _init_arrays()
    ep, eopt = _run_engine(getattr(eoptim, name), kwargs, arrays, 5, skip_at=2)
    tp, topt = _run_torch(torch, getattr(torch.optim, name), kwargs, arrays, 5, skip_at=2)
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    # same state layout and values
    es, ts = eopt.state_dict(), topt.state_dict()
    assert es["param_groups"] == ts["param_groups"]
    assert list(es["state"]) == list(ts["state"])
    for i in ts["state"]:
        assert list(es["state"][i]) == list(ts["state"][i])
        for key, tv in ts["state"][i].items():
            ev = es["state"][i][key]
            assert isinstance(ev, engine.Tensor)
            assert tuple(ev.shape) == tuple(tv.shape)
            assert str(ev.dtype) == str(tv.dtype)
            np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adadelta", {"weight_decay": 0.1}),
    ("Adamax", {"lr": 0.05}),
])
def test_float64_trajectory_matches_torch(name, kwargs, fused):
    torch = pytest.importorskip("torch")
    arrays = _init_arrays(np.float64)
    ep, _ = _run_engine(getattr(eoptim, name), kwargs, arrays, 5)
    tp, _ = _run_torch(torch, getattr(torch.optim, name), kwargs, arrays, 5)
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_strided_param_takes_engine_op_path():
    torch = pytest.importorskip("torch")
    base = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    ep = engine.tensor(base.copy()).t().detach().requires_grad_()
    tp = torch.tensor(base.copy()).t().detach().requires_grad_()
    assert not ep.is_contiguous()
    eo = eoptim.Adam([ep], lr=0.05, amsgrad=True)
    to = torch.optim.Adam([tp], lr=0.05, amsgrad=True)
    for k in range(4):
        g = _grad_fn(ep.detach().numpy().copy(), k, 0)
        ep.grad = engine.tensor(g)
        tp.grad = torch.tensor(g)
        eo.step()
        to.step()
    np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- numpy references (run without torch) ------------------------------------------------------
def _np_sgd(arrays, steps, lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False):
    dt = arrays[0].dtype
    ps = [a.astype(np.float64) for a in arrays]
    bufs = [None] * len(ps)
    for k in range(steps):
        for i, p in enumerate(ps):
            g = _grad_fn(p.astype(dt), k, i).astype(np.float64) + wd * p
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            ps[i] = p - lr * g
    return ps


def _np_adam(arrays, steps, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, amsgrad=False,
             decoupled=False):
    dt = arrays[0].dtype
    ps = [a.astype(np.float64) for a in arrays]
    ms = [np.zeros_like(p) for p in ps]
    vs = [np.zeros_like(p) for p in ps]
    vm = [np.zeros_like(p) for p in ps]
    for k in range(steps):
        t = k + 1
        for i, p in enumerate(ps):
            g = _grad_fn(p.astype(dt), k, i).astype(np.float64)
            if decoupled:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            ms[i] = b1 * ms[i] + (1 - b1) * g
            vs[i] = b2 * vs[i] + (1 - b2) * g * g
            v = vs[i]
            if amsgrad:
                vm[i] = np.maximum(vm[i], vs[i])
                v = vm[i]
            denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
            ps[i] = p - lr / (1 - b1 ** t) * ms[i] / denom
    return ps


@pytest.mark.parametrize("kw", [
    {"lr": 0.1}, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}])
def test_sgd_matches_numpy(kw, fused):
    arrays = _init_arrays()
    ep, _ = _run_engine(eoptim.SGD, kw, arrays, 5)
    ref = _np_sgd(arrays, 5, kw["lr"], kw.get("momentum", 0.0), kw.get("dampening", 0.0),
                  kw.get("weight_decay", 0.0), kw.get("nesterov", False))
    for a, r in zip(ep, ref):
        np.testing.assert_allclose(a.detach().numpy(), r, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,kw", [
    (eoptim.Adam, {"lr": 0.05}),
    (eoptim.Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "betas": (0.3, 0.9)}),
    (eoptim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
])
def test_adam_matches_numpy(cls, kw, fused):
    arrays = _init_arrays()
    ep, _ = _run_engine(cls, kw, arrays, 5)
    b1, b2 = kw.get("betas", (0.9, 0.999))
    ref = _np_adam(arrays, 5, kw["lr"], b1, b2, wd=kw.get("weight_decay", 0.0),
                   amsgrad=kw.get("amsgrad", False), decoupled=cls is eoptim.AdamW)
    for a, r in zip(ep, ref):
        np.testing.assert_allclose(a.detach().numpy(), r, rtol=1e-5, atol=1e-6)


# --- state dict ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}), ("RMSprop", {"centered": True, "momentum": 0.3}),
    ("Adagrad", {"lr": 0.1}), ("Adadelta", {}), ("Adamax", {"lr": 0.05})])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    cls = getattr(eoptim, name)
    arrays = _init_arrays()
    pa, oa = _run_engine(cls, kwargs, arrays, 3)
    sd = copy.deepcopy(oa.state_dict())
    pb = [engine.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pa]
    ob = cls(pb, lr=123.0)
    ob.load_state_dict(sd)
    assert ob.param_groups[0]["lr"] == oa.param_groups[0]["lr"]
    assert ob.param_groups[0]["params"][0] is pb[0]
    for k in range(3, 6):
        _set_grads(pa, k, engine.tensor)
        _set_grads(pb, k, engine.tensor)
        oa.step()
        ob.step()
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # the loaded state lives in ob (the deep copy), keyed by ob's params
    assert all(any(p is q for q in pb) for p in ob.state)


def test_state_dict_layout():
    p = engine.zeros(2, requires_grad=True)
    q = engine.zeros(3, requires_grad=True)
    opt = eoptim.Adam([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1)
    p.grad = engine.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert list(sd["state"]) == [0]
    st = sd["state"][0]
    assert list(st) == ["step", "exp_avg", "exp_avg_sq"]
    assert st["step"].dim() == 0 and st["step"].dtype == engine.float32 and st["step"].item() == 1
    assert sd["param_groups"][0]["params"] == [0]
    assert sd["param_groups"][1]["params"] == [1]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert list(sd["param_groups"][0])[-1] == "params"


def test_load_state_dict_numeric_step_and_errors():
    p = engine.zeros(2, requires_grad=True)
    opt = eoptim.Adam([p], lr=0.1)
    p.grad = engine.ones(2)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = 1  # old checkpoints stored a number
    opt2 = eoptim.Adam([engine.zeros(2, requires_grad=True)])
    opt2.load_state_dict(sd)
    st = next(iter(opt2.state.values()))
    assert isinstance(st["step"], engine.Tensor) and st["step"].item() == 1
    with pytest.raises(ValueError, match="different number of parameter groups"):
        eoptim.Adam([{"params": [engine.zeros(1, requires_grad=True)]},
                     {"params": [engine.zeros(1, requires_grad=True)]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        eoptim.Adam([engine.zeros(1, requires_grad=True),
                     engine.zeros(1, requires_grad=True)]).load_state_dict(sd)


def test_load_state_dict_casts_to_param_dtype():
    p = engine.zeros(2, requires_grad=True)
    opt = eoptim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = engine.ones(2)
    opt.step()
    sd = opt.state_dict()
    q = engine.zeros(2, dtype=engine.float64, requires_grad=True)
    opt2 = eoptim.SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    assert opt2.state[q]["momentum_buffer"].dtype == engine.float64


# --- param groups -------------------------------------------------------------------------------
def test_per_group_options_match_torch(fused):
    torch = pytest.importorskip("torch")
    arrays = _init_arrays()

    def run(mod, optim):
        ps = [mod.tensor(a.copy(), requires_grad=True) for a in arrays]
        opt = optim.SGD([{"params": ps[:2], "momentum": 0.9, "nesterov": True},
                         {"params": ps[2:], "lr": 0.3, "weight_decay": 0.1}], lr=0.05)
        for k in range(5):
            _set_grads(ps, k, mod.tensor)
            opt.step()
        return ps, opt

    ep, eo = run(engine, eoptim)
    tp, to = run(torch, torch.optim)
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert eo.state_dict()["param_groups"] == to.state_dict()["param_groups"]
    assert repr(eo) == repr(to)


def test_add_param_group():
    p = engine.zeros(2, requires_grad=True)
    q = engine.zeros(3, requires_grad=True)
    opt = eoptim.SGD([p], lr=0.1)
    opt.add_param_group({"params": q, "lr": 0.01})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["params"] == [q] or opt.param_groups[1]["params"][0] is q
    assert opt.param_groups[1]["momentum"] == 0
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([p])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {engine.zeros(1, requires_grad=True)}})


def test_named_params():
    p = engine.zeros(2, requires_grad=True)
    opt = eoptim.Adam([("w", p)])
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w"]


# --- errors and repr ---------------------------------------------------------------------------
def test_errors_match_torch_messages():
    p = engine.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        eoptim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        eoptim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        eoptim.Adam([p], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        eoptim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero "
                                         "dampening"):
        eoptim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        eoptim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value: -1"):
        eoptim.RMSprop([p], eps=-1)
    with pytest.raises(ValueError, match="Invalid rho value: 2"):
        eoptim.Adadelta([p], rho=2)
    with pytest.raises(ValueError, match="Invalid lr_decay value: -1"):
        eoptim.Adagrad([p], lr_decay=-1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "
                                        "torch.FloatTensor"):
        eoptim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        eoptim.SGD([1.0], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        eoptim.SGD([p * 2], lr=0.1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        eoptim.SGD([p, p], lr=0.1)
    assert any("duplicate parameters" in str(x.message) for x in w)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                                  "Adamax"])
def test_repr_matches_torch(name):
    torch = pytest.importorskip("torch")
    eo = getattr(eoptim, name)([engine.zeros(2, requires_grad=True)])
    to = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    assert repr(eo) == repr(to)
    assert eo.defaults == to.defaults


def test_sgd_repr_text():
    opt = eoptim.SGD([engine.zeros(1, requires_grad=True)], lr=0.1)
    assert repr(opt).startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
    assert repr(opt).endswith("    weight_decay: 0\n)")


# --- step mechanics -----------------------------------------------------------------------------
def test_closure_runs_with_grad_and_returns_loss():
    w = engine.tensor([1.0, -2.0], requires_grad=True)
    opt = eoptim.SGD([w], lr=0.1)
    calls = []

    def closure():
        calls.append(engine.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with engine.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6], rtol=1e-6)


def test_zero_grad():
    w = engine.ones(3, requires_grad=True)
    opt = eoptim.Adam([w])
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no grads: nothing happens, no state
    assert len(opt.state) == 0
    np.testing.assert_array_equal(w.detach().numpy(), 1)


def test_step_bumps_version_so_stale_graphs_fail():
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    opt = eoptim.Adam([w], lr=0.1)
    y = (w * w).sum()
    w.grad = engine.ones(2)
    v0 = w._version
    opt.step()
    assert w._version > v0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_step_hooks():
    w = engine.zeros(2, requires_grad=True)
    opt = eoptim.SGD([w], lr=0.1)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    h2 = opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    opt.step()
    assert seen == ["pre", "post"]
    h1.remove()
    h2.remove()
    opt.step()
    assert seen == ["pre", "post"]


def test_adagrad_state_created_at_construction():
    w = engine.zeros(2, requires_grad=True)
    opt = eoptim.Adagrad([w], initial_accumulator_value=0.25)
    st = opt.state_dict()["state"][0]
    assert st["step"].item() == 0
    np.testing.assert_array_equal(st["sum"].numpy(), 0.25)


def test_tensor_lr():
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    opt = eoptim.Adam([w], lr=engine.tensor(0.1))
    w.grad = engine.ones(2)
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.9, 1.9], rtol=1e-5)


def test_deepcopy_optimizer():
    w = engine.zeros(2, requires_grad=True)
    opt = eoptim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = engine.ones(2)
    opt.step()
    opt2 = copy.deepcopy(opt)
    p2 = opt2.param_groups[0]["params"][0]
    assert p2 is not w
    assert opt2.state[p2]["momentum_buffer"] is not opt.state[w]["momentum_buffer"]


def test_mlp_training_matches_torch():
    """A 2-16-16-1 MLP from raw tensors, batch 32, Adam: engine autograd + optimizer vs torch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shapes = [(2, 16), (16,), (16, 16), (16,), (16, 1), (1,)]
    init = [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]
    x = rng.standard_normal((32, 2)).astype(np.float32)
    y = (np.sin(x[:, :1]) + x[:, 1:] ** 2).astype(np.float32)

    def train(mod, optim):
        ps = [mod.tensor(a.copy(), requires_grad=True) for a in init]
        opt = optim.Adam(ps, lr=0.01)
        xt, yt = mod.tensor(x), mod.tensor(y)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            h = (xt @ ps[0] + ps[1]).tanh()
            h = (h @ ps[2] + ps[3]).tanh()
            loss = ((h @ ps[4] + ps[5] - yt) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return ps, losses

    ep, el = train(engine, eoptim)
    tp, tl = train(torch, torch.optim)
    np.testing.assert_allclose(el, tl, rtol=1e-4)
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_user_defined_optimizer_subclass():
    class PlainSGD(eoptim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @engine.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-group["lr"])

    w = engine.tensor([1.0, 2.0], requires_grad=True)
    opt = PlainSGD([w])
    seen = []
    opt.register_step_post_hook(lambda o, a, k: seen.append(1))
    w.grad = engine.ones(2)
    opt.step()
    assert seen == [1]
    np.testing.assert_allclose(w.detach().numpy(), [0.9, 1.9], rtol=1e-6)
    assert repr(opt) == "PlainSGD (\nParameter Group 0\n    lr: 0.1\n)"


def test_adam_random_hyperparameters_match_numpy():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(lr=st.floats(1e-4, 0.5), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999),
           wd=st.sampled_from([0.0, 0.01, 0.3]), amsgrad=st.booleans(),
           decoupled=st.booleans())
    def check(lr, b1, b2, wd, amsgrad, decoupled):
        arrays = _init_arrays(np.float64, seed=7)
        cls = eoptim.AdamW if decoupled else eoptim.Adam
        ep, _ = _run_engine(cls, {"lr": lr, "betas": (b1, b2), "weight_decay": wd,
                                      "amsgrad": amsgrad}, arrays, 4)
        ref = _np_adam(arrays, 4, lr, b1, b2, wd=wd, amsgrad=amsgrad, decoupled=decoupled)
        for a, r in zip(ep, ref):
            np.testing.assert_allclose(a.detach().numpy(), r, rtol=1e-9, atol=1e-12)

    check()
