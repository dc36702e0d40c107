"""The remaining nn functions (3-D conv/pool, unpooling, grid sampling, CTC, pdist) on 'cuda'
against the CPU backend, values and gradients; they are compositions of engine ops, so this
checks that every op they use runs on the device.

``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda/test_cuda_nn_more.py`` (tiny sizes);
unchanged on a real GPU. Skipped when ``engine.cuda.is_available()`` is False."""

import numpy as np
import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

F = engine.nn.functional
RNG = np.random.default_rng(2)


def _both(fn, *arrays):
    c = [engine.tensor(a).cuda().requires_grad_() for a in arrays]
    h = [engine.tensor(a).requires_grad_() for a in arrays]
    yc, yh = fn(*c), fn(*h)
    assert yc.device.type == "cuda"
    np.testing.assert_allclose(yc.detach().cpu().numpy(), yh.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    w = RNG.standard_normal(tuple(yh.shape))
    (yc * engine.tensor(w).cuda()).sum().backward()
    (yh * engine.tensor(w)).sum().backward()
    for a, b in zip(c, h):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


def _r(*shape):
    return RNG.standard_normal(shape)


CASES = {
    "conv3d": (lambda x, w: F.conv3d(x, w, padding=1, stride=(2, 1, 1)),
               (1, 2, 3, 3, 3), (2, 2, 2, 2, 2)),
    "conv_transpose3d": (lambda x, w: F.conv_transpose3d(x, w, stride=2),
                         (1, 2, 2, 2, 2), (2, 2, 2, 2, 2)),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2, 1, 1), (1, 2, 3, 3, 3)),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, 2, 1, 1, count_include_pad=False),
                   (1, 2, 3, 3, 3)),
    "adaptive_max_pool3d": (lambda x: F.adaptive_max_pool3d(x, 2), (1, 2, 3, 3, 3)),
    "grid_sample": (lambda x, g: F.grid_sample(x, g.tanh(), padding_mode="reflection",
                                               align_corners=False), (1, 2, 3, 3), (1, 2, 2, 2)),
    "ctc_loss": (lambda lg: F.ctc_loss(lg.log_softmax(2), engine.tensor([[1, 2]]).to(lg.device),
                                       [4], [2]), (4, 1, 3)),
    "pdist": (lambda a: F.pdist(a), (3, 2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_nn_more_on_cuda(name):
    fn, *shapes = CASES[name]
    _both(fn, *(_r(*s) for s in shapes))
