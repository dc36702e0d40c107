# ruff: noqa: B023  (the lambdas built in loops are called in the same iteration)
"""The remaining torch.nn layers and functions (3-D conv/pool, padding modules, LP pooling,
unpooling, distances, grid sampling, CTC and multilabel losses, lazy modules, SyncBatchNorm):
values and gradients against torch with identical weights/inputs, float64 gradcheck of the new
backward paths, module reprs, errors for bad shapes, lazy materialisation and state_dicts."""

import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine import nn
from engine.autograd import gradcheck

RNG = np.random.default_rng(5)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning",
                                        "ignore:Default grid_sample:UserWarning")


def _torch():
    return pytest.importorskip("torch")


def _rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def _cmp(fe, ft, arrays, tol=1e-10, multi=False):
    """fe(engine tensors) vs ft(torch tensors): values (and indices) and every float input's
    gradient for a random output gradient."""
    torch = _torch()
    fl = [a.dtype.kind == "f" for a in arrays]
    ein = [engine.tensor(a, requires_grad=f) for a, f in zip(arrays, fl)]
    tin = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, fl)]
    ye, yt = fe(*ein), ft(*tin)
    if multi:
        np.testing.assert_array_equal(ye[1].numpy(), yt[1].numpy())
        ye, yt = ye[0], yt[0]
    assert tuple(ye.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = RNG.standard_normal(tuple(yt.shape)).astype(arrays[0].dtype)
    (ye * engine.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    for e, t in zip(ein, tin):
        if t.grad is not None:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def _same_error(fe, ft):
    """Both raise; the engine error has torch's type."""
    try:
        ft()
    except Exception as ex:  # noqa: BLE001
        kind = type(ex)
    else:
        raise AssertionError("torch did not raise")
    with pytest.raises(kind if kind in (RuntimeError, ValueError, TypeError, IndexError,
                                        NotImplementedError) else Exception):
        fe()


# ------------------------------------------------------------------------------ conv 3-d
CONV3D = [{}, {"stride": 2, "padding": 1}, {"stride": (2, 1, 2), "padding": (1, 0, 1),
          "dilation": (1, 2, 1), "groups": 2}, {"padding": "same", "dilation": (2, 1, 1)},
          {"padding": "valid"}]


@pytest.mark.parametrize("kw", CONV3D)
def test_conv3d_matches_torch(kw):
    t = _torch()
    x, w, b = _rand(2, 4, 5, 6, 5), _rand(6, 4 // kw.get("groups", 1), 3, 2, 3), _rand(6)
    _cmp(lambda x, w, b: F.conv3d(x, w, b, **kw),
         lambda x, w, b: t.nn.functional.conv3d(x, w, b, **kw), [x, w, b])


def test_conv3d_unbatched_float32_and_module():
    t = _torch()
    x, w = _rand(3, 4, 5, 6, dtype=np.float32), _rand(2, 3, 2, 2, 2, dtype=np.float32)
    _cmp(lambda x, w: F.conv3d(x, w, padding=1), lambda x, w: t.nn.functional.conv3d(x, w,
         padding=1), [x, w], tol=1e-5)
    for mode in ("zeros", "reflect", "replicate", "circular"):
        me = nn.Conv3d(3, 4, (3, 2, 3), padding=1, padding_mode=mode, bias=True).double()
        mt = t.nn.Conv3d(3, 4, (3, 2, 3), padding=1, padding_mode=mode).double()
        assert repr(me) == repr(mt)
        mt.load_state_dict({k: t.tensor(v.numpy()) for k, v in me.state_dict().items()})
        xx = _rand(2, 3, 4, 5, 4)
        _cmp(me, mt, [xx])
        assert mt.weight.shape == tuple(me.weight.shape)


CONVT3D = [{}, {"stride": 2, "padding": 1, "output_padding": 1},
           {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2), "groups": 2,
                "dilation": (1, 2, 1)}]


@pytest.mark.parametrize("kw", CONVT3D)
def test_conv_transpose3d_matches_torch(kw):
    t = _torch()
    x, w, b = _rand(2, 4, 3, 4, 3), _rand(4, 3, 3, 2, 3), _rand(3 * kw.get("groups", 1))
    _cmp(lambda x, w, b: F.conv_transpose3d(x, w, b, **kw),
         lambda x, w, b: t.nn.functional.conv_transpose3d(x, w, b, **kw), [x, w, b])


def test_conv_transpose3d_module_output_size():
    t = _torch()
    me = nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1).double()
    mt = t.nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1).double()
    assert repr(me) == repr(mt)
    mt.load_state_dict({k: t.tensor(v.numpy()) for k, v in me.state_dict().items()})
    x = _rand(1, 2, 3, 3, 3)
    _cmp(lambda a: me(a, output_size=(6, 6, 6)), lambda a: mt(a, output_size=(6, 6, 6)), [x])


def test_conv3d_gradcheck():
    x = engine.tensor(_rand(1, 2, 3, 4, 3), requires_grad=True)
    w = engine.tensor(_rand(2, 1, 2, 2, 2), requires_grad=True)
    b = engine.tensor(_rand(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=1, groups=2),
                     (x, w, b))
    wt = engine.tensor(_rand(2, 1, 2, 2, 2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, groups=2),
                     (x, wt, b))


