"""engine.optim against PyTorch: NAdam / RAdam / ASGD / Rprop / LBFGS / SparseAdam, swa_utils,
and a parity sweep of every option combination of the other optimizers and of every
learning-rate scheduler (step-by-step trajectories, state_dict round trips, errors)."""

import copy
import itertools
import warnings

import numpy as np
import pytest

import engine
import engine.optim as eoptim
from engine.optim import lr_scheduler as elrs
from engine.optim import optimizer as _O

torch = pytest.importorskip("torch")
from torch.optim import lr_scheduler as tlrs
from torch.optim import swa_utils as tswa

eswa = eoptim.swa_utils

SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 20


# --- harness ----------------------------------------------------------------------------------
def _arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grad(a: np.ndarray, k: int, i: int) -> np.ndarray:
    """A deterministic, parameter-dependent gradient whose sign changes over the run."""
    a64 = a.astype(np.float64)
    c = np.cos(np.arange(a.size, dtype=np.float64).reshape(a.shape) + i + 0.7 * k)
    return (2.0 * (a64 - c) * (1.0 + 0.1 * k) + 0.3 * np.sin(3.0 * a64)).astype(a.dtype)


def _set_grads(mod, params, k, skip=()):
    for i, p in enumerate(params):
        p.grad = None if i in skip else mod.tensor(_grad(p.detach().numpy().copy(), k, i))


def _make(mod, optim, name, kwargs, arrays, groups=None):
    ps = [mod.tensor(a.copy(), requires_grad=True) for a in arrays]
    if groups is None:
        return ps, getattr(optim, name)(ps, **kwargs)
    pg = [dict(params=[ps[i] for i in idx], **opts) for idx, opts in groups]
    return ps, getattr(optim, name)(pg, **kwargs)


def _trajectory(mod, optim, name, kwargs, arrays, steps=STEPS, groups=None, skip_at=3):
    ps, opt = _make(mod, optim, name, kwargs, arrays, groups)
    traj = []
    for k in range(steps):
        _set_grads(mod, ps, k, skip=(1,) if k == skip_at else ())
        opt.step()
        traj.append([p.detach().numpy().copy() for p in ps])
    return traj, opt


def _tol(dtype):
    if dtype == np.float64:
        return {"rtol": 1e-10, "atol": 1e-12}
    return {"rtol": 1e-5, "atol": 1e-6}


def _compare(name, kwargs, dtype, steps=STEPS, groups=None):
    arrays = _arrays(dtype)
    et, eo = _trajectory(engine, eoptim, name, kwargs, arrays, steps, groups)
    tt, to = _trajectory(torch, torch.optim, name, kwargs, arrays, steps, groups)
    for k, (es, ts) in enumerate(zip(et, tt)):
        for a, b in zip(es, ts):
            np.testing.assert_allclose(a, b, err_msg=f"{name} {kwargs} step {k + 1}",
                                       **_tol(dtype))
    _compare_state(eo, to, dtype)
    return eo, to


def _compare_state(eo, to, dtype):
    es, ts = eo.state_dict(), to.state_dict()
    assert es["param_groups"] == ts["param_groups"]
    assert list(es["state"]) == list(ts["state"])
    for i, tst in ts["state"].items():
        est = es["state"][i]
        assert list(est) == list(tst)
        for key, tv in tst.items():
            ev = est[key]
            if isinstance(tv, torch.Tensor):
                assert isinstance(ev, engine.Tensor), key
                assert tuple(ev.shape) == tuple(tv.shape), key
                assert str(ev.dtype) == str(tv.dtype), key
                np.testing.assert_allclose(ev.numpy(), tv.numpy(), err_msg=key, **_tol(dtype))
            else:
                assert ev == tv, key


@pytest.fixture(params=[True, False], ids=["fused", "engine_ops"])
def fused(request, monkeypatch):
    monkeypatch.setattr(_O, "_FUSED", request.param)
    return request.param


# --- the new optimizers ---------------------------------------------------------------------
NEW_CASES = [
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.03, "momentum_decay": 0.02, "maximize": True, "betas": (0.8, 0.95)}),
    ("NAdam", {"lr": 0.03, "weight_decay": 0.05, "decoupled_weight_decay": True,
               "maximize": True, "eps": 1e-6}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9), "maximize": True}),  # rho_t > 5 from step 6
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.6), "weight_decay": 0.01, "eps": 1e-4}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "t0": 5, "weight_decay": 0.1, "lambd": 0.01}),
    ("ASGD", {"lr": 0.05, "t0": 3, "maximize": True, "alpha": 0.5}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.7), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"lr": 0.05, "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adafactor", {"beta2_decay": -0.5, "eps": (1e-20, 1e-3), "d": 2.0}),
]


def _ids(c):
    return c[0] + "-" + "-".join(f"{k}={v}" for k, v in c[1].items())


