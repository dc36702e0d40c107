"""Timing harness: warm-up, interleaved blocks across implementations in one process,
median + IQR, the first call timed apart, and a background-load check with retries.

How one row is measured (see ../shared/reference/perf-anchors.md for why):

1. Every implementation gets its *first call* timed alone (compile or on-disk cache load for
   the engine; lazy init for torch), then ``warmup`` calls, then a calibration that picks how
   many calls one sample batches (so a sample lasts >= ``sample_s``; µs-scale ops are timed in
   batches, like ``timeit``).
2. ``rounds`` rounds; in each round every implementation runs one block of samples (>=
   ``block_s`` and a share of ``min_samples``). The order rotates per round, and the harness
   sleeps ``settle_s`` whenever the implementation changes: OpenBLAS / OpenMP / Numba workers
   spin after a call and would steal one of the two cores from the next one (the engine's
   default matmul runs on OpenBLAS, its own GEMM on Numba's OpenMP pool).
3. While a row runs, CPU time used by *other* processes is sampled from /proc/stat (``bg``,
   in cores). When ``bg >= bg_limit`` the row is measured again (``max_tries`` in all) and the
   least disturbed try is kept.

>>> t = measure({"noop": lambda: None}, Config.for_mode(quick=True))["noop"]
>>> t.median_s < 1e-3
True
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "BgSampler",
    "Config",
    "Timing",
    "lib_of",
    "measure",
    "measure_with_retries",
    "timing_from_samples",
    "wait_quiet",
]

_pc = time.perf_counter


@dataclass
class Config:
    """Knobs of one benchmark run (``for_mode`` gives the full and the ``--quick`` presets)."""
    quick: bool = False
    rounds: int = 5
    block_s: float = 0.12
    min_samples: int = 10
    sample_s: float = 0.002
    warmup: int = 3
    settle_s: float = 0.1
    max_tries: int = 3
    bg_limit: float = 0.3
    quiet_wait_s: float = 10.0
    max_impl_s: float = 8.0
    sync: Callable[[], None] | None = None

    @classmethod
    def for_mode(cls, quick: bool = False, **kw) -> Config:
        if quick:
            base = {"quick": True, "rounds": 2, "block_s": 0.0, "min_samples": 3,
                    "sample_s": 0.0005, "warmup": 1, "settle_s": 0.0, "max_tries": 1,
                    "quiet_wait_s": 0.0, "max_impl_s": 2.0}
            base.update(kw)
            return cls(**base)
        return cls(**kw)


@dataclass
class Timing:
    """Per-call seconds of one implementation: median, quartiles, sample count, first call."""
    median_s: float
    q1_s: float
    q3_s: float
    min_s: float
    n: int
    first_s: float | None = None
    inner: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def spread(self) -> float:
        """Inter-quartile range relative to the median (0.05 = +-5 % band width)."""
        return (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {"median_s": self.median_s, "q1_s": self.q1_s, "q3_s": self.q3_s,
                "min_s": self.min_s, "n": self.n, "first_call_s": self.first_s,
                "calls_per_sample": self.inner, "spread": self.spread, **self.extra}


def timing_from_samples(samples, first_s=None, inner=1, **extra) -> Timing:
    """Median and quartiles of a list of per-call seconds."""
    xs = sorted(samples)
    if len(xs) >= 4:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1, q3 = xs[0], xs[-1]
    return Timing(statistics.median(xs), q1, q3, xs[0], len(xs), first_s, inner, dict(extra))


def lib_of(impl_name: str) -> str:
    """'engine-gemm' -> 'engine': the library whose thread pool an implementation uses."""
    return impl_name.split("-", 1)[0]


class BgSampler:
    """CPU time used by other processes (cores) between ``start()`` and ``stop()``.

    Reads the machine-wide busy jiffies from /proc/stat and subtracts this process's own CPU
    time (all threads, plus waited-for children). None where /proc/stat is missing or the
    interval is too short for the 10 ms jiffy resolution.
    """

    def __init__(self):
        self._t = self._busy = self._self = None
        try:
            self._hz = os.sysconf("SC_CLK_TCK")
        except (ValueError, OSError, AttributeError):
            self._hz = 100

    @staticmethod
    def _read_busy():
        try:
            with open("/proc/stat") as f:
                vals = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            return None
        # user nice system idle iowait irq softirq steal ...: busy = all but idle/iowait/steal
        return sum(vals[:3]) + sum(vals[5:7])

    @staticmethod
    def _self_cpu():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def start(self) -> BgSampler:
        self._t, self._busy, self._self = _pc(), self._read_busy(), self._self_cpu()
        return self

    def stop(self) -> float | None:
        busy, wall = self._read_busy(), _pc() - self._t
        if busy is None or self._busy is None or wall < 0.2:
            return None
        other = (busy - self._busy) / self._hz - (self._self_cpu() - self._self)
        return max(0.0, other / wall)


def wait_quiet(cfg: Config) -> float | None:
    """Wait (bounded by ``cfg.quiet_wait_s``) until other processes use < ``bg_limit`` cores;
    returns the last load seen."""
    deadline, load = _pc() + cfg.quiet_wait_s, None
    while _pc() < deadline:
        s = BgSampler().start()
        time.sleep(0.25)
        load = s.stop()
        if load is None or load < cfg.bg_limit:
            break
    return load


def _call(fn, n, sync):
    t0 = _pc()
    for _ in range(n):
        fn()
    if sync is not None:
        sync()
    return _pc() - t0


def _prepare(fn, cfg: Config):
    """First call (timed apart), warm-up, calibration -> (first_s, calls per sample, one_s)."""
    first = _call(fn, 1, cfg.sync)
    one = first
    for _ in range(cfg.warmup):
        one = _call(fn, 1, cfg.sync)
    if one < cfg.sample_s:
        n = 10 if one > 1e-4 else 200
        one = _call(fn, n, cfg.sync) / n
    inner = 1 if one >= cfg.sample_s else max(1, min(200_000, math.ceil(cfg.sample_s / one)))
    return first, inner, one


def measure(impls: dict[str, Callable], cfg: Config) -> dict[str, Timing]:
    """Time every implementation, interleaved; returns name -> Timing (per call)."""
    names = list(impls)
    prep, samples, want = {}, {k: [] for k in names}, {}
    last = None
    for k in names:
        if last is not None and k != last and cfg.settle_s:
            time.sleep(cfg.settle_s)
        prep[k] = _prepare(impls[k], cfg)
        last = k
        one = max(prep[k][2], 1e-9)
        ms = cfg.min_samples
        if ms * one * prep[k][1] > cfg.max_impl_s:
            ms = max(3, int(cfg.max_impl_s / (one * prep[k][1])))
        want[k] = ms
    for r in range(cfg.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for k in order:
            if last is not None and k != last and cfg.settle_s:
                time.sleep(cfg.settle_s)
            last = k
            fn, inner = impls[k], prep[k][1]
            per_round = math.ceil(want[k] / cfg.rounds)
            block_s = cfg.block_s if want[k] >= cfg.min_samples else 0.0
            t_end, got = _pc() + block_s, 0
            while got < per_round or _pc() < t_end:
                samples[k].append(_call(fn, inner, cfg.sync) / inner)
                got += 1
    return {k: timing_from_samples(samples[k], prep[k][0], prep[k][1]) for k in names}


def measure_with_retries(impls: dict[str, Callable], cfg: Config):
    """``measure`` under the background-load check: returns (timings, bg cores, tries).

    The first call of each implementation is kept from the first try (later tries are warm).
    """
    best, best_bg, tries, first = None, None, 0, None
    for tries in range(1, cfg.max_tries + 1):
        if cfg.quiet_wait_s:
            wait_quiet(cfg)
        s = BgSampler().start()
        res = measure(impls, cfg)
        bg = s.stop()
        if first is None:
            first = {k: t.first_s for k, t in res.items()}
        if best is None or (bg is not None and (best_bg is None or bg < best_bg)):
            best, best_bg = res, bg
        if bg is None or bg < cfg.bg_limit:
            break
    for k, t in best.items():
        t.first_s = first.get(k)
    return best, best_bg, tries