def test_conv3d_errors_match_torch():
    t = _torch()
    tf = t.nn.functional
    cases = [((1, 2, 3, 3), (1, 2, 2, 2, 2)), ((1, 3, 3, 3, 3), (1, 2, 2, 2, 2)),
             ((1, 2, 1, 3, 3), (1, 2, 2, 2, 2)), ((1, 2, 3, 3, 3), (1, 2, 2, 2))]
    for xs, ws in cases:
        x, w = _rand(*xs), _rand(*ws)
        _same_error(lambda: F.conv3d(engine.tensor(x), engine.tensor(w)),
                    lambda: tf.conv3d(t.tensor(x), t.tensor(w)))
    with pytest.raises(RuntimeError, match="conv3d"):
        F.conv3d(engine.ones(1, 2, 3, 3), engine.ones(1, 2, 2, 2, 2))
    x, w = _rand(1, 2, 3, 3, 3), _rand(3, 2, 2, 2, 2)
    _same_error(lambda: F.conv_transpose3d(engine.tensor(x), engine.tensor(w)),
                lambda: tf.conv_transpose3d(t.tensor(x), t.tensor(w)))


# ------------------------------------------------------------------------------ pool 3-d
MAXPOOL = [{"kernel_size": 2}, {"kernel_size": (3, 2, 3), "stride": (2, 1, 2), "padding": 1,
           "dilation": (1, 2, 1), "ceil_mode": True}, {"kernel_size": 3, "stride": 2, "padding": 1},
           {"kernel_size": (2, 3, 2), "stride": (1, 2, 1), "dilation": (2, 1, 1),
            "padding": (1, 0, 0)}]


@pytest.mark.parametrize("kw", MAXPOOL)
def test_max_pool3d_matches_torch(kw):
    t = _torch()
    x = _rand(2, 3, 5, 6, 7)
    _cmp(lambda a: F.max_pool3d(a, return_indices=True, **kw),
         lambda a: t.nn.functional.max_pool3d(a, return_indices=True, **kw), [x], multi=True)
    _cmp(lambda a: nn.MaxPool3d(**kw)(a[0]), lambda a: t.nn.MaxPool3d(**kw)(a[0]), [x])