@pytest.mark.parametrize("case", NEW_CASES, ids=[_ids(c) for c in NEW_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_new_optimizer_trajectory_matches_torch(case, dtype):
    name, kwargs = case
    _compare(name, kwargs, dtype)


GROUPS = [((0, 1), {"lr": 0.02}), ((2,), {"lr": 0.1})]


@pytest.mark.parametrize("name,kwargs", [
    ("NAdam", {"weight_decay": 0.01}), ("RAdam", {}), ("ASGD", {"t0": 4}), ("Rprop", {}),
])
def test_new_optimizer_param_groups_match_torch(name, kwargs):
    groups = [((0, 1), {"lr": 0.02}), ((2,), {"lr": 0.1, "maximize": True})]
    eo, to = _compare(name, kwargs, np.float64, steps=10, groups=groups)
    assert repr(eo) == repr(to)
    assert eo.defaults == to.defaults


def _round_trip(name, kwargs, dtype=np.float32, groups=None, steps=8):
    """Save mid-run, load into a fresh optimizer on fresh params, continue: identical.

    (float32 params: loading casts floating state such as NAdam's ``mu_product`` to the
    parameter's dtype, in PyTorch too, so float64 runs continue only to rounding.)"""
    arrays = _arrays(dtype)
    ps, opt = _make(engine, eoptim, name, kwargs, arrays, groups)
    for k in range(steps):
        _set_grads(engine, ps, k)
        opt.step()
    sd = copy.deepcopy(opt.state_dict())
    ps2, opt2 = _make(engine, eoptim, name, kwargs,
                      [p.detach().numpy().copy() for p in ps], groups)
    opt2.load_state_dict(sd)
    for k in range(steps, 2 * steps):
        _set_grads(engine, ps, k)
        opt.step()
        _set_grads(engine, ps2, k)
        opt2.step()
        for a, b in zip(ps, ps2):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # and a PyTorch optimizer loaded from engine's checkpoint continues the same way
    tps, topt = _make(torch, torch.optim, name, kwargs,
                      [p.detach().numpy().copy() for p in ps2], groups)
    tsd = {"param_groups": copy.deepcopy(sd["param_groups"]),
           "state": {i: {k: (torch.tensor(v.numpy()) if isinstance(v, engine.Tensor) else v)
                         for k, v in st.items()} for i, st in opt2.state_dict()["state"].items()}}
    topt.load_state_dict(tsd)
    for k in range(2 * steps, 2 * steps + 4):
        _set_grads(engine, ps2, k)
        opt2.step()
        _set_grads(torch, tps, k)
        topt.step()
    for a, b in zip(ps2, tps):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **_tol(dtype))


ALL_NAMES = ["NAdam", "RAdam", "ASGD", "Rprop", "Adafactor", "SGD", "Adam", "AdamW", "RMSprop",
             "Adagrad", "Adadelta", "Adamax"]
RT_KW = {"SGD": {"lr": 0.05, "momentum": 0.9}, "Adam": {"amsgrad": True},
         "AdamW": {"amsgrad": True}, "RMSprop": {"centered": True, "momentum": 0.5},
         "ASGD": {"t0": 3}, "NAdam": {"weight_decay": 0.1}}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_state_dict_round_trip_mid_run(name):
    _round_trip(name, RT_KW.get(name, {}))
    _round_trip(name, RT_KW.get(name, {}), groups=GROUPS)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_torch_checkpoint_loads_and_continues(name):
    """A PyTorch optimizer's state_dict (tensors converted) loads into engine's optimizer,
    which then continues exactly as PyTorch does."""
    kwargs = RT_KW.get(name, {})
    arrays = _arrays(np.float64)
    tps, topt = _make(torch, torch.optim, name, kwargs, arrays, GROUPS)
    for k in range(6):
        _set_grads(torch, tps, k)
        topt.step()
    tsd = topt.state_dict()
    esd = {"param_groups": copy.deepcopy(tsd["param_groups"]),
           "state": {i: {k: (engine.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v)
                         for k, v in st.items()} for i, st in tsd["state"].items()}}
    eps_, eopt = _make(engine, eoptim, name, kwargs,
                       [p.detach().numpy().copy() for p in tps], GROUPS)
    eopt.load_state_dict(esd)
    # PyTorch reloaded the same way (loading casts floating state such as NAdam's
    # mu_product to the parameter's dtype)
    tps, topt2 = _make(torch, torch.optim, name, kwargs,
                       [p.detach().numpy().copy() for p in tps], GROUPS)
    topt2.load_state_dict(tsd)
    topt = topt2
    for k in range(6, 12):
        _set_grads(torch, tps, k)
        topt.step()
        _set_grads(engine, eps_, k)
        eopt.step()
        for a, b in zip(eps_, tps):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(),
                                       **_tol(np.float64))
    _compare_state(eopt, topt, np.float64)


def test_legacy_numeric_scalar_state_is_upgraded():
    p = engine.zeros(3, requires_grad=True)
    for cls, keys in [(eoptim.NAdam, ("step", "mu_product")), (eoptim.ASGD, ("step", "eta", "mu")),
                      (eoptim.RAdam, ("step",)), (eoptim.Rprop, ("step",))]:
        opt = cls([p])
        p.grad = engine.ones(3)
        opt.step()
        sd = copy.deepcopy(opt.state_dict())
        for k in keys:
            sd["state"][0][k] = float(sd["state"][0][k].item())
        opt2 = cls([p])
        opt2.load_state_dict(sd)
        for k in keys:
            assert isinstance(opt2.state[p][k], engine.Tensor) and opt2.state[p][k].dim() == 0
        opt2.step()


def _errors_match(make):
    """``make(mod)`` raises the same exception type and message in engine and torch."""
    with pytest.raises(Exception) as te:
        make(torch)
    with pytest.raises(type(te.value)) as ee:
        make(engine)
    assert str(ee.value) == str(te.value)


BAD = [
    ("NAdam", {"lr": -1}), ("NAdam", {"eps": -1e-3}), ("NAdam", {"betas": (1.0, 0.9)}),
    ("NAdam", {"betas": (0.9, -0.1)}), ("NAdam", {"weight_decay": -1}),
    ("NAdam", {"momentum_decay": -0.5}),
    ("RAdam", {"lr": -0.5}), ("RAdam", {"eps": -1.0}), ("RAdam", {"betas": (0.9, 1.5)}),
    ("RAdam", {"weight_decay": -0.1}),
    ("ASGD", {"lr": -1}), ("ASGD", {"weight_decay": -2}),
    ("Rprop", {"lr": -1}), ("Rprop", {"etas": (1.5, 1.2)}), ("Rprop", {"etas": (0.5, 0.9)}),
    ("LBFGS", {"lr": -1}),
    ("Adafactor", {"lr": -1}), ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}), ("Adafactor", {"eps": (None, -1.0)}),
    ("Adafactor", {"d": 0.5}), ("Adafactor", {"weight_decay": -1}),
    ("Muon", {"lr": -1}), ("Muon", {"momentum": -1}), ("Muon", {"weight_decay": -1}),
    ("Muon", {"adjust_lr_fn": "bogus"}),
    ("SparseAdam", {"lr": 0.0}), ("SparseAdam", {"eps": 0.0}),
    ("SparseAdam", {"betas": (0.9, 1.0)}),
    ("SGD", {"lr": -1}), ("SGD", {"momentum": -0.1}), ("SGD", {"weight_decay": -1}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -1}), ("Adam", {"eps": -1}), ("Adam", {"betas": (-0.1, 0.9)}),
    ("Adam", {"betas": (0.9, 1.0)}), ("Adam", {"weight_decay": -1}),
    ("Adam", {"foreach": True, "fused": True}), ("AdamW", {"lr": -2}),
    ("RMSprop", {"lr": -1}), ("RMSprop", {"alpha": -1}), ("RMSprop", {"momentum": -1}),
    ("RMSprop", {"eps": -1}), ("RMSprop", {"weight_decay": -1}),
    ("Adagrad", {"lr": -1}), ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"eps": -1}),
    ("Adagrad", {"initial_accumulator_value": -1}), ("Adagrad", {"weight_decay": -1}),
    ("Adadelta", {"lr": -1}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"eps": -1}),
    ("Adadelta", {"weight_decay": -1}),
    ("Adamax", {"lr": -1}), ("Adamax", {"eps": -1}), ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"weight_decay": -1}),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[_ids(c) for c in BAD])
