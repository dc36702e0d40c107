"""Per-call breakdown of the engine's slow spots, engine vs torch, for explaining MISS rows:

    python -m benchmarks.breakdown            # all sections, ~1 min
    python -m benchmarks.breakdown ops step   # some sections: ops, layers, step, conv, gemm

Times are **CPU time of the calling thread** (``time.thread_time_ns``) with Numba, BLAS and
torch pinned to one thread: on a shared 2-core machine wall-clock medians swing by 2-50x
with other people's jobs, while CPU time per call stays within ~10 %. So these figures show
per-op overhead and single-core kernel efficiency, not 2-thread speed (the main table).
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["cpu_us", "main"]


def _pin_one_thread():
    """Must run before numpy / numba are imported (env vars are read at import)."""
    for k in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = "1"


def cpu_us(fn, number: int = 100, repeat: int = 15, warm: int = 10) -> float:
    """Median over ``repeat`` batches of the thread CPU time per call, in µs."""
    for _ in range(warm):
        fn()
    xs = []
    for _ in range(repeat):
        t = time.thread_time_ns()
        for _ in range(number):
            fn()
        xs.append((time.thread_time_ns() - t) / number / 1e3)
    xs.sort()
    return xs[len(xs) // 2]


def _row(name, e, t=None):
    ratio = f"x{e / t:6.1f}" if t else ""
    tt = f"{t:10.1f}" if t is not None else " " * 10
    print(f"  {name:46s} {e:10.1f} {tt}  {ratio}")


def _head(title):
    print(f"\n{title}\n  {'':46s} {'engine µs':>10} {'torch µs':>10}  ratio")


def _ops(E, T, np):
    from engine import _dtype as D
    from engine.autograd.graph import record
    from engine.ops import reduce as R
    from engine.ops._common import empty_tensor
    _head("per-op overhead (1-element / tiny tensors)")
    a, b = E.ones(1), E.ones(1)
    ag, bg = E.ones(1, requires_grad=True), E.ones(1, requires_grad=True)
    ta, tb = T.ones(1), T.ones(1)
    tag, tbg = T.ones(1, requires_grad=True), T.ones(1, requires_grad=True)
    cpu = a._storage.device
    _row("a+b (fast path)", cpu_us(lambda: a + b, 500), cpu_us(lambda: ta + tb, 500))
    _row("a+b requires_grad (general path + record)", cpu_us(lambda: ag + bg, 500),
         cpu_us(lambda: tag + tbg, 500))
    _row("  record(AddBackward0) alone",
         cpu_us(lambda: record("AddBackward0", (ag, bg), (empty_tensor((1,), D.float32, cpu),),
                               None, [], None), 500))
    _row("  empty_tensor((1,))", cpu_us(lambda: empty_tensor((1,), D.float32, cpu), 500),
         cpu_us(lambda: T.empty(1), 500))
    m, tm = E.randn(32, 16), T.randn(32, 16)
    bb, tbb = E.zeros(16), T.zeros(16)
    _row("(32,16) + (16,) broadcast, no grad", cpu_us(lambda: m + bb, 300),
         cpu_us(lambda: tm + tbb, 300))
    n, tn = E.randn(64, requires_grad=True) * 1, T.randn(64, requires_grad=True) * 1
    _row("mean(64) requires_grad", cpu_us(lambda: n.mean(), 300), cpu_us(lambda: tn.mean(), 300))
    _row("sum(64) requires_grad", cpu_us(lambda: n.sum(), 300), cpu_us(lambda: tn.sum(), 300))
    nd = n.detach()
    _row("  reduce._run('sum') on 64 elements (no grad)",
         cpu_us(lambda: R._run("sum", nd, (0,), False, nd._dtype), 300))
    x = np.random.default_rng(0).standard_normal((64, 64), dtype=np.float32)
    ex, tx = E.from_numpy(x), T.from_numpy(x)
    _row("matmul 64x64x64 (default BLAS path)", cpu_us(lambda: E.matmul(ex, ex), 300),
         cpu_us(lambda: T.matmul(tx, tx), 300))
    _row("  numpy x @ x (same BLAS)", cpu_us(lambda: x @ x, 300))


def _linear(E, T, np, m, k, n):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    ex, ew, eb = E.from_numpy(x), E.from_numpy(w).requires_grad_(), E.zeros(n, requires_grad=True)
    tx, tw, tb = (T.from_numpy(x), T.from_numpy(w.copy()).requires_grad_(),
                  T.zeros(n, requires_grad=True))
    num = 300 if k < 100 else 20
    _row(f"F.linear {m}x{k} -> {n}", cpu_us(lambda: E.nn.functional.linear(ex, ew, eb), num),
         cpu_us(lambda: T.nn.functional.linear(tx, tw, tb), num))
    _row(f"  x @ w.t()  {m}x{k} -> {n}", cpu_us(lambda: ex.matmul(ew.t()), num),
         cpu_us(lambda: tx.matmul(tw.t()), num))


def _layers(E, T, np):
    _head("layers and losses (requires_grad parameters)")
    rng = np.random.default_rng(0)
    _linear(E, T, np, 32, 2, 16)
    _linear(E, T, np, 64, 784, 256)
    z = rng.standard_normal((64, 10), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    ez, ey = E.from_numpy(z).requires_grad_(), E.from_numpy(y)
    tz, ty = T.from_numpy(z.copy()).requires_grad_(), T.from_numpy(y)
    EF, TF = E.nn.functional, T.nn.functional
    _row("cross_entropy (64x10)", cpu_us(lambda: EF.cross_entropy(ez, ey), 200),
         cpu_us(lambda: TF.cross_entropy(tz, ty), 200))
    el, tl = EF.log_softmax(ez, -1), TF.log_softmax(tz, -1)
    _row("  log_softmax (64x10)", cpu_us(lambda: EF.log_softmax(ez, -1), 200),
         cpu_us(lambda: TF.log_softmax(tz, -1), 200))
    _row("  nll_loss (64x10)", cpu_us(lambda: EF.nll_loss(el, ey), 200),
         cpu_us(lambda: TF.nll_loss(tl, ty), 200))
    eyu, tyu = ey.unsqueeze(1), ty.unsqueeze(1)
    _row("    gather(1, target[:, None])", cpu_us(lambda: el.gather(1, eyu), 200),
         cpu_us(lambda: tl.gather(1, tyu), 200))


def _phases(lib, kind, batch, steps=20):
    import numpy as np

    from .rows_training import _data, _optimizer, make_model
    x, y = _data(kind, batch)
    lib.manual_seed(0)
    m = make_model(lib, kind)
    F = lib.nn.functional
    opt = _optimizer(lib, kind, m.parameters())
    loss_fn = F.mse_loss if kind == "tiny" else F.cross_entropy
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    acc = {k: [] for k in ("forward", "loss", "backward", "step", "total")}
    for i in range(steps + 5):
        t0 = time.thread_time_ns()
        opt.zero_grad()
        out = m(x)
        t1 = time.thread_time_ns()
        loss = loss_fn(out, y)
        t2 = time.thread_time_ns()
        loss.backward()
        t3 = time.thread_time_ns()
        opt.step()
        t4 = time.thread_time_ns()
        if i >= 5:
            for k, v in zip(acc, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
                acc[k].append(v / 1e3)
    return {k: float(np.median(v)) for k, v in acc.items()}, (m, opt, loss_fn, x, y)


def _node_times(E, state, steps=10):
    """Engine backward time per autograd node type (µs per step, CPU time)."""
    from engine.autograd import engine as AE
    m, opt, loss_fn, x, y = state
    tot: dict = {}
    orig = AE._run_node

    def timed(node, *a, **k):
        t = time.thread_time_ns()
        r = orig(node, *a, **k)
        name = type(node).__name__
        tot[name] = tot.get(name, 0) + time.thread_time_ns() - t
        return r
    AE._run_node = timed
    try:
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(m(x), y).backward()
            opt.step()
    finally:
        AE._run_node = orig
    return sorted(((v / steps / 1e3, k) for k, v in tot.items()), reverse=True)


def _step(E, T, np, kinds=(("mlp", 64), ("mlp", 512), ("tiny", 32), ("cnn", 64))):
    for kind, batch in kinds:
        pe, state = _phases(E, kind, batch)
        pt, _ = _phases(T, kind, batch)
        _head(f"training step {kind} bs={batch}: phases")
        for k in pe:
            _row(k, pe[k], pt[k])
        print("  engine backward by node type (µs per step):")
        for us, name in _node_times(E, state)[:6]:
            print(f"    {us:9.1f}  {name}")


def _conv_case(E, T, np, B, C, O, H):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, C, H, H), dtype=np.float32)
    w = (rng.standard_normal((O, C, 3, 3)) * 0.1).astype(np.float32)
    g = rng.standard_normal((B, O, H, H), dtype=np.float32)
    ex, ew = E.from_numpy(x.copy()).requires_grad_(), E.from_numpy(w.copy()).requires_grad_()
    tx, tw = T.from_numpy(x.copy()).requires_grad_(), T.from_numpy(w.copy()).requires_grad_()
    eg, tg = E.from_numpy(g), T.from_numpy(g)
    ef, tf = E.nn.functional, T.nn.functional

    def fe():
        ex.grad = ew.grad = None
        ef.conv2d(ex, ew, None, padding=1).backward(eg)

    def ft():
        tx.grad = tw.grad = None
        tf.conv2d(tx, tw, None, padding=1).backward(tg)
    _row(f"conv {C}->{O} {H}x{H} b{B} fwd", cpu_us(lambda: ef.conv2d(ex, ew, None, padding=1),
                                                  3, 7, 2),
         cpu_us(lambda: tf.conv2d(tx, tw, None, padding=1), 3, 7, 2))
    _row(f"conv {C}->{O} {H}x{H} b{B} fwd+bwd", cpu_us(fe, 3, 7, 2), cpu_us(ft, 3, 7, 2))
    L, K = H * H, C * 9
    ga = rng.standard_normal((B, O, L), dtype=np.float32)
    cols = rng.standard_normal((B, K, L), dtype=np.float32)
    tmp = np.empty((B, O, K), np.float32)
    _row("  weight grad as B batched GEMMs + sum (as _wgemm)", cpu_us(
        lambda: np.matmul(ga, cols.transpose(0, 2, 1), out=tmp).sum(0), 3, 7, 2))
    _row("  weight grad as one GEMM over B*L (incl. copies)", cpu_us(
        lambda: ga.transpose(1, 0, 2).reshape(O, B * L) @
        cols.transpose(0, 2, 1).reshape(B * L, K), 3, 7, 2))


def _conv(E, T, np):
    _head("conv2d forward+backward (random upstream gradient, no bias)")
    _conv_case(E, T, np, 64, 1, 16, 28)
    _conv_case(E, T, np, 64, 16, 32, 14)


def _gemm(E, T, np):
    """The products an MLP step runs (Linear forward x @ W^T, weight gradient g^T @ x)."""
    from kernels.cpu import matmul as MM
    _head("GEMM at the MLP's shapes: engine's own kernel (torch column), OpenBLAS below")
    rng = np.random.default_rng(0)
    for m, k, n, wt in ((64, 784, 256, True), (64, 256, 128, True), (512, 784, 256, True),
                        (512, 256, 128, True), (256, 64, 784, False), (256, 512, 784, False)):
        a = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((n, k) if wt else (k, n), dtype=np.float32)
        b = w.T if wt else w
        o = np.empty((m, n), np.float32)
        ta, tw = T.from_numpy(a), T.from_numpy(w)
        tb = tw.t() if wt else tw
        num = max(3, int(2e7 / (m * k * n)))
        label = f"{m}x{k} @ {k}x{n}{' (W^T)' if wt else ''}"
        _row(label, cpu_us(lambda: MM.gemm(a, b, o), num, 9, 2),
             cpu_us(lambda: T.mm(ta, tb), num, 9, 2))
        _row("  OpenBLAS (np.matmul)", cpu_us(lambda: np.matmul(a, b, out=o), num, 9, 2))


SECTIONS = {"ops": _ops, "layers": _layers, "step": _step, "conv": _conv, "gemm": _gemm}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _pin_one_thread()
    import numpy as np
    try:
        import torch as T
    except ImportError:
        print("benchmarks.breakdown compares against torch; install torch to use it")
        return 2
    T.set_num_threads(1)
    import engine as E
    E.set_num_threads(1)
    try:  # in case numpy was imported before _pin_one_thread (main() called in-process)
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        pass
    for name in argv or list(SECTIONS):
        if name not in SECTIONS:
            print(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
            return 2
        SECTIONS[name](E, T, np)
    return 0


if __name__ == "__main__":
    sys.exit(main())
