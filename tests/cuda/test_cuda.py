"""CUDA backend parity: every kernel family on 'cuda' against the CPU backend.

Runs under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda``;
scripts/test.sh does this) with tiny sizes, and unchanged on a real GPU. Skipped when
``engine.cuda.is_available()`` is False."""

import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.ops.elementwise import BINARY, UNARY, binary, unary

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

SIM = engine.cuda.is_simulator()
DEV = "cuda"


def _tol(dt):
    if SIM:  # the simulator calls the CPU scalar functions: results match closely
        return dict(rtol=1e-6, atol=1e-7) if dt == np.float32 else dict(rtol=1e-12, atol=1e-14)
    return dict(rtol=2e-5, atol=2e-6) if dt == np.float32 else dict(rtol=1e-11, atol=1e-13)


def _same(c, g, tol=None):
    """Compare a CPU result with a CUDA result (tensors, tuples of tensors)."""
    if isinstance(c, tuple):
        for a, b in zip(c, g):
            _same(a, b, tol)
        return
    assert g.device.type == "cuda", g.device
    assert c.dtype == g.dtype, (c.dtype, g.dtype)
    assert tuple(c.shape) == tuple(g.shape)
    a, b = c.detach().numpy(), g.detach().cpu().numpy()
    if a.dtype.kind == "f":
        np.testing.assert_allclose(b, a, equal_nan=True, **(tol or _tol(a.dtype)))
    else:
        np.testing.assert_array_equal(b, a)


def _pair(arr):
    c = engine.tensor(arr)
    return c, c.to(DEV)


