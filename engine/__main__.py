"""``python -m engine info`` prints the environment report; ``python -m engine warm`` fills
the on-disk kernel cache for the common dtypes."""

from __future__ import annotations

import sys


def info() -> str:
    import os
    import platform
    import numpy
    lines = [f"engine {__import__('engine').__version__}",
             f"python {platform.python_version()} ({sys.executable})",
             f"numpy {numpy.__version__}"]
    for mod in ("numba", "llvmlite", "numba_cuda"):
        try:
            m = __import__(mod)
            lines.append(f"{mod} {getattr(m, '__version__', '?')}")
        except Exception as e:  # noqa: BLE001
            lines.append(f"{mod} not available ({type(e).__name__})")
    try:
        from engine import _strided
        lines.append(f"C++ extension: loaded ({_strided.__file__})")
    except Exception as e:  # noqa: BLE001
        lines.append(f"C++ extension: NOT loaded ({e})")
    import numba
    try:
        import llvmlite.binding as ll
        feats = ll.get_host_cpu_features().flatten()
        keep = [f for f in ("+avx2", "+fma", "+avx512f", "+f16c") if f in feats]
        lines.append(f"CPU: {ll.get_host_cpu_name()} {' '.join(keep)}; cores {os.cpu_count()}; "
                     f"numba threads {numba.get_num_threads()} "
                     f"(layer {numba.config.THREADING_LAYER})")
    except Exception:  # noqa: BLE001
        lines.append(f"CPU cores {os.cpu_count()}")
    lines.append("SVML: " + ("yes" if getattr(numba.config, "USING_SVML", False) else "no"))
    try:
        from engine import cuda
        lines.append("CUDA: " + cuda._describe())
    except Exception as e:  # noqa: BLE001
        lines.append(f"CUDA: unavailable ({e})")
    cache = _cache_dirs()
    size = 0
    for d in cache:
        for root, _, files in os.walk(d):
            size += sum(os.path.getsize(os.path.join(root, f)) for f in files
                        if f.endswith((".nbi", ".nbc")))
    lines.append(f"kernel cache: {', '.join(cache) or 'none'} ({size / 1e6:.1f} MB)")
    return "\n".join(lines)


def _cache_dirs():
    import os
    import kernels
    import numba
    if numba.config.CACHE_DIR:
        return [numba.config.CACHE_DIR]
    root = os.path.dirname(kernels.__file__)
    return sorted({r for r, _, f in os.walk(root) if r.endswith("__pycache__")})


def warm() -> None:
    """Compile (and cache on disk) the kernels an MLP training step uses, for float32/64."""
    import time
    import engine as torch
    t0 = time.perf_counter()
    for dt in (torch.float32, torch.float64):
        x = torch.randn(64, 32, dtype=dt, requires_grad=True)
        w = torch.randn(32, 10, dtype=dt, requires_grad=True)
        y = (x @ w).relu().log_softmax(-1).sum() + (x.exp() * 2 - 1).tanh().sigmoid().mean()
        y.backward()
    print(f"warmed kernel cache in {time.perf_counter() - t0:.1f} s")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmd = argv[0] if argv else "info"
    if cmd == "info":
        print(info())
    elif cmd == "warm":
        warm()
    else:
        print("usage: python -m engine [info|warm]")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