AVGPOOL = [{"kernel_size": 2}, {"kernel_size": (3, 2, 3), "stride": (2, 1, 2), "padding": 1,
           "ceil_mode": True, "count_include_pad": False},
           {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": 5}]


@pytest.mark.parametrize("kw", AVGPOOL)
def test_avg_pool3d_matches_torch(kw):
    t = _torch()
    x = _rand(2, 3, 5, 6, 7)
    _cmp(lambda a: F.avg_pool3d(a, **kw), lambda a: t.nn.functional.avg_pool3d(a, **kw), [x])
    _cmp(lambda a: nn.AvgPool3d(**kw)(a[1]), lambda a: t.nn.AvgPool3d(**kw)(a[1]), [x])


@pytest.mark.parametrize("osz", [2, (3, None, 4), (1, 5, 2)])
def test_adaptive_pool3d_matches_torch(osz):
    t = _torch()
    x = _rand(2, 3, 5, 6, 7)
    _cmp(lambda a: F.adaptive_avg_pool3d(a, osz),
         lambda a: t.nn.functional.adaptive_avg_pool3d(a, osz), [x])
    _cmp(lambda a: F.adaptive_max_pool3d(a, osz, True),
         lambda a: t.nn.functional.adaptive_max_pool3d(a, osz, True), [x], multi=True)
    _cmp(lambda a: nn.AdaptiveMaxPool3d(osz)(a[0]), lambda a: t.nn.AdaptiveMaxPool3d(osz)(a[0]),
         [x])
    _cmp(lambda a: nn.AdaptiveAvgPool3d(osz)(a), lambda a: t.nn.AdaptiveAvgPool3d(osz)(a), [x])


def test_lp_pool_matches_torch():
    t = _torch()
    tf = t.nn.functional
    x = np.abs(_rand(2, 3, 5, 6, 7)) + 0.1
    _cmp(lambda a: F.lp_pool3d(a, 2, (2, 3, 2), ceil_mode=True),
         lambda a: tf.lp_pool3d(a, 2, (2, 3, 2), ceil_mode=True), [x])
    _cmp(lambda a: F.lp_pool2d(a, 3, (2, 3), 1), lambda a: tf.lp_pool2d(a, 3, (2, 3), 1), [x[0]])
    _cmp(lambda a: F.lp_pool1d(a, 1.5, 3, 2), lambda a: tf.lp_pool1d(a, 1.5, 3, 2), [x[0, 0]])
    for nd, k in ((1, 3), (2, (2, 3)), (3, 2)):
        me, mt = getattr(nn, f"LPPool{nd}d")(2, k), getattr(t.nn, f"LPPool{nd}d")(2, k)
        assert repr(me) == repr(mt)
        xx = x[(0,) * (3 - nd)]
        _cmp(me, mt, [xx])


def test_max_unpool_matches_torch():
    t = _torch()
    tf = t.nn.functional
    x = _rand(2, 3, 6, 4, 6)
    for nd in (1, 2, 3):
        xx = t.tensor(x[(0,) * (3 - nd)])
        pool = getattr(tf, f"max_pool{nd}d")
        v, i = pool(xx, 2, return_indices=True)
        ie = engine.tensor(i.numpy())
        out = tuple(xx.shape[-nd:])
        fe, ft = getattr(F, f"max_unpool{nd}d"), getattr(tf, f"max_unpool{nd}d")
        _cmp(lambda a: fe(a, ie, 2, output_size=out), lambda a: ft(a, i, 2, output_size=out),
             [v.numpy()])
        _cmp(lambda a: fe(a, ie, 2), lambda a: ft(a, i, 2), [v.numpy()])
        me, mt = getattr(nn, f"MaxUnpool{nd}d")(2), getattr(t.nn, f"MaxUnpool{nd}d")(2)
        assert repr(me) == repr(mt)
        _cmp(lambda a: me(a, ie), lambda a: mt(a, i), [v.numpy()])
    bad = engine.tensor([[[[0, 1], [2, 30]]]])
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(engine.ones(1, 1, 2, 2), bad, 2)


def test_pool3d_gradcheck():
    x = engine.tensor(_rand(1, 2, 4, 3, 4), requires_grad=True)
    assert gradcheck(lambda a: F.max_pool3d(a, 2, 1, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda a: F.avg_pool3d(a, 3, 2, 1, True, False), (x,))
    assert gradcheck(lambda a: F.adaptive_max_pool3d(a, (2, 2, 3)), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool3d(a, (3, 2, 3)), (x,))
    assert gradcheck(lambda a: F.lp_pool3d(a, 2, 2), (x,))
    v, i = F.max_pool3d(engine.tensor(_rand(1, 2, 4, 2, 4)), 2, return_indices=True)
    v.requires_grad_()
    assert gradcheck(lambda a: F.max_unpool3d(a, i, 2), (v,))


def test_pool3d_errors_match_torch():
    t = _torch()
    tf = t.nn.functional
    for fe, ft, shape in [
        (lambda a: F.max_pool3d(a, 2), lambda a: tf.max_pool3d(a, 2), (2, 3, 4)),
        (lambda a: F.max_pool3d(a, 2, padding=2), lambda a: tf.max_pool3d(a, 2, padding=2),
         (1, 1, 4, 4, 4)),
        (lambda a: F.avg_pool3d(a, 3), lambda a: tf.avg_pool3d(a, 3), (1, 1, 2, 2, 2)),
        (lambda a: F.adaptive_avg_pool3d(a, 2), lambda a: tf.adaptive_avg_pool3d(a, 2), (2, 3)),
        (lambda a: F.adaptive_max_pool3d(a, 2), lambda a: tf.adaptive_max_pool3d(a, 2),
         (2, 3, 4)),
    ]:
        x = _rand(*shape)
        _same_error(lambda: fe(engine.tensor(x)), lambda: ft(t.tensor(x)))
    with pytest.raises(RuntimeError, match="max_pool3d"):
        F.max_pool3d(engine.ones(2, 3, 4), 2)


def test_batchnorm3d_and_sync_batchnorm():
    t = _torch()
    me, mt = nn.BatchNorm3d(3).double(), t.nn.BatchNorm3d(3).double()
    assert repr(me) == repr(mt)
    x = _rand(2, 3, 2, 3, 4)
    _cmp(me, mt, [x])
    np.testing.assert_allclose(me.running_var.numpy(), mt.running_var.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="expected 5D input"):
        me(engine.ones(2, 3, 4, 4))
    net_e = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3),
                          nn.Sequential(nn.BatchNorm1d(3), nn.InstanceNorm1d(3)))
    net_t = t.nn.Sequential(t.nn.Conv2d(2, 3, 1), t.nn.BatchNorm2d(3),
                            t.nn.Sequential(t.nn.BatchNorm1d(3), t.nn.InstanceNorm1d(3)))
    bn_w = net_e[1].weight
    se = nn.SyncBatchNorm.convert_sync_batchnorm(net_e)
    st = t.nn.SyncBatchNorm.convert_sync_batchnorm(net_t)
    assert repr(se) == repr(st)
    assert se[1].weight is bn_w and type(se[2][1]).__name__ == "InstanceNorm1d"
    assert list(se.state_dict()) == list(st.state_dict())
    sb, tb = nn.SyncBatchNorm(3).double(), t.nn.SyncBatchNorm(3).double()
    _cmp(sb, tb, [_rand(4, 3, 5)])
    with pytest.raises(ValueError, match="at least 2D"):
        sb(engine.ones(3))


# ------------------------------------------------------------------------------ padding
def test_padding_modules_match_torch():
    t = _torch()
    for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
        for nd in (1, 2, 3):
            pads = (1, 2, 2, 0, 1, 1)[:2 * nd]
            args = (pads, 2.5) if kind == "Constant" else (pads,)
            me = getattr(nn, f"{kind}Pad{nd}d")(*args)
            mt = getattr(t.nn, f"{kind}Pad{nd}d")(*args)
            assert repr(me) == repr(mt)
            for lead in ((2, 3), (3,)):
                x = _rand(*lead, *(4,) * nd)
                _cmp(me, mt, [x])
            short = getattr(nn, f"{kind}Pad{nd}d")(*((1, 2.5) if kind == "Constant" else (1,)))
            assert repr(short) == repr(getattr(t.nn, f"{kind}Pad{nd}d")(
                *((1, 2.5) if kind == "Constant" else (1,))))


def test_pad_modes_bad_shapes_match_torch():
    t = _torch()
    tf = t.nn.functional
    for mode, x, pad in [("reflect", _rand(2, 3), (3, 3)), ("circular", _rand(2, 3, 2), (3, 3)),
                         ("reflect", _rand(1, 2, 3, 3, 3), (1, 1, 1, 1, 3, 3))]:
        _same_error(lambda: F.pad(engine.tensor(x), pad, mode),
                    lambda: tf.pad(t.tensor(x), pad, mode))
    for mode in ("reflect", "replicate", "circular"):   # every combination torch accepts
        for nd in (1, 2, 3):
            for xdim in (1, 2, 3, 4, 5):
                x, pad = _rand(*(3,) * xdim), (1, 2, 2, 1, 1, 0)[:2 * nd]
                try:
                    want = tf.pad(t.tensor(x), pad, mode)
                except (NotImplementedError, RuntimeError):
                    continue   # engine's F.pad is more lenient here (see the report)
                np.testing.assert_allclose(F.pad(engine.tensor(x), pad, mode).numpy(),
                                           want.numpy())
    with pytest.raises(ValueError, match="expected 3D or 4D"):
        nn.CircularPad2d(1)(engine.ones(2, 2))


# ------------------------------------------------------------------------ misc layers
def test_distance_shuffle_lrn_modules_match_torch():
    t = _torch()
    x, y = _rand(4, 6, 3), _rand(4, 6, 3)
    for me, mt in [(nn.CosineSimilarity(), t.nn.CosineSimilarity()),
                   (nn.CosineSimilarity(dim=2, eps=1e-3), t.nn.CosineSimilarity(2, 1e-3)),
                   (nn.PairwiseDistance(), t.nn.PairwiseDistance()),
                   (nn.PairwiseDistance(p=1.5, keepdim=True), t.nn.PairwiseDistance(1.5,
                                                                                   keepdim=True))]:
        assert repr(me) == repr(mt)
        _cmp(me, mt, [x, y])
    for g in (2, 3):
        assert repr(nn.ChannelShuffle(g)) == repr(t.nn.ChannelShuffle(g))
        _cmp(nn.ChannelShuffle(g), t.nn.ChannelShuffle(g), [_rand(2, 6, 3, 2)])
    for size, shape in ((3, (2, 5, 4)), (2, (2, 5, 3, 4)), (4, (1, 6, 2, 2, 3))):
        me, mt = nn.LocalResponseNorm(size, 0.1, 0.6, 1.5), t.nn.LocalResponseNorm(size, 0.1,
                                                                                   0.6, 1.5)
        assert repr(me) == repr(mt)
        _cmp(me, mt, [_rand(*shape)])
    for p in (2, 1, 3.5, 0, float("inf")):
        _cmp(lambda a: F.pdist(a, p), lambda a: t.nn.functional.pdist(a, p), [_rand(5, 3)])
    a = engine.tensor(_rand(4, 3), requires_grad=True)
    assert gradcheck(lambda z: F.pdist(z, 3), (a,))
    assert gradcheck(lambda z: F.local_response_norm(z, 3), (engine.tensor(
        _rand(2, 4, 3), requires_grad=True),))


def test_misc_errors_match_torch():
    t = _torch()
    tf = t.nn.functional
    for fe, ft, x in [
        (lambda a: F.channel_shuffle(a, 2), lambda a: tf.channel_shuffle(a, 2), _rand(2, 5, 3)),
        (lambda a: F.channel_shuffle(a, 2), lambda a: tf.channel_shuffle(a, 2), _rand(2, 4)),
        (lambda a: F.pdist(a), lambda a: tf.pdist(a), _rand(3)),
        (lambda a: F.local_response_norm(a, 2), lambda a: tf.local_response_norm(a, 2),
         _rand(2, 3)),
        (lambda a: F.feature_alpha_dropout(a, 0.5, True),
         lambda a: tf.feature_alpha_dropout(a, 0.5, True), _rand(3)),
    ]:
        _same_error(lambda: fe(engine.tensor(x)), lambda: ft(t.tensor(x)))


def test_feature_alpha_dropout():
    t = _torch()
    me = nn.FeatureAlphaDropout(0.4)
    assert repr(me) == repr(t.nn.FeatureAlphaDropout(0.4))
    x = engine.tensor(_rand(8, 6, 5, 4))
    assert me.eval()(x) is x
    engine.manual_seed(0)
    y = me.train()(x).numpy()
    alpha, p = 1.7580993408473766, 0.4
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    kept = np.isclose(y, x.numpy() * a + a * alpha * p)
    dropped = np.isclose(y, -alpha * a + a * alpha * p)
    assert (kept | dropped).all()
    per_map = kept.reshape(8, 6, -1)
    assert (per_map.all(-1) | (~per_map).all(-1)).all()   # one decision per (n, c) map
    assert 0.2 < dropped.reshape(48, -1)[:, 0].mean() < 0.7


def test_gumbel_softmax_and_rrelu_():
    logits = engine.tensor(_rand(6, 5), requires_grad=True)
    w = engine.tensor(_rand(6, 5))
    engine.manual_seed(3)
    soft = F.gumbel_softmax(logits, tau=0.7)
    (gs,) = engine.autograd.grad((soft * w).sum(), logits)
    engine.manual_seed(3)
    hard = F.gumbel_softmax(logits, tau=0.7, hard=True)
    (gh,) = engine.autograd.grad((hard * w).sum(), logits)
    np.testing.assert_allclose(soft.detach().numpy().sum(1), 1.0, rtol=1e-12)
    h = hard.detach().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(1) == 1).all()
    assert (h.argmax(1) == soft.detach().numpy().argmax(1)).all()
    np.testing.assert_allclose(gh.numpy(), gs.numpy(), rtol=1e-12)
    x = engine.tensor([-2.0, -1.0, 3.0])
    r = F.rrelu_(x)
    assert r is x
    np.testing.assert_allclose(x.numpy(), [-2 * (1 / 8 + 1 / 3) / 2, -(1 / 8 + 1 / 3) / 2, 3.0])
    x = engine.tensor(-np.ones(1000))
    F.rrelu_(x, 0.1, 0.3, training=True)
    assert ((x.numpy() <= -0.1 + 1e-7) & (x.numpy() >= -0.3 - 1e-7)).all()


