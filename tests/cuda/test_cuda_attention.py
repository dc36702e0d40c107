"""MultiheadAttention on 'cuda' against the CPU (outputs, attention weights, input and
parameter gradients): attention is composed of engine ops, so it runs on the device with no
kernel of its own.

``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda`` (tiny sizes); unchanged on a real GPU.
Skipped when ``engine.cuda.is_available()`` is False."""

import copy

import numpy as np
import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

nn = engine.nn
DEV = "cuda"
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _same(c, g):
    assert g.device.type == "cuda", g.device
    assert tuple(c.shape) == tuple(g.shape) and c.dtype == g.dtype
    np.testing.assert_allclose(g.detach().cpu().numpy(), c.detach().numpy(), equal_nan=True,
                               **TOL)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cuda_matches_cpu(need_weights):
    engine.manual_seed(0)
    cpu = nn.MultiheadAttention(4, 2, batch_first=True)
    with engine.no_grad():
        cpu.in_proj_bias.uniform_(-0.5, 0.5)
    gpu = copy.deepcopy(cpu).to(DEV)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    kpm = np.array([[False, False, True], [False, False, False]])
    w = rng.standard_normal((2, 3, 4)).astype(np.float32)
    res = []
    for mod, dev in ((cpu, "cpu"), (gpu, DEV)):
        xt = engine.tensor(x, device=dev, requires_grad=True)
        out, weights = mod(xt, xt, xt, key_padding_mask=engine.tensor(kpm, device=dev),
                           need_weights=need_weights)
        (out * engine.tensor(w, device=dev)).sum().backward()
        res.append((out, weights, xt.grad, [p.grad for p in mod.parameters()]))
    (co, cw, cx, cg), (go, gw, gx, gg) = res
    _same(co, go)
    if need_weights:
        _same(cw, gw)
    else:
        assert cw is None and gw is None
    _same(cx, gx)
    for a, b in zip(cg, gg):
        _same(a, b)
