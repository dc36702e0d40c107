"""Losses: functional + module forms against torch (values, input grads), every reduction and
option; error messages for bad targets; gradchecks that run without torch."""

import math
import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine import nn
from engine.autograd import gradcheck

RNG = np.random.default_rng(1234)
X = RNG.standard_normal((6, 5))
Y = RNG.integers(0, 5, 6)
Y_IGN = Y.copy()
Y_IGN[2] = -100
W = RNG.random(5) + 0.1
X4 = RNG.standard_normal((2, 5, 3, 2))
Y4 = RNG.integers(0, 5, (2, 3, 2))
Y4[0, 1, 1] = -100
P = RNG.random((6, 5))
P /= P.sum(1, keepdims=True)
PR = RNG.random((4, 3)) * 0.98 + 0.01
TG = RNG.random((4, 3))
REDS = ("mean", "sum", "none")


def _run(fe, ft, xs, targets, kw, torch):
    ein = [engine.tensor(x, requires_grad=True) for x in xs]
    tin = [torch.tensor(x, requires_grad=True) for x in xs]
    ye = fe(*ein, *[engine.tensor(t) for t in targets], **kw)
    yt = ft(*tin, *[torch.tensor(t) for t in targets], **kw)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-9)
    g = np.random.default_rng(0).standard_normal(tuple(yt.shape))
    ye.backward(engine.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ein, tin):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-9)


def _weighted(name, w):
    def fe(a, b, **k):
        return getattr(F, name)(a, b, weight=engine.tensor(w), **k)
    return fe


def _tweighted(name, w, torch):
    def ft(a, b, **k):
        return getattr(torch.nn.functional, name)(a, b, weight=torch.tensor(w), **k)
    return ft


CASES = [  # (id, functional name, inputs, targets, kwargs, weighted)
    ("ce", "cross_entropy", [X], [Y_IGN], {}, False),
    ("ce_ls", "cross_entropy", [X], [Y_IGN], {"label_smoothing": 0.2}, False),
    ("ce_w", "cross_entropy", [X], [Y_IGN], {}, True),
    ("ce_w_ls", "cross_entropy", [X], [Y_IGN], {"label_smoothing": 0.25}, True),
    ("ce_ign3", "cross_entropy", [X], [Y], {"ignore_index": 3}, True),
    ("ce_probs", "cross_entropy", [X], [P], {}, False),
    ("ce_probs_w_ls", "cross_entropy", [X], [P], {"label_smoothing": 0.1}, True),
    ("ce_4d_w_ls", "cross_entropy", [X4], [Y4], {"label_smoothing": 0.3}, True),
    ("ce_1d", "cross_entropy", [X[0]], [np.array(3)], {"label_smoothing": 0.3}, False),
    ("nll", "nll_loss", [X], [Y_IGN], {}, False),
    ("nll_w", "nll_loss", [X], [Y_IGN], {}, True),
    ("nll_4d", "nll_loss", [X4], [Y4], {}, True),
    ("bce", "binary_cross_entropy", [PR], [TG], {}, False),
    ("bce_w", "binary_cross_entropy", [PR], [TG], {}, True),
    ("bcel", "binary_cross_entropy_with_logits", [PR * 40 - 20], [TG], {}, False),
    ("bcel_w", "binary_cross_entropy_with_logits", [PR * 40 - 20], [TG], {}, True),
    ("mse", "mse_loss", [X], [X * 0.5], {}, False),
    ("l1", "l1_loss", [X], [X * 0.1], {}, False),
    ("sl1", "smooth_l1_loss", [X], [X * 0.1], {"beta": 0.5}, False),
    ("sl1_b0", "smooth_l1_loss", [X], [X * 0.1], {"beta": 0.0}, False),
    ("huber", "huber_loss", [X], [X * 0.1], {"delta": 0.5}, False),
    ("kl", "kl_div", [np.log(PR)], [TG], {}, False),
    ("kl_lt", "kl_div", [np.log(PR)], [np.log(TG)], {"log_target": True}, False),
    ("cos_emb", "cosine_embedding_loss", [X, X[::-1].copy()],
     [np.array([1, -1, 1, -1, 1, -1])], {"margin": 0.1}, False),
    ("soft_margin", "soft_margin_loss", [X], [np.sign(X[::-1].copy())], {}, False),
    ("hinge", "hinge_embedding_loss", [X], [np.sign(X[::-1].copy())], {}, False),
]


