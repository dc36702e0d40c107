"""``engine.cuda``: NVIDIA GPUs through numba-cuda, with PyTorch's ``torch.cuda`` API.

Nothing here imports ``numba.cuda`` until a CUDA function is first used, so CPU-only use never
pays for it. Without a GPU and driver (and without ``NUMBA_ENABLE_CUDASIM=1``, Numba's CUDA
simulator), ``is_available()`` is False and any CUDA request raises a RuntimeError saying why.

>>> import engine
>>> if engine.cuda.is_available():
...     x = engine.ones(3, device="cuda")
...     y = (x * 2).sum().item()       # 6.0
"""

from __future__ import annotations

import threading
import time

__all__ = [
    "Event",
    "Stream",
    "current_device",
    "current_stream",
    "default_stream",
    "device",
    "device_count",
    "empty_cache",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "get_rng_state",
    "init",
    "initial_seed",
    "is_available",
    "is_initialized",
    "is_simulator",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_peak_memory_stats",
    "seed",
    "set_device",
    "set_rng_state",
    "stream",
    "synchronize",
]

_initialized = False
_lock = threading.RLock()
_state = {"checked": False, "ok": False, "reason": "", "current": 0}


def _numba_cuda():
    from numba import cuda
    return cuda


def is_simulator() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1`` before import)."""
    try:
        from numba import config
        return bool(config.ENABLE_CUDASIM)
    except Exception:  # noqa: BLE001
        return False


def _probe() -> None:
    if _state["checked"]:
        return
    with _lock:
        if _state["checked"]:
            return
        ok, reason = False, ""
        try:
            cuda = _numba_cuda()
            if not is_simulator():
                _install_allocator()
            ok = bool(cuda.is_available())
            if ok and not is_simulator() and len(cuda.gpus) == 0:
                ok, reason = False, "the driver reports no CUDA devices"
            if not ok and not reason:
                reason = _driver_reason(cuda)
        except Exception as e:  # noqa: BLE001  (no numba-cuda, broken toolkit, ...)
            ok, reason = False, f"{type(e).__name__}: {e}".strip()
        _state.update(checked=True, ok=ok, reason=reason or "unknown reason")


def _install_allocator() -> None:
    """The caching allocator goes in before Numba creates a context (engine.cuda._emm)."""
    try:
        from . import _emm
    except Exception:  # noqa: BLE001  (numba-cuda without its driver bindings: no CUDA anyway)
        return
    try:
        _emm.install()
    except Exception as e:  # noqa: BLE001  (Numba's own manager still works)
        import warnings
        warnings.warn(f"engine: could not install the caching CUDA allocator ({e}); using "
                      "Numba's memory manager", RuntimeWarning, stacklevel=3)


def _driver_reason(cuda) -> str:
    try:
        cuda.current_context()
    except Exception as e:  # noqa: BLE001
        msg = " ".join(str(e).split())
        return f"{type(e).__name__}: {msg}"
    return "numba.cuda.is_available() returned False"


def is_available() -> bool:
    """True when a CUDA device (or the simulator) can run kernels."""
    _probe()
    return _state["ok"]


def _unavailable(dev=None) -> RuntimeError:
    what = f"device '{dev}'" if dev is not None else "a CUDA device"
    return RuntimeError(
        f"engine: CUDA requested ({what}) but no CUDA GPU/driver is available: "
        f"{_state['reason']}. Use device='cpu', or install an NVIDIA driver and numba-cuda "
        "(pip install 'numba-cuda[cu12]'); NUMBA_ENABLE_CUDASIM=1 runs the CUDA simulator.")


def _lazy_init(dev=None) -> None:
    """Check availability (clear error otherwise) and set up per-process CUDA state once."""
    global _initialized
    if _initialized:
        return
    _probe()
    if not _state["ok"]:
        raise _unavailable(dev)
    with _lock:
        if _initialized:
            return
        from ..random import default_generator
        from . import random as R
        R.manual_seed_all(default_generator.initial_seed())
        _attach_tensor_interop()
        _initialized = True


def init() -> None:
    _lazy_init()


def is_initialized() -> bool:
    return _initialized


def device_count() -> int:
    if not is_available():
        return 0
    return 1 if is_simulator() else len(_numba_cuda().gpus)


def _index(d=None, what="cuda") -> int:
    """Device index from None/int/str/engine.device (checked against device_count)."""
    from .._device import device as _dev
    if d is None:
        _lazy_init(what)
        return _state["current"]
    if isinstance(d, int):
        idx = d
    else:
        dd = _dev(d) if not isinstance(d, _dev) else d
        if dd.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dd}")
        idx = _state["current"] if dd.index is None else dd.index
    _lazy_init(f"cuda:{idx}")
    n = device_count()
    if not 0 <= idx < n:
        raise RuntimeError(f"CUDA error: invalid device ordinal: device cuda:{idx} requested "
                           f"but only {n} CUDA device(s) are visible")
    return idx


def current_device() -> int:
    """Index of the current CUDA device (raises a clear error without CUDA)."""
    _lazy_init("cuda")
    return _state["current"]


def set_device(d) -> None:
    idx = _index(d)
    if idx != _state["current"]:
        _activate(idx)
        _state["current"] = idx


_active = [None]


def _activate(idx: int) -> None:
    """Make device ``idx`` Numba's current device for this thread (kernels launch there)."""
    if _active[0] == idx:
        return
    if not is_simulator():
        _numba_cuda().select_device(idx)
    _active[0] = idx


