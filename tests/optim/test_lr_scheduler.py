"""engine.optim.lr_scheduler: lr (and momentum) sequences equal to PyTorch's."""

import copy
import math
import warnings

import pytest

import engine
import engine.optim as eoptim
from engine.optim import lr_scheduler as elrs

STEPS = 40


def _opt(mod, optim, kind="sgd"):
    p = mod.zeros(2, requires_grad=True)
    q = mod.zeros(3, requires_grad=True)
    groups = [{"params": [p]}, {"params": [q], "lr": 0.05}]
    if kind == "adam":
        return optim.Adam(groups, lr=0.1)
    return optim.SGD(groups, lr=0.1, momentum=0.9)


def _trace(mod, optim, lrs_mod, make, kind="sgd", steps=STEPS, metrics=None):
    opt = _opt(mod, optim, kind)
    sched = make(lrs_mod, opt)
    out = []

    def record():
        row = [g["lr"] for g in opt.param_groups] + list(sched.get_last_lr())
        if kind == "adam":
            row += [g["betas"] for g in opt.param_groups]
        else:
            row += [g["momentum"] for g in opt.param_groups]
        out.append(row)

    record()
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        record()
    return out


SCHEDULERS = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-nomin": lambda L, o: L.CosineAnnealingLR(o, T_max=7),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e + 0.01 * (e % 3)),
    "LambdaLR-list": lambda L, o: L.LambdaLR(o, lr_lambda=[lambda e: 1 / (e + 1),
                                                            lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lr_lambda=lambda e: 0.97),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=12),
    "LinearLR-down": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                             total_iters=20),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=6),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=25, power=2.0),
    "OneCycleLR-cos": lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=0.8, total_steps=STEPS + 5,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three": lambda L, o: L.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=10,
                                                  three_phase=True, div_factor=10.0,
                                                  final_div_factor=100.0),
    "OneCycleLR-nomom": lambda L, o: L.OneCycleLR(o, max_lr=0.8, total_steps=STEPS,
                                                  cycle_momentum=False),
    "CyclicLR-tri2": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                             step_size_down=6, mode="triangular2"),
    "CyclicLR-exp": lambda L, o: L.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1,
                                            step_size_up=5, mode="exp_range", gamma=0.97),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
            L.CosineAnnealingLR(o, T_max=20, eta_min=0.001)], milestones=[5]),
    "SequentialLR-3": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.5, total_iters=3), L.ExponentialLR(o, gamma=0.9),
            L.StepLR(o, step_size=4)], milestones=[4, 15]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.5, total_iters=4), L.ExponentialLR(o, gamma=0.95)]),
}


def _torch():
    torch = pytest.importorskip("torch")
    from torch.optim import lr_scheduler as tlrs
    return torch, tlrs


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    torch, tlrs = _torch()
    make = SCHEDULERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = _trace(engine, eoptim, elrs, make)
        t = _trace(torch, torch.optim, tlrs, make)
    assert e == t  # exact: same float operations in the same order


@pytest.mark.parametrize("name", ["OneCycleLR-cos", "OneCycleLR-three", "CyclicLR-tri2"])
def test_momentum_cycling_adam_betas_match_torch(name):
    torch, tlrs = _torch()
    make = SCHEDULERS[name]
    e = _trace(engine, eoptim, elrs, make, kind="adam")
    t = _trace(torch, torch.optim, tlrs, make, kind="adam")
    assert e == t


METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.9, 0.93, 0.89999, 0.7, 0.7, 0.71, 0.72, 0.7,
           0.8, 0.9, 0.69, 0.69, 0.69, 0.69, 0.69, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56,
           0.57, 0.58, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]

PLATEAU = {
    "min-rel": {"patience": 2, "factor": 0.5},
    "min-abs": {"patience": 1, "threshold": 0.05, "threshold_mode": "abs", "cooldown": 2},
    "max-rel": {"mode": "max", "patience": 2, "factor": 0.3, "min_lr": [0.01, 0.002]},
    "max-abs": {"mode": "max", "patience": 0, "threshold": 0.01, "threshold_mode": "abs",
                    "min_lr": 0.004, "eps": 1e-3},
}


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    torch, tlrs = _torch()
    kw = PLATEAU[name]

    def make(L, o):
        return L.ReduceLROnPlateau(o, **kw)

    e = _trace(engine, eoptim, elrs, make, metrics=METRICS)
    t = _trace(torch, torch.optim, tlrs, make, metrics=METRICS)
    assert e == t


def test_reduce_lr_on_plateau_numpy_free_reference():
    opt = _opt(engine, eoptim)
    s = elrs.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for m in [1.0, 1.0, 1.0]:  # better, bad, bad -> reduce on the 2nd bad epoch
        s.step(m)
    assert s.get_last_lr() == [0.05, 0.025]
    s.step(engine.tensor(0.5))  # tensors are accepted as metrics
    assert s.best == 0.5 and s.num_bad_epochs == 0


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR-three",
                                  "SequentialLR", "CosineAnnealingWarmRestarts-mult",
                                  "LambdaLR", "CyclicLR-exp"])
def test_state_dict_resume(name):
    make = SCHEDULERS[name]
    opt = _opt(engine, eoptim)
    sched = make(elrs, opt)
    for _ in range(12):
        opt.step()
        sched.step()
    osd = copy.deepcopy(opt.state_dict())
    ssd = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in ssd
    ref = []
    for _ in range(15):
        opt.step()
        sched.step()
        ref.append(sched.get_last_lr())
    opt2 = _opt(engine, eoptim)
    sched2 = make(elrs, opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    got = []
    for _ in range(15):
        opt2.step()
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == ref


def test_closed_forms_without_torch():
    opt = _opt(engine, eoptim)
    s = elrs.StepLR(opt, step_size=3, gamma=0.1)
    lrs = []
    for _ in range(10):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
    expect = [0.1 * 0.1 ** ((e + 1) // 3) for e in range(10)]
    assert lrs == pytest.approx(expect, rel=1e-12)

    opt = _opt(engine, eoptim)
    s = elrs.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for e in range(1, 11):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi * e / 10)),
                                                   abs=1e-12)


def test_initial_lr_and_base_lrs():
    opt = _opt(engine, eoptim)
    s = elrs.ExponentialLR(opt, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert s.base_lrs == [0.1, 0.05]
    assert s.last_epoch == 0
    with pytest.raises(KeyError, match="initial_lr"):
        elrs.StepLR(_opt(engine, eoptim), step_size=2, last_epoch=3)
    assert elrs._LRScheduler is not None and issubclass(elrs._LRScheduler, elrs.LRScheduler)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        elrs.StepLR(object(), step_size=2)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _opt(engine, eoptim)
    s = elrs.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt = _opt(engine, eoptim)
    s = elrs.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


def test_onecycle_overstep_raises():
    opt = _opt(engine, eoptim)
    s = elrs.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    opt.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()


def test_scheduler_with_tensor_lr():
    p = engine.zeros(2, requires_grad=True)
    opt = eoptim.Adam([p], lr=engine.tensor(0.1))
    s = elrs.ExponentialLR(opt, gamma=0.5)
    opt.step()
    s.step()
    assert isinstance(opt.param_groups[0]["lr"], engine.Tensor)
    assert opt.param_groups[0]["lr"].item() == pytest.approx(0.05)
