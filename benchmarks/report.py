"""Output: the markdown table, the JSON file, the PNG bar chart of ratios.

>>> fmt_time(1.5e-6), fmt_time(0.0123), fmt_time(None)
('1.50 µs', '12.30 ms', '')
"""

from __future__ import annotations

import json
import math

__all__ = ["HEADER", "fmt_time", "line_cells", "markdown", "plot", "table", "write_json"]

HEADER = ("row", "impl", "median", "IQR", "rate", "% ceil", "torch", "numpy", "eng/torch",
          "eng/numpy", "target", "status", "1st call")


def fmt_time(s) -> str:
    if s is None:
        return ""
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _f(x, fmt="{:.2f}"):
    return "" if x is None else fmt.format(x)


def line_cells(ln: dict) -> list[str]:
    """The table cells of one report line (see HEADER)."""
    if ln.get("status") == "ERROR":
        return [ln["label"], ln["impl"], "", "", "", "", "", "", "", "", "", "ERROR",
                ln.get("error", "")[:60]]
    rate = f"{ln['rate']:.1f} {ln['unit']}" if ln.get("rate") else ""
    spread = f"±{ln['spread'] * 50:.0f}%" if ln.get("spread") is not None else ""
    impl = {"engine": "engine", "engine-gemm": "engine GEMM"}.get(ln["impl"], ln["impl"])
    return [ln["label"], impl, fmt_time(ln.get("median_s")), spread, rate,
            _f(ln.get("pct_ceiling"), "{:.0f}%"), fmt_time(ln.get("torch_s")),
            fmt_time(ln.get("numpy_s")), _f(ln.get("ratio_torch")),
            _f(ln.get("ratio_numpy")), ln.get("target") or "", ln.get("status") or "",
            fmt_time(ln.get("first_call_s"))]


def table(lines: list[dict]) -> str:
    """Markdown table of all report lines."""
    out = ["| " + " | ".join(HEADER) + " |",
           "|" + "|".join("---" if i < 2 else "---:" for i in range(len(HEADER))) + "|"]
    for ln in lines:
        out.append("| " + " | ".join(c.replace("|", "/") for c in line_cells(ln)) + " |")
    return "\n".join(out)


def _clean(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def write_json(path: str, meta: dict, lines: list[dict]) -> None:
    """``{"meta": {...}, "rows": [line, ...]}`` (one line per row and engine implementation)."""
    with open(path, "w") as f:
        json.dump(_clean({"meta": meta, "rows": lines}), f, indent=1, default=str)


def _target_value(ln):
    """Where the target sits on the plotted engine/reference axis, or None."""
    t = ln.get("target") or ""
    if t.startswith("engine/torch <="):
        return float(t.split("<=")[1])
    if t.startswith(">=") and "numpy" in t:
        return 100.0 / float(t[2:].split("%")[0])
    return None


def plot(path: str, lines: list[dict], title: str = "engine time / reference time") -> bool:
    """Bar chart (log scale) of engine/torch and engine/numpy time ratios per line, with the
    target as a black tick. Returns False (and prints why) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot: matplotlib is not installed (pip install matplotlib); no PNG written")
        return False
    rows = [ln for ln in lines if ln.get("ratio_torch") or ln.get("ratio_numpy")]
    if not rows:
        print("--plot: no ratios to plot")
        return False
    names = [ln["label"] + (" [GEMM]" if ln["impl"] == "engine-gemm" else "") for ln in rows]
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(rows)), 6))
    xs = list(range(len(rows)))
    w = 0.4
    colors = {"PASS": "tab:green", "MISS": "tab:red"}
    rt = [ln.get("ratio_torch") or 0 for ln in rows]
    rn = [ln.get("ratio_numpy") or 0 for ln in rows]
    on_np = ["numpy" in (ln.get("target") or "") for ln in rows]
    on_t = ["torch" in (ln.get("target") or "") for ln in rows]
    ax.bar([x - w / 2 for x in xs], rt, w, label="engine / torch",
           color=[colors.get(ln.get("status"), "tab:blue") if t else "tab:blue"
                  for ln, t in zip(rows, on_t)])
    ax.bar([x + w / 2 for x in xs], rn, w, label="engine / numpy",
           color=[colors.get(ln.get("status"), "tab:gray") if n else "tab:gray"
                  for ln, n in zip(rows, on_np)], alpha=0.7)
    for x, ln in zip(xs, rows):
        tv = _target_value(ln)
        if tv:
            dx = -w / 2 if "torch" in (ln.get("target") or "") else w / 2
            ax.plot([x + dx - w / 2, x + dx + w / 2], [tv, tv], color="black", lw=2)
    ax.axhline(1.0, color="black", lw=0.5, ls="--")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("time ratio (lower is better); black tick = target")
    ax.set_title(title + "  (bar with the target: green PASS / red MISS)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def markdown(meta: dict, lines: list[dict]) -> str:
    """A results section for BENCHMARKS.md: command, date, machine, ceilings, the table and
    what bounds each row."""
    c = meta.get("ceilings") or {}
    out = [f"Command: `{meta.get('command', '')}`  ", f"Date: {meta.get('date', '')}  ",
           (f"Load average at start / end: {_la(meta.get('loadavg_start'))} / "
           f"{_la(meta.get('loadavg_end'))}; suite wall time {meta.get('wall_s', 0):.0f} s"),
           "", "```", meta.get("engine_info", ""),
           (f"torch {meta.get('torch')} ({meta.get('torch_threads')} threads), "
           f"numba threads {meta.get('numba_threads')}; BLAS {meta.get('blas')}"), "```", ""]
    if c:
        st = ", ".join(f"{k} {v:.1f}" for k, v in c.get("stream_gbs", {}).items())
        mm = ", ".join(f"{k} {v:.1f}" for k, v in c.get("matmul_gflops", {}).items())
        out += [(f"Ceilings (this run): bandwidth **{c['bw_gbs']:.1f} GB/s** (best STREAM triad, "
                f"{c['bw_source']}, {c['stream_n'] >> 20}M f32; all GB/s: {st}); peak "
                f"**{c['peak_gflops']:.1f} GFLOP/s** ({c['peak_source']}, sgemm "
                f"{c['peak_n']}; {mm})."), ""]
    out += [table(lines), "", "What bounds each row:", ""]
    seen = set()
    for ln in lines:
        if ln["key"] not in seen and ln.get("bound"):
            seen.add(ln["key"])
            out.append(f"- **{ln['label']}**: {ln['bound']}")
    return "\n".join(out) + "\n"


def _la(x):
    return "" if not x else "/".join(f"{v:.2f}" for v in x)
