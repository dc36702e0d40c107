"""The index family on 'cuda' never copies device memory to the host: indices are
bounds-checked inside the kernels and offsets are built on the device. A bad index is raised as
a Python IndexError/RuntimeError naming the op at the next synchronisation
(``engine.cuda.synchronize()``, ``.cpu()``, ``.item()``), and the process keeps working.

``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda`` (tiny sizes); unchanged on a real GPU.
Data-dependent output sizes (nonzero, masked_select, boolean-mask indexing, unique) still copy
one count to the host, as PyTorch does; they are not exercised here."""

import contextlib

import numpy as np
import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

F = engine.nn.functional
DEV = "cuda"
TOL = {"rtol": 1e-5, "atol": 1e-6}


@contextlib.contextmanager
def no_device_to_host():
    """Every device->host copy raises inside the block."""
    from engine.cuda import _memory
    arr = engine.zeros(1, device=DEV)._storage.data
    mp = pytest.MonkeyPatch()

    def boom(*a, **k):
        raise AssertionError("device->host copy during a CUDA op")
    mp.setattr(_memory, "device_to_host", boom)
    mp.setattr(type(arr), "copy_to_host", boom)
    try:
        yield
    finally:
        mp.undo()


def _rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(dtype)


def _same(c, g, tol=TOL):
    assert g.device.type == "cuda", g.device
    assert c.dtype == g.dtype and tuple(c.shape) == tuple(g.shape), (c.shape, g.shape)
    a, b = c.detach().numpy(), g.detach().cpu().numpy()
    if a.dtype.kind == "f":
        np.testing.assert_allclose(b, a, **tol)
    else:
        np.testing.assert_array_equal(b, a)


def _both(fn, *arrays, grad=True):
    """fn forward+backward on CPU, then on CUDA with every device->host copy forbidden;
    outputs and gradients agree."""
    res = []
    for dev in ("cpu", DEV):
        ts = [engine.tensor(a, device=dev, requires_grad=grad and a.dtype.kind == "f")
              for a in arrays]
        ctx = no_device_to_host() if dev == DEV else contextlib.nullcontext()
        with ctx:
            out = fn(*ts)
            grads = []
            if grad:
                w = engine.linspace(0.5, 1.5, out.numel(), device=dev, dtype=out.dtype)
                (out * w.reshape(out.shape)).sum().backward()
                grads = [t.grad for t in ts if t.requires_grad]
        res.append((out, grads))
    engine.cuda.synchronize()  # no pending kernel error
    _same(res[0][0], res[1][0])
    assert len(res[0][1]) == len(res[1][1])
    for a, b in zip(res[0][1], res[1][1]):
        if a is None or b is None:  # e.g. a class weight: no gradient on either device
            assert a is None and b is None
            continue
        _same(a, b)


IDX = np.array([[0, 4], [1, 1], [3, 0], [2, 2]])


def test_embedding():
    _both(lambda w, i: F.embedding(i, w), _rand(5, 3, seed=1), np.array([[4, 0, 4], [1, 2, 0]]))
    _both(lambda w, i: F.embedding(i, w, padding_idx=0, scale_grad_by_freq=True),
          _rand(5, 3, seed=2), np.array([4, 0, 4, 1]))


def test_cross_entropy_and_nll():
    x = _rand(6, 4, seed=3)
    t = np.array([0, 3, 1, 1, 2, 0])
    ti = np.array([0, -100, 1, 3, -100, 0])
    w = np.array([0.5, 1.0, 2.0, 1.5], np.float32)
    _both(lambda x, t: F.cross_entropy(x, t), x, t)
    _both(lambda x, t: F.cross_entropy(x, t, ignore_index=-100), x, ti)
    _both(lambda x, t: F.cross_entropy(x, t, ignore_index=1, reduction="sum"), x, t)
    _both(lambda x, t, w: F.cross_entropy(x, t, weight=w), x, t, w)
    _both(lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1), x, ti, w)
    _both(lambda x, t: F.nll_loss(x.log_softmax(1), t, reduction="none"), x, t)
    _both(lambda x, t: F.nll_loss(x.log_softmax(1), t), x, ti)
    x4 = _rand(2, 3, 2, 2, seed=4)
    _both(lambda x, t: F.cross_entropy(x, t), x4, np.array([[[0, 2], [1, 1]], [[2, 0], [0, 1]]]))