def test_bad_hyperparameters_raise_torch_errors(name, kwargs):
    _errors_match(lambda m: getattr(m.optim, name)([m.zeros(2, 2, requires_grad=True)],
                                                   **kwargs))


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "SparseAdam",
                                  "Adafactor", "Muon"])
def test_new_optimizer_defaults_and_repr_match_torch(name):
    eo = getattr(eoptim, name)([engine.zeros(2, 2, requires_grad=True)])
    to = getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)])
    assert eo.defaults == to.defaults
    assert repr(eo) == repr(to)
    assert name in eoptim.__all__


def test_tensor_lr_new_optimizers():
    for name in ["NAdam", "RAdam", "ASGD", "Rprop"]:
        _errors_match(lambda m, name=name: getattr(m.optim, name)(
            [m.zeros(2, requires_grad=True)], lr=m.tensor([0.1, 0.2])))
        # float32 params: PyTorch does the scalar coefficient math of a Tensor lr in 0-d
        # float32 tensors, engine in Python floats (a float32 rounding apart)
        arrays = _arrays(np.float32)
        et, _ = _trajectory(engine, eoptim, name, {"lr": engine.tensor(0.01)}, arrays, 5)
        tt, _ = _trajectory(torch, torch.optim, name, {"lr": torch.tensor(0.01)}, arrays, 5)
        for a, b in zip(et[-1], tt[-1]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_new_optimizers_with_closure_and_hooks():
    w = engine.tensor([1.0, -2.0], requires_grad=True)
    for cls in (eoptim.NAdam, eoptim.RAdam, eoptim.ASGD, eoptim.Rprop):
        opt = cls([w])
        seen = []
        opt.register_step_post_hook(lambda o, a, k, seen=seen: seen.append(type(o).__name__))

        def closure(opt=opt):
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss

        with engine.no_grad():
            loss = opt.step(closure)
        assert isinstance(loss, engine.Tensor) and seen == [cls.__name__]


def test_adam_tensor_betas_kept_like_torch():
    eo = eoptim.Adam([engine.zeros(2, requires_grad=True)],
                     betas=(engine.tensor(0.8), engine.tensor(0.9)))
    to = torch.optim.Adam([torch.zeros(2, requires_grad=True)],
                          betas=(torch.tensor(0.8), torch.tensor(0.9)))
    assert repr(eo) == repr(to)
    assert all(isinstance(b, engine.Tensor) for b in eo.param_groups[0]["betas"])
    arrays = _arrays(np.float32)
    kw = {"lr": 0.05, "amsgrad": True}
    et, _ = _trajectory(engine, eoptim, "Adam",
                        dict(kw, betas=(engine.tensor(0.8), engine.tensor(0.9))), arrays, 8)
    tt, _ = _trajectory(torch, torch.optim, "Adam",
                        dict(kw, betas=(torch.tensor(0.8), torch.tensor(0.9))), arrays, 8)
    for a, b in zip(et[-1], tt[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# --- Muon -------------------------------------------------------------------------------------
def _ns_float(grad, ns_coefficients, ns_steps, eps):
    """PyTorch's Newton-Schulz orthogonalisation, in float32/64 instead of bfloat16."""
    a, b, c = ns_coefficients
    o = grad.to(torch.float64 if grad.dtype == torch.float64 else torch.float32)
    if grad.size(0) > grad.size(1):
        o = o.T
    o = o / o.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = o @ o.T
        o = torch.addmm(o, torch.addmm(gram, gram, gram, beta=b, alpha=c), o, beta=a)
    if grad.size(0) > grad.size(1):
        o = o.T
    return o


def _muon_run(mod, kw, dtype, steps=8):
    rng = np.random.default_rng(0)
    ps = [mod.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
          for s in [(3, 4), (5, 2), (4, 4)]]
    opt = mod.optim.Muon(ps, **kw)
    for k in range(steps):
        _set_grads(mod, ps, k)
        opt.step()
    return [p.detach().numpy().copy() for p in ps], opt


@pytest.mark.parametrize("kw", [{}, {"lr": 0.02, "nesterov": False, "weight_decay": 0.0,
                                     "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3},
                                {"momentum": 0.5, "adjust_lr_fn": "original"}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_muon_matches_torch(kw, dtype, monkeypatch):
    import torch.optim._muon as tmuon
    e, eo = _muon_run(engine, kw, dtype)
    real, _ = _muon_run(torch, kw, dtype)
    for a, b in zip(e, real):  # PyTorch orthogonalises in bfloat16
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-3)
    monkeypatch.setattr(tmuon, "_zeropower_via_newtonschulz", _ns_float)
    t, to = _muon_run(torch, kw, dtype)
    for a, b in zip(e, t):
        np.testing.assert_allclose(a, b, **_tol(dtype))
    _compare_state(eo, to, dtype)


def test_muon_errors_match_torch():
    _errors_match(lambda m: m.optim.Muon([m.zeros(3, requires_grad=True)]))
    _errors_match(lambda m: m.optim.Muon([m.zeros(2, 2, 2, requires_grad=True)]))


# --- LBFGS --------------------------------------------------------------------------------------
def _rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + (100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def _lbfgs_run(mod, kwargs, steps, x0, two_params=False):
    if two_params:
        a = mod.tensor(x0[:2].copy(), requires_grad=True)
        b = mod.tensor(x0[2:].copy(), requires_grad=True)
        params = [a, b]

        def x_of():
            return mod.cat([a, b])
    else:
        x = mod.tensor(x0.copy(), requires_grad=True)
        params = [x]

        def x_of():
            return x
    opt = mod.optim.LBFGS(params, **kwargs)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = _rosenbrock(x_of())
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        st = opt.state[params[0]]
        out.append((float(loss), np.concatenate([p.detach().numpy().ravel() for p in params]),
                    st["func_evals"], st["n_iter"], calls[0]))
    return out, opt


LBFGS_CASES = [
    ({"lr": 0.5, "history_size": 3, "max_iter": 7}, 5),
    ({"lr": 0.2, "max_iter": 5, "max_eval": 4}, 4),
    ({"line_search_fn": "strong_wolfe"}, 4),
    ({"line_search_fn": "strong_wolfe", "history_size": 2, "max_eval": 9,
      "tolerance_change": 1e-6}, 4),
    ({"line_search_fn": "strong_wolfe", "max_iter": 4, "tolerance_grad": 1e-3}, 6),
    ({"lr": 0.1, "tolerance_grad": 1e5}, 2),  # optimal from the start: returns at once
]


@pytest.mark.parametrize("kwargs,steps", LBFGS_CASES, ids=[str(c[0]) for c in LBFGS_CASES])
@pytest.mark.parametrize("two_params", [False, True], ids=["one", "two"])
def test_lbfgs_rosenbrock_matches_torch(kwargs, steps, two_params):
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, eo = _lbfgs_run(engine, kwargs, steps, x0, two_params)
        t, to = _lbfgs_run(torch, kwargs, steps, x0, two_params)
    for (el, ex, *ecount), (tl, tx, *tcount) in zip(e, t):
        # float64; Rosenbrock amplifies last-bit differences of the ops along the run
        assert el == pytest.approx(tl, rel=1e-7, abs=1e-12)
        np.testing.assert_allclose(ex, tx, rtol=1e-7, atol=1e-10)
        assert ecount == tcount  # func_evals, n_iter, closure calls
    es, ts = eo.state_dict(), to.state_dict()
    assert es["param_groups"] == ts["param_groups"]
    assert sorted(es["state"][0]) == sorted(ts["state"][0])


def test_lbfgs_converges_with_strong_wolfe_and_round_trips():
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    out, _ = _lbfgs_run(engine, {"line_search_fn": "strong_wolfe", "history_size": 10}, 6, x0)
    assert out[-1][0] < 1e-9
    np.testing.assert_allclose(out[-1][1], np.ones(4), atol=1e-4)
    # state_dict round trip mid-run continues identically
    x = engine.tensor(x0.copy(), requires_grad=True)
    kw = {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 3}
    o1 = eoptim.LBFGS([x], **kw)

    def make_closure(o, v):
        def closure():
            o.zero_grad()
            loss = _rosenbrock(v)
            loss.backward()
            return loss
        return closure

    for _ in range(2):
        o1.step(make_closure(o1, x))
    y = x.detach().clone().requires_grad_(True)
    o2 = eoptim.LBFGS([y], **kw)
    o2.load_state_dict(copy.deepcopy(o1.state_dict()))
    for _ in range(2):
        o1.step(make_closure(o1, x))
        o2.step(make_closure(o2, y))
    np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())


def test_lbfgs_errors():
    a = engine.zeros(2, requires_grad=True)
    b = engine.zeros(2, requires_grad=True)
    _errors_match(lambda m: m.optim.LBFGS([{"params": [m.zeros(2, requires_grad=True)]},
                                           {"params": [m.zeros(2, requires_grad=True)]}]))
    opt = eoptim.LBFGS([a, b], line_search_fn="bogus")

    def closure():
        opt.zero_grad()
        loss = (a - 1).pow(2).sum() + b.sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    assert eoptim.LBFGS([a]).defaults["max_eval"] == 25
    assert eoptim.LBFGS([a], max_iter=7).defaults["max_eval"] == 8


# --- SparseAdam -------------------------------------------------------------------------------
def test_sparse_adam_dense_gradient_error_matches_torch():
    def make(m):
        p = m.zeros(3, requires_grad=True)
        opt = m.optim.SparseAdam([p])
        p.grad = m.ones(3)
        opt.step()

    _errors_match(make)
    p = engine.zeros(3, requires_grad=True)
    opt = eoptim.SparseAdam([p], lr=0.1)
    assert opt.step() is None  # no gradients: nothing to do
    assert repr(opt) == repr(torch.optim.SparseAdam([torch.zeros(3, requires_grad=True)], lr=0.1))


# --- parity sweep of the existing optimizers --------------------------------------------------
def _combos(**axes):
    keys = list(axes)
    for vals in itertools.product(*axes.values()):
        yield dict(zip(keys, vals))


def _sweep():
    cases = []
    for kw in _combos(momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True],
                      weight_decay=[0, 0.1], maximize=[False, True]):
        if kw["nesterov"] and (kw["momentum"] <= 0 or kw["dampening"] != 0):
            continue
        cases.append(("SGD", dict(lr=0.05, **kw)))
    for name in ("Adam", "AdamW"):
        for kw in _combos(amsgrad=[False, True], weight_decay=[0, 0.1], maximize=[False, True],
                          betas=[(0.9, 0.999), (0.5, 0.8)]):
            cases.append((name, {"lr": 0.05, **kw}))
    cases.append(("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
                           "amsgrad": True}))
    for kw in _combos(centered=[False, True], momentum=[0, 0.5], weight_decay=[0, 0.1],
                      maximize=[False, True]):
        cases.append(("RMSprop", dict(lr=0.01, alpha=0.9, **kw)))
    for kw in _combos(lr_decay=[0, 0.05], initial_accumulator_value=[0, 0.5],
                      weight_decay=[0, 0.1], maximize=[False, True]):
        cases.append(("Adagrad", dict(lr=0.1, **kw)))
    for kw in _combos(rho=[0.9, 0.5], weight_decay=[0, 0.1], maximize=[False, True]):
        cases.append(("Adadelta", dict(lr=1.0, **kw)))
    for kw in _combos(weight_decay=[0, 0.1], maximize=[False, True],
                      betas=[(0.9, 0.999), (0.3, 0.7)]):
        cases.append(("Adamax", dict(lr=0.05, **kw)))
    return cases


SWEEP = _sweep()


@pytest.mark.parametrize("case", SWEEP, ids=[_ids(c) for c in SWEEP])
def test_existing_optimizer_sweep_matches_torch(case, fused):
    name, kwargs = case
    _compare(name, kwargs, np.float64)
    _compare(name, kwargs, np.float32, steps=10)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}), ("Adam", {"amsgrad": True}),
    ("AdamW", {}), ("RMSprop", {"centered": True, "momentum": 0.3}),
    ("Adagrad", {"lr_decay": 0.01}), ("Adadelta", {}), ("Adamax", {}),
])
def test_existing_optimizer_param_groups_match_torch(name, kwargs, fused):
    groups = [((0, 1), {"lr": 0.02}), ((2,), {"lr": 0.1, "maximize": True,
                                             "weight_decay": 0.05})]
    eo, to = _compare(name, kwargs, np.float64, steps=10, groups=groups)
    assert repr(eo) == repr(to)