# ------------------------------------------------------------------------ grid sampling
@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_matches_torch(align, mode, padding_mode):
    t = _torch()
    tf = t.nn.functional
    x, g = _rand(2, 3, 4, 5), RNG.uniform(-1.6, 1.6, (2, 3, 4, 2))
    _cmp(lambda a, b: F.grid_sample(a, b, mode, padding_mode, align),
         lambda a, b: tf.grid_sample(a, b, mode, padding_mode, align), [x, g])
    x3, g3 = _rand(1, 2, 3, 4, 3), RNG.uniform(-1.6, 1.6, (1, 2, 3, 2, 3))
    if mode == "bicubic":   # 2-D only, as in torch
        _same_error(lambda: F.grid_sample(engine.tensor(x3), engine.tensor(g3), mode,
                                          padding_mode, align),
                    lambda: tf.grid_sample(t.tensor(x3), t.tensor(g3), mode, padding_mode, align))
        return
    _cmp(lambda a, b: F.grid_sample(a, b, mode, padding_mode, align),
         lambda a, b: tf.grid_sample(a, b, mode, padding_mode, align), [x3, g3])


@pytest.mark.parametrize("align", [True, False])
def test_affine_grid_matches_torch(align):
    t = _torch()
    tf = t.nn.functional
    _cmp(lambda th: F.affine_grid(th, (2, 3, 4, 5), align),
         lambda th: tf.affine_grid(th, (2, 3, 4, 5), align), [_rand(2, 2, 3)])
    _cmp(lambda th: F.affine_grid(th, (2, 1, 3, 4, 5), align),
         lambda th: tf.affine_grid(th, (2, 1, 3, 4, 5), align), [_rand(2, 3, 4)])
    # a spatial transformer: gradients reach theta through the sampler
    x = _rand(2, 3, 5, 4)
    _cmp(lambda th, a: F.grid_sample(a, F.affine_grid(th, (2, 3, 4, 6), align),
                                     align_corners=align),
         lambda th, a: tf.grid_sample(a, tf.affine_grid(th, (2, 3, 4, 6), align),
                                      align_corners=align), [_rand(2, 2, 3) * 0.7, x])


