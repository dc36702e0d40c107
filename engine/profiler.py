"""``engine.profiler``: a small wall-clock profiler with PyTorch's API.

``with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:`` records

- every ``with record_function("name"):`` block (also usable as a decorator), and
- calls of the common public ops (``aten::linear``, ``aten::conv2d``, ``aten::matmul``,
  ``aten::add``, ``aten::sum``, losses, ...; the engine's functions are wrapped the first time a
  profile starts, and the wrappers do nothing but call through when no profile is active),

each with its wall time (``time.perf_counter``), nesting (self time = total minus the time of
recorded children) and, with ``record_shapes``, the input shapes. CUDA time is not measured
separately: CUDA work is counted in the wall time of the op that waits for it.

``prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)`` prints PyTorch's table;
``prof.export_chrome_trace(path)`` writes a chrome://tracing file.

>>> import engine as torch
>>> from engine.profiler import profile, record_function, ProfilerActivity
>>> with profile(activities=[ProfilerActivity.CPU]) as prof:
...     with record_function("model_inference"):
...         y = torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3))
>>> [e.key for e in prof.key_averages()][:1]
['model_inference']
"""

from __future__ import annotations

import enum
import functools
import json
import os
import time

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerAction",
    "ProfilerActivity",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities():
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """PyTorch's step schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle,
    ``warmup`` and ``active`` recorded steps (``repeat`` cycles; 0 = forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")

    def fn(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        mod = step % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return fn


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False):
    """``on_trace_ready`` handler writing a chrome trace file into ``dir_name``."""
    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{os.uname().nodename}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(
            dir_name, f"{name}.{time.time_ns() // 1000000}.pt.trace.json"))
    return handler


# --------------------------------------------------------------------------- events
class FunctionEvent:
    """One recorded interval (times in microseconds, as PyTorch)."""

    def __init__(self, name: str, start: float, depth: int, input_shapes=None) -> None:
        self.name = self.key = name
        self.start_us = start
        self.end_us = start
        self.depth = depth
        self.input_shapes = input_shapes or []
        self.children_us = 0.0
        self.count = 1

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - self.children_us

    cuda_time_total = self_cuda_time_total = device_time_total = self_device_time_total = 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEvent name={self.name} cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us>")


class FunctionEventAvg:
    """The events of one name (and input shapes, when grouped by them) added up."""

    def __init__(self, key: str, input_shapes=None) -> None:
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cuda_time_total = self.self_cuda_time_total = 0.0
        self.device_time_total = self.self_device_time_total = 0.0

    def add(self, e: FunctionEvent) -> None:
        self.count += 1
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us"
                f" cpu_time={self.cpu_time:.3f}us count={self.count}>")


def _fmt_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


_SORT_KEYS = {"cpu_time_total", "self_cpu_time_total", "cpu_time", "count",
              "cuda_time_total", "self_cuda_time_total", "device_time_total",
              "self_device_time_total", "cpu_memory_usage", "self_cpu_memory_usage",
              "cuda_memory_usage", "self_cuda_memory_usage"}


class EventList(list):
    """A list of events (``prof.events()``) or averages (``prof.key_averages()``)."""

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width=75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80,
              header: str | None = None, top_level_events_only: bool = False) -> str:
        rows = list(self)
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise AttributeError(f"'FunctionEventAvg' has no attribute {sort_by!r}; sort_by "
                                     f"is one of {sorted(_SORT_KEYS)}")
            rows.sort(key=lambda e: getattr(e, sort_by, 0.0), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        self_total = sum(e.self_cpu_time_total for e in self) or 1e-12
        shapes = any(getattr(e, "input_shapes", None) for e in rows) and isinstance(
            rows[0] if rows else None, FunctionEventAvg) and rows[0].input_shapes is not None
        heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                 "# of Calls"]
        nw = max([len("Name")] + [min(len(e.key), max_name_column_width) for e in rows]) + 2
        cw = 12
        line = "-" * nw + "  " + "  ".join("-" * cw for _ in heads)
        hdr = "Name".rjust(nw) + "  " + "  ".join(h.rjust(cw) for h in heads)
        if shapes:
            line += "  " + "-" * max_shapes_column_width
            hdr += "  " + "Input Shapes".ljust(max_shapes_column_width)
        out = ([header] if header else []) + [line, hdr, line]
        for e in rows:
            name = e.key if len(e.key) <= max_name_column_width else \
                e.key[:max_name_column_width - 3] + "..."
            avg = e.cpu_time_total / e.count if e.count else 0.0
            cols = [f"{100 * e.self_cpu_time_total / self_total:.2f}%",
                    _fmt_time(e.self_cpu_time_total),
                    f"{100 * e.cpu_time_total / self_total:.2f}%", _fmt_time(e.cpu_time_total),
                    _fmt_time(avg), str(e.count)]
            row = name.rjust(nw) + "  " + "  ".join(c.rjust(cw) for c in cols)
            if shapes:
                row += "  " + str(e.input_shapes)[:max_shapes_column_width]
            out.append(row)
        out += [line, f"Self CPU time total: {_fmt_time(sum(e.self_cpu_time_total for e in self))}",
                ""]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        groups: dict = {}
        for e in self:
            k = (e.key, str(e.input_shapes)) if group_by_input_shape else e.key
            if k not in groups:
                groups[k] = FunctionEventAvg(e.key, e.input_shapes if group_by_input_shape
                                             else None)
            groups[k].add(e)
        return EventList(groups.values())

    def total_average(self) -> FunctionEventAvg:
        t = FunctionEventAvg("Total")
        for e in self:
            t.count += e.count
            t.cpu_time_total += e.cpu_time_total
            t.self_cpu_time_total += e.self_cpu_time_total
        return t

    def export_chrome_trace(self, path: str) -> None:
        _write_trace(path, self)


def _write_trace(path: str, events) -> None:
    trace = [{"name": e.name, "ph": "X", "ts": e.start_us, "dur": e.cpu_time_total,
              "pid": os.getpid(), "tid": 0, "cat": "cpu_op",
              "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
             for e in events]
    with open(path, "w") as f:
        json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)


# --------------------------------------------------------------------------- recording
_active: list = []   # the profile objects currently recording (innermost last)


def _shapes(args):
    from ._tensor import Tensor
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(list(a.shape))
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            out.append([list(x.shape) for x in a if isinstance(x, Tensor)])
        else:
            out.append([])
    return out


class record_function:
    """``with record_function("name"):`` marks a block in the active profile (a no-op when
    none records); also a decorator."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._ev = None

    def __enter__(self):
        if _active:
            self._ev = _active[-1]._begin(self.name, None)
        return self

    def __exit__(self, *exc) -> bool:
        if self._ev is not None:
            _active[-1]._end(self._ev) if _active else None
            self._ev = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped


