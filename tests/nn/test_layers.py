"""Layers, activations, nn.functional helpers, nn.init and nn.utils: against torch when
installed (weights copied through state_dict -> numpy), numpy/gradcheck otherwise."""

import math
import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine import nn
from engine.autograd import gradcheck

RNG = np.random.default_rng(7)


def _copy_weights(emod, tmod):
    emod.load_state_dict({k: engine.tensor(v.detach().numpy()) for k, v in
                          tmod.state_dict().items()})


def _check_module(emod, tmod, *inputs, atol=1e-9, copy=True):
    """Forward value, input grads and parameter grads equal torch's."""
    torch = pytest.importorskip("torch")
    if copy:
        _copy_weights(emod, tmod)
    ein = [engine.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    tin = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    ye, yt = emod(*ein), tmod(*tin)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=atol, rtol=1e-6)
    g = RNG.standard_normal(tuple(yt.shape)).astype(inputs[0].dtype if inputs[0].dtype.kind ==
                                                     "f" else np.float64)
    ye.backward(engine.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ein, tin):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-6)
    tp = dict(tmod.named_parameters())
    for n, p in emod.named_parameters():
        if tp[n].grad is None:
            assert p.grad is None or float(p.grad.abs().sum()) == 0
        else:
            np.testing.assert_allclose(p.grad.numpy(), tp[n].grad.numpy(), atol=atol, rtol=1e-6)


ACTS = [
    ("ReLU", (), {}), ("ReLU6", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (), {"alpha": 0.7}),
    ("SELU", (), {}), ("CELU", (), {"alpha": 1.3}), ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}), ("Mish", (), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Hardtanh", (-0.5, 2.0), {}), ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}), ("Softplus", (), {"beta": 2.0, "threshold": 5.0}),
    ("Softmax", (), {"dim": 1}), ("LogSoftmax", (), {"dim": 0}), ("Softmin", (), {"dim": -1}),
    ("Threshold", (0.3, -2.0), {}), ("LogSigmoid", (), {}), ("Softsign", (), {}),
    ("Tanhshrink", (), {}), ("Hardshrink", (), {}), ("Softshrink", (0.3,), {}),
    ("GLU", (), {}), ("PReLU", (), {}), ("PReLU", (6,), {}),
]
XA = np.concatenate([np.linspace(-7.1, 7.3, 31), [-3.2, 3.1, 0.05, 6.2, -0.9]]).reshape(6, 6)


@pytest.mark.parametrize("name,args,kw", ACTS, ids=[a[0] + str(i) for i, a in enumerate(ACTS)])
def test_activation_modules_vs_torch(name, args, kw):
    torch = pytest.importorskip("torch")
    e, t = getattr(nn, name)(*args, **kw).double(), getattr(torch.nn, name)(*args, **kw).double()
    _check_module(e, t, XA)


def test_inplace_activations():
    torch = pytest.importorskip("torch")
    for fn, args in (("relu", ()), ("leaky_relu", (0.1,)), ("elu", (0.5,)), ("hardtanh", ()),
                     ("relu6", ()), ("silu", ()), ("selu", ()), ("celu", ()),
                     ("threshold", (0.1, 3.0)), ("hardswish", ()), ("hardsigmoid", ())):
        xe = engine.tensor(XA, requires_grad=True)
        xt = torch.tensor(XA, requires_grad=True)
        ye = getattr(F, fn)(xe * 1, *args, inplace=True)
        yt = getattr(torch.nn.functional, fn)(xt * 1, *args, inplace=True)
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        (ye * ye).sum().backward()
        (yt * yt).sum().backward()
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-10, err_msg=fn)
    m = nn.ReLU(inplace=True)
    x = engine.tensor([-1.0, 2.0])
    assert m(x) is x and x.tolist() == [0.0, 2.0]
    x = engine.tensor([-1.0, 2.0])
    F.relu_(x)
    assert x.tolist() == [0.0, 2.0]


def test_linear_bilinear_vs_torch():
    torch = pytest.importorskip("torch")
    _check_module(nn.Linear(5, 3).double(), torch.nn.Linear(5, 3).double(),
                  RNG.standard_normal((2, 4, 5)))
    _check_module(nn.Linear(5, 3, bias=False).double(), torch.nn.Linear(5, 3, bias=False).double(),
                  RNG.standard_normal((4, 5)))
    _check_module(nn.Linear(5, 3).double(), torch.nn.Linear(5, 3).double(),
                  RNG.standard_normal(5))
    _check_module(nn.Bilinear(3, 4, 2).double(), torch.nn.Bilinear(3, 4, 2).double(),
                  RNG.standard_normal((5, 3)), RNG.standard_normal((5, 4)))
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        nn.Linear(5, 3)(engine.randn(2, 4))