def test_grid_sample_gradcheck_and_errors():
    t = _torch()
    tf = t.nn.functional
    x = engine.tensor(_rand(1, 2, 3, 4), requires_grad=True)
    g = engine.tensor(RNG.uniform(-1.2, 1.2, (1, 2, 3, 2)), requires_grad=True)
    for pm in ("zeros", "border", "reflection"):
        assert gradcheck(lambda a, b: F.grid_sample(a, b, "bilinear", pm, False), (x, g))
    assert gradcheck(lambda a, b: F.grid_sample(a, b, "bicubic", "border", True), (x, g))
    for xs, gs in [((1, 2, 3, 3), (2, 4, 4, 2)), ((1, 2, 3, 3), (1, 4, 4, 3)),
                   ((1, 2, 3), (1, 4, 4, 2))]:
        a, b = _rand(*xs), _rand(*gs)
        _same_error(lambda: F.grid_sample(engine.tensor(a), engine.tensor(b),
                                          align_corners=False),
                    lambda: tf.grid_sample(t.tensor(a), t.tensor(b), align_corners=False))
    with pytest.raises(ValueError, match="mode"):
        F.grid_sample(x, g, mode="cubic")
    _same_error(lambda: F.affine_grid(engine.ones(2, 3, 3), (2, 3, 4, 5)),
                lambda: tf.affine_grid(t.ones(2, 3, 3), (2, 3, 4, 5)))
    with pytest.warns(UserWarning, match="align_corners"):
        F.affine_grid(engine.ones(1, 2, 3), (1, 1, 2, 2))


# ------------------------------------------------------------------------------ losses
def test_multilabel_losses_match_torch():
    t = _torch()
    tgt = np.array([[0, 3, -1, 1], [2, -1, 0, 0], [1, 2, 3, 0]])
    x = _rand(3, 4)
    for red in ("mean", "sum", "none"):
        me, mt = nn.MultiLabelMarginLoss(reduction=red), t.nn.MultiLabelMarginLoss(reduction=red)
        assert repr(me) == repr(mt)
        _cmp(lambda a: me(a, engine.tensor(tgt)), lambda a: mt(a, t.tensor(tgt)), [x])
        _cmp(lambda a: me(a[0], engine.tensor(tgt[0])), lambda a: mt(a[0], t.tensor(tgt[0])),
             [x])
        y, w = (RNG.random((3, 4)) > 0.5).astype(float), RNG.random(4)
        me = nn.MultiLabelSoftMarginLoss(engine.tensor(w), reduction=red)
        mt = t.nn.MultiLabelSoftMarginLoss(t.tensor(w), reduction=red)
        assert repr(me) == repr(mt) and list(me.state_dict()) == list(mt.state_dict())
        _cmp(lambda a: me(a, engine.tensor(y)), lambda a: mt(a, t.tensor(y)), [x])
    a = engine.tensor(x, requires_grad=True)
    assert gradcheck(lambda z: F.multilabel_margin_loss(z, engine.tensor(tgt)), (a,))
    tf = t.nn.functional
    for tg in (np.array([[0, 1, -1]]), np.array([[0, 5, -1], [1, -1, 0]])):
        _same_error(lambda: F.multilabel_margin_loss(engine.tensor(_rand(2, 3)),
                                                     engine.tensor(tg)),
                    lambda: tf.multilabel_margin_loss(t.tensor(_rand(2, 3)), t.tensor(tg)))