class device:
    """Context manager that changes the current device: ``with engine.cuda.device(1): ...``."""

    def __init__(self, d):
        self.idx = _index(d) if d is not None else None
        self.prev = None

    def __enter__(self):
        if self.idx is not None:
            self.prev = _state["current"]
            set_device(self.idx)
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            set_device(self.prev)
        return False


def get_device_name(d=None) -> str:
    idx = _index(d)
    if is_simulator():
        return "Numba CUDA simulator"
    name = _numba_cuda().gpus[idx].name
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(d=None) -> tuple:
    idx = _index(d)
    cuda = _numba_cuda()
    cc = cuda.gpus[idx].compute_capability if not is_simulator() else (5, 2)
    return tuple(int(c) for c in cc)


class _Props:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2**20}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(d=None):
    idx = _index(d)
    major, minor = get_device_capability(idx)
    total, sms = 0, 1
    if not is_simulator():
        cuda = _numba_cuda()
        with cuda.gpus[idx]:
            dev = cuda.get_current_device()
            sms = int(dev.MULTIPROCESSOR_COUNT)
            total = int(cuda.current_context().get_memory_info()[1])
    return _Props(name=get_device_name(idx), major=major, minor=minor, total_memory=total,
                  multi_processor_count=sms)


def synchronize(d=None) -> None:
    """Wait for every queued kernel on the device; raises pending kernel errors (e.g. an
    out-of-range index) as Python exceptions."""
    _index(d)
    _numba_cuda().synchronize()
    from . import _memory
    _memory.check_kernel_errors()


# ---- random ------------------------------------------------------------------------------
def manual_seed(seed: int) -> None:
    """Seed the CUDA generator (engine's counter-based generator; reproducible)."""
    from . import random as R
    R.manual_seed_all(int(seed))


def manual_seed_all(seed: int) -> None:
    from . import random as R
    R.manual_seed_all(int(seed))


def seed() -> int:
    import random as _r
    s = _r.getrandbits(63)
    manual_seed_all(s)
    return s


def initial_seed() -> int:
    from . import random as R
    return R.GENERATOR.seed


def get_rng_state(device=None):
    from . import random as R
    return R.GENERATOR.get_state()


def set_rng_state(state, device=None) -> None:
    from . import random as R
    R.GENERATOR.set_state(state)


