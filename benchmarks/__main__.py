"""``python -m benchmarks`` / ``engine-bench``: the engine's kernel and training benchmarks
against numpy and torch in one process, with the machine's measured ceilings.

    python -m benchmarks                      # full suite (a few minutes)
    python -m benchmarks --quick --json b.json --plot b.png
    python -m benchmarks --filter matmul      # rows whose key or label contains 'matmul'
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import sys
import time

from .harness import Config, measure_with_retries
from .spec import Ctx, evaluate

__all__ = ["all_rows", "main", "parse_args", "run"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI smoke run: tiny sizes, few reps")
    p.add_argument("--json", metavar="PATH", help="write all rows and metadata as JSON")
    p.add_argument("--plot", metavar="PATH", help="write a PNG bar chart of time ratios")
    p.add_argument("--markdown", metavar="PATH", help="write the results section (markdown)")
    p.add_argument("--filter", metavar="SUBSTR", action="append",
                   help="only rows whose key/label contains SUBSTR (repeatable, any matches)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--threads", type=int, default=2,
                   help="torch / Numba / BLAS threads (default 2)")
    p.add_argument("--no-torch", action="store_true", help="run without the torch reference")
    p.add_argument("--no-ceilings", action="store_true", help="skip STREAM / peak FLOP/s")
    p.add_argument("--max-tries", type=int, help="measurements per row under background load")
    p.add_argument("--quiet-wait", type=float, metavar="S",
                   help="wait up to S seconds for a quiet machine before each try (default 10)")
    p.add_argument("--list", action="store_true", help="list the rows and exit")
    p.add_argument("--profile", action="store_true",
                   help="after each row, cProfile its engine call(s) (µs per call)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any target is missed")
    return p.parse_args(argv)


def _import_torch(args):
    if args.no_torch:
        return None
    try:
        import torch
    except ImportError:
        print("torch is not installed: ratio columns stay blank (pip install torch)")
        return None
    torch.set_num_threads(args.threads)
    return torch


def _device_sync(device: str, torch):
    """(sync function or None, error message or None) for ``--device``."""
    if device == "cpu":
        return None, None
    if not device.startswith("cuda"):
        return None, f"--device {device!r}: expected 'cpu' or 'cuda'"
    try:
        import importlib
        ec = importlib.import_module("engine.cuda")
        ok = ec.is_available()
    except Exception as e:  # noqa: BLE001  (missing module, missing driver, ...)
        return None, (f"--device cuda: CUDA is unavailable in engine ({type(e).__name__}: {e})."
                      " Run on a machine with an NVIDIA GPU and numba-cuda, or use --device "
                      "cpu.")
    if not ok:
        return None, ("--device cuda: no CUDA GPU available (engine.cuda.is_available() is "
                      "False: no GPU or driver found). Use --device cpu.")
    fns = [ec.synchronize]
    if torch is not None and torch.cuda.is_available():
        fns.append(torch.cuda.synchronize)
    return (lambda: [f() for f in fns]), None


def _limit_blas(n: int):
    """Cap OpenBLAS/MKL threads (numpy's matmul, the engine's default matmul) at ``n``;
    returns what threadpoolctl reports, or a note when it is not installed."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return "threadpoolctl not installed: BLAS threads left at their default"
    threadpool_limits(limits=n, user_api="blas")
    return [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
            f"threads={i.get('num_threads')}" for i in threadpool_info()
            if i.get("user_api") == "blas"]


def all_rows(ctx: Ctx):
    from .rows_kernels import kernel_rows
    from .rows_startup import startup_rows
    from .rows_training import training_rows
    rows = kernel_rows(ctx) + training_rows(ctx)
    return rows + (startup_rows(ctx) if ctx.device == "cpu" else [])


def _selected(rows, filters):
    if not filters:
        return rows
    fs = [f.lower() for f in filters]
    return [r for r in rows if any(f in r.key.lower() or f in r.label.lower() for f in fs)]