# --- schedulers sweep ------------------------------------------------------------------------
def _sched_opt(mod, kind):
    p = mod.zeros(2, requires_grad=True)
    q = mod.zeros(3, requires_grad=True)
    groups = [{"params": [p]}, {"params": [q], "lr": 0.05}]
    if kind == "adam":
        return mod.optim.Adam(groups, lr=0.1)
    if kind == "nadam":
        return mod.optim.NAdam(groups, lr=0.1)
    return mod.optim.SGD(groups, lr=0.1, momentum=0.9)


def _sched_trace(mod, L, make, kind="sgd", steps=30, metrics=None, epochs=None):
    opt = _sched_opt(mod, kind)
    sched = make(L, opt)
    out = []

    def record():
        row = [g["lr"] for g in opt.param_groups] + list(sched.get_last_lr())
        row += [g.get("betas", g.get("momentum")) for g in opt.param_groups]
        out.append(row)

    record()
    for k in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[k])
        elif epochs is not None:
            sched.step(epochs[k])
        else:
            sched.step()
        record()
    return out, sched


def _scale(x):
    return 1.0 / (1.0 + 0.1 * x)


SCHEDS = {
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "MultiplicativeLR-list": lambda L, o: L.MultiplicativeLR(o, [lambda e: 0.9,
                                                               lambda e: 0.95 + 0.001 * e]),
    "StepLR": lambda L, o: L.StepLR(o, step_size=4, gamma=0.7),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[2, 5, 5, 17], gamma=0.5),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=8),
    "ConstantLR-0": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=0),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.5, end_factor=0.9, total_iters=9),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.8),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=12, power=0.5),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=4, T_mult=3, eta_min=0.001),
    "CyclicLR-triangular": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2],
                                                   step_size_up=3),
    "CyclicLR-triangular2": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                    step_size_up=2, step_size_down=5,
                                                    mode="triangular2",
                                                    base_momentum=[0.7, 0.75],
                                                    max_momentum=0.95),
    "CyclicLR-exp_range": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                  mode="exp_range", gamma=0.9),
    "CyclicLR-custom-cycle": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                     step_size_up=3, scale_fn=_scale),
    "CyclicLR-custom-iter": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                    step_size_up=3, scale_fn=_scale,
                                                    scale_mode="iterations"),
    "CyclicLR-nomom": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                              cycle_momentum=False),
    "OneCycleLR-cos": lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=30),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.3], total_steps=31,
                                                   anneal_strategy="linear", pct_start=0.4),
    "OneCycleLR-three-cos": lambda L, o: L.OneCycleLR(o, max_lr=0.5, epochs=3,
                                                      steps_per_epoch=10, three_phase=True),
    "OneCycleLR-three-linear": lambda L, o: L.OneCycleLR(
        o, max_lr=0.5, total_steps=32, three_phase=True, anneal_strategy="linear",
        base_momentum=0.8, max_momentum=0.9, div_factor=5.0, final_div_factor=50.0),
    "OneCycleLR-nomom": lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=30,
                                                  cycle_momentum=False),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)],
        milestones=[2]),
    "SequentialLR-3": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.2, total_iters=4),
            L.CosineAnnealingLR(o, T_max=8), L.StepLR(o, step_size=3, gamma=0.5)],
        milestones=[4, 12]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.5, total_iters=4), L.ExponentialLR(o, gamma=0.9),
         L.MultiStepLR(o, milestones=[10, 20])]),
    "ChainedScheduler-opt": lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, start_factor=0.3, total_iters=5), L.StepLR(o, step_size=6)],
        optimizer=o),
    "SWALR-cos": lambda L, o: _swa(L).SWALR(o, swa_lr=0.02, anneal_epochs=5),
    "SWALR-linear": lambda L, o: _swa(L).SWALR(o, swa_lr=[0.02, 0.3], anneal_epochs=7,
                                               anneal_strategy="linear"),
    "SWALR-0": lambda L, o: _swa(L).SWALR(o, swa_lr=0.02, anneal_epochs=0),
}