def _rand(*shape, lo=-1.0, hi=1.0, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


# ---- devices, transfers, errors ------------------------------------------------------------
def test_device_api():
    assert engine.cuda.device_count() >= 1
    assert engine.cuda.current_device() == 0
    assert isinstance(engine.cuda.get_device_name(0), str)
    assert len(engine.cuda.get_device_capability()) == 2
    engine.cuda.set_device(0)
    engine.cuda.synchronize()
    assert engine.cuda.is_initialized()
    assert "device" in engine.cuda._describe()
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        engine.zeros(2, device="cuda:7")


def test_to_cuda_cpu_roundtrip():
    a = _rand(3, 4)
    t = engine.from_numpy(a)
    g = t.cuda()
    assert g.is_cuda and not g.is_cpu and g.device == engine.device("cuda", 0)
    assert g.get_device() == 0
    np.testing.assert_array_equal(g.cpu().numpy(), a)
    np.testing.assert_array_equal(t.to("cuda:0", engine.float64).cpu().numpy(), a.astype(np.float64))
    assert t.to(g) .device == g.device
    # strided CPU source and strided CUDA source
    np.testing.assert_array_equal(t.t().cuda().cpu().numpy(), a.T)
    np.testing.assert_array_equal(g.t().cpu().numpy(), a.T)
    np.testing.assert_array_equal(g[1:, ::2].cpu().numpy(), a[1:, ::2])
    assert g.to("cuda") is g
    with pytest.raises(TypeError, match="cpu"):
        g.numpy()
    assert g.tolist() == a.tolist()
    assert float(g[0, 0]) == float(a[0, 0])
    assert "cuda:0" in repr(g)
    e = engine.empty(0, device=DEV)
    assert e.cpu().shape == (0,)
    z = engine.zeros(2, 3, device=DEV, dtype=engine.int64)
    assert z.cpu().tolist() == [[0] * 3] * 2
    o = engine.ones(4, device=DEV) * 3
    assert o.cpu().tolist() == [3.0] * 4
    assert engine.full((2,), 7, device=DEV).cpu().tolist() == [7, 7]
    assert engine.arange(5, device=DEV).cpu().tolist() == list(range(5))


def test_mixed_device_errors():
    c = engine.ones(3)
    g = engine.ones(3, device=DEV)
    for fn in (lambda: c + g, lambda: g * c, lambda: engine.where(g > 0, c, g)):
        with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
            fn()
    with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
        engine.ones(2, 3) @ engine.ones(3, 2, device=DEV)
    # a 0-d CPU tensor acts as a scalar, as in PyTorch
    r = g * engine.tensor(2.0)
    assert r.is_cuda and r.cpu().tolist() == [2.0] * 3


@pytest.mark.skipif(not SIM, reason="needs a machine without a CUDA driver")
def test_unavailable_error_is_clear():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = ("import engine\n"
            "print(engine.cuda.is_available(), engine.cuda.device_count())\n"
            "try:\n engine.zeros(2, device='cuda')\n"
            "except RuntimeError as e:\n print('ERR', e)\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                           os.path.abspath(__file__)))))
    if r.stdout.startswith("True"):
        pytest.skip("this machine has a CUDA driver")
    assert r.stdout.startswith("False 0"), r.stdout + r.stderr
    assert "ERR engine: CUDA requested (device 'cuda') but no CUDA GPU/driver is available" \
        in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stderr


# ---- elementwise ----------------------------------------------------------------------------
_P, _Q = 0.5, 2.0
_INT_UNARY = {"bitwise_not"}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_table(name):
    op = UNARY[name]
    if op.kind == "int" or name in _INT_UNARY:
        c, g = _pair(np.array([[0, 3, -5], [7, 1, 2]], np.int64))
    else:
        c, g = _pair(_rand(2, 5, lo=0.05, hi=0.95, seed=1) * np.float32(1.0))
    _same(unary(name, c, _P, _Q), unary(name, g, _P, _Q))


def test_unary_strided_and_dtypes():
    a = _rand(4, 6, seed=2)
    c, g = _pair(a)
    _same(c.t().exp(), g.t().exp())                    # transposed input
    _same(c[1:, ::2].sin(), g[1:, ::2].sin())          # offset + step
    _same(c[:, :1].expand(4, 6).tanh(), g[:, :1].expand(4, 6).tanh())  # stride 0
    _same(c[0, 0].exp(), g[0, 0].exp())                # 0-d
    c64, g64 = _pair(a.astype(np.float64))
    _same(c64.sigmoid(), g64.sigmoid())
    ci, gi = _pair(np.arange(6).reshape(2, 3))
    _same(ci.exp(), gi.exp())                          # int -> default float
    _same(ci.abs(), gi.abs())
    _same(c.relu().t(), g.relu().t())


_INT_BINARY = {"bitwise_and", "bitwise_or", "bitwise_xor"}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_table(name):
    op = BINARY[name]
    if op.kind == "int" or name in _INT_BINARY:
        a = np.array([[1, 6, 3], [12, 5, 9]], np.int64)
        b = np.array([[3, 2, 7]], np.int64)
    else:
        a = _rand(2, 3, lo=0.5, hi=2.0, seed=3)
        b = _rand(1, 3, lo=0.5, hi=2.0, seed=4)        # broadcast along dim 0
    ca, ga = _pair(a)
    cb, gb = _pair(b)
    _same(binary(name, ca, cb), binary(name, ga, gb))
    s = 2 if a.dtype.kind == "i" else 1.5
    _same(binary(name, ca, s), binary(name, ga, s))    # scalar operand by value
    _same(binary(name, ca.t(), cb.t()), binary(name, ga.t(), gb.t()))  # strided


def test_binary_broadcast_and_promotion():
    a, b = _rand(3, 1, seed=5), _rand(1, 4, seed=6)
    ca, ga = _pair(a)
    cb, gb = _pair(b)
    _same(ca + cb, ga + gb)
    _same(ca * cb - ca / (cb + 2), ga * gb - ga / (gb + 2))
    ci, gi = _pair(np.array([1, 2, 3], np.int32))
    cd, gd = _pair(np.array([0.5, 1.5, 2.5], np.float64))
    _same(ci + cd, gi + gd)                            # int32 + float64 -> float64
    _same(ci * 2.5, gi * 2.5)
    _same(ci > 1, gi > 1)
    _same(engine.where(ca > 0, ca, cb), engine.where(ga > 0, ga, gb))
    _same(engine.where(ca > 0, ca, 0.0), engine.where(ga > 0, ga, 0.0))
    _same(ca.clamp(-0.2, 0.3), ga.clamp(-0.2, 0.3))
    _same(engine.lerp(ca, cb, 0.3), engine.lerp(ga, gb, 0.3))
    _same(ca.pow(2), ga.pow(2))


def test_inplace_and_copies():
    a = _rand(3, 4, seed=7)
    c, g = _pair(a)
    c2, g2 = c.clone(), g.clone()
    c2.add_(1).mul_(2)
    g2.add_(1).mul_(2)
    _same(c2, g2)
    c2[:, 1] = 5.0
    g2[:, 1] = 5.0
    _same(c2, g2)
    c2[0] = c[1]
    g2[0] = g[1]
    _same(c2, g2)
    c2.t()[1:3].copy_(c[:3, 1:3].t())
    g2.t()[1:3].copy_(g[:3, 1:3].t())
    _same(c2, g2)
    g3 = engine.empty(3, 4, device=DEV)
    g3.copy_(c)                                        # host -> device copy_
    _same(c, g3)
    c.fill_(0.25)
    g.fill_(0.25)
    _same(c, g)
    _same(c.permute(1, 0).contiguous(), g.permute(1, 0).contiguous())


@pytest.mark.parametrize("src,dst", [("float32", "int32"), ("float32", "bool"),
                                     ("bool", "float32"), ("int64", "float64"),
                                     ("float64", "float32"), ("float32", "float16"),
                                     ("float16", "float32"), ("int32", "uint8")])
def test_casts(src, dst):
    a = np.array([[-1.5, 0.0, 2.25], [3.0, 0.5, -0.0]])
    if src == "bool":
        a = a > 0.1
    if dst == "uint8":  # out-of-range int -> uint8 wraps on a GPU; the simulator raises
        a = np.abs(a)
    c, g = _pair(a.astype(src) if src != "bool" else a)
    _same(c.to(getattr(engine, dst)), g.to(getattr(engine, dst)))
    _same(c.t().to(getattr(engine, dst)), g.t().to(getattr(engine, dst)))


# ---- reductions --------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dims", [((3, 5), None), ((3, 5), 1), ((3, 5), 0),
                                        ((2, 20), 1), ((2, 3, 4), (0, 2)), ((2, 100), 1),
                                        ((100,), 0)])