# ---- streams and events ------------------------------------------------------------------
class Stream:
    """A CUDA stream. Engine kernels run on the default stream; user streams are for
    synchronising and timing with other libraries."""

    def __init__(self, device=None, priority: int = 0, _s=None):
        _lazy_init(device or "cuda")
        self._s = _s if _s is not None else _numba_cuda().stream()

    def synchronize(self) -> None:
        self._s.synchronize()

    def query(self) -> bool:
        q = getattr(self._s, "query", None)
        return True if q is None else bool(q())

    def wait_event(self, event) -> None:
        event.wait(self)

    def wait_stream(self, other) -> None:
        e = Event()
        e.record(other)
        self.wait_event(e)

    def record_event(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    @property
    def cuda_stream(self) -> int:
        h = getattr(self._s, "handle", None)
        v = getattr(h, "value", h)
        return int(v) if isinstance(v, int) else 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def default_stream(device=None) -> Stream:
    _lazy_init(device or "cuda")
    return Stream(_s=_numba_cuda().default_stream())


current_stream = default_stream


class stream:
    """``with engine.cuda.stream(s):`` (engine kernels stay on the default stream)."""

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        return self.s

    def __exit__(self, *exc):
        return False


class Event:
    """A CUDA event: ``e.record()``, ``e.synchronize()``, ``start.elapsed_time(end)`` (ms)."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False):
        _lazy_init("cuda")
        cuda = _numba_cuda()
        self._e = cuda.event() if is_simulator() else cuda.event(timing=enable_timing)
        self._t = None

    def record(self, stream=None) -> None:
        s = stream._s if isinstance(stream, Stream) else stream
        if s is None:
            self._e.record()
        else:
            self._e.record(s)
        self._t = time.perf_counter()

    def synchronize(self) -> None:
        self._e.synchronize()

    def wait(self, stream=None) -> None:
        s = stream._s if isinstance(stream, Stream) else stream
        if s is None:
            self._e.wait()
        else:
            self._e.wait(s)

    def query(self) -> bool:
        q = getattr(self._e, "query", None)
        return True if q is None else bool(q())

    def elapsed_time(self, end: Event) -> float:
        """Milliseconds between this event and ``end`` (both recorded)."""
        if self._t is None or end._t is None:
            raise RuntimeError("elapsed_time: both events must be recorded first")
        if is_simulator():  # the simulator runs synchronously: host timestamps are exact
            return (end._t - self._t) * 1e3
        end.synchronize()
        return float(self._e.elapsed_time(end._e))


# ---- memory ------------------------------------------------------------------------------
def _mem_index(d):
    return _index(d) if d is not None else (_state["current"] if _initialized else 0)


def memory_allocated(device=None) -> int:
    """Bytes held by live tensors on the device (size-class rounded)."""
    from . import _memory
    return _memory.stats(_mem_index(device))["allocated_bytes"]


def max_memory_allocated(device=None) -> int:
    from . import _memory
    return _memory.stats(_mem_index(device))["peak_allocated_bytes"]


def memory_reserved(device=None) -> int:
    """Bytes obtained from the driver: live tensors plus cached free blocks."""
    from . import _memory
    return _memory.stats(_mem_index(device))["reserved_bytes"]


def max_memory_reserved(device=None) -> int:
    from . import _memory
    return _memory.stats(_mem_index(device))["peak_reserved_bytes"]


def reset_peak_memory_stats(device=None) -> None:
    from . import _memory
    _memory.reset_peak(_mem_index(device))


def memory_stats(device=None) -> dict:
    """Allocator counters: allocated/reserved bytes and peaks, driver allocations
    (``num_device_alloc``), pool hits, frees back to the driver (``num_device_free``)."""
    from . import _memory
    return dict(_memory.stats(_mem_index(device)))


def empty_cache() -> None:
    """Give every cached free block back to the driver."""
    from . import _memory
    _memory.empty_cache()


# ---- description for ``python -m engine info`` -------------------------------------------
def _describe() -> str:
    try:
        import numba_cuda
        ver = f"numba-cuda {getattr(numba_cuda, '__version__', '?')}"
    except Exception:  # noqa: BLE001
        ver = "numba-cuda not installed"
    if not is_available():
        return f"not available ({_state['reason']}; {ver})"
    if is_simulator():
        return f"Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1), 1 device; {ver}"
    names = []
    for i in range(device_count()):
        try:
            cc = ".".join(map(str, get_device_capability(i)))
            names.append(f"cuda:{i} {get_device_name(i)} (cc {cc})")
        except Exception as e:  # noqa: BLE001
            names.append(f"cuda:{i} ({type(e).__name__}: {e})")
    return f"{device_count()} device(s): {'; '.join(names)}; {ver}"


def _attach_tensor_interop() -> None:
    from . import interop
    interop.attach()


def __getattr__(name):  # engine.cuda.amp without importing numba.cuda
    if name == "amp":
        import importlib
        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module 'engine.cuda' has no attribute '{name}'")
