"""One command for a machine with an NVIDIA GPU: ``python -m benchmarks.gpu_check``.

1. runs ``tests/cuda/test_cuda.py``, ``test_cuda_emm.py`` (the allocator) and
   ``test_cuda_linalg.py`` on the real device (no simulator), with a time limit;
2. benchmarks the CUDA backend and prints one summary table:
   * device-to-device copy bandwidth (the memory roofline), then a+b, sum and softmax on
     256M float32 elements as achieved GB/s and a fraction of that roofline;
   * matmul 4096^3 float32 in GFLOP/s (and torch / CuPy on the same GPU when installed);
   * per-op launch overhead (a tiny add, microseconds per op; torch too when present);
   * an MLP 784-256-128-10, batch 512, SGD train step in ms (torch CUDA when present).

Nothing is installed and nothing touches the network. Every row is measured on its own and
a failure shows as an error in the table, so one broken row never hides the others; the whole
run aims to stay under five minutes (``--quick`` shrinks the sizes, ``--no-tests`` skips step
1). Compile time (first call) is reported apart from run time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

ROWS: list[tuple[str, str, str, str]] = []   # (benchmark, engine, reference, note)
MLP_DIMS = (784, 256, 128, 10)


def row(name, value="", ref="", note=""):
    ROWS.append((name, value, ref, note))
    print(f"  {name:<34} {value:<22} {ref:<26} {note}", flush=True)


def _sync():
    import engine
    engine.cuda.synchronize()


def _time(fn, reps: int, sync=_sync) -> float:
    """Median seconds per call of fn() (after one untimed call)."""
    fn()
    sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def _torch_cuda():
    try:
        import torch
        if torch.cuda.is_available():
            return torch
    except Exception:  # noqa: BLE001
        pass
    return None


def _cupy():
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
        return cupy
    except Exception:  # noqa: BLE001
        return None


# (row label, test files, share of --test-limit): each set in its own process and time limit,
# so a slow first compile in one set cannot hide the results of another
TEST_SETS = (("tests/cuda on the GPU", ("tests/cuda/test_cuda.py", "tests/cuda/test_cuda_emm.py"),
              0.7),
             ("tests/cuda linalg on the GPU", ("tests/cuda/test_cuda_linalg.py",), 0.3))


def run_tests(limit_s: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    for label, files, share in TEST_SETS:
        limit = max(int(limit_s * share), 30)
        t0 = time.perf_counter()
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                                "no:cacheprovider", *files], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=limit, check=False)
            tail = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
            if r.returncode:
                print(r.stdout[-6000:], r.stderr[-3000:])
            row(label, "PASS" if r.returncode == 0 else "FAIL",
                f"{time.perf_counter() - t0:.0f} s", tail[:60])
        except subprocess.TimeoutExpired:
            row(label, "TIMEOUT", f"> {limit} s",
                "raise --test-limit (first run compiles every kernel)")


def bench_bandwidth(n: int, reps: int = 10, row_len: int = 1024) -> None:
    from numba import cuda

    import engine
    a = engine.rand(n, device="cuda")
    b = engine.rand(n, device="cuda")
    c = engine.empty(n, device="cuda")
    gb = n * 4 / 1e9
    t = _time(lambda: c._storage.data.copy_to_device(a._storage.data), reps)
    copy_bw = 2 * gb / t
    row(f"D2D copy {n / 2**20:.0f}M f32 (roofline)", f"{copy_bw:.0f} GB/s", "", "cuMemcpyDtoD")

    def rel(bw):
        return f"{bw:.0f} GB/s ({bw / copy_bw:.0%} of copy)"
    t0 = time.perf_counter()
    (a + b)
    _sync()
    comp = time.perf_counter() - t0
    t = _time(lambda: a + b, reps)
    row("a + b", rel(3 * gb / t), "", f"{t * 1e3:.2f} ms; first call {comp:.1f} s")
    t0 = time.perf_counter()
    a.sum()
    _sync()
    comp = time.perf_counter() - t0
    t = _time(lambda: a.sum(), reps)
    row("sum (all)", rel(gb / t), "", f"{t * 1e3:.2f} ms; first call {comp:.1f} s")
    x = a.reshape(-1, row_len)
    t0 = time.perf_counter()
    x.softmax(-1)
    _sync()
    comp = time.perf_counter() - t0
    t = _time(lambda: x.softmax(-1), max(reps // 2, 1))
    row(f"softmax (rows of {row_len})", rel(2 * gb / t), "",
        f"{t * 1e3:.2f} ms (ideal 2 passes); first {comp:.1f} s")
    torch = _torch_cuda()
    if torch is not None:
        ta = torch.rand(n, device="cuda")
        tb = torch.rand(n, device="cuda")
        tt = _time(lambda: ta + tb, reps, torch.cuda.synchronize)
        row("  torch a + b", f"{3 * gb / tt:.0f} GB/s", "", f"{tt * 1e3:.2f} ms")
        del ta, tb
    del cuda


def bench_matmul(n: int) -> None:
    import engine
    a = engine.randn(n, n, device="cuda")
    b = engine.randn(n, n, device="cuda")
    t0 = time.perf_counter()
    a @ b
    _sync()
    comp = time.perf_counter() - t0
    t = _time(lambda: a @ b, 3)
    flops = 2 * n ** 3
    ref = ""
    torch = _torch_cuda()
    if torch is not None:
        ta, tb = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
        tt = _time(lambda: ta @ tb, 5, torch.cuda.synchronize)
        ref = f"torch {flops / tt / 1e9:.0f} GFLOP/s"
        del ta, tb
    cp = _cupy()
    if cp is not None:
        ca, cb = cp.random.randn(n, n, dtype=cp.float32), cp.random.randn(n, n, dtype=cp.float32)
        tc = _time(lambda: ca @ cb, 5, cp.cuda.Device().synchronize)
        ref += f" cupy {flops / tc / 1e9:.0f} GFLOP/s"
    row(f"matmul {n}^3 f32", f"{flops / t / 1e9:.0f} GFLOP/s", ref.strip(),
        f"{t * 1e3:.1f} ms; first call {comp:.1f} s")
    # correctness spot check against float64 on the host
    import numpy as np
    k = 64
    sa, sb = a[:k, :], b[:, :k]
    ref64 = sa.cpu().numpy().astype(np.float64) @ sb.cpu().numpy().astype(np.float64)
    err = np.abs((sa @ sb).cpu().numpy() - ref64).max() / np.abs(ref64).max()
    row("  matmul rel. error vs f64", f"{err:.1e}", "", "ok" if err < 1e-4 else "TOO LARGE")


def bench_launch(reps: int = 2000, n: int = 1024) -> None:
    import engine
    x = engine.ones(n, device="cuda")
    y = engine.ones(n, device="cuda")

    def many():
        for _ in range(reps):
            x + y
    t = _time(many, 3) / reps
    ref = ""
    torch = _torch_cuda()
    if torch is not None:
        tx, ty = torch.ones(n, device="cuda"), torch.ones(n, device="cuda")

        def tmany():
            for _ in range(reps):
                tx + ty
        ref = f"torch {_time(tmany, 3, torch.cuda.synchronize) / reps * 1e6:.1f} us/op"
    row(f"launch overhead ({n} add)", f"{t * 1e6:.1f} us/op", ref)
    s = engine.ones(n // 16, 16, device="cuda")
    k = max(reps // 10, 1)
    t = _time(lambda: [s.sum() for _ in range(k)], 3) / k
    row(f"launch overhead ({n // 16}x16 sum)", f"{t * 1e6:.1f} us/op", "")


def _engine_mlp(batch: int, dims=MLP_DIMS):
    import engine
    import engine.nn.functional as F
    from engine import nn
    engine.manual_seed(0)
    d0, d1, d2, d3 = dims
    model = nn.Sequential(nn.Linear(d0, d1), nn.ReLU(), nn.Linear(d1, d2), nn.ReLU(),
                          nn.Linear(d2, d3)).cuda()
    opt = engine.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = engine.randn(batch, d0, device="cuda")
    y = engine.randint(0, d3, (batch,), device="cuda")

    def loss_fn(out):
        try:
            return F.cross_entropy(out, y)
        except NotImplementedError:
            return (out.log_softmax(-1) * 0.1).sum() / batch

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x))
        loss.backward()
        opt.step()
        return loss
    return step


def bench_mlp(batch: int, dims=MLP_DIMS, reps: int = 20) -> None:
    import engine
    step = _engine_mlp(batch, dims)
    t0 = time.perf_counter()
    step()
    _sync()
    comp = time.perf_counter() - t0
    t = _time(step, reps)
    n0 = engine.cuda.memory_stats()["num_device_alloc"]
    step()
    _sync()
    n1 = engine.cuda.memory_stats()["num_device_alloc"]
    ref = ""
    torch = _torch_cuda()
    if torch is not None:
        torch.manual_seed(0)
        d0, d1, d2, d3 = dims
        m = torch.nn.Sequential(torch.nn.Linear(d0, d1), torch.nn.ReLU(),
                                torch.nn.Linear(d1, d2), torch.nn.ReLU(),
                                torch.nn.Linear(d2, d3)).cuda()
        o = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        tx = torch.randn(batch, d0, device="cuda")
        ty = torch.randint(0, d3, (batch,), device="cuda")

        def tstep():
            o.zero_grad()
            torch.nn.functional.cross_entropy(m(tx), ty).backward()
            o.step()
        ref = f"torch {_time(tstep, reps, torch.cuda.synchronize) * 1e3:.2f} ms"
    row(f"MLP {'-'.join(map(str, dims))} b{batch} step", f"{t * 1e3:.2f} ms", ref,
        f"first step {comp:.1f} s; driver allocs/step {n1 - n0}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-tests", action="store_true", help="skip tests/cuda")
    ap.add_argument("--test-limit", type=int, default=200,
                    help="seconds for all of tests/cuda's sets together")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args(argv)
    if os.environ.get("NUMBA_ENABLE_CUDASIM"):
        print("gpu_check: unset NUMBA_ENABLE_CUDASIM (this measures a real GPU)")
        return 2
    t_start = time.perf_counter()
    try:
        import engine
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("gpu_check: cannot import engine (build the C++ extension: pip install -e .)")
        return 2
    if not engine.cuda.is_available():
        print("gpu_check: " + engine.cuda._describe())
        return 2
    print(f"engine {engine.__version__}; CUDA: {engine.cuda._describe()}")
    print(f"  {'benchmark':<34} {'engine':<22} {'reference':<26} note")
    if not args.no_tests:
        run_tests(args.test_limit)
    n = (1 << 24) if args.quick else (1 << 28)
    for name, fn in (("bandwidth", lambda: bench_bandwidth(n)),
                     ("matmul", lambda: bench_matmul(1024 if args.quick else 4096)),
                     ("launch", bench_launch),
                     ("mlp", lambda: bench_mlp(512))):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            row(name, "ERROR", "", f"{type(e).__name__}: {str(e)[:80]}")
        try:
            engine.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass
    print("\n==== engine CUDA summary " + "=" * 60)
    print(f"{'benchmark':<36}{'engine':<26}{'reference':<28}note")
    for r in ROWS:
        print(f"{r[0]:<36}{r[1]:<26}{r[2]:<28}{r[3]}")
    st = engine.cuda.memory_stats()
    print(f"allocator: {st.get('allocator', '?')}; "
          f"peak allocated {st['peak_allocated_bytes'] / 2**30:.2f} GiB, driver allocations "
          f"{st['num_device_alloc']}, total {time.perf_counter() - t_start:.0f} s")
    return 0 if all(r[1] not in ("FAIL", "ERROR", "TIMEOUT") for r in ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
