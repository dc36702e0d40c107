"""The caching allocator as a Numba EMM plugin (engine/cuda/_emm.py).

Without a GPU the plugin runs against a fake driver (its two driver calls are replaced), which
checks the pool logic and Numba's plugin interface (``set_memory_manager`` accepts it); on a
real GPU the last tests check that engine tensors come from it and that a training step
allocates nothing from the driver after the first. Skipped under the CUDA simulator, which
has no memory managers."""

import gc

import pytest

import engine

if engine.cuda.is_simulator():
    pytest.skip("the CUDA simulator has no memory managers", allow_module_level=True)

_drv = pytest.importorskip("numba.cuda.cudadrv.driver")

from engine.cuda import _emm  # noqa: E402
from engine.cuda._memory import size_class  # noqa: E402

REAL_GPU = engine.cuda.is_available()


class _FakeDevice:
    id = 7


class _FakeContext:
    device = _FakeDevice()
    pushes = 0

    def push(self):
        self.pushes += 1

    def pop(self):
        pass


class _FakeDriverManager(_emm.CachingMemoryManager):
    """The plugin with a fake driver: addresses from a counter, an optional out-of-memory
    budget, and a log of frees."""

    def __init__(self, *a, budget=None, **k):
        super().__init__(*a, **k)
        self.next_addr = 1 << 20
        self.live = {}
        self.freed = []
        self.budget = budget

    def _cu_alloc(self, nbytes):
        if self.budget is not None and sum(self.live.values()) + nbytes > self.budget:
            raise _drv.CudaAPIError(_drv.binding.CUresult.CUDA_ERROR_OUT_OF_MEMORY,
                                    "out of memory")
        p = _drv.binding.CUdeviceptr(self.next_addr)
        self.next_addr += nbytes
        self.live[int(p)] = nbytes
        return p

    def _cu_free(self, ptr):
        self.freed.append(int(ptr))
        del self.live[int(ptr)]

    def get_memory_info(self):
        return _drv.MemoryInfo(free=1 << 30, total=1 << 30)


@pytest.fixture
def mgr():
    m = _FakeDriverManager(context=_FakeContext())
    yield m
    _emm._managers.pop(7, None)


def test_numba_accepts_the_plugin():
    saved = _drv._memory_manager
    try:
        _drv.set_memory_manager(_emm.CachingMemoryManager)   # checks interface_version
        assert _drv._memory_manager is _emm.CachingMemoryManager
    finally:
        _drv._memory_manager = saved
    assert issubclass(_emm.CachingMemoryManager, _drv.HostOnlyCUDAMemoryManager)
    assert _emm.CachingMemoryManager(context=None).interface_version == 1


def test_install_respects_an_existing_choice(monkeypatch):
    monkeypatch.setattr(_drv, "_memory_manager", None)
    assert _emm.install() is True
    assert _drv._memory_manager is _emm.CachingMemoryManager
    assert _emm.install() is True                                    # idempotent
    monkeypatch.setattr(_drv, "_memory_manager", _drv.NumbaCUDAMemoryManager)
    assert _emm.install() is False   # a context already exists: leave its manager alone
    assert _drv._memory_manager is _drv.NumbaCUDAMemoryManager
    monkeypatch.setattr(_drv, "_memory_manager", None)
    monkeypatch.setenv("ENGINE_CUDA_ALLOCATOR", "numba")
    assert _emm.install() is False
    assert _drv._memory_manager is None


def test_reuse_without_driver_calls(mgr):
    m = mgr.memalloc(1000)
    assert isinstance(m, _drv.MemoryPointer) and m.size == 1000
    addr = m.device_pointer_value
    assert mgr.stats["num_device_alloc"] == 1
    assert mgr.stats["reserved_bytes"] == size_class(1000) == mgr.stats["in_use_bytes"]
    del m
    gc.collect()
    assert mgr.stats["cached_bytes"] == size_class(1000) and mgr.stats["in_use_bytes"] == 0
    m2 = mgr.memalloc(900)          # same size class: the same block, no driver call
    assert m2.device_pointer_value == addr
    assert mgr.stats["num_device_alloc"] == 1 and mgr.stats["num_pool_hits"] == 1
    m3 = mgr.memalloc(100_000)      # another class
    assert m3.device_pointer_value != addr and mgr.stats["num_device_alloc"] == 2
    assert mgr.stats["peak_reserved_bytes"] == size_class(1000) + size_class(100_000)