def test_reductions(shape, dims):
    a = _rand(*shape, seed=8)
    c, g = _pair(a)
    kw = {} if dims is None else {"dim": dims}
    _same(c.sum(**kw), g.sum(**kw), dict(rtol=1e-5, atol=1e-6))
    _same(c.mean(**kw), g.mean(**kw), dict(rtol=1e-5, atol=1e-6))
    _same(c.amax(**kw) if dims is not None else c.max(), g.amax(**kw) if dims is not None
          else g.max())
    _same(c.amin(**kw) if dims is not None else c.min(), g.amin(**kw) if dims is not None
          else g.min())
    _same(c.var(**kw), g.var(**kw), dict(rtol=1e-5, atol=1e-6))
    _same((c > 0).all(**kw) if dims is not None else (c > 0).all(),
          (g > 0).all(**kw) if dims is not None else (g > 0).all())
    _same((c > 0).any(**kw) if dims is not None else (c > 0).any(),
          (g > 0).any(**kw) if dims is not None else (g > 0).any())
    _same((c * 0.5 + 1).prod(dim=dims if isinstance(dims, int) else 0),
          (g * 0.5 + 1).prod(dim=dims if isinstance(dims, int) else 0), dict(rtol=1e-5))
    if dims is not None:
        _same(c.logsumexp(dims), g.logsumexp(dims), dict(rtol=1e-5, atol=1e-6))
        _same(c.sum(dims, keepdim=True), g.sum(dims, keepdim=True), dict(rtol=1e-5, atol=1e-6))
    if isinstance(dims, int):
        _same(c.max(dims), g.max(dims))
        _same(c.argmin(dims), g.argmin(dims))