def _swa(L):
    return tswa if L is tlrs else eswa


@pytest.mark.parametrize("name", list(SCHEDS))
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_scheduler_sequence_matches_torch(name, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, es = _sched_trace(engine, elrs, SCHEDS[name], kind)
        t, ts = _sched_trace(torch, tlrs, SCHEDS[name], kind)
    assert e == t  # exact: the same float operations in the same order
    esd, tsd = es.state_dict(), ts.state_dict()
    assert sorted(esd) == sorted(tsd)
    for k, tv in tsd.items():
        if isinstance(tv, (int, float, str, bool, list, dict)) and k != "_schedulers":
            assert esd[k] == tv, k


def test_scheduler_with_nadam_betas():
    for name in ["OneCycleLR-cos", "CyclicLR-triangular2"]:
        e, _ = _sched_trace(engine, elrs, SCHEDS[name], "nadam")
        t, _ = _sched_trace(torch, tlrs, SCHEDS[name], "nadam")
        assert e == t


METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.9, 0.93, 0.89999, 0.7, 0.7, 0.71, 0.72, 0.7,
           0.8, 0.9, 0.69, 0.69, 0.69, 0.69, 0.69, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56,
           0.57, 0.58]
PLATEAU = {
    "min-rel": {"patience": 1, "factor": 0.5},
    "min-abs-cooldown": {"patience": 1, "threshold": 0.02, "threshold_mode": "abs",
                         "cooldown": 3},
    "max-rel-minlrs": {"mode": "max", "patience": 0, "factor": 0.3, "min_lr": [0.02, 0.001]},
    "max-abs-eps": {"mode": "max", "patience": 2, "threshold": 0.05, "threshold_mode": "abs",
                    "min_lr": 0.004, "eps": 1e-2},
    "min-zero-patience": {"patience": 0, "factor": 0.9, "threshold": 0.0},
}


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    def make(L, o):
        return L.ReduceLROnPlateau(o, **PLATEAU[name])

    e, es = _sched_trace(engine, elrs, make, metrics=METRICS)
    t, ts = _sched_trace(torch, tlrs, make, metrics=METRICS)
    assert e == t
    esd, tsd = es.state_dict(), ts.state_dict()
    assert sorted(esd) == sorted(tsd)
    for k, tv in tsd.items():
        assert esd[k] == tv, k
    metrics_t = [engine.tensor(m) for m in METRICS]
    e2, _ = _sched_trace(engine, elrs, make, metrics=metrics_t)
    assert e2 == e


