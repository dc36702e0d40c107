"""Convolution, pooling, upsampling and normalisation on 'cuda' against the CPU backend
(values and gradients), computed by the kernels/cuda conv and pool families with no
device-to-host copies.

``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda`` (tiny sizes: the simulator runs every
thread in Python); unchanged on a real GPU. Skipped when ``engine.cuda.is_available()`` is
False."""

import numpy as np
import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

F = engine.nn.functional
DEV = "cuda"
TOL32 = dict(rtol=1e-5, atol=1e-5)
TOL64 = dict(rtol=1e-10, atol=1e-12)


def _rand(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(dtype)


def _same(c, g, tol):
    assert g.device.type == "cuda", g.device
    assert c.dtype == g.dtype and tuple(c.shape) == tuple(g.shape), (c.shape, g.shape)
    a, b = c.detach().numpy(), g.detach().cpu().numpy()
    if a.dtype.kind == "f":
        np.testing.assert_allclose(b, a, equal_nan=True, **tol)
    else:
        np.testing.assert_array_equal(b, a)


def _both(fn, *arrays, grad=True):
    """fn on CPU and on CUDA tensors; outputs and the gradients of a weighted sum agree."""
    res = []
    for dev in ("cpu", DEV):
        ts = [engine.tensor(a, device=dev, requires_grad=grad and a.dtype.kind == "f")
              for a in arrays]
        out = fn(*ts)
        outs = out if isinstance(out, tuple) else (out,)
        grads = []
        if grad:
            y = outs[0]
            (y * engine.linspace(0.5, 1.5, y.numel(), device=dev, dtype=y.dtype)
             .reshape(y.shape)).sum().backward()
            grads = [t.grad for t in ts if t.requires_grad]
        res.append((outs, grads))
    tol = TOL64 if arrays[0].dtype == np.float64 else TOL32
    for a, b in zip(res[0][0], res[1][0]):
        _same(a, b, tol)
    for a, b in zip(res[0][1], res[1][1]):
        _same(a, b, tol)


# ---- convolution --------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1),
    dict(padding=2, dilation=2),
    dict(stride=(2, 1), padding=(1, 0), groups=2),
    dict(padding="same"),
])
def test_conv2d(kw):
    x, w, b = _rand(2, 4, 5, 6, seed=1), _rand(4, 4 // kw.get("groups", 1), 3, 2, seed=2), \
        _rand(4, seed=3)
    _both(lambda x, w, b: F.conv2d(x, w, b, **kw), x, w, b)


def test_conv2d_pointwise_float64_no_bias():
    x, w = _rand(2, 3, 4, 4, dtype=np.float64, seed=4), _rand(5, 3, 1, 1, dtype=np.float64,
                                                                seed=5)
    _both(lambda x, w: F.conv2d(x, w), x, w)
    _both(lambda x, w: F.conv2d(x.permute(0, 1, 3, 2), w, stride=2), x, w)  # strided input


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, dilation=2),
                                dict(groups=3, padding=1)])
def test_conv1d(kw):
    x, w, b = _rand(2, 3, 9, seed=6), _rand(6, 3 // kw.get("groups", 1), 3, seed=7), \
        _rand(6, seed=8)
    _both(lambda x, w, b: F.conv1d(x, w, b, **kw), x, w, b)


def test_conv_transpose2d():
    x, w, b = _rand(2, 4, 3, 4, seed=9), _rand(4, 3, 3, 2, seed=10), _rand(6, seed=11)
    _both(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                             groups=2), x, w, b)
    _both(lambda x, w: F.conv_transpose2d(x, w, dilation=2), x, w)


def test_conv_transpose1d():
    x, w, b = _rand(1, 2, 5, seed=12), _rand(2, 3, 3, seed=13), _rand(3, seed=14)
    _both(lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1), x, w, b)


def test_conv2d_double_backward():
    x, w = _rand(1, 2, 4, 4, dtype=np.float64, seed=15), _rand(3, 2, 2, 2, dtype=np.float64,
                                                               seed=16)
    res = []
    for dev in ("cpu", DEV):
        xt = engine.tensor(x, device=dev, requires_grad=True)
        wt = engine.tensor(w, device=dev, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        gx, gw = engine.autograd.grad((y * y).sum(), (xt, wt), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        res.append((y, gx, gw, xt.grad, wt.grad))
    for a, b in zip(*res):
        _same(a, b, TOL64)


def test_unfold_fold():
    x = _rand(2, 3, 5, 4, seed=17)
    _both(lambda x: F.unfold(x, (2, 3), dilation=1, padding=1, stride=(2, 1)), x)
    c = _rand(1, 3 * 4, 9, seed=18)
    _both(lambda c: F.fold(c, (4, 4), 2, stride=1), c)


def test_conv_mixed_devices_error():
    x = engine.tensor(_rand(1, 2, 4, 4), device=DEV)
    with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
        F.conv2d(x, engine.tensor(_rand(1, 2, 3, 3)))


# ---- pooling / upsampling -----------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=2, ceil_mode=True),
                                dict(kernel_size=(2, 3), stride=1, dilation=2)])