def test_reductions_strided_int_nan():
    a = _rand(6, 20, seed=9)
    c, g = _pair(a)
    _same(c.t().sum(1), g.t().sum(1), dict(rtol=1e-5, atol=1e-6))      # column-major rows
    _same(c[:, ::3].sum(0), g[:, ::3].sum(0), dict(rtol=1e-5, atol=1e-6))
    _same(c.t().argmax(0), g.t().argmax(0))
    ci, gi = _pair(np.arange(24).reshape(4, 6) - 7)
    _same(ci.sum(), gi.sum())
    _same(ci.sum(1), gi.sum(1))
    _same(ci.amax(0), gi.amax(0))
    _same(ci.prod(1), gi.prod(1))
    _same((ci > 0).sum(0), (gi > 0).sum(0))
    n = a.copy()
    n[1, 3] = np.nan
    n[4, 0] = np.nan
    n[4, 7] = np.nan
    cn, gn = _pair(n)
    _same(cn.amax(1), gn.amax(1))
    _same(cn.argmax(1), gn.argmax(1))
    _same(cn.argmin(1), gn.argmin(1))
    _same(cn.logsumexp(1), gn.logsumexp(1))
    ties = np.array([[1.0, 3.0, 3.0, 0.0] * 5, [2.0] * 20], np.float32)
    ct, gt = _pair(ties)
    _same(ct.argmax(1), gt.argmax(1))
    _same(ct.argmin(1), gt.argmin(1))
    e, ge = _pair(np.zeros((3, 0), np.float32))
    _same(e.sum(1), ge.sum(1))
    _same(e.var(1), ge.var(1))
    single = engine.tensor([[2.0]], device=DEV)
    assert np.isnan(single.var(1).cpu().item())


@pytest.mark.parametrize("shape,dim", [((3, 5), -1), ((3, 20), 1), ((4, 3), 0), ((2, 3, 4), 1)])
def test_softmax(shape, dim):
    a = _rand(*shape, lo=-3, hi=3, seed=10)
    c, g = _pair(a)
    _same(c.softmax(dim), g.softmax(dim), dict(rtol=1e-5, atol=1e-6))
    _same(c.log_softmax(dim), g.log_softmax(dim), dict(rtol=1e-5, atol=1e-6))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_softmax_edge_rows():
    a = np.array([[0.0, -np.inf, 1.0] * 4, [-np.inf] * 12, [np.nan, 1.0, 2.0] * 4], np.float32)
    c, g = _pair(a)
    _same(c.softmax(1), g.softmax(1), dict(rtol=1e-5, atol=1e-6))
    _same(c.log_softmax(1), g.log_softmax(1), dict(rtol=1e-5, atol=1e-6))
    _same(c.logsumexp(1), g.logsumexp(1), dict(rtol=1e-5, atol=1e-6))


def test_scans():
    a = _rand(3, 12, lo=0.5, hi=1.5, seed=11)
    c, g = _pair(a)
    _same(c.cumsum(1), g.cumsum(1), dict(rtol=1e-5, atol=1e-6))
    _same(c.cumsum(0), g.cumsum(0), dict(rtol=1e-5, atol=1e-6))
    _same(c.cumprod(1), g.cumprod(1), dict(rtol=1e-5, atol=1e-6))
    ci, gi = _pair(np.arange(10).reshape(2, 5))
    _same(ci.cumsum(1), gi.cumsum(1))
    n = np.array([[1.0, 3.0, 2.0, 3.0, np.nan, 5.0], [0.0, -1.0, -1.0, 4.0, 2.0, 9.0]],
                 np.float32)
    cn, gn = _pair(n)
    _same(cn.cummax(1), gn.cummax(1))
    _same(cn.cummin(1), gn.cummin(1))


def test_sort_topk_median():
    a = np.array([[3.0, 1.0, 2.0, 1.0, np.nan, 0.5, 2.0], [5.0, 4.0, 4.0, 1.0, 9.0, -2.0, 0.0],
                  [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]], np.float32)
    c, g = _pair(a)
    for desc in (False, True):
        _same(c.sort(1, descending=desc, stable=True), g.sort(1, descending=desc, stable=True))
        _same(c.t().sort(0, descending=desc), g.t().sort(0, descending=desc))
        _same(c.argsort(1, descending=desc), g.argsort(1, descending=desc))
    b = a[1:]
    cb, gb = _pair(b)
    for k in (1, 3, 7):
        _same(cb.topk(k, 1), gb.topk(k, 1))
        _same(cb.topk(k, 1, largest=False), gb.topk(k, 1, largest=False))
    _same(c.median(1), g.median(1))
    m = _rand(4, 9, seed=12)
    cm, gm = _pair(m)
    _same(cm.median(1), gm.median(1))
    _same(cm.median(0), gm.median(0))
    assert abs(gm.median().item() - cm.median().item()) == 0
    ci, gi = _pair(np.array([[5, 3, 9, 1, 3]]))
    _same(ci.sort(1), gi.sort(1))


