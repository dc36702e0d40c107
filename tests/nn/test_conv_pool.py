"""Convolution, pooling, batch norm, interpolation, unfold/fold: values, input / weight / bias
gradients and node names against torch (when installed), a numpy reference otherwise, float64
finite differences (gradcheck) and double backward; module reprs and BatchNorm running stats."""

import math

import numpy as np
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

import engine
import engine.nn.functional as F
from engine import nn
from engine.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")


def _rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def _torch():
    return pytest.importorskip("torch")


def _against_torch(fe, ft, arrays, *, tol=1e-9, name=True, multi=False):
    """fe(engine tensors) and ft(torch tensors): same value, same grads for every float input,
    same grad_fn name. ``multi``: both return (values, indices)."""
    torch = _torch()
    ein = [engine.tensor(a).requires_grad_() if a is not None else None for a in arrays]
    tin = [torch.tensor(a, requires_grad=True) if a is not None else None for a in arrays]
    ye, yt = fe(*ein), ft(*tin)
    if multi:
        np.testing.assert_array_equal(ye[1].numpy(), yt[1].numpy())
        ye, yt = ye[0], yt[0]
    assert tuple(ye.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    if name:
        assert ye.grad_fn.name() == yt.grad_fn.name()
    g = RNG.standard_normal(tuple(yt.shape)).astype(arrays[0].dtype)
    ye.backward(engine.tensor(g))
    yt.backward(torch.tensor(g))
    for e, t in zip(ein, tin):
        if t is not None:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def _double_backward(fe, ft, arrays, tol=1e-8):
    """Gradient of |first grads|^2 (taken with create_graph=True) equals torch's."""
    torch = _torch()
    ein = [engine.tensor(a).requires_grad_() for a in arrays]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    ye, yt = fe(*ein), ft(*tin)
    v = RNG.standard_normal(tuple(yt.shape))
    ge = engine.autograd.grad(ye, ein, engine.tensor(v), create_graph=True)
    gt = torch.autograd.grad(yt, tin, torch.tensor(v), create_graph=True)
    se = sum((g * g).sum() for g in ge)
    st_ = sum((g * g).sum() for g in gt)
    he = engine.autograd.grad(se, ein, allow_unused=True)
    ht = torch.autograd.grad(st_, tin, allow_unused=True)
    for a, b in zip(he, ht):
        if b is None:
            assert a is None or not np.any(a.numpy())
        else:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- convolution
CONV2D = [
    ((2, 4, 7, 6), (6, 4, 3, 3), {}),
    ((2, 4, 7, 6), (6, 4, 3, 3), {"stride": 2, "padding": 1}),
    ((1, 3, 9, 8), (5, 3, 2, 3), {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)}),
    ((2, 3, 8, 7), (4, 3, 2, 3), {"padding": "same", "dilation": 2}),
    ((2, 3, 8, 7), (4, 3, 4, 4), {"padding": "same"}),
    ((2, 3, 5, 5), (4, 3, 5, 5), {"padding": "valid"}),
    ((2, 4, 7, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((1, 6, 9, 9), (6, 1, 3, 3), {"groups": 6, "stride": 3}),
    ((3, 5, 4, 6), (7, 5, 1, 1), {}),
    ((2, 2, 5, 7), (3, 2, 1, 1), {"stride": 2}),
    ((2, 1, 28, 28), (16, 1, 3, 3), {"padding": 1}),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", CONV2D)
def test_conv2d_matches_torch(xs, ws, kw, bias):
    torch = _torch()
    arrays = [_rand(*xs), _rand(*ws), _rand(ws[0]) if bias else None]
    _against_torch(lambda x, w, b: F.conv2d(x, w, b, **kw),
                   lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw), arrays)


def test_conv2d_float32_unbatched_noncontiguous():
    torch = _torch()
    x = _rand(3, 6, 9, 2, dtype=np.float32)[..., 0]  # (3, 6, 9) strided
    w = _rand(4, 3, 3, 3, dtype=np.float32)
    ye = F.conv2d(engine.tensor(x), engine.tensor(w), padding=1, stride=(1, 2))
    yt = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1, stride=(1, 2))
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), rtol=1e-5, atol=1e-5)
    xe = engine.tensor(_rand(2, 9, 7, 3, dtype=np.float32)).permute(0, 3, 1, 2)
    xt = torch.tensor(xe.numpy())
    np.testing.assert_allclose(F.conv2d(xe, engine.tensor(w)).numpy(),
                               torch.nn.functional.conv2d(xt, torch.tensor(w)).numpy(),
                               rtol=1e-5, atol=1e-5)