@pytest.mark.parametrize("reduction", REDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_functional_vs_torch(case, reduction):
    torch = pytest.importorskip("torch")
    _, name, xs, ts, kw, weighted = case
    kw = dict(kw, reduction=reduction)
    if weighted:
        w = W if name in ("cross_entropy", "nll_loss") else RNG.random(xs[0].shape[-1]) + 0.5
        fe, ft = _weighted(name, w), _tweighted(name, w, torch)
    else:
        fe, ft = getattr(F, name), getattr(torch.nn.functional, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(fe, ft, xs, ts, kw, torch)


def test_bce_with_logits_pos_weight_and_extremes():
    torch = pytest.importorskip("torch")
    x = np.array([[-200.0, -30.0, 0.0], [1e-3, 30.0, 200.0]])
    t = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0]])
    pw = np.array([1.0, 2.5, 0.5])
    for red in REDS:
        _run(lambda a, b, **k: F.binary_cross_entropy_with_logits(
            a, b, pos_weight=engine.tensor(pw), **k),
            lambda a, b, **k: torch.nn.functional.binary_cross_entropy_with_logits(
                a, b, pos_weight=torch.tensor(pw), **k), [x], [t], {"reduction": red}, torch)


def test_bce_log_clamp_like_torch():
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 1.0, 0.5, 1e-50])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    for red in REDS:
        _run(F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy, [x], [t],
             {"reduction": red}, torch)
    assert F.binary_cross_entropy(engine.tensor([0.0]), engine.tensor([1.0])).item() == 100.0


def test_cross_entropy_large_logits_stable():
    x = engine.tensor([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, engine.tensor([0, 0]))
    assert math.isfinite(loss.item())
    assert abs(loss.item() - 1e4) < 1e-3
    loss.backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_all_ignored_mean_is_nan():
    loss = F.cross_entropy(engine.randn(3, 4), engine.tensor([-100, -100, -100]))
    assert math.isnan(loss.item())


MODULES = [
    (lambda m: m.MSELoss, "mse_loss", {}),
    (lambda m: m.L1Loss, "l1_loss", {}),
    (lambda m: m.SmoothL1Loss, "smooth_l1_loss", {"beta": 0.3}),
    (lambda m: m.HuberLoss, "huber_loss", {"delta": 0.3}),
    (lambda m: m.KLDivLoss, "kl_div", {"log_target": False}),
]


@pytest.mark.parametrize("reduction", REDS + ("legacy",))
def test_modules_match_functional(reduction):
    a, b = engine.tensor(X), engine.tensor(X * 0.3)
    kw = {"reduction": reduction} if reduction != "legacy" else {}
    for get, fname, extra in MODULES:
        m = get(nn)(**kw, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(m(a, b).numpy(),
                                       getattr(F, fname)(a, b, **kw, **extra).numpy())
    w = engine.tensor(W)
    ce = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1, **kw)
    ref = F.cross_entropy(a, engine.tensor(Y), weight=w, ignore_index=1, label_smoothing=0.1, **kw)
    np.testing.assert_allclose(ce(a, engine.tensor(Y)).numpy(), ref.numpy())
    assert list(ce.state_dict()) == ["weight"]  # class weights are buffers, as in torch
    assert repr(ce) == "CrossEntropyLoss()"


def test_legacy_size_average_reduce():
    a, b = engine.tensor(X), engine.tensor(X * 0.3)
    with pytest.warns(UserWarning):
        m = nn.MSELoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning):
        v = F.mse_loss(a, b, size_average=False)
    np.testing.assert_allclose(v.numpy(), F.mse_loss(a, b, reduction="sum").numpy())


def test_bce_modules_vs_torch():
    torch = pytest.importorskip("torch")
    pw = RNG.random(3) + 0.5
    e = nn.BCEWithLogitsLoss(pos_weight=engine.tensor(pw))(engine.tensor(X[:4, :3]),
                                                           engine.tensor(TG))
    t = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))(torch.tensor(X[:4, :3]),
                                                                torch.tensor(TG))
    np.testing.assert_allclose(e.item(), t.item(), rtol=1e-10)
    e = nn.BCELoss(reduction="sum")(engine.tensor(PR), engine.tensor(TG))
    t = torch.nn.BCELoss(reduction="sum")(torch.tensor(PR), torch.tensor(TG))
    np.testing.assert_allclose(e.item(), t.item(), rtol=1e-10)