# ---- matmul ------------------------------------------------------------------------------
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (5, 7, 3), (17, 9, 20), (3, 0, 4)])
def test_matmul_shapes(m, k, n):
    a, b = _rand(m, k, seed=13), _rand(k, n, seed=14)
    ca, ga = _pair(a)
    cb, gb = _pair(b)
    tol = dict(rtol=1e-5, atol=1e-5)
    _same(ca @ cb, ga @ gb, tol)
    _same(cb.t() @ ca.t(), gb.t() @ ga.t(), tol)           # both transposed


def test_matmul_batched_strided_dtypes():
    tol = dict(rtol=1e-5, atol=1e-5)
    a, b = _rand(3, 4, 5, seed=15), _rand(3, 5, 6, seed=16)
    ca, ga = _pair(a)
    cb, gb = _pair(b)
    _same(engine.bmm(ca, cb), engine.bmm(ga, gb), tol)
    _same(ca @ cb[0], ga @ gb[0], tol)                       # broadcast batch (stride 0)
    _same(ca.transpose(1, 2) @ ca, ga.transpose(1, 2) @ ga, tol)
    _same(ca[:, ::2, 1:] @ cb[:, 1:, ::3], ga[:, ::2, 1:] @ gb[:, 1:, ::3], tol)
    v = _rand(5, seed=17)
    cv, gv = _pair(v)
    _same(ca[0] @ cv, ga[0] @ gv, tol)
    _same(cv @ cv, gv @ gv, tol)
    c64, g64 = _pair(a.astype(np.float64))
    _same(c64 @ c64.transpose(1, 2), g64 @ g64.transpose(1, 2))
    ci, gi = _pair(np.arange(12).reshape(3, 4))
    _same(ci @ ci.t(), gi @ gi.t())
    _same(engine.addmm(cb[0, 0], ca[0], cb[0]), engine.addmm(gb[0, 0], ga[0], gb[0]), tol)


# ---- random ------------------------------------------------------------------------------
def test_random_reproducible():
    engine.manual_seed(123)
    a = engine.rand(200, device=DEV).cpu().numpy()
    b = engine.randn(3, 70, device=DEV, dtype=engine.float64).cpu().numpy()
    engine.manual_seed(123)
    a2 = engine.rand(200, device=DEV).cpu().numpy()
    b2 = engine.randn(3, 70, device=DEV, dtype=engine.float64).cpu().numpy()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() < 1
    assert 0.35 < a.mean() < 0.65 and len(np.unique(a)) > 190
    assert abs(b.mean()) < 0.25 and 0.75 < b.std() < 1.25
    c = engine.rand(200, device=DEV).cpu().numpy()
    assert not np.array_equal(a, c)                          # the stream advances
    engine.cuda.manual_seed(5)
    d1 = engine.rand(8, device=DEV).cpu().numpy()
    st = engine.cuda.get_rng_state()
    d2 = engine.rand(8, device=DEV).cpu().numpy()
    engine.cuda.set_rng_state(st)
    np.testing.assert_array_equal(engine.rand(8, device=DEV).cpu().numpy(), d2)
    assert not np.array_equal(d1, d2)
    x = engine.ones(100, device=DEV)
    engine.manual_seed(0)
    y1 = engine.nn.functional.dropout(x, 0.5, True).cpu().numpy()
    engine.manual_seed(0)
    y2 = engine.nn.functional.dropout(x, 0.5, True).cpu().numpy()
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) <= {0.0, 2.0} and 20 < (y1 == 0).sum() < 80


