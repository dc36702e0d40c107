"""CUDA random fills from a counter-based generator: element ``i`` of a call gets the hash
of (key, offset + i), so results depend only on (seed, offset, index) -- not on the launch
grid -- and the simulator and every GPU give the same numbers (the idea of torch's Philox
generator). The hash is three rounds of the ``lowbias32`` integer mixer, written with int64
arithmetic that never overflows (32x16-bit partial products), so it needs no uint64 wraparound
(which the simulator would warn about). Uniforms use 24 bits (float32) or 53 bits (float64)
and lie in [0, 1); normals use Box-Muller in float64."""

import math

from numba import cuda

from ._device import SIM

__all__ = ["mix32", "normal_fill", "uniform_fill"]

_opts = dict(cache=not SIM)
_M32 = 0xFFFFFFFF


@cuda.jit(device=True)
def _mul32(x, c):
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & 0xFFFFFFFF


@cuda.jit(device=True)
def mix32(x):
    x ^= x >> 16
    x = _mul32(x, 0x7FEB352D)
    x ^= x >> 15
    x = _mul32(x, 0x846CA68B)
    x ^= x >> 16
    return x


@cuda.jit(device=True)
def _hash(k0, k1, ctr):
    lo = ctr & 0xFFFFFFFF
    hi = (ctr >> 32) & 0xFFFFFFFF
    h = mix32(lo ^ k0)
    h = mix32(h ^ hi ^ k1)
    return mix32(h ^ k0 ^ 0x5BD1E995)


@cuda.jit(device=True)
def _unit(k0, k1, ctr, bits24):
    """A uniform in [0, 1) as float64 (exactly representable in float32 when bits24)."""
    h = _hash(k0, k1, ctr)
    if bits24:
        return (h >> 8) * (1.0 / 16777216.0)
    h2 = _hash(k1 ^ 0x2545F491, k0, ctr)
    return ((h >> 5) * 67108864.0 + (h2 >> 6)) * (1.0 / 9007199254740992.0)


@cuda.jit(**_opts)
def uniform_fill(out, oo, n, k0, k1, offset, lo, span, bits24):
    """out[oo + i] = lo + span * U[0, 1) for i < n."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[oo + i] = lo + span * _unit(k0, k1, offset + i, bits24)


@cuda.jit(**_opts)
def normal_fill(out, oo, n, k0, k1, offset, mean, std):
    """out[oo + i] = mean + std * N(0, 1) (Box-Muller on two 32-bit uniforms)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        c = offset + i
        u1 = (_hash(k0, k1, c) + 1.0) * (1.0 / 4294967296.0)
        u2 = _hash(k1 ^ 0x68E31DA4, k0 ^ 0x1B56C4E9, c) * (1.0 / 4294967296.0)
        out[oo + i] = mean + std * (math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2))
