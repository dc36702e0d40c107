"""Compile-only check of the CUDA kernels for a real GPU, runnable without one.

``python -m kernels.cuda._typecheck`` (in a process WITHOUT ``NUMBA_ENABLE_CUDASIM``) types
and lowers every kernel family for the common dtypes with ``cuda.compile_ptx``. The simulator
runs kernels as Python, so it cannot catch what only the CUDA target rejects (a numpy ufunc
numba-cuda lacks, a tuple indexed the wrong way, a type that does not unify); this does.
With the NVVM and NVRTC libraries (the pip wheels nvidia-cuda-nvcc-cu12 and
nvidia-cuda-nvrtc-cu12, in the ``test`` extra) every kernel is compiled to PTX for sm_80, as
on a GPU. Without them compilation stops after lowering with a missing-library error, which
counts as typed-only here; the summary line says how many kernels reached PTX. Exit status 1 lists the kernels that failed."""

from __future__ import annotations

import sys
import types as _pytypes

import numpy as np


def _patch_cc() -> None:
    """Device functions ask the current device for its compute capability: fake one."""
    import numba.cuda.dispatcher as DP
    try:
        DP.get_current_device().compute_capability  # noqa: B018
    except Exception:  # noqa: BLE001
        DP.get_current_device = lambda: _pytypes.SimpleNamespace(compute_capability=(8, 0))


_LIB_ERRORS = ("DynamicLibNotFoundError", "NvvmSupportError", "CudaSupportError",
               "NvrtcSupportError", "LinkerError")


_PTX = {"compiled": 0, "typed_only": 0}


def _check(name, kernel, args, failures, ok):
    from numba import cuda, typeof, types
    sig = types.void(*[typeof(a) for a in args])
    try:
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
        assert ".entry" in ptx, "no kernel entry in the PTX"
        ok.append(name)
        _PTX["compiled"] += 1
    except Exception as e:  # noqa: BLE001
        if type(e).__name__ in _LIB_ERRORS or "libnvrtc" in str(e) or "libnvvm" in str(e):
            ok.append(name)
            _PTX["typed_only"] += 1
        else:
            failures.append(f"{name}: {type(e).__name__}: {' '.join(str(e).split())[:300]}")