# ---- autograd, nn, optim -----------------------------------------------------------------
def _mlp():
    engine.manual_seed(0)
    return engine.nn.Sequential(engine.nn.Linear(6, 5), engine.nn.Tanh(),
                                engine.nn.Linear(5, 3))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_mlp_train_step_matches_cpu(opt):
    x = _rand(4, 6, seed=18)
    y = _rand(4, 3, seed=19)
    results = []
    for dev in ("cpu", DEV):
        model = _mlp().to(dev)
        assert all(p.device.type == engine.device(dev).type for p in model.parameters())
        o = (engine.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt == "sgd"
             else engine.optim.Adam(model.parameters(), lr=0.01))
        xs, ys = engine.tensor(x, device=dev), engine.tensor(y, device=dev)
        losses = []
        for _ in range(2):
            o.zero_grad()
            loss = engine.nn.functional.mse_loss(model(xs), ys)
            loss.backward()
            o.step()
            losses.append(loss.item())
        grads = [p.grad.cpu().numpy() for p in model.parameters()]
        params = [p.detach().cpu().numpy() for p in model.parameters()]
        results.append((losses, grads, params))
    (l0, g0, p0), (l1, g1, p1) = results
    np.testing.assert_allclose(l1, l0, rtol=1e-5)
    for a, b in zip(g0 + p0, g1 + p1):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_autograd_ops_on_cuda():
    a = _rand(3, 4, seed=20)
    outs = []
    for dev in ("cpu", DEV):
        x = engine.tensor(a, device=dev, requires_grad=True)
        y = (x.softmax(1) * x.exp()).sum() + x.var(0).sum() + (x @ x.t()).relu().mean() \
            + x.max(1)[0].sum() + x.logsumexp(1).sum()
        y.backward()
        assert x.grad.device.type == engine.device(dev).type
        outs.append((y.item(), x.grad.cpu().numpy()))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-5)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-4, atol=1e-6)
    # gradient flowing back across devices
    x = engine.tensor(a, requires_grad=True)
    (x.cuda() * 2).sum().backward()
    assert x.grad.device.type == "cpu" and np.all(x.grad.numpy() == 2)


# ---- serialization -------------------------------------------------------------------------
def test_save_load_map_location(tmp_path):
    a = _rand(3, 4, seed=21)
    g = engine.tensor(a, device=DEV)
    p = tmp_path / "t.pt"
    engine.save({"w": g, "v": g[1:, ::2], "c": engine.tensor(a)}, p)
    d = engine.load(p)
    assert d["w"].is_cuda and d["c"].is_cpu
    np.testing.assert_array_equal(d["v"].cpu().numpy(), a[1:, ::2])
    d = engine.load(p, map_location="cpu")
    assert d["w"].is_cpu and d["v"].is_cpu
    np.testing.assert_array_equal(d["w"].numpy(), a)
    d = engine.load(p, map_location=DEV)
    assert d["c"].is_cuda
    np.testing.assert_array_equal(d["c"].cpu().numpy(), a)
    m = _mlp().cuda()
    engine.save(m.state_dict(), tmp_path / "m.pt")
    m2 = _mlp()
    m2.load_state_dict(engine.load(tmp_path / "m.pt", map_location="cpu"))
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p1.detach().cpu().numpy(), p2.detach().numpy())


# ---- memory ----------------------------------------------------------------------------
def test_memory_stats():
    engine.cuda.synchronize()
    base = engine.cuda.memory_allocated()
    t = engine.empty(1000, device=DEV)
    assert engine.cuda.memory_allocated() >= base + 4000
    assert engine.cuda.max_memory_allocated() >= engine.cuda.memory_allocated()
    assert engine.cuda.memory_reserved() >= engine.cuda.memory_allocated()
    del t
    assert engine.cuda.memory_allocated() == base
    r = engine.cuda.memory_reserved()
    engine.cuda.empty_cache()
    assert engine.cuda.memory_reserved() <= r
    # a repeated step reuses cached blocks: no new driver allocations after the first
    model = _mlp().cuda()
    opt = engine.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = engine.ones(4, 6, device=DEV)

    def step():
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
    step()
    step()
    n = engine.cuda.memory_stats()["num_device_alloc"]
    step()
    assert engine.cuda.memory_stats()["num_device_alloc"] == n
    engine.cuda.reset_peak_memory_stats()
    assert engine.cuda.max_memory_allocated() == engine.cuda.memory_allocated()


def test_streams_events():
    s = engine.cuda.Stream()
    e0, e1 = engine.cuda.Event(enable_timing=True), engine.cuda.Event(enable_timing=True)
    e0.record()
    (engine.ones(64, device=DEV) * 2).sum()
    e1.record()
    e1.synchronize()
    assert e0.elapsed_time(e1) >= 0
    s.synchronize()
    engine.cuda.current_stream().synchronize()


