"""nn.LSTM on 'cuda' against the same module on the CPU (output, h_n, c_n and every gradient):
the recurrent layers are engine-op composites, so the CUDA kernels run them unchanged.

``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda/test_cuda_rnn.py`` (tiny sizes: the
simulator runs every thread in Python); unchanged on a real GPU. Skipped when
``engine.cuda.is_available()`` is False."""

import copy

import numpy as np
import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

TOL32 = {"rtol": 1e-5, "atol": 1e-5}


def test_lstm_cuda_matches_cpu():
    engine.manual_seed(0)
    cpu = engine.nn.LSTM(3, 4)
    gpu = copy.deepcopy(cpu).to("cuda")
    assert all(p.device.type == "cuda" for p in gpu.parameters())
    x = np.random.default_rng(0).uniform(-1, 1, (2, 2, 3)).astype(np.float32)
    res = []
    for dev, m in (("cpu", cpu), ("cuda", gpu)):
        xt = engine.tensor(x, device=dev, requires_grad=True)
        out, (h, c) = m(xt)
        assert out.device.type == dev and h.device.type == dev and c.device.type == dev
        w = engine.linspace(0.5, 1.5, out.numel(), device=dev).reshape(out.shape)
        ((out * w).sum() + h.sum() + 2 * c.sum()).backward()
        res.append([out, h, c, xt.grad] + [p.grad for p in m.parameters()])
    for a, b in zip(*res):
        assert b.device.type == "cuda" and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().numpy(), **TOL32)