def test_triplet_margin_with_distance_loss_matches_torch():
    t = _torch()
    a, p, n = _rand(5, 4), _rand(5, 4), _rand(5, 4)
    me, mt = nn.TripletMarginWithDistanceLoss(), t.nn.TripletMarginWithDistanceLoss()
    assert repr(me) == repr(mt)
    _cmp(me, mt, [a, p, n])
    cos_e = lambda u, v: 1 - F.cosine_similarity(u, v)
    cos_t = lambda u, v: 1 - t.nn.functional.cosine_similarity(u, v)
    me = nn.TripletMarginWithDistanceLoss(distance_function=cos_e, margin=0.5, swap=True,
                                          reduction="none")
    mt = t.nn.TripletMarginWithDistanceLoss(distance_function=cos_t, margin=0.5, swap=True,
                                            reduction="none")
    _cmp(me, mt, [a, p, n])
    with pytest.raises(ValueError, match="margin"):
        F.triplet_margin_with_distance_loss(*(engine.ones(2, 2),) * 3, margin=0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_with_distance_loss(engine.ones(2, 2), engine.ones(2, 2), engine.ones(2))


def _ctc_data():
    T, N, C, S = 12, 3, 5, 4
    return (_rand(T, N, C), RNG.integers(1, C, (N, S)), [12, 10, 7], [4, 2, 3])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss_matches_torch(reduction):
    """Gradients compared for the logits (through log_softmax, the documented use; torch's
    own log_probs gradient assumes that softmax)."""
    t = _torch()
    logits, tg, il, tl = _ctc_data()
    me, mt = nn.CTCLoss(reduction=reduction), t.nn.CTCLoss(reduction=reduction)
    assert repr(me) == repr(mt)
    _cmp(lambda lg: me(lg.log_softmax(2), engine.tensor(tg), il, tl),
         lambda lg: mt(lg.log_softmax(2), t.tensor(tg), il, tl), [logits])
    cat = np.concatenate([tg[n, :tl[n]] for n in range(3)])
    tf = t.nn.functional
    _cmp(lambda lg: F.ctc_loss(lg.log_softmax(2), engine.tensor(cat), engine.tensor(il),
                               engine.tensor(tl), blank=0, reduction=reduction),
         lambda lg: tf.ctc_loss(lg.log_softmax(2), t.tensor(cat), t.tensor(il), t.tensor(tl),
                                reduction=reduction), [logits])


def test_ctc_loss_blank_infinity_unbatched_float32():
    t = _torch()
    tf = t.nn.functional
    logits, _, _, _ = _ctc_data()
    tg = np.array([[1, 1, 1, 1], [2, 2, 0, 0], [3, 0, 0, 0]])   # batch 0 and 1 are impossible
    args = ([6, 2, 1], [4, 2, 0])
    _cmp(lambda lg: F.ctc_loss(lg.log_softmax(2), engine.tensor(tg), *args, reduction="none",
                               zero_infinity=True),
         lambda lg: tf.ctc_loss(lg.log_softmax(2), t.tensor(tg), *args, reduction="none",
                                zero_infinity=True), [logits])
    le = F.ctc_loss(engine.tensor(logits).log_softmax(2), engine.tensor(tg), *args,
                    reduction="none")
    lt = tf.ctc_loss(t.tensor(logits).log_softmax(2), t.tensor(tg), *args, reduction="none")
    np.testing.assert_allclose(le.numpy(), lt.numpy(), rtol=1e-10)
    assert np.isinf(le.numpy()[:2]).all()
    tg4 = np.array([1, 3, 4, 1])
    _cmp(lambda lg: F.ctc_loss(lg.log_softmax(1), engine.tensor(tg4), [12], [4], blank=2),
         lambda lg: tf.ctc_loss(lg.log_softmax(1), t.tensor(tg4), [12], [4], blank=2),
         [logits[:, 0]])
    l32, tg32 = logits.astype(np.float32), _ctc_data()[1]
    _cmp(lambda lg: F.ctc_loss(lg.log_softmax(2), engine.tensor(tg32), [12, 10, 7], [4, 2, 3]),
         lambda lg: tf.ctc_loss(lg.log_softmax(2), t.tensor(tg32), [12, 10, 7], [4, 2, 3]),
         [l32], tol=2e-5)
    lp = engine.tensor(_rand(5, 2, 4)).log_softmax(2)
    for bad in (lambda: F.ctc_loss(lp, engine.tensor([[1, 2], [1, 1]]), [6, 5], [2, 2]),
                lambda: F.ctc_loss(lp, engine.tensor([[1, 2], [1, 1]]), [5, 5], [2, 3]),
                lambda: F.ctc_loss(lp, engine.tensor([[1, 2], [1, 1]]), [5, 5], [2, 2], 5)):
        with pytest.raises(RuntimeError):
            bad()


def test_ctc_loss_gradcheck():
    lg = engine.tensor(_rand(6, 2, 4), requires_grad=True)
    tg = engine.tensor([[1, 2, 2], [3, 1, 0]])
    assert gradcheck(lambda z: F.ctc_loss(z.log_softmax(2), tg, [6, 5], [3, 2]), (lg,))


# ------------------------------------------------------------------------------ lazy
LAZY = [("LazyLinear", (3,), (4, 5)), ("LazyConv1d", (4, 3), (2, 3, 7)),
        ("LazyConv2d", (4, 3), (2, 6, 5, 5)), ("LazyConv3d", (2, 2), (3, 4, 4, 4)),
        ("LazyConvTranspose1d", (4, 3), (2, 3, 7)), ("LazyConvTranspose2d", (4, 2), (2, 6, 3, 3)),
        ("LazyConvTranspose3d", (2, 2), (1, 3, 2, 2, 2)), ("LazyBatchNorm1d", (), (4, 3)),
        ("LazyBatchNorm2d", (), (2, 3, 2, 2)), ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), (2, 3, 5)), ("LazyInstanceNorm2d", (), (2, 3, 2, 2)),
        ("LazyInstanceNorm3d", (), (2, 3, 2, 2, 2))]


