"""Machine ceilings measured in the same run as the rows: STREAM copy / triad bandwidth
(numpy 1 thread, Numba ``prange`` 2 threads, torch when present) and peak FLOP/s as the best
matmul any library reaches. "% of ceiling" in the report is relative to these.

STREAM convention: bytes read + written once, no write-allocate (copy 8 B/elem, triad 12 B/elem
in float32). Read-only reductions can exceed 100 % of the triad ceiling.
"""

from __future__ import annotations

import numpy as np

from .harness import Config, measure_with_retries

__all__ = ["measure_ceilings", "stream_kernels"]

_KERNELS = {}


def stream_kernels():
    """Numba calibration kernels (compiled on first use, not at import): copy and triad."""
    if not _KERNELS:
        import numba

        @numba.njit(parallel=True, cache=False)
        def copy(a, c):
            for i in numba.prange(a.size):
                c[i] = a[i]

        @numba.njit(parallel=True, cache=False)
        def triad(b, c, s, a):
            for i in numba.prange(a.size):
                a[i] = b[i] + s * c[i]

        _KERNELS.update(copy=copy, triad=triad)
    return _KERNELS


def _stream(n: int, cfg: Config, torch, log) -> dict:
    a = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    b, c, out = a * 2, a * 3, np.empty_like(a)
    k = stream_kernels()
    s = np.float32(3.0)
    impls = {"numpy-copy": lambda: np.copyto(out, a),
             "numpy-triad": lambda: (np.multiply(c, s, out=out), np.add(out, b, out=out)),
             "numba-copy": lambda: k["copy"](a, out),
             "numba-triad": lambda: k["triad"](b, c, s, out)}
    if torch is not None:
        ta, tb, tc, to = (torch.from_numpy(x) for x in (a, b, c, out))
        impls["torch-copy"] = lambda: to.copy_(ta)
        impls["torch-triad"] = lambda: torch.add(tb, tc, alpha=3.0, out=to)
    res, bg, _ = measure_with_retries(impls, cfg)
    rates = {}
    for name, t in res.items():
        nbytes = (8 if name.endswith("copy") else 12) * n
        rates[name] = nbytes / t.median_s / 1e9
        log(f"  STREAM {name:12s} {rates[name]:7.1f} GB/s  ({t.median_s * 1e3:.2f} ms)")
    triads = {k: v for k, v in rates.items() if k.endswith("triad")}
    copies = {k: v for k, v in rates.items() if k.endswith("copy")}
    return {"stream_gbs": rates, "bw_gbs": max(triads.values()),
            "bw_source": max(triads, key=triads.get), "copy_gbs": max(copies.values()),
            "stream_n": n, "stream_bg": bg}


def _peak(n: int, cfg: Config, torch, log) -> dict:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    impls = {"numpy-matmul": lambda: a @ b}
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        impls["torch-mm"] = lambda: ta @ tb
    res, bg, _ = measure_with_retries(impls, cfg)
    rates = {k: 2.0 * n ** 3 / t.median_s / 1e9 for k, t in res.items()}
    for k, v in rates.items():
        log(f"  peak   {k:12s} {v:7.1f} GFLOP/s (sgemm {n})")
    return {"matmul_gflops": rates, "peak_gflops": max(rates.values()),
            "peak_source": max(rates, key=rates.get), "peak_n": n, "peak_bg": bg}


def measure_ceilings(cfg: Config, torch=None, log=print) -> dict:
    """STREAM bandwidth and matmul peak, sized by ``cfg.quick`` (tiny) or full (64M f32,
    sgemm 2048)."""
    n_stream = (1 << 20) if cfg.quick else (64 << 20)
    n_mm = 128 if cfg.quick else 2048
    out = _stream(n_stream, cfg, torch, log)
    out.update(_peak(n_mm, cfg, torch, log))
    return out