@pytest.mark.parametrize("name", ["ReduceLROnPlateau", "OneCycleLR-three-cos",
                                  "CyclicLR-custom-iter", "SequentialLR-3", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts", "CosineAnnealingLR",
                                  "PolynomialLR", "MultiplicativeLR-list", "SWALR-cos"])
def test_scheduler_state_dict_round_trip_matches_torch(name):
    if name == "ReduceLROnPlateau":
        def make(L, o):
            return L.ReduceLROnPlateau(o, patience=1, cooldown=1)
    else:
        make = SCHEDS[name]

    def run(mod, L):
        opt = _sched_opt(mod, "sgd")
        sched = make(L, opt)

        def step(k):
            opt.step()
            if name == "ReduceLROnPlateau":
                sched.step(METRICS[k])
            else:
                sched.step()

        for k in range(10):
            step(k)
        osd = copy.deepcopy(opt.state_dict())
        ssd = copy.deepcopy(sched.state_dict())
        opt2 = _sched_opt(mod, "sgd")
        sched2 = make(L, opt2)
        opt2.load_state_dict(osd)
        sched2.load_state_dict(ssd)
        out = []
        opt, sched = opt2, sched2
        for k in range(10, 25):
            step(k)
            out.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                        [g.get("momentum") for g in opt.param_groups]))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(engine, elrs) == run(torch, tlrs)


CLOSED = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[2, 4, 4], gamma=0.5),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.5, total_iters=4),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=6),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=5),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3,
                                                                              T_mult=2),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.9 ** e),
}


@pytest.mark.parametrize("name", list(CLOSED))
def test_step_with_epoch_uses_closed_form_like_torch(name):
    epochs = [1, 2, 2, 5, 3, 7, 0, 4, 9, 8, 1.5 if name == "CosineAnnealingWarmRestarts" else 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, _ = _sched_trace(engine, elrs, CLOSED[name], steps=len(epochs), epochs=epochs)
        t, _ = _sched_trace(torch, tlrs, CLOSED[name], steps=len(epochs), epochs=epochs)
    assert e == t


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "ExponentialLR", "LinearLR",
                                  "OneCycleLR-cos", "CyclicLR-triangular"])
def test_scheduler_resume_with_last_epoch_matches_torch(name):
    make = SCHEDS[name]

    def run(mod, L):
        opt = _sched_opt(mod, "sgd")
        make(L, opt)  # sets initial_lr (and OneCycleLR's max_lr / min_lr)
        for g in opt.param_groups:
            g["lr"] = g["initial_lr"]
        sched = _with_last_epoch(name, L, opt)  # the same scheduler, resumed at epoch 5
        out = [sched.get_last_lr()]
        for _ in range(8):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(engine, elrs) == run(torch, tlrs)


def _with_last_epoch(name, L, o):
    le = 5
    return {
        "StepLR": lambda: L.StepLR(o, step_size=4, gamma=0.7, last_epoch=le),
        "CosineAnnealingLR": lambda: L.CosineAnnealingLR(o, T_max=6, eta_min=0.01,
                                                         last_epoch=le),
        "ExponentialLR": lambda: L.ExponentialLR(o, gamma=0.8, last_epoch=le),
        "LinearLR": lambda: L.LinearLR(o, start_factor=0.5, end_factor=0.9, total_iters=9,
                                       last_epoch=le),
        "OneCycleLR-cos": lambda: L.OneCycleLR(o, max_lr=0.5, total_steps=30, last_epoch=le),
        "CyclicLR-triangular": lambda: L.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2],
                                                  step_size_up=3, last_epoch=le),
    }[name]()