def test_size_classes_are_stable():
    # the block cache asks the plugin for size-class sizes: they must map to themselves
    for n in [1, 511, 512, 513, 1000, 4096, 4097, 10**6, 3 * 2**20 + 1, 2**31 - 1]:
        c = size_class(n)
        assert c >= n and size_class(c) == c
        assert c < n + max(512, n // 4)     # at most 512 bytes or 25% over the request


def test_views_keep_the_block_alive(mgr):
    m = mgr.memalloc(4096)
    v = m.view(1024, 2048)
    del m
    gc.collect()
    assert mgr.stats["cached_bytes"] == 0          # the view still uses the block
    del v
    gc.collect()
    assert mgr.stats["cached_bytes"] == size_class(4096)


def test_release_cached_frees_to_the_driver(mgr):
    a, b = mgr.memalloc(10_000), mgr.memalloc(20_000)
    keep = mgr.memalloc(30_000)
    del a, b
    gc.collect()
    freed = mgr.release_cached()
    assert freed == size_class(10_000) + size_class(20_000)
    assert len(mgr.freed) == 2 and mgr.stats["num_device_free"] == 2
    assert mgr.stats["reserved_bytes"] == size_class(30_000) and mgr.stats["cached_bytes"] == 0
    assert mgr.context.pushes == 1                 # freed with its context current
    assert keep.device_pointer_value in mgr.live


def test_out_of_memory_releases_the_cache_and_retries():
    m = _FakeDriverManager(context=_FakeContext(), budget=3 * 2**20)
    try:
        a = m.memalloc(2**20)
        b = m.memalloc(2**20)
        del a, b
        gc.collect()                                # 2 MiB cached, 2 MiB free in the budget
        c = m.memalloc(2 * 2**20)                   # fits only once the cache is released
        assert m.stats["num_ooms"] == 1 and len(m.freed) == 2
        with pytest.raises(_drv.CudaAPIError):     # still too big: the error propagates
            m.memalloc(2 * 2**20)
        assert c.size == 2 * 2**20
    finally:
        _emm._managers.pop(7, None)


def test_reset_drops_buffers_handed_out_before(mgr):
    a = mgr.memalloc(5000)
    mgr.reset()
    del a
    gc.collect()
    assert mgr.stats["cached_bytes"] == 0 and mgr._free == {}   # gone with the old context
    b = mgr.memalloc(5000)
    assert mgr.stats["num_device_alloc"] == 1 and b.size == 5000


def test_registry_and_release_all(mgr):
    assert _emm.active_manager(7) is mgr
    a = mgr.memalloc(2048)
    del a
    gc.collect()
    _emm.release_all()
    assert mgr.stats["cached_bytes"] == 0 and len(mgr.freed) == 1


# ---- on a real GPU -------------------------------------------------------------------------
@pytest.mark.skipif(not REAL_GPU, reason="needs a CUDA GPU")
def test_engine_tensors_come_from_the_plugin():
    x = engine.ones(1000, device="cuda")
    st = engine.cuda.memory_stats()
    from numba import cuda
    if not isinstance(cuda.current_context().memory_manager, _emm.CachingMemoryManager):
        pytest.skip("a CUDA context existed before the engine's first CUDA call")
    assert "EMM" in st["allocator"]
    assert st["reserved_bytes"] >= st["allocated_bytes"] > 0
    del x


@pytest.mark.skipif(not REAL_GPU, reason="needs a CUDA GPU")
def test_training_step_allocates_nothing_after_the_first():
    nn = engine.nn
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).to("cuda")
    opt = engine.optim.Adam(model.parameters())
    x = engine.randn(128, 64, device="cuda")
    y = engine.randint(0, 10, (128,), device="cuda")

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    step()
    step()
    engine.cuda.synchronize()
    before = engine.cuda.memory_stats()["num_device_alloc"]
    for _ in range(3):
        step()
    engine.cuda.synchronize()
    assert engine.cuda.memory_stats()["num_device_alloc"] == before
    engine.cuda.empty_cache()
    assert engine.cuda.memory_stats()["num_device_free"] > 0