# ---- interop -----------------------------------------------------------------------------
class _CAI:
    def __init__(self, desc, keep):
        self.__cuda_array_interface__ = desc
        self.keep = keep


def test_cuda_array_interface_roundtrip():
    a = _rand(3, 4, seed=22)
    g = engine.tensor(a, device=DEV)
    cai = g.__cuda_array_interface__
    assert cai["version"] == 3 and cai["shape"] == (3, 4) and cai["typestr"] == "<f4"
    assert cai["strides"] is None and cai["data"][1] is False
    v = g.t()[1:]
    assert v.__cuda_array_interface__["strides"] == (4, 16)
    assert not hasattr(engine.ones(2), "__cuda_array_interface__")
    with pytest.raises(RuntimeError, match="requires grad"):
        engine.ones(2, device=DEV, requires_grad=True).__cuda_array_interface__
    h = engine.as_tensor(_CAI(v.__cuda_array_interface__, v))
    assert h.is_cuda and tuple(h.shape) == (3, 3) and h.stride() == (1, 4)
    np.testing.assert_array_equal(h.cpu().numpy(), a.T[1:])
    h.fill_(9.0)                                              # shares memory with g
    assert (g.cpu().numpy()[:, 1:] == 9.0).all() and (g.cpu().numpy()[:, 0] == a[:, 0]).all()


def test_dlpack_cpu_numpy():
    t = engine.arange(6.0).reshape(2, 3)
    assert t.__dlpack_device__() == (1, 0)
    n = np.from_dlpack(t)
    n[0, 0] = 42.0
    assert t[0, 0].item() == 42.0                            # zero copy
    v = np.from_dlpack(t.t())
    assert v.shape == (3, 2) and v[0, 0] == 42.0
    a = np.arange(8, dtype=np.int32)[::2]
    e = engine.from_dlpack(a)
    assert e.dtype == engine.int32 and e.tolist() == [0, 2, 4, 6]
    a[1] = 99
    assert e[1].item() == 99                                 # zero copy
    # the engine's own capsule builder (used for CUDA tensors), exercised on host memory
    from engine.cuda.interop import to_dlpack_capsule

    class Holder:
        def __init__(self, ver):
            self.ver = ver

        def __dlpack__(self, **kw):
            return to_dlpack_capsule(t.data_ptr(), (3, 2), (1, 3), t.dtype.np, (1, 0), t, versioned=self.ver)

        def __dlpack_device__(self):
            return (1, 0)
    for ver in (False, True):
        w = np.from_dlpack(Holder(ver))
        np.testing.assert_array_equal(w, t.numpy().T)
        r = engine.from_dlpack(Holder(ver).__dlpack__())        # raw capsule
        np.testing.assert_array_equal(r.numpy(), t.numpy().T)
    g = engine.ones(3, device=DEV)
    assert g.__dlpack_device__() == (2, 0)
    assert engine.from_dlpack(g) .is_cuda


# ---- index family, conv/pool ---------------------------------------------------------------
def test_index_kernels_direct():
    from engine.cuda import indexing as CI
    x = np.arange(12, dtype=np.float32)
    g = engine.tensor(x, device=DEV)
    out = engine.empty(4, device=DEV)
    CI.take(g._storage.data, np.array([3, 1, 1, 11]), out._np())
    assert out.cpu().tolist() == [3.0, 1.0, 1.0, 11.0]
    CI.put(g._storage.data, np.array([0, 0, 5]), np.array([1.0, 2.0, 3.0], np.float32), "add")
    CI.put(g._storage.data, np.array([2, 2]), np.array([7.0, 8.0], np.float32), "assign")
    assert g.cpu().tolist()[:6] == [3.0, 1.0, 8.0, 3.0, 4.0, 8.0]          # last write wins
    o2 = engine.empty(2, 3, device=DEV)
    maps = [np.array([2, 0]), np.array([3, 1, 1])]
    CI.remap_take(g._storage.data, 0, (4, 1), maps, o2._np())
    assert o2.cpu().tolist() == [[11.0, 9.0, 9.0], [3.0, 1.0, 1.0]]
    CI.remap_put(g._storage.data, 0, (4, 1), maps, o2._np(), "add")
    assert g.cpu().tolist()[9] == 27.0                                       # 9 + 9 + 9
    with pytest.raises(IndexError, match="out of bounds"):
        CI.take(g._storage.data, np.array([30]), out._np())
        engine.cuda.synchronize()
    engine.cuda.synchronize()                                                # error cleared