def test_max_pool2d(kw):
    x = _rand(2, 2, 5, 7, seed=19)
    x[0, 0, 1, 1] = np.nan
    x[1, 1, 2] = x[1, 1, 3]                                      # ties: the first one wins
    _both(lambda x: F.max_pool2d(x, return_indices=True, **kw), x)


def test_max_pool1d_and_double_backward():
    x = _rand(2, 3, 8, seed=20)
    _both(lambda x: F.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True,
                                 return_indices=True), x)
    res = []
    for dev in ("cpu", DEV):
        xt = engine.tensor(x.astype(np.float64), device=dev, requires_grad=True)
        y = F.max_pool1d(xt, 2)
        (g,) = engine.autograd.grad((y * y).sum(), (xt,), create_graph=True)
        (g * g).sum().backward()
        res.append((g, xt.grad))
    for a, b in zip(*res):
        _same(a, b, TOL64)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=(2, 3), divisor_override=5)])
def test_avg_pool2d(kw):
    _both(lambda x: F.avg_pool2d(x, **kw), _rand(2, 2, 5, 7, seed=21))


def test_avg_pool1d():
    _both(lambda x: F.avg_pool1d(x, 3, stride=2, padding=1), _rand(2, 3, 8, seed=22))


@pytest.mark.parametrize("osz", [(3, 2), 1, (5, None), (7, 9)])
def test_adaptive_avg_pool2d(osz):
    _both(lambda x: F.adaptive_avg_pool2d(x, osz), _rand(2, 3, 5, 7, seed=23))


def test_adaptive_avg_pool1d_unbatched():
    _both(lambda x: F.adaptive_avg_pool1d(x, 4), _rand(3, 9, seed=24))
    _both(lambda x: F.adaptive_avg_pool2d(x, 2), _rand(3, 5, 5, seed=25))   # (C, H, W)


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(5, 3)),
                                dict(scale_factor=1.7, mode="nearest-exact")])
def test_interpolate(kw):
    _both(lambda x: F.interpolate(x, **kw), _rand(1, 2, 3, 4, seed=26))


def test_interpolate_1d():
    _both(lambda x: F.interpolate(x, size=7), _rand(2, 2, 3, seed=27))


# ---- no host round-trips ------------------------------------------------------------------
@pytest.fixture
def no_device_to_host(monkeypatch):
    """Every device->host copy raises while the fixture is active."""
    from engine.cuda import _memory
    arr = engine.zeros(1, device=DEV)._storage.data

    def boom(*a, **k):
        raise AssertionError("device->host copy during a CUDA op")
    monkeypatch.setattr(_memory, "device_to_host", boom)
    monkeypatch.setattr(type(arr), "copy_to_host", boom)
    yield
    monkeypatch.undo()


def test_conv_pool_norm_stay_on_device(no_device_to_host):
    rng = np.random.default_rng(28)
    x = engine.tensor(rng.standard_normal((2, 2, 6, 6)).astype(np.float32), device=DEV,
                      requires_grad=True)
    w = engine.tensor(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), device=DEV,
                      requires_grad=True)
    wt = engine.tensor(rng.standard_normal((4, 2, 2, 2)).astype(np.float32), device=DEV,
                       requires_grad=True)
    b = engine.tensor(rng.standard_normal(4).astype(np.float32), device=DEV, requires_grad=True)
    rm, rv = engine.zeros(4, device=DEV), engine.ones(4, device=DEV)
    y = F.conv2d(x, w, b, padding=1, groups=2)
    y = F.batch_norm(y, rm, rv, training=True)
    y = F.group_norm(y, 2) + F.layer_norm(y, (6,))
    y = F.max_pool2d(F.relu(y), 2)
    y = F.avg_pool2d(y, 2, padding=1) + F.adaptive_avg_pool2d(y, 2)
    y = F.interpolate(y, scale_factor=2)
    z = F.conv1d(y.flatten(2), w[:, :, 0], groups=4, padding=1)
    (F.conv_transpose2d(y, wt, stride=2).sum() + z.sum()).backward()
    assert x.grad.device.type == "cuda" and w.grad.device.type == "cuda"
    assert wt.grad.device.type == "cuda"


# ---- a tiny CNN, one training step ----------------------------------------------------------
def _cnn_step(dev):
    engine.manual_seed(0)
    nn = engine.nn
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1, groups=2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).to(dev)
    opt = engine.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(29)
    x = engine.tensor(rng.standard_normal((3, 1, 6, 6)).astype(np.float32), device=dev)
    t = engine.tensor([0, 2, 1], device=dev)
    losses = []
    for _ in range(1):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss)
    return losses, list(model.parameters()) + list(model.buffers())


def test_tiny_cnn_train_step_matches_cpu():
    lc, pc = _cnn_step("cpu")
    lg, pg = _cnn_step(DEV)
    for a, b in zip(lc, lg):
        _same(a, b, TOL32)
    assert len(pc) == len(pg)
    for a, b in zip(pc, pg):
        _same(a, b, dict(rtol=1e-4, atol=1e-5))