def test_index_select_gather_take_along_dim():
    a = _rand(4, 5, seed=5)
    _both(lambda x, i: x.index_select(0, i[:, 0]), a, IDX)
    _both(lambda x, i: x.index_select(1, i[:, 1]), a, IDX)
    _both(lambda x, i: x.t().index_select(1, i[:, 0]), a, IDX)          # strided input
    _both(lambda x, i: x.gather(1, i), a, IDX)
    _both(lambda x, i: x.gather(0, i.flip(1).t()[:, 1:]), a, IDX)      # strided index
    _both(lambda x, i: engine.take_along_dim(x, i, 1), a, IDX)
    _both(lambda x, i: engine.take_along_dim(x, i[:1], 1), a, IDX)     # broadcast index
    _both(lambda x, i: engine.take_along_dim(x, i - 5, 1), a, IDX)      # negative: wrap
    _both(lambda x, i: x.gather(1, i.int()), a, IDX)                    # int32 index
    _both(lambda x, i: x.take(i - 3), a, IDX)                           # flat, wraps
    _both(lambda x, i: x.t().put(i[:, 0] * 3, x[0, :4], accumulate=True), a, IDX)

    def put_(x, i):
        y = x.detach().t().clone().t()                                    # non-contiguous
        y.put_(i[:, 1] * 2, x[1, :4].detach())
        return y * x
    _both(put_, a, IDX)


def test_scatter_family():
    a = _rand(4, 5, seed=6)
    s = _rand(4, 2, seed=7)
    _both(lambda x, i, s: x.scatter(1, i, s), a, IDX, s)
    _both(lambda x, i: x.scatter(1, i, 0.5), a, IDX)
    _both(lambda x, i, s: x.scatter_add(1, i, s), a, IDX, s)
    _both(lambda x, i, s: x.scatter_reduce(1, i, s, "mean"), a, IDX, s)
    _both(lambda x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False), a, IDX, s)
    _both(lambda x, i, s: x.index_add(0, i[:, 1] % 4, s), a, IDX, _rand(4, 5, seed=8))
    _both(lambda x, i: x.index_fill(1, i[:, 1], -2.0), a, IDX)
    _both(lambda x, i, v: x.index_fill(1, i[:, 1], v[0]), a, IDX, _rand(1, seed=13))
    _both(lambda x, i, s: x.index_copy(0, i[:, 0][[0, 2]], s), a, IDX, _rand(2, 5, seed=9))


def test_advanced_indexing_get_and_set():
    a = _rand(4, 5, seed=10)
    _both(lambda x, i: x[i[:, 0]], a, IDX)
    _both(lambda x, i: x[i[:, 0], i[:, 1]], a, IDX)
    _both(lambda x, i: x[:, i[:, 1]], a, IDX)
    _both(lambda x, i: x[i[:, :1], 1:3], a, IDX)
    _both(lambda x, i: x[i[:, 0] - 4], a, IDX)                          # negative indices

    def setitem(x, i):
        y = x.clone()
        y[i[:, 0]] = 2.0
        y[0, i[:, 1]] = y[1, :4]
        y[i[:, 0], i[:, 1]] = x[:, 0] * 3
        return y
    _both(setitem, a, IDX)

    def repeated(x, i):  # repeated indices 0, 1, 2: the last write wins, as on the CPU
        y = x.clone()
        y[:, i.reshape(-1)] = x.repeat(1, 2)[:, :8] * 10
        return y
    _both(repeated, a, IDX)
    _both(lambda x, i: x.index_put((i[:, 0],), x[:, :1] * 0 + 1.0, accumulate=True), a, IDX)