def _header(args, torch) -> dict:
    import numba

    from engine.__main__ import info
    meta = {"command": " ".join(["python -m benchmarks"] + getattr(args, "_argv", [])),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "engine_info": info(), "torch": getattr(torch, "__version__", None),
            "torch_threads": torch.get_num_threads() if torch else None,
            "numba_threads": numba.get_num_threads(), "machine": platform.platform(),
            "loadavg_start": os.getloadavg(), "quick": args.quick, "device": args.device}
    return meta


def _run_row(row, ctx, cfg, ceilings):
    meta = None
    try:
        if row.runner is not None:
            timings, bg, tries = row.runner(ctx, cfg), None, 1
        else:
            built = row.build(ctx)
            impls, meta = built if isinstance(built, tuple) else (built, None)
            timings, bg, tries = measure_with_retries(impls, cfg)
            del impls, built
    except Exception as e:  # noqa: BLE001  (a broken op must not stop the suite)
        return evaluate(row, {}, ceilings, error=f"{type(e).__name__}: {e}")
    finally:
        gc.collect()
    return evaluate(row, timings, ceilings, bg, tries, meta)


def run(args: argparse.Namespace, log=print):
    """Run the selected rows; returns (meta, lines)."""
    torch = _import_torch(args)
    sync, err = _device_sync(args.device, torch)
    if err:
        raise SystemExit(err)
    import engine
    engine.set_num_threads(args.threads)
    blas = _limit_blas(args.threads)
    cfg = Config.for_mode(args.quick, sync=sync)
    if args.max_tries:
        cfg.max_tries = args.max_tries
    if args.quiet_wait is not None:
        cfg.quiet_wait_s = args.quiet_wait
    ctx = Ctx(quick=args.quick, device=args.device, torch=torch, sync=sync)
    rows = _selected(all_rows(ctx), args.filter)
    meta = _header(args, torch)
    meta["blas"] = blas
    log(meta["engine_info"])
    log(f"date {meta['date']}; torch {meta['torch']} ({meta['torch_threads']} threads); "
        f"BLAS {blas}; load average {meta['loadavg_start']}")
    ceilings = {}
    if not args.no_ceilings and args.device == "cpu":
        from .ceilings import measure_ceilings
        log("ceilings:")
        ceilings = measure_ceilings(cfg, torch, log)
    meta["ceilings"] = ceilings
    lines = []
    t_start = time.perf_counter()
    for row in rows:
        t0 = time.perf_counter()
        new = _run_row(row, ctx, cfg, ceilings)
        lines += new
        for ln in new:
            from .report import line_cells
            log("  " + " | ".join(c for c in line_cells(ln) if c) +
                f"   [{time.perf_counter() - t0:.1f} s, bg {_bg(ln.get('bg_cores'))}]")
        if args.profile:
            from .profiling import profile_row
            for impl in dict.fromkeys(ln["impl"] for ln in new):
                log(f"profile {row.key} [{impl}]:")
                log(profile_row(row, ctx, impl))
                gc.collect()
    meta["wall_s"] = time.perf_counter() - t_start
    meta["loadavg_end"] = os.getloadavg()
    return meta, lines


def _bg(x):
    return "-" if x is None else f"{x:.2f}"


def main(argv=None) -> int:
    """Entry point of ``python -m benchmarks`` and the ``engine-bench`` script."""
    args = parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)
    if args.list:
        from .spec import Ctx as _C
        for r in all_rows(_C(quick=args.quick)):
            print(f"{r.key:22s} {r.area:12s} {r.label}")
        return 0
    try:
        meta, lines = run(args)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 2
        raise
    from .report import markdown, plot, table, write_json
    print()
    print(table(lines))
    if args.json:
        write_json(args.json, meta, lines)
        print(f"wrote {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(meta, lines))
        print(f"wrote {args.markdown}")
    if args.plot and plot(args.plot, lines):
        print(f"wrote {args.plot}")
    misses = [ln["key"] for ln in lines if ln.get("status") in ("MISS", "ERROR")]
    print(f"{len(lines)} lines, {len(misses)} MISS/ERROR: {', '.join(misses) or '-'}")
    return 1 if (args.strict and misses) else 0


if __name__ == "__main__":
    sys.exit(main())