def test_mlp_training_step_vs_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.Sequential(lib.Linear(784, 256), lib.ReLU(), lib.Linear(256, 128), lib.ReLU(),
                              lib.Linear(128, 10))
    e, t = build(nn), build(torch.nn)
    _copy_weights(e, t)
    x = RNG.standard_normal((64, 784)).astype(np.float32)
    y = RNG.integers(0, 10, 64)
    le = nn.CrossEntropyLoss()(e(engine.tensor(x)), engine.tensor(y))
    lt = torch.nn.CrossEntropyLoss()(t(torch.tensor(x)), torch.tensor(y))
    le.backward()
    lt.backward()
    assert abs(le.item() - lt.item()) < 1e-5
    for (n, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), atol=1e-5, err_msg=n)


def test_norm_layers_vs_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4, 5)) * 3 + 1
    for em, tm in ((nn.LayerNorm(5), torch.nn.LayerNorm(5)),
                   (nn.LayerNorm((4, 5), eps=1e-3), torch.nn.LayerNorm((4, 5), eps=1e-3)),
                   (nn.LayerNorm(5, bias=False), torch.nn.LayerNorm(5, bias=False)),
                   (nn.LayerNorm(5, elementwise_affine=False),
                    torch.nn.LayerNorm(5, elementwise_affine=False)),
                   (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
                   (nn.GroupNorm(4, 4, affine=False), torch.nn.GroupNorm(4, 4, affine=False)),
                   (nn.RMSNorm(5), torch.nn.RMSNorm(5))):
        em, tm = em.double(), tm.double()
        with torch.no_grad():
            for p in tm.parameters():
                p.normal_()
        _check_module(em, tm, x, atol=1e-8)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        nn.LayerNorm(4)(engine.randn(2, 5))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_embedding_vs_torch_and_padding():
    torch = pytest.importorskip("torch")
    idx = np.array([[1, 0, 4], [4, 4, 2]])
    for kw in ({}, {"padding_idx": 0}, {"padding_idx": -1}, {"scale_grad_by_freq": True}):
        e, t = nn.Embedding(5, 3, **kw).double(), torch.nn.Embedding(5, 3, **kw).double()
        _copy_weights(e, t)
        ye, yt = e(engine.tensor(idx)), t(torch.tensor(idx))
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy())
        g = RNG.standard_normal((2, 3, 3))
        ye.backward(engine.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.numpy(), atol=1e-12)
    emb = nn.Embedding(5, 3, padding_idx=2)
    assert emb.weight[2].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(IndexError, match="out of range"):
        emb(engine.tensor([0, 5]))
    with pytest.raises(IndexError, match="out of range"):
        emb(engine.tensor([-1]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        emb(engine.tensor([0.0]))


def test_embedding_from_pretrained_and_max_norm():
    w = engine.tensor([[1.0, 2.0], [3.0, 4.0], [0.1, 0.1]])
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad and emb(engine.tensor([1])).tolist() == [[3.0, 4.0]]
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    emb = nn.Embedding.from_pretrained(w.clone(), max_norm=1.0)
    out = emb(engine.tensor([1, 2]))
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.1, 0.1]], rtol=1e-5)
    np.testing.assert_allclose(emb.weight[0].numpy(), [1.0, 2.0])  # unused rows untouched


def test_dropout_train_eval():
    engine.manual_seed(0)
    x = engine.ones(200, 100)
    d = nn.Dropout(0.3)
    y = d(x).numpy()
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((y == 0).mean() - 0.3) < 0.02 and abs(y.mean() - 1) < 0.03
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x and float(nn.Dropout(1.0)(x).sum()) == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    xi = engine.ones(10, 10)
    F.dropout(xi, 0.5, training=True, inplace=True)
    assert (xi.numpy() == 0).any()
    y2 = nn.Dropout2d(0.5)(engine.ones(4, 6, 3, 3)).numpy()
    assert (y2.reshape(24, 9).std(1) == 0).all()  # whole channels dropped
    a = engine.randn(8, 8, requires_grad=True)
    out = F.dropout(a, 0.5)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), (out.detach().numpy() != 0) * 2.0)


