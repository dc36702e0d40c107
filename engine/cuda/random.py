"""The CUDA generator: (seed, offset) of the counter-based fills in kernels/cuda/random.py.
Each call consumes ``n`` counters, so a seed gives the same stream on any GPU, any grid and
in the simulator; ``engine.manual_seed(s)`` resets it."""

from __future__ import annotations

__all__ = ["GENERATOR", "manual_seed_all", "normal_", "uniform_"]

_M32 = 0xFFFFFFFF


def _mix(x: int) -> int:
    x &= _M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M32
    x ^= x >> 16
    return x


class CudaGenerator:
    def __init__(self, seed: int = 67280421310721):
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> CudaGenerator:
        self.seed = int(seed)
        s = self.seed & ((1 << 64) - 1)
        self.k0 = _mix(s ^ 0x9E3779B9)
        self.k1 = _mix((s >> 32) ^ self.k0 ^ 0x85EBCA6B)
        self.offset = 0
        return self

    def take(self, n: int) -> int:
        off = self.offset
        self.offset += n
        return off

    def get_state(self):
        from ..ops.creation import tensor
        from .._dtype import int64
        return tensor([self.seed, self.offset], dtype=int64)

    def set_state(self, state) -> None:
        seed, off = (int(v) for v in state.tolist())
        self.manual_seed(seed)
        self.offset = off


GENERATOR = CudaGenerator()


def manual_seed_all(seed: int) -> None:
    GENERATOR.manual_seed(seed)


def _fill(t, kind: str, a: float, b: float) -> None:
    from kernels.cuda import _device as KD
    from kernels.cuda import random as KR

    from ._backend import _activate, launch
    n = t.numel()
    if n == 0:
        return
    if not t._contig:
        raise RuntimeError("engine.cuda: random fills need a contiguous tensor")
    _activate(t)
    g = GENERATOR
    off = g.take(n)
    grid = KD.launch_1d(n)
    if kind == "uniform":
        launch(KR.uniform_fill, *grid, t._storage.data, t._offset, n, g.k0, g.k1, off,
               float(a), float(b - a), t._dtype.itemsize <= 4)
    else:
        launch(KR.normal_fill, *grid, t._storage.data, t._offset, n, g.k0, g.k1, off,
               float(a), float(b))


def uniform_(t, low: float = 0.0, high: float = 1.0):
    """Fill float CUDA tensor ``t`` with U[low, high) in place (no autograd)."""
    _fill(t, "uniform", low, high)
    return t


def normal_(t, mean: float = 0.0, std: float = 1.0):
    _fill(t, "normal", mean, std)
    return t
