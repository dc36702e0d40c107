"""Kernel rows (float32): elementwise, reductions, softmax, matmul, conv2d, per-op overhead.

Each builder makes its data once (numpy first; engine and torch tensors share those buffers
where the device allows) and returns {impl: zero-arg callable}. Results are discarded right
after each call, so "fresh output" rows allocate (engine: from its caching allocator).
"""

from __future__ import annotations

import numpy as np

from .spec import Ctx, Row, Target

__all__ = ["engine_tensor", "kernel_rows", "np_conv2d", "torch_tensor"]


def engine_tensor(x, ctx: Ctx, requires_grad=False):
    import engine as E
    t = E.from_numpy(x)
    if ctx.device != "cpu":
        t = t.to(ctx.device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def torch_tensor(x, ctx: Ctx, requires_grad=False):
    T = ctx.torch
    t = T.from_numpy(x)
    if ctx.device != "cpu":
        t = t.to(ctx.device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _with_torch(ctx: Ctx, impls: dict, make):
    """Add the torch implementation when torch is usable on this device."""
    T = ctx.torch
    if T is None or (ctx.device != "cpu" and not T.cuda.is_available()):
        return impls
    impls["torch"] = make(T)
    return impls


def _randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _add(ctx: Ctx, n: int):
    import engine as E  # noqa: F401
    a, b = _randn(n, 0), _randn(n, 1)
    ea, eb = engine_tensor(a, ctx), engine_tensor(b, ctx)
    impls = {"engine": lambda: ea + eb, "numpy": lambda: a + b}

    def t(T):
        ta, tb = torch_tensor(a, ctx), torch_tensor(b, ctx)
        return lambda: ta + tb
    return _with_torch(ctx, impls, t)


def _exp_chain(ctx: Ctx, n: int):
    import engine as E
    a, b = _randn(n, 0), _randn(n, 1)
    ea, eb = engine_tensor(a, ctx), engine_tensor(b, ctx)
    impls = {"engine": lambda: E.exp(ea) * eb + 1, "numpy": lambda: np.exp(a) * b + 1}

    def t(T):
        ta, tb = torch_tensor(a, ctx), torch_tensor(b, ctx)
        return lambda: T.exp(ta) * tb + 1
    return _with_torch(ctx, impls, t)


def _sum(ctx: Ctx, shape, dim):
    x = _randn(shape)
    ex = engine_tensor(x, ctx)
    if dim is None:
        impls = {"engine": lambda: ex.sum(), "numpy": lambda: x.sum()}
    else:
        impls = {"engine": lambda: ex.sum(dim), "numpy": lambda: x.sum(dim)}

    def t(T):
        tx = torch_tensor(x, ctx)
        return (lambda: tx.sum()) if dim is None else (lambda: tx.sum(dim))
    return _with_torch(ctx, impls, t)


def _np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _softmax(ctx: Ctx, shape):
    import engine as E
    x = _randn(shape)
    ex = engine_tensor(x, ctx)
    impls = {"engine": lambda: E.softmax(ex, -1), "numpy": lambda: _np_softmax(x)}

    def t(T):
        tx = torch_tensor(x, ctx)
        return lambda: T.softmax(tx, -1)
    return _with_torch(ctx, impls, t)


def _matmul(ctx: Ctx, n: int):
    import engine as E
    a, b = _randn((n, n), 0), _randn((n, n), 1)
    ea, eb = engine_tensor(a, ctx), engine_tensor(b, ctx)

    def default():
        E.set_matmul_backend("auto")
        return E.matmul(ea, eb)

    def own():
        E.set_matmul_backend("engine")
        try:
            return E.matmul(ea, eb)
        finally:
            E.set_matmul_backend("auto")
    impls = {"engine": default, "engine-gemm": own, "numpy": lambda: a @ b}

    def t(T):
        ta, tb = torch_tensor(a, ctx), torch_tensor(b, ctx)
        return lambda: ta @ tb
    return _with_torch(ctx, impls, t)


def np_conv2d(x, w, b, pad=1):
    """Reference conv2d (stride 1) in numpy: im2col through a sliding-window view + BLAS."""
    from numpy.lib.stride_tricks import sliding_window_view
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))          # (B, C, H, W, kh, kw)
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))       # (B, H, W, O)
    return out.transpose(0, 3, 1, 2) + b[:, None, None]


def _conv(ctx: Ctx, batch, cin, cout, hw):
    import engine.nn.functional as F
    x, w = _randn((batch, cin, hw, hw), 0), _randn((cout, cin, 3, 3), 1) * 0.1
    b = _randn(cout, 2)
    ex, ew, eb = (engine_tensor(v, ctx) for v in (x, w, b))
    impls = {"engine": lambda: F.conv2d(ex, ew, eb, padding=1),
             "numpy": lambda: np_conv2d(x, w, b)}

    def t(T):
        tx, tw, tb = (torch_tensor(v, ctx) for v in (x, w, b))
        return lambda: T.nn.functional.conv2d(tx, tw, tb, padding=1)
    return _with_torch(ctx, impls, t)