def test_flatten_unflatten_identity():
    x = engine.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60) and nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 1))(engine.randn(2, 3)).shape == (2, 3, 1)
    assert nn.Identity(3, foo=1)(x) is x


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_vs_torch(mode):
    torch = pytest.importorskip("torch")
    x4 = RNG.standard_normal((2, 3, 4, 5))
    for x, p in ((x4[0], (1, 2)), (x4, (2, 1, 0, 3)), (x4, (-1, 2, 1, -1)),
                 (x4[0], (0, 0)), (x4, (1, 1, 2, 2))):
        kw = {"value": 1.5} if mode == "constant" else {}
        xe, xt = engine.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ye, yt = F.pad(xe, p, mode, **kw), torch.nn.functional.pad(xt, p, mode, **kw)
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy())
        g = RNG.standard_normal(tuple(yt.shape))
        ye.backward(engine.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_functional_misc_vs_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    a, b = RNG.standard_normal((4, 6)), RNG.standard_normal((4, 6))
    a[1] = 0.0
    pairs = [(lambda lib: lambda x, y: lib.cosine_similarity(x, y)),
             (lambda lib: lambda x, y: lib.pairwise_distance(x, y, 3.0)),
             (lambda lib: lambda x, y: lib.normalize(x, dim=1) + y),
             (lambda lib: lambda x, y: lib.linear(x, y[:2]))]
    for fe, ft in ((mk(F), mk(tf)) for mk in pairs):
        xe, ye = engine.tensor(a, requires_grad=True), engine.tensor(b, requires_grad=True)
        xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        oe, ot = fe(xe, ye), ft(xt, yt)
        np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), atol=1e-12)
        oe.sum().backward()
        ot.sum().backward()
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ye.grad.numpy(), yt.grad.numpy(), atol=1e-10)
    t = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(engine.tensor(t)).numpy(),
                                  tf.one_hot(torch.tensor(t)).numpy())
    assert F.one_hot(engine.tensor(t), 6).dtype == engine.int64
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(engine.tensor(t), 3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        F.softmax(engine.randn(2, 3))
    assert any("Implicit dimension" in str(x.message) for x in w)


def test_functional_gradchecks():
    x = engine.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    w = engine.tensor(RNG.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, b: F.layer_norm(a, (4,), b, b * 0.5), (x, w))
    assert gradcheck(lambda a: F.group_norm(a.reshape(1, 4, 3), 2), (x,))
    assert gradcheck(lambda a: F.log_softmax(a, 1), (x,))
    assert gradcheck(lambda a: F.softmax(a, 0), (x,))
    assert gradcheck(lambda a: F.pad(a.unsqueeze(0), (1, 1, 2, 0), "reflect"), (x,))
    assert gradcheck(lambda a: F.normalize(a, dim=0), (x,))


# ---- init ---------------------------------------------------------------------------------
def test_init_functions():
    init = nn.init
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError):
        init.calculate_gain("nope")
    assert init._calculate_fan_in_and_fan_out(engine.empty(8, 3, 2, 2)) == (12, 32)
    engine.manual_seed(3)
    w = init.kaiming_uniform_(engine.empty(400, 300), a=math.sqrt(5))
    bound = 1 / math.sqrt(300)
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.95 * bound
    engine.manual_seed(3)
    assert np.array_equal(init.kaiming_uniform_(engine.empty(400, 300), a=math.sqrt(5)).numpy(),
                          w.numpy())
    w = init.kaiming_normal_(engine.empty(500, 400), mode="fan_out")
    assert abs(float(w.std()) - math.sqrt(2 / 500)) < 2e-3
    w = init.xavier_uniform_(engine.empty(300, 200), gain=2.0)
    assert float(w.abs().max()) <= 2 * math.sqrt(6 / 500)
    w = init.xavier_normal_(engine.empty(300, 200))
    assert abs(float(w.std()) - math.sqrt(2 / 500)) < 2e-3
    w = init.trunc_normal_(engine.empty(10000), std=2.0, a=-1.0, b=3.0)
    assert float(w.min()) >= -1 and float(w.max()) <= 3
    q = init.orthogonal_(engine.empty(4, 7)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    assert init.eye_(engine.empty(2, 3)).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert init.constant_(engine.empty(2), 0.5).tolist() == [0.5, 0.5]
    assert init.zeros_(engine.ones(2)).tolist() == [0, 0]
    assert init.ones_(engine.zeros(1)).tolist() == [1]
    d = init.dirac_(engine.empty(2, 2, 3)).numpy()
    assert d[0, 0, 1] == 1 and d.sum() == 2
    p = nn.Parameter(engine.zeros(3))
    init.normal_(p)
    assert p.grad_fn is None and p.requires_grad
    b = nn.Linear(16, 4).bias
    assert float(b.abs().max()) <= 0.25


# ---- utils --------------------------------------------------------------------------------
def test_clip_grad_norm_and_value_vs_torch():
    torch = pytest.importorskip("torch")
    gs = [RNG.standard_normal((3, 4)), RNG.standard_normal(5)]
    for nt in (2.0, 1.0, math.inf, 3.0):
        pe = [nn.Parameter(engine.zeros(g.shape, dtype=engine.float64)) for g in gs]
        pt = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in gs]
        for a, b, g in zip(pe, pt, gs):
            a.grad, b.grad = engine.tensor(g), torch.tensor(g)
        te = nn.utils.clip_grad_norm_(pe, 0.5, nt)
        tt = torch.nn.utils.clip_grad_norm_(pt, 0.5, nt)
        np.testing.assert_allclose(te.item(), tt.item(), rtol=1e-6)
        for a, b in zip(pe, pt):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)
    p = nn.Parameter(engine.zeros(3))
    p.grad = engine.tensor([1.0, -5.0, 0.2])
    nn.utils.clip_grad_value_(p, 0.5)
    assert p.grad.tolist() == [0.5, -0.5, pytest.approx(0.2)]
    p.grad = engine.tensor([math.inf, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0


def test_parameters_vector_round_trip():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    nn.utils.vector_to_parameters(engine.arange(8.0), m.parameters())
    assert m.weight.tolist() == [[0, 1, 2], [3, 4, 5]] and m.bias.tolist() == [6, 7]
    assert isinstance(m.weight, nn.Parameter)
