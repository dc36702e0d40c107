"""``--profile``: where an engine row spends its time (cProfile of the engine callable), in
microseconds per row call, so a MISS can be explained with evidence.

    python -m benchmarks --filter train_mlp_b64 --profile

cProfile adds ~0.1-0.5 µs per Python call, so Python-heavy rows look slower than measured;
compare the functions' shares, and the row's median from the table for the absolute figure.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time

from .spec import Row

__all__ = ["profile_callable", "profile_row"]


def profile_callable(fn, seconds: float = 1.0, top: int = 15, warmup: int = 3) -> str:
    """Run ``fn`` for about ``seconds`` under cProfile; returns a table of the top functions
    by own time, in µs per call of ``fn``."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(3, min(100_000, int(seconds / one)))
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        fn()
    pr.disable()
    st = pstats.Stats(pr, stream=io.StringIO())
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    total = sum(v[2] for v in st.stats.values())
    out = [(f"  {n} calls; profiled total {total / n * 1e6:.1f} µs per call "
           f"(unprofiled single call {one * 1e6:.1f} µs)"),
           f"  {'own µs/call':>11} {'cum µs/call':>11} {'calls/call':>10}  function"]
    for (file, line, name), (_cc, nc, tt, ct, _callers) in rows:
        where = f"{_short(file)}:{line}({name})" if line else name
        out.append(f"  {tt / n * 1e6:11.1f} {ct / n * 1e6:11.1f} {nc / n:10.1f}  {where}")
    return "\n".join(out)


def _short(path: str) -> str:
    for mark in ("/engine/", "/kernels/", "/benchmarks/", "/site-packages/"):
        if mark in path:
            return mark.strip("/") + "/" + path.split(mark, 1)[1]
    return path


def profile_row(row: Row, ctx, impl: str = "engine", seconds: float = 1.0) -> str:
    """Profile one implementation of a (non-startup) row."""
    if row.build is None:
        return f"  {row.key}: start-up row, measured in subprocesses; not profiled"
    built = row.build(ctx)
    impls = built[0] if isinstance(built, tuple) else built
    if impl not in impls:
        return f"  {row.key}: no {impl!r} implementation"
    return profile_callable(impls[impl], seconds)