RESUME = {
    "MultiStepLR": lambda L, o, le: L.MultiStepLR(o, [2, 7, 9], 0.5, last_epoch=le),
    "ConstantLR": lambda L, o, le: L.ConstantLR(o, 0.5, 8, last_epoch=le),
    "PolynomialLR": lambda L, o, le: L.PolynomialLR(o, 10, 2.0, last_epoch=le),
    "CosineAnnealingWarmRestarts": lambda L, o, le: L.CosineAnnealingWarmRestarts(
        o, 3, 2, last_epoch=le),
    "LambdaLR": lambda L, o, le: L.LambdaLR(o, lambda e: 0.9 ** e, last_epoch=le),
    "MultiplicativeLR": lambda L, o, le: L.MultiplicativeLR(o, lambda e: 0.9, last_epoch=le),
    "CyclicLR": lambda L, o, le: L.CyclicLR(o, 0.01, 0.1, 3, mode="triangular2",
                                            last_epoch=le),
    "OneCycleLR-three": lambda L, o, le: L.OneCycleLR(o, 0.5, total_steps=30,
                                                      three_phase=True, last_epoch=le),
    "SWALR": lambda L, o, le: _swa(L).SWALR(o, 0.02, 5, last_epoch=le),
}


@pytest.mark.parametrize("name", list(RESUME))
def test_more_schedulers_resume_with_last_epoch_match_torch(name):
    def run(mod, L):
        opt = _sched_opt(mod, "sgd")
        RESUME[name](L, opt, -1)  # a fresh run sets initial_lr
        sched = RESUME[name](L, opt, 4)
        out = [sched.get_last_lr()]
        for _ in range(10):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr() + [g["momentum"] for g in opt.param_groups])
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(engine, elrs) == run(torch, tlrs)


SCHED_BAD = [
    lambda L, o: L.StepLR(o, step_size=2, last_epoch=3),  # no initial_lr
    lambda L, o: L.ConstantLR(o, factor=1.5),
    lambda L, o: L.LinearLR(o, start_factor=0),
    lambda L, o: L.LinearLR(o, end_factor=1.5),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="a"),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=0),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=2),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-2),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
    lambda L, o: L.OneCycleLR(o, max_lr=[0.1], total_steps=10),
    lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=0.2, mode="bogus"),
    lambda L, o: L.ReduceLROnPlateau(o, factor=1.0),
    lambda L, o: L.ReduceLROnPlateau(o, mode="avg"),
    lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="pct"),
    lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda L, o: L.LambdaLR(o, [lambda e: 1.0]),
    lambda L, o: L.SequentialLR(o, [], milestones=[]),
    lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]),
    lambda L, o: L.ChainedScheduler([]),
    lambda L, o: L.StepLR("not an optimizer", 2),
    lambda L, o: _swa(L).SWALR(o, swa_lr=0.1, anneal_strategy="exp"),
    lambda L, o: _swa(L).SWALR(o, swa_lr=0.1, anneal_epochs=-1),
]


@pytest.mark.parametrize("i", range(len(SCHED_BAD)))
def test_scheduler_errors_match_torch(i):
    _errors_match(lambda m: SCHED_BAD[i](tlrs if m is torch else elrs, _sched_opt(m, "sgd")))


def test_cyclic_lr_needs_momentum_error_matches_torch():
    _errors_match(lambda m: (tlrs if m is torch else elrs).CyclicLR(
        m.optim.Adagrad([m.zeros(2, requires_grad=True)]), base_lr=0.1, max_lr=0.2))


# --- swa_utils ----------------------------------------------------------------------------------
def _net(mod):
    mod.manual_seed(0)
    return mod.nn.Sequential(mod.nn.Linear(3, 5), mod.nn.BatchNorm1d(5), mod.nn.ReLU(),
                             mod.nn.Linear(5, 2))