def _both(fn, *arrays, grad=False, tol=None):
    """fn on CPU tensors and on CUDA tensors (float arrays require grad when ``grad``)."""
    res = []
    for dev in ("cpu", DEV):
        ts = [engine.tensor(a, device=dev, requires_grad=grad and a.dtype.kind == "f")
              for a in arrays]
        out = fn(*ts)
        grads = []
        if grad:
            (out.float() * engine.linspace(0.5, 1.5, out.numel(), device=dev)
             .reshape(out.shape)).sum().backward()
            grads = [t.grad for t in ts if t.requires_grad]
        res.append((out, grads))
    _same(res[0][0], res[1][0], tol)
    for a, b in zip(res[0][1], res[1][1]):
        _same(a, b, tol or dict(rtol=1e-5, atol=1e-6))


def test_index_ops_on_cuda():
    a = _rand(4, 5, seed=23)
    idx = np.array([[0, 4], [1, 1], [3, 0], [2, 2]])
    _both(lambda x, i: x.gather(1, i), a, idx, grad=True)
    _both(lambda x, i: x.index_select(0, i[:, 0]), a, idx, grad=True)
    _both(lambda x, i: x[:, i[:, 1]], a, idx, grad=True)
    _both(lambda x, i: x[i[:, 0], i[:, 1]], a, idx, grad=True)
    _both(lambda x: x[x > 0], a, grad=True)
    _both(lambda x: x.flip(1), a, grad=True)
    _both(lambda x: x.roll(2, 0), a, grad=True)
    _both(lambda x: x.repeat(2, 1), a, grad=True)
    _both(lambda x, i: engine.zeros(4, 5, device=x.device).scatter_add(1, i, x[:, :2]), a, idx)
    _both(lambda x, i: x.index_add(0, i[:, 0], x), a, idx, grad=True)
    _both(lambda x: x.masked_fill(x < 0, 0.5), a, grad=True)
    _both(lambda i: engine.nn.functional.one_hot(i[:, 0], 5), idx)
    _both(lambda w, i: engine.nn.functional.embedding(i[:, 0], w), a, idx, grad=True)

    def setitem(x, i):
        y = x.clone()
        y[i[:, 0]] = 2.0
        y[0, i[:, 1]] = y[1, :4]
        return y
    _both(setitem, a, idx, grad=True)


def test_cross_entropy_on_cuda():
    logits = _rand(6, 4, seed=24)
    target = np.array([0, 3, 1, 1, 2, 0])
    _both(lambda x, t: engine.nn.functional.cross_entropy(x, t), logits, target, grad=True,
          tol=dict(rtol=1e-5, atol=1e-6))
    _both(lambda x, t: engine.nn.functional.nll_loss(x.log_softmax(1), t, reduction="sum"),
          logits, target, grad=True, tol=dict(rtol=1e-5, atol=1e-6))
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):  # checked on the device,
        engine.nn.functional.cross_entropy(engine.tensor(logits, device=DEV),   # raised at sync
                                           engine.tensor([0, 9, 1, 1, 2, 0], device=DEV))
        engine.cuda.synchronize()


def test_conv_pool_on_cuda():
    x = _rand(1, 2, 5, 5, seed=25)
    w = _rand(3, 2, 3, 3, seed=26)
    F = engine.nn.functional
    tol = dict(rtol=1e-5, atol=1e-5)
    _both(lambda x, w: F.conv2d(x, w, padding=1), x, w, grad=True, tol=tol)
    _both(lambda x: F.max_pool2d(x, 2), x, grad=True, tol=tol)
    _both(lambda x: F.avg_pool2d(x, 2), x, grad=True, tol=tol)
    with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
        F.conv2d(engine.tensor(x, device=DEV), engine.tensor(w))