def _tiny_add(ctx: Ctx, grad: bool):
    a, b = np.ones(1, np.float32), np.full(1, 2.0, np.float32)
    ea, eb = engine_tensor(a.copy(), ctx, grad), engine_tensor(b.copy(), ctx, grad)
    impls = {"engine": lambda: ea + eb, "numpy": lambda: a + b}

    def t(T):
        ta, tb = torch_tensor(a.copy(), ctx, grad), torch_tensor(b.copy(), ctx, grad)
        return lambda: ta + tb
    return _with_torch(ctx, impls, t)


_BW = "memory bandwidth"


def kernel_rows(ctx: Ctx) -> list[Row]:
    """The kernel rows, sized for ``ctx.quick`` (tiny) or the full suite."""
    q = ctx.quick
    n = (1 << 16) if q else (1 << 24)
    side = 256 if q else 4096
    sm = (128, 64) if q else (4096, 1024)
    nlab = "64K" if q else "16M"
    rows = [
        Row("add_fresh", f"a+b {nlab} fresh out", "elementwise", lambda c: _add(c, n),
            "GB/s", 12.0 * n, {"engine": Target("torch_ratio_le", 0.5)},
            f"{_BW}: 2 reads + 1 write per element; a fresh output costs page faults unless "
            "the allocator reuses a block"),
        Row("exp_mul_add", f"exp(a)*b+1 {nlab} (3 eager ops)", "elementwise",
            lambda c: _exp_chain(c, n), "GB/s", 12.0 * n,
            {"engine": Target("torch_ratio_le", 0.5)},
            f"{_BW} (3 passes + 2 temporaries, 'GB/s' counts one fused pass) and exp "
            "throughput (no SVML: needs a vectorised exp)"),
        Row("sum_all", f"sum all {nlab}", "reduce", lambda c: _sum(c, (side, side), None),
            "GB/s", 4.0 * side * side, {"engine": Target("torch_ratio_le", 1.0)},
            f"{_BW} (read-only stream)"),
        Row("sum_dim0", f"sum dim=0 {side}x{side}", "reduce",
            lambda c: _sum(c, (side, side), 0), "GB/s", 4.0 * side * side,
            {"engine": Target("torch_ratio_le", 0.6)},
            f"{_BW} if rows are streamed with a vector of column accumulators"),
        Row("sum_dim1", f"sum dim=1 {side}x{side}", "reduce",
            lambda c: _sum(c, (side, side), 1), "GB/s", 4.0 * side * side,
            {"engine": Target("torch_ratio_le", 1.0)}, f"{_BW} (read-only stream)"),
        Row("softmax", f"softmax dim=-1 {sm[0]}x{sm[1]}", "reduce",
            lambda c: _softmax(c, sm), "GB/s", 8.0 * sm[0] * sm[1],
            {"engine": Target("torch_ratio_le", 0.8)},
            "exp throughput (2 cores, vectorised exp) then bandwidth; input fits in L3"),
    ]
    for m in ((64, 128) if q else (64, 256, 1024, 2048)):
        tg = {}
        if m >= 1024:
            tg = {"engine": Target("numpy_rate_ge", 0.95),
                  "engine-gemm": Target("numpy_rate_ge", 0.60)}
        from engine.ops.matmul import BLAS_MIN_WORK
        path = "BLAS" if m ** 3 >= BLAS_MIN_WORK else "own GEMM"
        rows.append(Row(f"matmul_{m}", f"matmul {m}x{m}x{m}", "matmul",
                        lambda c, m=m: _matmul(c, m), "GFLOP/s", 2.0 * m ** 3, tg,
                        (f"default path = {path}; " +
                         ("FLOP/s (FMA throughput, packing/cache blocking)" if m >= 256 else
                          "call + threading overhead (~0.26 MFLOP per call)"))))
    batch = 4 if q else 64
    for cin, cout, hw in ((1, 16, 28), (16, 32, 14)):
        rows.append(Row(f"conv2d_{cin}_{cout}", f"conv2d {cin}->{cout} 3x3 p1 b{batch} "
                        f"{hw}x{hw}", "conv", lambda c, a=(batch, cin, cout, hw): _conv(c, *a),
                        "GFLOP/s", 2.0 * batch * cout * hw * hw * cin * 9, {},
                        "im2col memory traffic + GEMM FLOP/s (K = 9 for the first layer, so "
                        "mostly memory)" if cin == 1 else "GEMM FLOP/s after im2col (K = 144)"))
    rows += [
        Row("add_1elem", "a+b 1-element", "overhead", lambda c: _tiny_add(c, False), None, 0,
            {"engine": Target("torch_ratio_le", 2.0)},
            "per-op Python overhead: dispatch, promotion, allocation, Tensor wrapper, "
            "Numba call boundary"),
        Row("add_1elem_grad", "a+b 1-element requires_grad", "overhead",
            lambda c: _tiny_add(c, True), None, 0, {"engine": Target("torch_ratio_le", 2.0)},
            "per-op Python overhead plus recording the autograd node"),
    ]
    return rows