def _twin_nets():
    tm = _net(torch)
    em = _net(engine)
    em.load_state_dict({k: engine.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    return tm, em


AVG_MODES = {
    "default": {},
    "use_buffers": {"use_buffers": True},
    "ema_avg_fn": {"avg_fn": ("get_ema_avg_fn", 0.9)},
    "swa_avg_fn": {"avg_fn": ("get_swa_avg_fn",)},
    "ema_multi": {"multi_avg_fn": ("get_ema_multi_avg_fn", 0.8)},
    "swa_multi": {"multi_avg_fn": ("get_swa_multi_avg_fn",)},
    "ema_multi_buffers": {"multi_avg_fn": ("get_ema_multi_avg_fn", 0.5), "use_buffers": True},
}


@pytest.mark.parametrize("mode", list(AVG_MODES))
def test_averaged_model_matches_torch(mode):
    tm, em = _twin_nets()

    def build(S, model):
        kw = {}
        for k, v in AVG_MODES[mode].items():
            kw[k] = getattr(S, v[0])(*v[1:]) if isinstance(v, tuple) else v
        return S.AveragedModel(model, **kw)

    ta, ea = build(tswa, tm), build(eswa, em)
    to = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.5)
    eo = eoptim.SGD(em.parameters(), lr=0.1, momentum=0.5)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.standard_normal((8, 3)).astype(np.float32)
        for m, o, mod in ((tm, to, torch), (em, eo, engine)):
            o.zero_grad()
            m(mod.tensor(x)).pow(2).sum().backward()
            o.step()
        ta.update_parameters(tm)
        ea.update_parameters(em)
    tsd, esd = ta.state_dict(), ea.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        assert str(esd[k].dtype) == str(tsd[k].dtype), k
        np.testing.assert_allclose(esd[k].numpy(), tsd[k].numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    ta.eval()
    ea.eval()
    np.testing.assert_allclose(ea(engine.tensor(x)).detach().numpy(),
                               ta(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert repr(ea) == repr(ta)


def test_avg_fns_match_torch_and_validate():
    a = np.array([1.0, 2.0, -3.0])
    b = np.array([0.5, -1.0, 4.0])
    for name, args in [("get_ema_avg_fn", (0.7,)), ("get_swa_avg_fn", ())]:
        ev = getattr(eswa, name)(*args)(engine.tensor(a), engine.tensor(b), engine.tensor(3))
        tv = getattr(tswa, name)(*args)(torch.tensor(a), torch.tensor(b), torch.tensor(3))
        np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=1e-12)
    for name, args in [("get_ema_multi_avg_fn", (0.7,)), ("get_swa_multi_avg_fn", ())]:
        for n in (3, "t"):
            el, tl = [engine.tensor(a)], [torch.tensor(a)]
            getattr(eswa, name)(*args)(el, [engine.tensor(b)],
                                       engine.tensor(3) if n == "t" else n)
            getattr(tswa, name)(*args)(tl, [torch.tensor(b)],
                                       torch.tensor(3) if n == "t" else n)
            np.testing.assert_allclose(el[0].numpy(), tl[0].numpy(), rtol=1e-12)
    # integer tensors take the non-lerp branch (PyTorch's SWA one raises for them)
    el, tl = [engine.tensor([10, 20])], [torch.tensor([10, 20])]
    eswa.get_ema_multi_avg_fn(0.7)(el, [engine.tensor([14, 0])], 3)
    tswa.get_ema_multi_avg_fn(0.7)(tl, [torch.tensor([14, 0])], 3)
    assert el[0].tolist() == tl[0].tolist()
    for name in ("get_ema_avg_fn", "get_ema_multi_avg_fn"):
        _errors_match(lambda m, name=name: getattr(tswa if m is torch else eswa, name)(1.5))
    _errors_match(lambda m: (tswa if m is torch else eswa).AveragedModel(
        m.nn.Linear(2, 2), avg_fn=lambda *a: a[0], multi_avg_fn=lambda *a: None))


def test_update_bn_matches_torch():
    tm, em = _twin_nets()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((6, 3)).astype(np.float32) * (1 + i) for i in range(4)]
    tm.eval()
    em.eval()
    tswa.update_bn([(torch.tensor(x), 0) for x in batches], tm)
    eswa.update_bn([(engine.tensor(x), 0) for x in batches], em)
    assert not em.training and not tm.training
    for k, tv in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[k].numpy(), tv.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
    assert em[1].momentum == tm[1].momentum == 0.1
    # plain tensors as batches, and the averaged model of a training loop
    ea = eswa.AveragedModel(em)
    ta = tswa.AveragedModel(tm)
    ea.update_parameters(em)
    ta.update_parameters(tm)
    eswa.update_bn([engine.tensor(x) for x in batches[:2]], ea, device="cpu")
    tswa.update_bn([torch.tensor(x) for x in batches[:2]], ta, device="cpu")
    for k, tv in ta.state_dict().items():
        np.testing.assert_allclose(ea.state_dict()[k].numpy(), tv.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
    # no BatchNorm: nothing happens
    lin = engine.nn.Linear(2, 2)
    eswa.update_bn([engine.ones(1, 2)], lin)


def test_swa_training_loop_matches_torch():
    """The canonical SWA recipe: CosineAnnealingLR, then SWALR + AveragedModel."""
    tm, em = _twin_nets()
    rng = np.random.default_rng(5)
    data = [rng.standard_normal((8, 3)).astype(np.float32) for _ in range(3)]

    def run(mod, model, S, L):
        opt = mod.optim.SGD(model.parameters(), lr=0.1)
        swa_model = S.AveragedModel(model)
        sched = L.CosineAnnealingLR(opt, T_max=10)
        swa_sched = S.SWALR(opt, swa_lr=0.05, anneal_epochs=2)
        lrs = []
        for epoch in range(8):
            for x in data:
                opt.zero_grad()
                model(mod.tensor(x)).pow(2).mean().backward()
                opt.step()
            if epoch >= 4:
                swa_model.update_parameters(model)
                swa_sched.step()
            else:
                sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        S.update_bn([mod.tensor(x) for x in data], swa_model)
        return lrs, {k: v.detach().numpy() for k, v in swa_model.state_dict().items()}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el, esd = run(engine, em, eswa, elrs)
        tl, tsd = run(torch, tm, tswa, tlrs)
    assert el == pytest.approx(tl, rel=1e-12)
    for k in tsd:
        np.testing.assert_allclose(esd[k], tsd[k], rtol=1e-4, atol=1e-5, err_msg=k)


# --- swap_in_optimizer_params_and_state ----------------------------------------------------------
def test_swap_in_optimizer_params_and_state_matches_torch():
    def run(m):
        p = m.tensor([1.0, 2.0], requires_grad=True)
        opt = m.optim.Adam([p], lr=0.1, amsgrad=True)
        p.grad = m.tensor([0.5, -1.0])
        opt.step()
        sd = opt.state_dict()
        swap = {"state": {0: {k: v.clone() for k, v in sd["state"][0].items()}},
                "param_groups": [dict(sd["param_groups"][0], lr=0.5)]}
        q = m.tensor([5.0, 5.0], requires_grad=True)
        q.grad = m.tensor([1.0, 3.0])
        with m.optim.swap_in_optimizer_params_and_state(opt, {"w": q}, swap):
            assert opt.param_groups[0]["params"][0] is q and opt.param_groups[0]["lr"] == 0.5
            opt.step()
        assert opt.param_groups[0]["params"][0] is p and opt.param_groups[0]["lr"] == 0.1
        return (q.tolist(), p.tolist(), swap["state"][0]["exp_avg"].tolist(),
                opt.state[p]["step"].item(), swap["state"][0]["step"].item())

    for a, b in zip(run(engine), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    bad = [
        lambda m, o, q: {"state": {}, "param_groups": [{"params": [0]}]},
        lambda m, o, q: {"state": [], "param_groups": []},
        lambda m, o, q: {"state": {0: 1}, "param_groups": []},
        lambda m, o, q: {"state": {}, "param_groups": {}},
        lambda m, o, q: {"state": {}, "param_groups": []},
        lambda m, o, q: {"state": {5: {}}, "param_groups": o.state_dict()["param_groups"]},
        lambda m, o, q: "nope",
    ]
    for make in bad:
        def go(m, make=make):
            p = m.zeros(2, requires_grad=True)
            opt = m.optim.SGD([p], lr=0.1, momentum=0.9)
            p.grad = m.ones(2)
            opt.step()
            q = m.zeros(2, requires_grad=True)
            with m.optim.swap_in_optimizer_params_and_state(opt, {"w": q}, make(m, opt, q)):
                pass
        _errors_match(go)
    _errors_match(lambda m: m.optim.swap_in_optimizer_params_and_state(
        m.optim.SGD([m.zeros(1, requires_grad=True)]), {}, {}).__enter__())