@pytest.mark.parametrize("name,args,shape", LAZY)
def test_lazy_modules_materialise_like_torch(name, args, shape):
    t = _torch()
    me, mt = getattr(nn, name)(*args), getattr(t.nn, name)(*args)
    assert repr(me) == repr(mt)
    sde, sdt = me.state_dict(), mt.state_dict()
    assert list(sde) == list(sdt)
    assert [repr(v) for v in sde.values()] == [repr(v) for v in sdt.values()]
    assert isinstance(me.weight, nn.UninitializedParameter) and me.has_uninitialized_params()
    x = _rand(*shape, dtype=np.float32)
    ye, yt = me(engine.tensor(x)), mt(t.tensor(x))
    assert repr(me) == repr(mt) and type(me).__name__ == type(mt).__name__
    assert tuple(ye.shape) == tuple(yt.shape)
    for (ke, ve), (kt, vt) in zip(me.state_dict().items(), mt.state_dict().items()):
        assert ke == kt and tuple(ve.shape) == tuple(vt.shape) and str(ve.dtype) == str(vt.dtype)
    assert type(me.weight) is nn.Parameter and not me._forward_pre_hooks
    # a fresh lazy module loads the materialised state (shapes taken from it); it then runs
    # (or fails: LazyInstanceNorm keeps num_features=0) as torch's does
    fe_, ft_ = getattr(nn, name)(*args), getattr(t.nn, name)(*args)
    fe_.load_state_dict(me.state_dict())
    ft_.load_state_dict(mt.state_dict())
    assert tuple(fe_.weight.shape) == tuple(ft_.weight.shape)
    me.eval()
    fe_.eval()
    ft_.eval()
    try:
        ft_(t.tensor(x))
    except Exception as ex:  # noqa: BLE001
        with pytest.raises(type(ex)):
            fe_(engine.tensor(x))
    else:
        np.testing.assert_allclose(fe_(engine.tensor(x)).detach().numpy(),
                                   me(engine.tensor(x)).detach().numpy(), rtol=1e-6)
        assert repr(fe_) == repr(ft_)


def test_lazy_training_dtype_and_errors():
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2)).double()
    assert "LazyLinear(in_features=0, out_features=8, bias=True)" in repr(net)
    x = engine.tensor(_rand(16, 5))
    net(x)   # the dry run
    assert net[0].weight.dtype == engine.float64 and tuple(net[2].weight.shape) == (2, 8)
    opt = engine.optim.SGD(net.parameters(), lr=0.1)
    before = [p.detach().clone() for p in net.parameters()]
    loss = (net(x) ** 2).mean()
    loss.backward()
    opt.step()
    assert all((a.numpy() != b.detach().numpy()).any() for a, b in zip(before, net.parameters()))
    bn = nn.LazyBatchNorm1d().double()
    bn(engine.tensor(_rand(4, 3)))
    assert bn.running_mean.dtype == engine.float64 and type(bn.running_mean) is engine.Tensor
    with pytest.raises(RuntimeError, match="Expected 3D .unbatched. or 4D .batched. input"):
        nn.LazyConv2d(3, 2)(engine.ones(2, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.LazyConv2d(4, 2, groups=2)(engine.ones(1, 3, 4, 4))
    lazy = nn.LazyLinear(3)
    from engine.nn import parameter as P
    assert P.is_lazy(lazy.weight) and not P.is_lazy(nn.Linear(2, 3).weight)
    assert P.UninitializedParameter is nn.UninitializedParameter
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        nn.Linear(2, 3).load_state_dict(lazy.state_dict())


def test_container_and_exports():
    t = _torch()
    with pytest.warns(FutureWarning, match="Container is deprecated"):
        c = nn.Container(a=nn.Linear(2, 3), b=nn.ReLU())
    assert [n for n, _ in c.named_children()] == ["a", "b"]
    missing = [n for n in ("Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d",
                           "AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "BatchNorm3d",
                           "CosineSimilarity", "PairwiseDistance", "ChannelShuffle",
                           "LocalResponseNorm", "FeatureAlphaDropout", "MultiLabelMarginLoss",
                           "MultiLabelSoftMarginLoss", "TripletMarginWithDistanceLoss",
                           "CTCLoss", "SyncBatchNorm", "UninitializedParameter",
                           "UninitializedBuffer") if not hasattr(nn, n)]
    missing += [n for n in ("conv3d", "conv_transpose3d", "max_pool3d", "max_pool3d_with_indices",
                            "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
                            "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d",
                            "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
                            "channel_shuffle", "local_response_norm", "pdist",
                            "gumbel_softmax", "affine_grid", "grid_sample", "ctc_loss",
                            "multilabel_margin_loss", "multilabel_soft_margin_loss",
                            "triplet_margin_with_distance_loss", "feature_alpha_dropout",
                            "rrelu_") if not hasattr(F, n)]
    assert not missing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(nn.Container()) == repr(t.nn.Container())


# ---------------------------------------------------- fractional pooling, adaptive softmax
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_fractional_max_pool_matches_torch(dt):
    t = _torch()
    tf = t.nn.functional
    x, s = _rand(2, 3, 11, 9, dtype=dt), RNG.random((2, 3, 2)).astype(dt)
    for k, o in ((2, (5, 4)), ((3, 2), (7, 6)), (2, (10, 8))):
        _cmp(lambda a: F.fractional_max_pool2d(a, k, o, return_indices=True,
                                               _random_samples=engine.tensor(s)),
             lambda a: tf.fractional_max_pool2d(a, k, o, return_indices=True,
                                                _random_samples=t.tensor(s)),
             [x], multi=True, tol=1e-6)
    x3, s3 = _rand(2, 2, 7, 8, 9, dtype=dt), RNG.random((2, 2, 3)).astype(dt)
    _cmp(lambda a: F.fractional_max_pool3d(a, 2, (4, 5, 6), return_indices=True,
                                           _random_samples=engine.tensor(s3)),
         lambda a: tf.fractional_max_pool3d(a, 2, (4, 5, 6), return_indices=True,
                                            _random_samples=t.tensor(s3)),
         [x3], multi=True, tol=1e-6)
    me = nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.7), _random_samples=engine.tensor(s))
    mt = t.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.7), _random_samples=t.tensor(s))
    assert repr(me) == repr(mt)
    _cmp(me, mt, [x], tol=1e-6)
    y = nn.FractionalMaxPool2d(3, output_size=4)(engine.tensor(x))   # fresh random windows
    assert tuple(y.shape) == (2, 3, 4, 4)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="requires specifying either"):
        nn.FractionalMaxPool3d(2)
    tf = t.nn.functional
    for fe, ft, shape, o in ((F.fractional_max_pool3d, tf.fractional_max_pool3d,
                              (1, 1, 4, 4, 4), 3),
                             (F.fractional_max_pool2d, tf.fractional_max_pool2d, (1, 1, 4, 4), 4)):
        xx = _rand(*shape, dtype=dt)
        _same_error(lambda: fe(engine.tensor(xx), 2, o), lambda: ft(t.tensor(xx), 2, o))
    assert tuple(F.fractional_max_pool2d(engine.ones(1, 1, 4, 4), 2, 3).shape) == (1, 1, 3, 3)