def run(verbose: bool = False) -> int:
    from numba import config
    if config.ENABLE_CUDASIM:
        print("kernels.cuda._typecheck: run without NUMBA_ENABLE_CUDASIM")
        return 2
    _patch_cc()
    from engine.ops.elementwise import BINARY, UNARY
    from kernels import scalar
    from kernels.cuda import elementwise as E
    from kernels.cuda import matmul as MM
    from kernels.cuda import random as KR
    from kernels.cuda import reduce as R
    from kernels.cuda import scan as SC
    fails, ok = [], []
    a32, a64, i64, b1 = (np.zeros(4, d) for d in (np.float32, np.float64, np.int64, np.bool_))
    f16 = np.zeros(4, np.float16)
    st2 = (1, 1)
    p32 = (np.float32(0.5), np.float32(2.0))
    for name, op in sorted(UNARY.items()):
        fn = op.fn
        x = i64 if op.kind == "int" or name == "bitwise_not" else a32
        p = (np.int64(1), np.int64(2)) if x is i64 else p32
        out = b1 if op.kind == "bool" else x
        m = E.map_kernels(fn)
        _check(f"map {name} flat_c", m.flat_c, (x, 0, out, 0, 4, *p), fails, ok)
        _check(f"map {name} strided_a", m.strided_a, (x, 0, st2, out, 0, st2, (2, 2), 4, *p),
               fails, ok)
    for name, op in sorted(BINARY.items()):
        fns = op.fn if isinstance(op.fn, tuple) else (op.fn,)
        for j, fn in enumerate(fns):
            x = i64 if (op.kind == "int" or j == 1 or "bitwise" in name) else a32
            out = b1 if op.kind == "bool" else x
            m = E.zip_kernels(fn)
            _check(f"zip {name}[{j}] flat_cc", m.flat_cc, (x, 0, x, 0, out, 0, 4), fails, ok)
            _check(f"zip {name}[{j}] flat_cs", m.flat_cs, (x, 0, x[0], out, 0, 4), fails, ok)
            _check(f"zip {name}[{j}] strided_aa", m.strided_aa,
                   (x, 0, st2, x, 0, st2, out, 0, st2, (2, 2), 4), fails, ok)
    for fn in (scalar.where, scalar.masked_fill, scalar.addcmul, scalar.lerp):
        m = E.ternary_kernels(fn)
        c = b1 if fn.__name__ in ("where", "masked_fill") else a32
        _check(f"ternary {fn.__name__}", m.flat_ccs, (c, 0, a32, 0, a32[0], a32, 0, 4), fails,
               ok)
    ident = E.map_kernels(scalar.identity)
    for src, dst in ((a32, f16), (f16, a32), (a32, i64), (b1, a32), (i64, a64)):
        _check(f"copy {src.dtype}->{dst.dtype}", ident.flat_c, (src, 0, dst, 0, 4, 0, 0), fails,
               ok)
    _check("is_nonzero f32->bool", E.map_kernels(scalar.is_nonzero).flat_c,
           (a32, 0, b1, 0, 4, 0, 0), fails, ok)
    for kind in ("sum", "prod", "max", "min", "all", "any"):
        for x, out in ((a32, a32), (a64, a64), (i64, i64), (b1, i64), (b1, b1)):
            if kind in ("all", "any") and out is not b1:
                continue
            m = R.reduce_kernels(kind, out.dtype)
            _check(f"reduce {kind} {x.dtype}->{out.dtype} block", m.rows_block,
                   (x, 0, 4, 1, 1, 4, 1, out), fails, ok)
            _check(f"reduce {kind} {x.dtype}->{out.dtype} thread", m.rows_thread,
                   (x, 0, 4, 1, 1, 4, out), fails, ok)
    for x in (a32, a64, i64):
        for kind in ("max", "min"):
            m = R.arg_kernels(kind, x.dtype)
            _check(f"arg{kind} {x.dtype} block", m.arg_block, (x, 0, 4, 1, 1, 4, x, i64), fails,
                   ok)
            _check(f"arg{kind} {x.dtype} thread", m.arg_thread, (x, 0, 4, 1, 1, 4, x, i64),
                   fails, ok)
    vk = R.var_kernels()
    for x in (a32, a64):
        _check(f"var {x.dtype} block", vk.var_block, (x, 0, 4, 1, 1, 4, 1.0, x), fails, ok)
        _check(f"var {x.dtype} thread", vk.var_thread, (x, 0, 4, 1, 1, 4, 1.0, x), fails, ok)
        sm = R.softmax_kernels(x.dtype)
        _check(f"lse {x.dtype} block", sm.lse_block, (x, 0, 4, 1, 1, 4, x), fails, ok)
        _check(f"lse {x.dtype} thread", sm.lse_thread, (x, 0, 4, 1, 1, 4, x), fails, ok)
        for k in ("softmax_block", "softmax_thread"):
            _check(f"{k} {x.dtype}", getattr(sm, k), (x, 0, 4, 1, 4, x, 0, 4, True), fails, ok)
    for x in (a32, a64, i64):
        _check(f"scan {x.dtype}", SC.scan_rows, (x, 0, 4, 1, 1, 4, x, 0, 4, False), fails, ok)
        _check(f"cummax {x.dtype}", SC.scan_arg_rows, (x, 0, 4, 1, 1, 4, x, i64, 0, 4, True),
               fails, ok)
        _check(f"sort {x.dtype}", SC.sort_rows,
               (x, 0, 4, 1, 1, 4, 4, x, i64, True, x, i64, 0, 4, 0, 4), fails, ok)
        _check(f"median {x.dtype}", SC.median_pick, (x, i64, 1, 4, 4, x, i64), fails, ok)
    for x in (a32, a64, i64):
        for cfg in ("big", "small"):
            m = MM.gemm_kernels(x.dtype, cfg)
            _check(f"gemm {cfg} {x.dtype}", m.gemm,
                   (x, 0, 0, 2, 1, 1, x, 0, 0, 2, 1, x, 1, 2, 2, 2), fails, ok)
    for x in (a32, a64):
        _check(f"uniform {x.dtype}", KR.uniform_fill, (x, 0, 4, 1, 2, 0, 0.0, 1.0, True), fails,
               ok)
        _check(f"normal {x.dtype}", KR.normal_fill, (x, 0, 4, 1, 2, 0, 0.0, 1.0), fails, ok)
    try:
        from kernels.cuda import index as IX
        extra = IX.typecheck_cases(np)
    except ImportError:
        extra = []
    from kernels.cuda import conv as KC
    from kernels.cuda import linalg as KL
    from kernels.cuda import linalg_spectral as KLS
    from kernels.cuda import pool as KP
    extra = (extra + KC.typecheck_cases(np) + KP.typecheck_cases(np) + KL.typecheck_cases(np)
             + KLS.typecheck_cases(np))
    for name, k, args in extra:
        _check(name, k, args, fails, ok)
    for f in fails:
        print("FAIL", f)
    print(f"kernels.cuda._typecheck: {len(ok)} kernels typed OK, {len(fails)} failed; "
          f"{_PTX['compiled']} compiled to PTX by NVVM, {_PTX['typed_only']} typed and lowered "
          "only (NVVM/NVRTC libraries not found)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(run("-v" in sys.argv))