class profile:
    """Context manager recording op and ``record_function`` wall times (see module doc)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config=None, execution_trace_observer=None,
                 acc_events: bool = False, use_cuda=None, custom_trace_id_callback=None,
                 enabled: bool = True) -> None:
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.enabled = enabled
        self.step_num = 0
        self._events: list = []
        self._stack: list = []
        self._recording = False

    # -- lifecycle
    def _action(self) -> ProfilerAction:
        return self.schedule(self.step_num) if self.schedule else ProfilerAction.RECORD

    def start(self) -> None:
        if not self.enabled:
            return
        _install_op_hooks()
        _active.append(self)
        self._recording = self._action() in (ProfilerAction.RECORD,
                                             ProfilerAction.RECORD_AND_SAVE)

    def stop(self) -> None:
        if not self.enabled:
            return
        if self in _active:
            _active.remove(self)
        if not _active:
            _remove_op_hooks()
        if self.on_trace_ready is not None and self._recording and self.schedule is None:
            self.on_trace_ready(self)
        self._recording = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    def step(self) -> None:
        """Advance the schedule by one training step."""
        prev = self._action()
        self.step_num += 1
        act = self._action()
        if prev is ProfilerAction.RECORD_AND_SAVE and self.on_trace_ready is not None:
            self.on_trace_ready(self)
        if prev is ProfilerAction.RECORD_AND_SAVE:
            self._saved_events = self._events
            self._events = []
        self._recording = act in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)

    # -- events
    def _begin(self, name, args):
        if not self._recording:
            return None
        ev = FunctionEvent(name, time.perf_counter() * 1e6, len(self._stack),
                           _shapes(args) if (self.record_shapes and args) else None)
        self._stack.append(ev)
        return ev

    def _end(self, ev) -> None:
        if ev is None:
            return
        ev.end_us = time.perf_counter() * 1e6
        while self._stack and self._stack[-1] is not ev:
            self._stack.pop()
        if self._stack:
            self._stack.pop()
        if self._stack:
            self._stack[-1].children_us += ev.cpu_time_total
        self._events.append(ev)

    def events(self) -> EventList:
        evs = self._events or getattr(self, "_saved_events", [])
        return EventList(sorted(evs, key=lambda e: e.start_us))

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        if group_by_input_shape and not self.record_shapes:
            raise RuntimeError("group_by_input_shape requires profile(record_shapes=True)")
        return self.events().key_averages(group_by_input_shape)

    def export_chrome_trace(self, path: str) -> None:
        _write_trace(path, self.events())

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        with open(path, "w") as f:
            f.writelines(f"{e.name} {int(getattr(e, metric, 0))}\n" for e in self.events())

    def table(self, *args, **kwargs) -> str:
        return self.key_averages().table(*args, **kwargs)


# --------------------------------------------------------------------------- op hooks
_OPS_F = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "relu", "gelu", "softmax",
          "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "dropout", "max_pool2d",
          "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "embedding",
          "scaled_dot_product_attention")
_OPS_TOP = ("matmul", "mm", "bmm", "addmm", "cat", "stack", "sum", "mean", "softmax")
_OPS_T = {"__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
          "__matmul__": "matmul", "sum": "sum", "mean": "mean"}
_installed: list = []  # (owner, attr, wrapper, original) while hooks are in place


def _hook(fn, name):
    live = [True]  # False once removed (a wrapper another layer captured then passes through)

    @functools.wraps(fn)
    def profiled(*args, **kwargs):
        if not _active or not live[0]:
            return fn(*args, **kwargs)
        p = _active[-1]
        ev = p._begin(name, args)
        try:
            return fn(*args, **kwargs)
        finally:
            p._end(ev)
    profiled._profiler_live = live
    return profiled


def _install_op_hooks() -> None:
    """Wrap the common ops while a profile is active (removed by ``_remove_op_hooks``)."""
    if _installed:
        return
    import engine

    from ._tensor import Tensor
    from .nn import functional as F
    for owner, names in ((F, {n: n for n in _OPS_F}), (engine, {n: n for n in _OPS_TOP}),
                         (Tensor, _OPS_T)):
        for attr, op in names.items():
            fn = Tensor.__dict__.get(attr) if owner is Tensor else getattr(owner, attr, None)
            if fn is None or not callable(fn):
                continue
            w = _hook(fn, f"aten::{op}")
            setattr(owner, attr, w)
            _installed.append((owner, attr, w, fn))


def _remove_op_hooks() -> None:
    """Put the original functions back (where nothing else re-wrapped them meanwhile), so ops
    pay nothing once profiling is over."""
    for owner, attr, w, fn in _installed:
        w._profiler_live[0] = False
        cur = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if cur is w:
            setattr(owner, attr, fn)
    _installed.clear()