def _mlp_step(dev, guard):
    engine.manual_seed(0)
    nn = engine.nn
    model = nn.Sequential(nn.Embedding(7, 4), nn.Flatten(), nn.Linear(8, 6), nn.ReLU(),
                          nn.Linear(6, 3)).to(dev)
    opt = engine.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = engine.tensor([[0, 3], [6, 2], [3, 3], [1, 5]], device=dev)
    t = engine.tensor([2, 0, 1, 2], device=dev)
    losses = []
    with guard():
        for _ in range(2):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), t)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    return losses, list(model.parameters())


def test_tiny_mlp_train_step_stays_on_device():
    lc, pc = _mlp_step("cpu", contextlib.nullcontext)
    lg, pg = _mlp_step(DEV, no_device_to_host)
    for a, b in zip(lc, lg):
        _same(a, b)
    for a, b in zip(pc, pg):
        _same(a, b, {"rtol": 1e-4, "atol": 1e-5})


# ---- out-of-range indices: a Python error at synchronisation --------------------------------
BAD = [
    ("gather", RuntimeError, lambda x, i: x.gather(1, i.reshape(2, 2))),
    ("take_along_dim", IndexError, lambda x, i: engine.take_along_dim(x[:2], i.reshape(2, 2), 1)),
    ("scatter", RuntimeError, lambda x, i: x.clone().scatter_(1, i.reshape(2, 2), 0.0)),
    ("scatter_add", RuntimeError, lambda x, i: x.scatter_add(0, i.reshape(2, 2), x[:2, :2])),
    ("take", IndexError, lambda x, i: x[:2].take(i)),
    ("put_", IndexError, lambda x, i: x[:2].put_(i, x[0])),
    ("index_select", IndexError, lambda x, i: x.index_select(0, i)),
    ("index_add", RuntimeError, lambda x, i: x.index_add(0, i, x)),
    ("index", IndexError, lambda x, i: x[i]),
    ("index_put_", IndexError, lambda x, i: x.__setitem__(i, 1.0)),
    ("embedding", IndexError, lambda x, i: F.embedding(i, x)),
    ("nll_loss", IndexError, lambda x, i: F.cross_entropy(x, i)),
]


@pytest.mark.parametrize("op,kind,fn", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("sync", ["synchronize", "cpu", "item"])
def test_bad_index_raises_at_sync(op, kind, fn, sync):
    x = engine.tensor(_rand(4, 4, seed=11), device=DEV)
    i = engine.tensor([0, 9, 1, 2], device=DEV)
    with no_device_to_host():
        out = fn(x, i)                       # no error yet, and no host copy
    with pytest.raises(kind, match=rf"\b9\b.*{op}|{op}.*\b9\b") as e:
        if sync == "synchronize":
            engine.cuda.synchronize()
        elif sync == "cpu":
            (x if out is None else out).cpu()
        else:
            x.sum().item()
    assert "synchronisation" in str(e.value)
    engine.cuda.synchronize()                # reported once, then cleared
    y = engine.tensor([[1.0, 2.0], [3.0, 4.0]], device=DEV)
    assert y.gather(1, engine.tensor([[1], [0]], device=DEV)).cpu().tolist() == [[2.0], [3.0]]
    assert y[engine.tensor([1, 0], device=DEV)].sum().item() == 10.0


def test_bad_index_message_names_range():
    x = engine.tensor(_rand(3, 4, seed=12), device=DEV)
    x.gather(1, engine.tensor([[0], [-1], [2]], device=DEV))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with "
                                           "size 4.*gather"):
        engine.cuda.synchronize()
    F.cross_entropy(x, engine.tensor([0, 4, 1], device=DEV))
    with pytest.raises(IndexError, match=r"Target 4 is out of bounds.*\[0, 3\]"):
        engine.cuda.synchronize()
    x[engine.tensor([-5], device=DEV)]
    with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 0 with size 3"):
        engine.cuda.synchronize()
    assert x[engine.tensor([-3], device=DEV)].cpu().tolist() == x[0:1].cpu().tolist()