def test_float32_mlp_logits_vs_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((512, 10)).astype(np.float32) * 3
    y = RNG.integers(0, 10, 512)
    xe = engine.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    le = F.cross_entropy(xe, engine.tensor(y))
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(y))
    le.backward()
    lt.backward()
    assert abs(le.item() - lt.item()) < 1e-5
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-7)


# ---- errors ------------------------------------------------------------------------------
def test_target_out_of_range_errors():
    x = engine.randn(4, 3)
    with pytest.raises(IndexError, match=r"Target 3 is out of bounds.*cross_entropy|nll_loss"):
        F.cross_entropy(x, engine.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.nll_loss(x, engine.tensor([0, -1, 2, 1]))
    with pytest.raises(IndexError):
        nn.CrossEntropyLoss()(x, engine.tensor([0, 1, 2, 7]))
    with pytest.raises(IndexError):
        F.cross_entropy(engine.randn(2, 3, 4), engine.tensor([[0, 1, 2, 5], [0, 0, 0, 0]]))


def test_target_shape_and_dtype_errors():
    x = engine.randn(4, 3)
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target "
                                         r"batch_size \(3\)"):
        F.cross_entropy(x, engine.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="class-probability targets must have the input's"):
        F.cross_entropy(x, engine.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"nll_loss: expected target of integer dtype.*float"):
        F.nll_loss(x, engine.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        F.nll_loss(x, engine.tensor([0, 1, 2, 1]), weight=engine.ones(4))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(engine.rand(3), engine.rand(3, 1))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(engine.tensor([1.5]), engine.tensor([1.0]))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(engine.randn(3, 1), engine.randn(3))


# ---- gradchecks (no torch needed) -------------------------------------------------------
def _g(a):
    return engine.tensor(a, dtype=engine.float64, requires_grad=True)


def test_gradcheck_cross_entropy_variants():
    y = engine.tensor(Y_IGN[:4])
    w = engine.tensor(W)
    x = _g(X[:4])
    assert gradcheck(lambda a: F.cross_entropy(a, y, weight=w, label_smoothing=0.1), (x,))
    assert gradcheck(lambda a: F.cross_entropy(a, engine.tensor(P[:4]), reduction="sum"), (x,))
    assert gradcheck(lambda a: F.nll_loss(a, y, reduction="none"), (x,))


def test_gradcheck_bce_family():
    t = engine.tensor(TG)
    assert gradcheck(lambda a: F.binary_cross_entropy(a, t), (_g(PR),))
    assert gradcheck(lambda a: F.binary_cross_entropy_with_logits(
        a, t, pos_weight=engine.tensor([1.0, 2.0, 3.0])), (_g(PR * 6 - 3),))
    assert gradcheck(lambda a: F.kl_div(a, t, reduction="batchmean"), (_g(np.log(PR)),))
    assert gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, engine.tensor([1, -1, 1, -1]),
                                                          margin=-0.5),
                     (_g(X[:4]), _g(X[1:5])))
    assert gradcheck(lambda a: F.huber_loss(a, engine.tensor(X[:4] * 0.1), delta=0.4),
                     (_g(X[:4]),))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_cross_entropy_fused_path_matches_torch(reduction, layout):
    """(N, C) logits with class indices take the fused kernel (kernels/cpu/loss.py)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 5)).astype(np.float32) * 4
    if layout == "transposed":
        x = np.ascontiguousarray(x.T).T  # same values, column-major strides
    y = rng.integers(0, 5, 7).astype(np.int32)
    ex = engine.tensor(x, requires_grad=True)
    ein = ex if layout == "contiguous" else ex.t().contiguous().t()
    tx = torch.tensor(x, requires_grad=True)
    el = engine.nn.functional.cross_entropy(ein, engine.tensor(y), reduction=reduction)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(y).long(), reduction=reduction)
    assert el.grad_fn.name() == "NllLossBackward0"
    np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(tuple(tl.shape)).astype(np.float32)
    el.backward(engine.tensor(g))
    tl.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_cross_entropy_fused_detects_inplace_and_bad_target():
    x = engine.randn(3, 4, requires_grad=True)
    h = x * 1
    loss = engine.nn.functional.cross_entropy(h, engine.tensor([0, 1, 3]))
    with engine.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    with pytest.raises(IndexError, match="out of bounds"):
        engine.nn.functional.cross_entropy(engine.randn(3, 4), engine.tensor([0, 4, 1]))
