"""Shared pieces of the CUDA kernel families: simulator detection, launch geometry, scalar
functions as device functions, and the loader for generated kernel modules.

Kernels here take Numba device arrays (flat 1-D buffers) plus int64 metadata passed BY VALUE
(Python ints and small tuples): never fresh host numpy arrays, which Numba would copy to the
device and back on every launch. Every kernel uses grid-stride loops, so any grid is correct;
the simulator gets tiny grids (it runs every thread as a Python thread)."""

import functools
import hashlib
import importlib.util
import math
import os
import types

__all__ = ["BLOCK", "SIM", "code_tag", "device_scalar", "launch_1d", "load_generated"]


def _sim() -> bool:
    from numba import config
    return bool(config.ENABLE_CUDASIM)


SIM = _sim()
BLOCK = 16 if SIM else 256        # threads per block of the 1-D families (a power of two)
_MAX_BLOCKS = 4 if SIM else 65535  # grid-stride loops cover the rest


def launch_1d(n: int, block: int = BLOCK) -> tuple:
    """(blocks, threads) for ``n`` independent work items in a grid-stride kernel."""
    nb = (n + block - 1) // block
    return (max(1, min(nb, _MAX_BLOCKS)), block)


def code_tag(fn) -> str:
    """A short hash of a Python function's code (names a generated module, so an edit of the
    scalar function gives a new module and a fresh compile instead of a stale cache entry)."""
    py = getattr(fn, "py_func", fn)
    c = py.__code__
    h = hashlib.sha1(c.co_code)
    h.update(repr(c.co_consts).encode())
    h.update(repr(c.co_names).encode())
    return h.hexdigest()[:8]


@functools.cache
def device_scalar(fn):
    """The scalar function ``fn`` (a CPU ``@njit`` dispatcher from ``kernels.scalar``) as
    something a CUDA kernel can call. In the simulator the CPU dispatcher itself (kernels run
    as Python, so the numerics equal the CPU backend's); on a GPU a ``cuda.jit(device=True)``
    compile of the same Python source with ``np``/fastmath names re-bound to libdevice."""
    if SIM:
        py = getattr(fn, "py_func", fn)
        # copies and casts run as plain Python (CPU Numba has no float16 scalars)
        return py if py.__name__ in ("identity", "is_nonzero") else fn
    from numba import cuda

    from . import _npshim
    py = getattr(fn, "py_func", fn)
    g = dict(py.__globals__)
    g["np"] = _npshim
    g["math"] = math
    g.update(_npshim.FASTMATH)
    clone = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
    clone.__module__ = py.__module__
    clone.__qualname__ = py.__qualname__
    return cuda.jit(device=True)(clone)


@functools.cache
def generated_dir() -> str:
    from kernels.cpu.elementwise import generated_dir as cpu_dir
    d = os.path.join(cpu_dir(), "cuda_sim" if SIM else "cuda")
    os.makedirs(d, exist_ok=True)
    return d


def load_generated(modname: str, src: str):
    """Write ``src`` as module ``modname`` (once; atomically) and import it. Numba's on-disk
    cache works for module-level kernels only, hence files rather than closures."""
    tag = hashlib.sha1(src.encode()).hexdigest()[:8]
    modname = f"{modname}_{tag}"
    path = os.path.join(generated_dir(), modname + ".py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(src)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(f"kernels.cuda._generated.{modname}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# reduction strategy thresholds (tiny in the simulator so its tests cover every path)
SMALL_K = 8 if SIM else 32            # rows this short: one thread per row
SPLIT_MIN_K = 64 if SIM else 16384    # rows this long (and few): split over several blocks
SPLIT_CHUNK = 32 if SIM else 8192     # elements per block in a split row