def test_adaptive_log_softmax_matches_torch():
    t = _torch()
    me = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True).double()
    mt = t.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True).double()
    assert repr(me) == repr(mt) and list(me.state_dict()) == list(mt.state_dict())
    mt.load_state_dict({k: t.tensor(v.numpy()) for k, v in me.state_dict().items()})
    x, tgt = _rand(7, 8), np.array([0, 4, 9, 2, 7, 5, 1])
    _cmp(lambda a: me(a, engine.tensor(tgt)).output, lambda a: mt(a, t.tensor(tgt)).output, [x])
    _cmp(lambda a: me(a, engine.tensor(tgt)).loss, lambda a: mt(a, t.tensor(tgt)).loss, [x])
    _cmp(lambda a: me(a[0], engine.tensor(tgt[0])).output,
         lambda a: mt(a[0], t.tensor(tgt[0])).output, [x])
    _cmp(me.log_prob, mt.log_prob, [x])
    xe = engine.tensor(x)
    np.testing.assert_array_equal(me.predict(xe).numpy(), mt.predict(t.tensor(x)).numpy())
    gw = [p for p in me.parameters()]
    me(xe, engine.tensor(tgt)).loss.backward()
    mt(t.tensor(x), t.tensor(tgt)).loss.backward()
    for pe, pt in zip(gw, mt.parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="Target values should be in"):
        me(xe, engine.tensor([0, 4, 12, 2, 7, 5, 1]))
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])


def test_double_backward_matches_torch():
    """Gradients of |first grads|^2 (create_graph=True) through the 3-D composites."""
    t = _torch()
    tf = t.nn.functional
    cases = [
        (lambda x, w: F.conv3d(x, w, stride=2, padding=1),
         lambda x, w: tf.conv3d(x, w, stride=2, padding=1), [(1, 2, 4, 4, 4), (3, 2, 2, 2, 2)]),
        (lambda x, w: F.conv_transpose3d(x, w, stride=2),
         lambda x, w: tf.conv_transpose3d(x, w, stride=2), [(1, 2, 3, 3, 3), (2, 3, 2, 2, 2)]),
        (lambda x: F.max_pool3d(x, 2) ** 2, lambda x: tf.max_pool3d(x, 2) ** 2,
         [(1, 2, 4, 4, 4)]),
        (lambda x, g: F.grid_sample(x, g.tanh(), align_corners=False),
         lambda x, g: tf.grid_sample(x, g.tanh(), align_corners=False),
         [(1, 2, 4, 4), (1, 3, 3, 2)]),
    ]
    for fe, ft, shapes in cases:
        arrays = [_rand(*s) for s in shapes]
        ein = [engine.tensor(a, requires_grad=True) for a in arrays]
        tin = [t.tensor(a, requires_grad=True) for a in arrays]
        ye, yt = fe(*ein), ft(*tin)
        v = _rand(*yt.shape)
        ge = engine.autograd.grad(ye, ein, engine.tensor(v), create_graph=True)
        gt = t.autograd.grad(yt, tin, t.tensor(v), create_graph=True)
        sum((g * g).sum() for g in ge).backward()
        sum((g * g).sum() for g in gt).backward()
        for e, tt in zip(ein, tin):
            np.testing.assert_allclose(e.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-10)
