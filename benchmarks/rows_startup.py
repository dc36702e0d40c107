"""Start-up rows, each measured in fresh subprocesses:

- ``import engine`` (the import statement, timed inside the child);
- fresh process to the end of the first MLP training step with a warm on-disk kernel cache
  (wall time seen by the parent: interpreter start + import + model + first step);
- the same with a cold cache: ``NUMBA_CACHE_DIR`` pointing to a new empty temp dir, so every
  kernel the step needs is compiled (skipped in ``--quick``).

torch runs the same scripts as the reference where installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .harness import Config, Timing, timing_from_samples
from .spec import Ctx, Row, Target

__all__ = ["REPO_ROOT", "run_child", "startup_rows"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_IMPORT = """import time
t0 = time.perf_counter()
import {lib}
print('{{"import_s": %r}}' % (time.perf_counter() - t0))
"""

_FIRST_STEP = """import time
t0 = time.perf_counter()
import {lib} as torch
t1 = time.perf_counter()
import numpy as np
nn, F = torch.nn, torch.nn.functional
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
rng = np.random.default_rng(0)
x = torch.from_numpy(rng.standard_normal((64, 784), dtype=np.float32))
y = torch.from_numpy(rng.integers(0, 10, 64))
opt.zero_grad()
loss = F.cross_entropy(model(x), y)
loss.backward()
opt.step()
loss = loss.item()
t2 = time.perf_counter()
print('{{"import_s": %r, "step_s": %r, "loss": %r}}' % (t1 - t0, t2 - t1, loss))
"""


def run_child(code: str, env_extra: dict | None = None, timeout: float = 300.0):
    """Run ``python -c code`` from the repo root; returns (parent wall seconds, parsed JSON of
    the child's last output line)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"child failed (rc {p.returncode}): {p.stderr.strip()[-800:]}")
    return wall, json.loads(p.stdout.strip().splitlines()[-1])


def _libs(ctx: Ctx, quick_torch: bool):
    libs = ["engine"]
    if ctx.torch is not None and (quick_torch or not ctx.quick):
        libs.append("torch")
    return libs


def _import_runner(ctx: Ctx, cfg: Config) -> dict:
    reps = 1 if cfg.quick else 7
    out = {}
    for lib in _libs(ctx, False):
        xs = [run_child(_IMPORT.format(lib=lib))[1]["import_s"] for _ in range(reps)]
        out[lib] = timing_from_samples(xs)
    return out


def _first_step_runner(ctx: Ctx, cfg: Config) -> dict:
    out = {}
    for lib in _libs(ctx, False):
        code = _FIRST_STEP.format(lib=lib)
        first = run_child(code)       # warms the on-disk cache; --quick keeps only this run
        runs = [run_child(code) for _ in range(0 if cfg.quick else 3)] or [first]
        out[lib] = timing_from_samples([w for w, _ in runs], first_s=first[0],
                                       import_s=runs[-1][1]["import_s"],
                                       step_s=runs[-1][1]["step_s"])
    return out


def _cold_runner(ctx: Ctx, cfg: Config) -> dict:
    if cfg.quick:
        return {"engine": None}
    d = tempfile.mkdtemp(prefix="engine-bench-numba-cache-")
    try:
        wall, child = run_child(_FIRST_STEP.format(lib="engine"), {"NUMBA_CACHE_DIR": d},
                                timeout=900)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return {"engine": Timing(wall, wall, wall, wall, 1, None, 1,
                             {"import_s": child["import_s"], "step_s": child["step_s"]})}


def startup_rows(ctx: Ctx) -> list[Row]:
    """import time, warm-cache first step, cold-cache compile (absolute targets)."""
    return [
        Row("import", "import engine (fresh process)", "startup", runner=_import_runner,
            targets={"engine": Target("seconds_lt", 0.5)},
            bound="module imports: numba/llvmlite import, lazy kernel modules, C++ extension"),
        Row("first_step_warm", "fresh process -> 1st MLP step, warm cache", "startup",
            runner=_first_step_runner, targets={"engine": Target("seconds_lt", 3.0)},
            bound="interpreter + imports + loading each cached kernel from disk (type "
                  "inference of the dispatcher + unpickling machine code)"),
        Row("cold_compile", "fresh process -> 1st MLP step, cold cache", "startup",
            runner=_cold_runner, targets={"engine": Target("seconds_lt", 30.0)},
            bound="LLVM compilation of every kernel the step needs (skipped in --quick)"),
    ]
