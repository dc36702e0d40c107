"""What a benchmark row is (``Row``), its goal (``Target``), the run context (``Ctx``) and how
a measured row turns into report lines (``evaluate``).

>>> t = Target("torch_ratio_le", 0.5)
>>> t.text(), t.check({"ratio_torch": 0.4})
('engine/torch <= 0.5', True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ENGINE_IMPLS", "REFERENCE_IMPLS", "Ctx", "Row", "Target", "evaluate"]

ENGINE_IMPLS = ("engine", "engine-gemm")
REFERENCE_IMPLS = ("torch", "numpy")


@dataclass(frozen=True)
class Target:
    """``torch_ratio_le``: engine time / torch time <= value.
    ``numpy_rate_ge``: engine rate >= value x numpy rate (numpy time / engine time).
    ``seconds_lt``: engine median seconds < value."""
    kind: str
    value: float

    def text(self) -> str:
        if self.kind == "torch_ratio_le":
            return f"engine/torch <= {self.value:g}"
        if self.kind == "numpy_rate_ge":
            return f">= {self.value * 100:.0f}% of numpy"
        if self.kind == "seconds_lt":
            return f"< {self.value:g} s"
        raise ValueError(f"unknown target kind {self.kind!r}")

    def check(self, line: dict) -> bool | None:
        if self.kind == "torch_ratio_le":
            r = line.get("ratio_torch")
            return None if r is None else r <= self.value
        if self.kind == "numpy_rate_ge":
            r = line.get("ratio_numpy")
            return None if r is None or r <= 0 else (1.0 / r) >= self.value
        if self.kind == "seconds_lt":
            m = line.get("median_s")
            return None if m is None else m < self.value
        raise ValueError(f"unknown target kind {self.kind!r}")


@dataclass
class Ctx:
    """Run context handed to row builders: sizes mode, device, synchronisation, torch."""
    quick: bool = False
    device: str = "cpu"
    torch: Any = None          # the torch module, or None when it is not installed
    sync: Callable[[], None] | None = None


@dataclass
class Row:
    """One benchmark: ``build(ctx)`` makes the data and returns {impl name: zero-arg callable}
    (optionally ``(impls, meta)``); ``runner(ctx, cfg)`` instead returns {impl: Timing} for
    rows that are not in-process calls (start-up figures). ``work`` is bytes (unit GB/s) or
    flops (unit GFLOP/s) per call. ``targets`` maps an engine impl name to its Target."""
    key: str
    label: str
    area: str
    build: Callable | None = None
    unit: str | None = None
    work: float = 0.0
    targets: dict = field(default_factory=dict)
    bound: str = ""
    runner: Callable | None = None


def _rate(work: float, unit: str | None, seconds: float | None):
    if not unit or not work or not seconds:
        return None
    return work / seconds / 1e9


def evaluate(row: Row, timings: dict, ceilings: dict, bg=None, tries=1, meta=None,
             error: str | None = None) -> list[dict]:
    """One report line per engine implementation of ``row`` (ratios against torch / numpy)."""
    base = {"key": row.key, "label": row.label, "area": row.area, "unit": row.unit,
            "bound": row.bound, "bg_cores": bg, "tries": tries, "meta": meta or {}}
    if error is not None:
        return [dict(base, impl="engine", status="ERROR", error=error)]
    ref = {k: timings[k].median_s for k in REFERENCE_IMPLS if timings.get(k)}
    ceiling = ceilings.get("bw_gbs") if row.unit == "GB/s" else (
        ceilings.get("peak_gflops") if row.unit == "GFLOP/s" else None)
    lines = []
    for impl in [k for k in ENGINE_IMPLS if k in timings]:
        t = timings[impl]
        line = dict(base, impl=impl)
        line.update(t.as_dict() if t is not None else {"median_s": None})
        med = line.get("median_s")
        rate = _rate(row.work, row.unit, med)
        line["rate"] = rate
        line["pct_ceiling"] = (100.0 * rate / ceiling) if rate and ceiling else None
        for r in REFERENCE_IMPLS:
            rt = ref.get(r)
            line[f"{r}_s"] = rt
            line[f"{r}_rate"] = _rate(row.work, row.unit, rt)
            line[f"ratio_{r}"] = (med / rt) if (med and rt) else None
        tgt = row.targets.get(impl)
        line["target"] = tgt.text() if tgt else None
        ok = tgt.check(line) if tgt else None
        line["status"] = ("" if tgt is None else "n/a" if ok is None else
                          "PASS" if ok else "MISS")
        lines.append(line)
    return lines