def _np_conv2d(x, w, b, s, p):
    """Reference: zero-pad, sliding windows, einsum (groups = 1)."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    return np.einsum("nchwij,ocij->nohw", win, w) + b[None, :, None, None]


def test_conv2d_numpy_reference():
    x, w, b = _rand(2, 3, 8, 9), _rand(4, 3, 3, 2), _rand(4)
    y = F.conv2d(engine.tensor(x), engine.tensor(w), engine.tensor(b), stride=2, padding=1)
    np.testing.assert_allclose(y.numpy(), _np_conv2d(x, w, b, 2, 1), atol=1e-12)


CONV1D = [
    ((2, 3, 11), (4, 3, 3), {}),
    ((2, 4, 11), (6, 2, 3), {"stride": 2, "padding": 2, "groups": 2, "dilation": 2}),
    ((1, 3, 10), (2, 3, 4), {"padding": "same"}),
]


@pytest.mark.parametrize("xs,ws,kw", CONV1D)
def test_conv1d_matches_torch(xs, ws, kw):
    torch = _torch()
    arrays = [_rand(*xs), _rand(*ws), _rand(ws[0])]
    _against_torch(lambda x, w, b: F.conv1d(x, w, b, **kw),
                   lambda x, w, b: torch.nn.functional.conv1d(x, w, b, **kw), arrays)


CONVT = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 4, 5), (4, 2, 2, 3), {"stride": (3, 2), "padding": (1, 0), "output_padding": (2, 1),
                                  "dilation": (1, 2), "groups": 2}),
    ((2, 3, 4, 4), (3, 5, 1, 1), {"stride": 2}),
]


@pytest.mark.parametrize("xs,ws,kw", CONVT)
def test_conv_transpose2d_matches_torch(xs, ws, kw):
    torch = _torch()
    groups = kw.get("groups", 1)
    arrays = [_rand(*xs), _rand(*ws), _rand(ws[1] * groups)]
    _against_torch(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                   lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kw), arrays)


def test_conv_transpose1d_matches_torch():
    torch = _torch()
    kw = {"stride": 2, "padding": 1, "output_padding": 1}
    _against_torch(lambda x, w, b: F.conv_transpose1d(x, w, b, **kw),
                   lambda x, w, b: torch.nn.functional.conv_transpose1d(x, w, b, **kw),
                   [_rand(2, 3, 6), _rand(3, 2, 3), _rand(2)])


@seed(1234)
@settings(deadline=None, max_examples=25)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 2), st.integers(0, 2), st.integers(1, 2), st.sampled_from([1, 2]),
       st.integers(6, 9), st.booleans())
def test_conv2d_hypothesis(n, cg, og, k, s, p, d, groups, size, bias):
    torch = _torch()
    if d * (k - 1) + 1 > size + 2 * p:
        return
    arrays = [_rand(n, cg * groups, size, size + 1), _rand(og * groups, cg, k, k),
              _rand(og * groups) if bias else None]
    kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    _against_torch(lambda x, w, b: F.conv2d(x, w, b, **kw),
                   lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw), arrays)


def test_conv_gradcheck_float64():
    x = engine.tensor(_rand(1, 2, 4, 5)).requires_grad_()
    w = engine.tensor(_rand(2, 1, 2, 3)).requires_grad_()
    b = engine.tensor(_rand(2)).requires_grad_()
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2),
                     (x, w, b))
    wt = engine.tensor(_rand(2, 2, 2, 2)).requires_grad_()
    assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                     output_padding=1), (x, wt))
    x1 = engine.tensor(_rand(2, 2, 6)).requires_grad_()
    w1 = engine.tensor(_rand(3, 2, 3)).requires_grad_()
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding="same", dilation=2), (x1, w1))


def test_gradgradcheck_float64():
    x = engine.tensor(_rand(1, 2, 4, 5)).requires_grad_()
    w = engine.tensor(_rand(2, 1, 2, 3)).requires_grad_()
    b = engine.tensor(_rand(2)).requires_grad_()
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1,
                                                  groups=2), (x, w, b))
    wt = engine.tensor(_rand(2, 2, 2, 2)).requires_grad_()
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                         output_padding=1), (x, wt))
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2, 1) ** 2, (x,))
    assert gradgradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1) ** 2, (x,))
    assert gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))


def test_conv_double_backward():
    torch = _torch()
    tf = torch.nn.functional
    x, w, b = _rand(1, 2, 4, 5), _rand(2, 1, 2, 3), _rand(2)
    kw = {"stride": (1, 2), "padding": 1, "groups": 2}
    _double_backward(lambda x, w, b: F.conv2d(x, w, b, **kw),
                     lambda x, w, b: tf.conv2d(x, w, b, **kw), [x, w, b])
    kt = {"stride": 2, "padding": 1, "output_padding": 1}
    _double_backward(lambda x, w: F.conv_transpose2d(x, w, **kt),
                     lambda x, w: tf.conv_transpose2d(x, w, **kt), [x, _rand(2, 2, 2, 2)])
    _double_backward(lambda x, w: F.conv1d(x, w, stride=2, dilation=2),
                     lambda x, w: tf.conv1d(x, w, stride=2, dilation=2),
                     [_rand(2, 3, 9), _rand(4, 3, 3)])


def test_conv_errors():
    x = engine.randn(64, 3, 28, 28)
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[16, 1, 3, 3\], "
                       r"expected input\[64, 3, 28, 28\] to have 1 channels, but got 3 "
                       r"channels instead"):
        F.conv2d(x, engine.randn(16, 1, 3, 3))
    with pytest.raises(RuntimeError, match="expected weight to be divisible by 2"):
        F.conv2d(x, engine.randn(3, 3, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match="expected bias to be 1-dimensional with 16"):
        F.conv2d(x, engine.randn(16, 3, 3, 3), engine.randn(8))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv2d(x, engine.randn(2, 3, 30, 3))
    with pytest.raises(RuntimeError, match="not supported for strided"):
        F.conv2d(x, engine.randn(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        F.conv2d(engine.randn(3, 4), engine.randn(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="expected scalar type"):
        F.conv2d(x.double(), engine.randn(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose2d(x, engine.randn(3, 2, 3, 3), stride=2, output_padding=2)
    assert F.conv2d(engine.randn(0, 3, 5, 5), engine.randn(2, 3, 3, 3)).shape == (0, 2, 3, 3)


def test_conv_saved_input_modified_inplace_raises():
    x = engine.randn(2, 3, 5, 5, requires_grad=True)
    h = x * 1
    y = F.conv2d(h, engine.randn(2, 3, 3, 3, requires_grad=True))
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_conv_interleaved_sizes_and_retain_graph():
    """Scratch buffers are shared between calls: results must not leak across calls."""
    torch = _torch()
    a, b = _rand(2, 3, 9, 9), _rand(4, 2, 5, 4)
    wa, wb = _rand(4, 3, 3, 3), _rand(3, 2, 2, 2)
    ea, eb = engine.tensor(a).requires_grad_(), engine.tensor(b).requires_grad_()
    ya = F.conv2d(ea, engine.tensor(wa), padding=1)
    yb = F.conv2d(eb, engine.tensor(wb))
    ya.sum().backward(retain_graph=True)
    yb.sum().backward()
    ya.sum().backward()
    ta = torch.tensor(a, requires_grad=True)
    torch.nn.functional.conv2d(ta, torch.tensor(wa), padding=1).sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), 2 * ta.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(yb.detach().numpy(), torch.nn.functional.conv2d(
        torch.tensor(b), torch.tensor(wb)).numpy(), atol=1e-10)


def test_unfold_fold_match_torch():
    torch = _torch()
    tf = torch.nn.functional
    kw = {"kernel_size": (2, 3), "stride": (2, 1), "padding": 1, "dilation": (1, 2)}
    _against_torch(lambda x: F.unfold(x, **kw), lambda x: tf.unfold(x, **kw), [_rand(2, 3, 7, 8)])
    c = _rand(2, 18, 24)
    _against_torch(lambda c: F.fold(c, (7, 8), **kw), lambda c: tf.fold(c, (7, 8), **kw), [c])
    assert gradcheck(lambda x: F.unfold(x, 2, padding=1), (engine.tensor(_rand(1, 2, 3, 3))
                                                           .requires_grad_(),))


# -------------------------------------------------------------------------------- pooling
MAXPOOL = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 2, "ceil_mode": True, "padding": 1},
    {"kernel_size": 3, "stride": 1, "dilation": 2, "padding": 1},
]


@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (3, 8, 5), (1, 1, 6, 6)])
@pytest.mark.parametrize("kw", MAXPOOL)
def test_max_pool2d_matches_torch(kw, shape):
    torch = _torch()
    tf = torch.nn.functional
    _against_torch(lambda x: F.max_pool2d(x, **kw, return_indices=True),
                   lambda x: tf.max_pool2d(x, **kw, return_indices=True), [_rand(*shape)],
                   multi=True)
    _against_torch(lambda x: F.max_pool2d(x, **kw), lambda x: tf.max_pool2d(x, **kw),
                   [_rand(*shape, dtype=np.float32)], tol=1e-6)


def test_max_pool2d_nan_and_numpy_reference():
    a = np.ones((1, 1, 4, 4))
    a[0, 0, 1, 0] = a[0, 0, 0, 1] = np.nan
    v, i = F.max_pool2d(engine.tensor(a), 2, return_indices=True)
    assert np.isnan(v.numpy()[0, 0, 0, 0]) and i.numpy()[0, 0, 0, 0] == 4
    x = _rand(2, 3, 6, 8)
    ref = x.reshape(2, 3, 3, 2, 4, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(F.max_pool2d(engine.tensor(x), 2).numpy(), ref)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1,
                                                      "ceil_mode": True}])
def test_max_pool1d_matches_torch(kw):
    torch = _torch()
    tf = torch.nn.functional
    _against_torch(lambda x: F.max_pool1d(x, **kw, return_indices=True),
                   lambda x: tf.max_pool1d(x, **kw, return_indices=True), [_rand(2, 3, 11)],
                   multi=True, name=False)
    _against_torch(lambda x: F.max_pool1d(x, **kw), lambda x: tf.max_pool1d(x, **kw),
                   [_rand(3, 11)], name=False)


AVGPOOL = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True, "padding": 1, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True, "padding": 1},
    {"kernel_size": (2, 3), "divisor_override": 5, "padding": (1, 0)},
]


@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (3, 8, 5)])
@pytest.mark.parametrize("kw", AVGPOOL)
def test_avg_pool2d_matches_torch(kw, shape):
    torch = _torch()
    _against_torch(lambda x: F.avg_pool2d(x, **kw),
                   lambda x: torch.nn.functional.avg_pool2d(x, **kw), [_rand(*shape)])


@pytest.mark.parametrize("out", [3, (2, 5), (None, 4), 7, (9, 11)])
def test_adaptive_avg_pool2d_matches_torch(out):
    torch = _torch()
    _against_torch(lambda x: F.adaptive_avg_pool2d(x, out),
                   lambda x: torch.nn.functional.adaptive_avg_pool2d(x, out), [_rand(2, 3, 7, 9)])
    x = _rand(2, 3, 6, 6)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(engine.tensor(x), 1).numpy(),
                               x.mean(axis=(2, 3), keepdims=True), atol=1e-12)


def test_pool_1d_variants_match_torch():
    torch = _torch()
    tf = torch.nn.functional
    kw = {"kernel_size": 3, "stride": 2, "padding": 1}
    _against_torch(lambda x: F.avg_pool1d(x, **kw), lambda x: tf.avg_pool1d(x, **kw),
                   [_rand(2, 3, 11)], name=False)
    _against_torch(lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: tf.adaptive_avg_pool1d(x, 4),
                   [_rand(2, 3, 11)], name=False)


def test_pool_gradcheck_and_double_backward():
    torch = _torch()
    tf = torch.nn.functional
    x = engine.tensor(_rand(1, 2, 5, 5)).requires_grad_()
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                            count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (x,))
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=1.5), (x,))
    a = _rand(1, 2, 5, 5)
    for fe, ft in [(lambda x: F.max_pool2d(x, 2), lambda x: tf.max_pool2d(x, 2)),
                   (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: tf.avg_pool2d(x, 3, 2, 1)),
                   (lambda x: F.adaptive_avg_pool2d(x, 3), lambda x: tf.adaptive_avg_pool2d(x, 3)),
                   (lambda x: F.interpolate(x, size=(7, 8)),
                    lambda x: tf.interpolate(x, size=(7, 8)))]:
        _double_backward(lambda x, fe=fe: fe(x) ** 2, lambda x, ft=ft: ft(x) ** 2, [a])


def test_pool_errors():
    x = engine.randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(x, 9)
    with pytest.raises(RuntimeError, match="3D or 4D"):
        F.max_pool2d(engine.randn(8, 8), 2)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)


# ---------------------------------------------------------------------------- interpolate
@pytest.mark.parametrize("kw", [
    {"scale_factor": 2}, {"scale_factor": 3}, {"size": (5, 13)}, {"scale_factor": (1.7, 0.6)},
    {"size": 7, "mode": "nearest-exact"}, {"scale_factor": 2.5, "recompute_scale_factor": True},
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_interpolate_nearest_matches_torch(kw, dtype):
    torch = _torch()
    _against_torch(lambda x: F.interpolate(x, **kw),
                   lambda x: torch.nn.functional.interpolate(x, **kw),
                   [_rand(2, 3, 7, 9, dtype=dtype)], tol=1e-6)


@pytest.mark.parametrize("kw", [{"scale_factor": 2}, {"size": 13}, {"scale_factor": 1.3}])
def test_interpolate_1d_matches_torch(kw):
    torch = _torch()
    _against_torch(lambda x: F.interpolate(x, **kw),
                   lambda x: torch.nn.functional.interpolate(x, **kw), [_rand(2, 3, 9)])


def test_upsample_nearest_numpy_reference():
    x = _rand(1, 2, 3, 4)
    y = F.upsample_nearest(engine.tensor(x), scale_factor=2).numpy()
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(2, axis=3))


# ----------------------------------------------------------------------------- batch norm
def test_batch_norm_functional_matches_torch():
    torch = _torch()
    tf = torch.nn.functional
    x, w, b = _rand(4, 3, 5, 2), _rand(3), _rand(3)
    rm_e, rv_e = engine.zeros(3, dtype=engine.float64), engine.ones(3, dtype=engine.float64)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    _against_torch(lambda x, w, b: F.batch_norm(x, rm_e, rv_e, w, b, True, 0.3),
                   lambda x, w, b: tf.batch_norm(x, rm_t, rv_t, w, b, True, 0.3), [x, w, b],
                   name=False)
    np.testing.assert_allclose(rm_e.numpy(), rm_t.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv_e.numpy(), rv_t.numpy(), atol=1e-12)
    _against_torch(lambda x, w, b: F.batch_norm(x, rm_e, rv_e, w, b, False),
                   lambda x, w, b: tf.batch_norm(x, rm_t, rv_t, w, b, False), [x, w, b],
                   name=False)
    xe = engine.tensor(_rand(5, 2)).requires_grad_()
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (xe,))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(engine.randn(1, 3), None, None, training=True)


@pytest.mark.parametrize("cls,shape,kw", [
    ("BatchNorm2d", (4, 3, 5, 6), {}),
    ("BatchNorm2d", (3, 3, 2, 2), {"momentum": None}),
    ("BatchNorm1d", (6, 3), {"affine": False, "momentum": 0.5}),
    ("BatchNorm1d", (4, 3, 7), {"eps": 1e-3}),
    ("BatchNorm2d", (4, 3, 2, 3), {"track_running_stats": False}),
])
def test_batchnorm_module_running_stats_match_torch(cls, shape, kw):
    torch = _torch()
    em, tm = getattr(nn, cls)(3, **kw), getattr(torch.nn, cls)(3, **kw)
    assert repr(em) == repr(tm)
    if kw.get("affine", True):
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
    em.load_state_dict({k: engine.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    for _ in range(3):
        x = _rand(*shape, dtype=np.float32) * 2 + 1
        ye, yt = em(engine.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-5)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
    em.eval()
    tm.eval()
    x = _rand(*shape, dtype=np.float32)
    np.testing.assert_allclose(em(engine.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_batchnorm_grads_match_torch():
    torch = _torch()
    em, tm = nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    _against_torch(lambda x: em(x), lambda x: tm(x), [_rand(4, 3, 3, 2)], name=False)
    np.testing.assert_allclose(em.weight.grad.numpy(), tm.weight.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(em.bias.grad.numpy(), tm.bias.grad.numpy(), atol=1e-9)
    with pytest.raises(ValueError, match="expected 4D input"):
        em(engine.randn(3, 3))


# -------------------------------------------------------------------------------- modules
MODULES = [
    ("Conv2d", (1, 16, 3), {"padding": 1}), ("Conv2d", (4, 6, (3, 5)), {"stride": 2, "bias": False}),
    ("Conv2d", (4, 4, 3), {"padding": "same", "dilation": 2, "groups": 2}),
    ("Conv2d", (3, 3, 3), {"padding": 1, "padding_mode": "reflect"}),
    ("Conv1d", (3, 2, 3), {"padding": 2, "padding_mode": "circular"}),
    ("Conv1d", (16, 33, 3), {"stride": 2}), ("Conv1d", (4, 4, 5), {"padding": "valid"}),
    ("ConvTranspose2d", (3, 4, 3), {"stride": 2, "output_padding": 1}),
    ("ConvTranspose2d", (4, 2, (2, 3)), {"groups": 2, "padding": (1, 0), "dilation": 2}),
    ("ConvTranspose1d", (3, 5, 3), {"stride": 3}),
    ("MaxPool2d", (2,), {}), ("MaxPool2d", (3, 2, 1), {"ceil_mode": True}),
    ("MaxPool1d", (3,), {"stride": 2}), ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}), ("AvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((1, 1),), {}), ("AdaptiveAvgPool2d", (3,), {}),
    ("AdaptiveAvgPool1d", (4,), {}), ("Upsample", (), {"scale_factor": 2}),
    ("Upsample", (), {"size": (9, 11)}), ("UpsamplingNearest2d", (), {"scale_factor": 3}),
    ("BatchNorm2d", (16,), {}), ("BatchNorm1d", (8,), {"momentum": None, "bias": False}),
    ("Unfold", ((2, 3),), {"padding": 1}),
]


@pytest.mark.parametrize("name,args,kw", MODULES)
def test_module_repr_and_forward_match_torch(name, args, kw):
    torch = _torch()
    em, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(em) == repr(tm)
    if name.endswith("1d") or name.startswith("Conv"):
        c = args[0] if args else 3
        shape = (2, c, 12) if name.endswith("1d") else (2, c, 8, 9)
    elif name == "Unfold":
        shape = (2, 3, 6, 7)
    else:
        shape = (2, args[0] if name.startswith("Batch") else 3) + \
            ((10,) if name.endswith("1d") else (8, 9))
    em.load_state_dict({k: engine.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = _rand(*shape, dtype=np.float32)
    np.testing.assert_allclose(em(engine.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_fold_module_matches_torch():
    torch = _torch()
    em, tm = nn.Fold((4, 5), 2, stride=1), torch.nn.Fold((4, 5), 2, stride=1)
    assert repr(em) == repr(tm)
    x = _rand(2, 12, 12)
    np.testing.assert_allclose(em(engine.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(),
                               atol=1e-12)


def test_conv_default_init_bounds():
    m = nn.Conv2d(4, 8, 3)
    bound = 1 / math.sqrt(4 * 9)  # kaiming_uniform(a=sqrt(5)) and the bias share this bound
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    t = nn.ConvTranspose2d(4, 6, 2, groups=2)
    assert tuple(t.weight.shape) == (4, 3, 2, 2)
    assert np.abs(t.bias.detach().numpy()).max() <= 1 / math.sqrt(3 * 4)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")


def test_conv_transpose_output_size():
    torch = _torch()
    em, tm = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), \
        torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    em.load_state_dict({k: engine.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = _rand(1, 2, 4, 4, dtype=np.float32)
    ye, yt = em(engine.tensor(x), output_size=[8, 8]), tm(torch.tensor(x), output_size=[8, 8])
    assert tuple(ye.shape) == tuple(yt.shape) == (1, 3, 8, 8)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-5)


def test_benchmark_cnn_train_step_matches_torch():
    """The benchmark CNN (batch 8): loss, every parameter grad, and a few SGD steps."""
    torch = _torch()

    def net(m):
        return m.Sequential(m.Conv2d(1, 16, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                            m.Conv2d(16, 32, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                            m.Flatten(), m.Linear(1568, 10))
    em, tm = net(nn), net(torch.nn)
    em.load_state_dict({k: engine.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = _rand(8, 1, 28, 28, dtype=np.float32)
    y = RNG.integers(0, 10, 8)
    for _ in range(3):
        le = F.cross_entropy(em(engine.tensor(x)), engine.tensor(y))
        lt = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
        le.backward()
        lt.backward()
        assert abs(le.item() - lt.item()) < 1e-4
        tp = dict(tm.named_parameters())
        with engine.no_grad(), torch.no_grad():
            for n, p in em.named_parameters():
                np.testing.assert_allclose(p.grad.numpy(), tp[n].grad.numpy(), rtol=1e-3,
                                           atol=1e-5)
                p.sub_(p.grad * 0.1)
                tp[n].sub_(tp[n].grad * 0.1)
                p.grad = None
                tp[n].grad = None
