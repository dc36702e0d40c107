"""Matrix products with PyTorch's matmul rules, on the engine's own packed Numba GEMM or,
for float32/float64 when selected, the BLAS that numpy links (``set_matmul_backend``)."""

from __future__ import annotations

from .. import _dtype as D
from .. import _strided as S
from .._tensor import Tensor, make
from ..autograd.graph import record
from ._common import needs_grad, empty_tensor, shape_str, backend, check_same_device, sum_to
from .elementwise import cast

__all__ = ["matmul", "mm", "bmm", "addmm", "dot", "outer", "mv", "einsum", "baddbmm",
           "set_matmul_backend", "get_matmul_backend", "tensordot", "inner"]

_backend = ["auto"]


def set_matmul_backend(name: str) -> None:
    """'auto' (BLAS for float32/float64 when numpy has one), 'engine' (the Numba GEMM) or
    'blas'. The benchmark reports which one ran."""
    if name not in ("auto", "engine", "blas"):
        raise ValueError(f"set_matmul_backend: expected 'auto', 'engine' or 'blas', got {name!r}")
    _backend[0] = name


def get_matmul_backend() -> str:
    return _backend[0]


# 'auto' sends a product to the BLAS only from this many multiply-adds (1024^3) up. Below it
# the engine's own GEMM runs on the same Numba thread pool as every other kernel: alternating
# two spin-waiting pools (OpenMP's and OpenBLAS's) on a 2-core machine made whole training
# steps 2-4x slower, and the own GEMM is on par with the BLAS at these sizes (BENCHMARKS.md).
BLAS_MIN_WORK = 1 << 30
# ... and products of at most 2^18 multiply-adds go to it too: OpenBLAS runs those on the
# calling thread (its gemm interface goes multi-threaded only above 65536 x 4 MACs), so no
# second pool wakes up, and its fixed cost is ~2 us against the own GEMM's ~20 us of packing
# and dispatch (an RNN step's h @ W_hh, the last layer of a small MLP).
BLAS_SMALL_MAX_WORK = 1 << 18


def _use_blas(dt, work: int | None = None) -> bool:
    """Whether a float product of ``work`` multiply-adds goes to numpy's BLAS (``None``:
    size unknown, e.g. a convolution's batched GEMMs: the own kernels unless forced)."""
    mode = _backend[0]
    if mode != "auto":
        return mode == "blas"
    return dt in (D.float32, D.float64) and work is not None and (
        work >= BLAS_MIN_WORK or work <= BLAS_SMALL_MAX_WORK)


def _check(op, a, b):
    for t in (a, b):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor arguments, got {type(t).__name__}")
    check_same_device(op, a, b)
    if a._dtype is D.bool_ and b._dtype is D.bool_:
        k = {"mm": "addmm_impl_cpu_", "bmm": "bmm", "dot": "dot"}.get(op)
        if k is None:  # matmul: named after the kernel its shapes reach
            k = ("dot" if a.ndim == 1 and b.ndim == 1 else "addmv_impl_cpu" if b.ndim == 1
                 else "bmm" if a.ndim > 2 or b.ndim > 2 else "addmm_impl_cpu_")
        raise NotImplementedError(f"\"{k}\" not implemented for 'Bool'")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, but got "
                           f"{a._dtype} and {b._dtype}. Convert one with .to(dtype).")


def _gemm(a, b, shape, init=None):
    """a @ b; with ``init`` (a CPU tensor of a's float32/float64 dtype that broadcasts to
    ``shape``) the result starts from it and the GEMM accumulates: addmm's bias costs no
    second pass and no second output."""
    dt = a._dtype
    cdt = D.float32 if dt is D.float16 else dt
    out = empty_tensor(shape, cdt, a._storage.device)
    if init is not None:
        out._np()[...] = init._np()
    if out.numel() and (init is None or a._shape[-1]):
        work = out.numel() * a._shape[-1]
        backend(a._storage.device).gemm(cast(a, cdt), cast(b, cdt), out,
                                         _use_blas(cdt, work) and a.is_cpu,
                                         *((True,) if init is not None else ()))
    return cast(out, dt)


def _check_mm(a: Tensor, b: Tensor) -> None:
    _check("mm", a, b)
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {shape_str(a._shape)} and "
                           f"{shape_str(b._shape)}")
    if a._shape[1] != b._shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                           f"({a._shape[0]}x{a._shape[1]} and {b._shape[0]}x{b._shape[1]})")


def mm(a: Tensor, b: Tensor) -> Tensor:
    """(n, k) @ (k, m) -> (n, m)."""
    _check_mm(a, b)
    out = _gemm(a, b, (a._shape[0], b._shape[1]))
    if needs_grad(a, b):
        def bw(n, g):
            ea, eb = (e[0] is not None for e in n.next_functions)
            x, y = n.saved_tensor(0), n.saved_tensor(1)
            return (mm(g, y.t()) if ea else None, mm(x.t(), g) if eb else None)
        record("MmBackward0", (a, b), (out,), bw, ((a, False), (b, False)))
    return out


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """(B, n, k) @ (B, k, m) -> (B, n, m); batch strides may be 0 (broadcast)."""
    _check("bmm", a, b)
    if a.ndim != 3 or b.ndim != 3 or a._shape[0] != b._shape[0] or a._shape[2] != b._shape[1]:
        raise RuntimeError(f"bmm: expected (B, n, k) and (B, k, m) tensors, got shapes "
                           f"{shape_str(a._shape)} and {shape_str(b._shape)}")
    out = _gemm(a, b, (a._shape[0], a._shape[1], b._shape[2]))
    if needs_grad(a, b):
        def bw(n, g):
            ea, eb = (e[0] is not None for e in n.next_functions)
            x, y = n.saved_tensor(0), n.saved_tensor(1)
            return (bmm(g, y.transpose(1, 2)) if ea else None,
                    bmm(x.transpose(1, 2), g) if eb else None)
        record("BmmBackward0", (a, b), (out,), bw, ((a, False), (b, False)))
    return out


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """PyTorch's matmul: dot, mv, mm and batched products with broadcast batch dims."""
    _check("matmul", a, b)
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError("matmul: both arguments to matmul need to be at least 1D, but they "
                           f"are {da}D and {db}D")
    ka = a._shape[-1]
    kb = b._shape[0] if db == 1 else b._shape[-2]
    if ka != kb:
        raise RuntimeError(f"matmul: shapes {shape_str(a._shape)} and {shape_str(b._shape)} "
                           f"cannot be multiplied ({ka} != {kb}: the last dim of the first "
                           "must equal the second-to-last dim of the second)")
    if da == 1 and db == 1:
        return dot(a, b)
    if da == 2 and db == 2:
        return mm(a, b)
    if da == 1:
        return matmul(a.unsqueeze(0), b).squeeze(-2)
    if db == 1:
        return matmul(a, b.unsqueeze(-1)).squeeze(-1)
    if db == 2:  # fold a's batch dims into rows: one big GEMM
        lead = a._shape[:-1]
        return mm(a.reshape(-1, ka), b).reshape(lead + (b._shape[1],))
    batch = tuple(S.broadcast_shapes(a._shape[:-2], b._shape[:-2]))
    ae = a.expand(batch + a._shape[-2:])
    be = b.expand(batch + b._shape[-2:])
    nb = 1
    for s in batch:
        nb *= s
    out = bmm(ae.reshape(nb, *a._shape[-2:]), be.reshape(nb, *b._shape[-2:]))
    return out.reshape(batch + (a._shape[-2], b._shape[-1]))


def dot(a: Tensor, b: Tensor) -> Tensor:
    _check("dot", a, b)
    if a.ndim != 1 or b.ndim != 1 or a._shape != b._shape:
        raise RuntimeError(f"dot: expected 1-D tensors of the same size, got "
                           f"{shape_str(a._shape)} and {shape_str(b._shape)}")
    return mm(a.unsqueeze(0), b.unsqueeze(1)).reshape(())


def mv(a: Tensor, v: Tensor) -> Tensor:
    return matmul(a, v)


def outer(a: Tensor, b: Tensor) -> Tensor:
    for t, what in ((a, "self"), (b, "vec2")):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {what}, but got {t.ndim}-D "
                               f"(shape {tuple(t.shape)}); flatten it first")
    return a.reshape(-1, 1) * b.reshape(1, -1)


inner = None


def _broadcasts_to(shape, target) -> bool:
    """Whether ``shape`` broadcasts to exactly ``target``."""
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def _product_plus(op, prod, bias, a, b, beta, alpha):
    """beta * bias + alpha * prod(a, b), without autograd (the general path of addmm)."""
    r = prod(a, b)
    if bias._dtype is not r._dtype:
        raise RuntimeError(f"{op}: expected input and mat1 to have the same dtype, but got "
                           f"{bias._dtype} and {r._dtype}")
    try:
        full = tuple(S.broadcast_shapes(bias._shape, r._shape))
    except Exception:
        raise RuntimeError(f"{op}: the input of shape {shape_str(bias._shape)} does not "
                           f"broadcast to the product's shape {shape_str(r._shape)}") from None
    if alpha != 1:  # r is a fresh product: scale and add in place
        r.mul_(alpha)
    if beta != 0 and full == tuple(r._shape):
        r.add_(bias if beta == 1 else bias * beta)
    elif beta != 0:
        r = r + (bias if beta == 1 else bias * beta)
    elif bias._shape != r._shape:
        r = r.expand(full).contiguous()
    return r


def _addmm_like(name, op, prod, bias, a, b, beta, alpha):
    """``beta * bias + alpha * prod(a, b)`` recorded as one node (``AddmmBackward0``,
    ``BaddbmmBackward0``) with edges (bias, a, b) as PyTorch."""
    from ..autograd.grad_mode import no_grad
    if not isinstance(bias, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(bias).__name__}")
    with no_grad():
        if (prod is mm and alpha == 1 and beta == 1 and isinstance(a, Tensor)
                and isinstance(b, Tensor) and a.is_cpu and bias.is_cpu
                and bias._dtype is a._dtype and a._dtype in (D.float32, D.float64)
                and a.ndim == 2 and b.ndim == 2
                and _broadcasts_to(bias._shape, (a._shape[0], b._shape[-1]))):
            _check_mm(a, b)
            r = _gemm(a, b, (a._shape[0], b._shape[1]), init=bias)
        else:
            r = _product_plus(op, prod, bias, a, b, beta, alpha)
    if needs_grad(bias, a, b):
        bshape = bias._shape
        tr = (lambda t: t.t()) if prod is mm else (lambda t: t.transpose(1, 2))

        def bw(n, g):
            eb, ea, em = (e[0] is not None for e in n.next_functions)
            x, y = n.saved_tensor(0), n.saved_tensor(1)
            gb = sum_to(g if beta == 1 else g * beta, bshape) if eb else None
            ga = prod(g, tr(y)) if ea else None
            gm = prod(tr(x), g) if em else None
            if alpha != 1:
                ga = ga * alpha if ga is not None else None
                gm = gm * alpha if gm is not None else None
            return gb, ga, gm
        record(name, (bias, a, b), (r,), bw, ((a, False), (b, False)))
    return r


def addmm(bias, a, b, *, beta=1, alpha=1):
    """``beta * bias + alpha * (a @ b)`` for 2-D ``a``, ``b``; ``bias`` broadcasts."""
    return _addmm_like("AddmmBackward0", "addmm", mm, bias, a, b, beta, alpha)


def baddbmm(x, a, b, *, beta=1, alpha=1):
    """``beta * x + alpha * bmm(a, b)`` for 3-D ``a``, ``b``; ``x`` broadcasts."""
    return _addmm_like("BaddbmmBackward0", "baddbmm", bmm, x, a, b, beta, alpha)


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = [list(d) if not isinstance(d, int) else [d] for d in dims]
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = 1
    for d in da:
        k *= a._shape[d]
    am = a.permute(fa + da).reshape(-1, k)
    bm = b.permute(db + fb).reshape(k, -1)
    return mm(am, bm).reshape(tuple(a._shape[d] for d in fa) + tuple(b._shape[d] for d in fb))


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation as PyTorch: repeated indices within an operand take the diagonal,
    '...' covers broadcast leading/middle dims, size-1 dims broadcast; each pair of operands
    is contracted by one (batched) matrix product."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for t in operands:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): expected Tensor operands, got {type(t).__name__}")
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->", 1)
        explicit = True
    else:
        lhs, out, explicit = eq, "", False
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise RuntimeError(f"einsum(): {len(ins)} operands in the equation, {len(operands)} "
                           "given (one subscript group per operand, separated by ',')")
    for spec in ins + [out]:
        bad = [c for c in spec.replace("...", "") if not c.isalpha()]
        if bad or spec.count("...") > 1:
            raise RuntimeError(f"einsum(): invalid subscript '{bad[0] if bad else '...'}' in "
                               f"'{equation}': subscripts are letters [a-zA-Z] and at most one "
                               "'...' per operand")
    # '...' -> private placeholder letters, right-aligned across operands
    n_ell = 0
    specs = []
    for i, (spec, t) in enumerate(zip(ins, operands)):
        named = len(spec.replace("...", ""))
        if "..." in spec:
            k = t.ndim - named
            if k < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({named}) is more than the number of dimensions "
                                   f"({t.ndim}) for operand {i}")
            n_ell = max(n_ell, k)
            ell = "".join(chr(0x3000 + j) for j in range(64 - k, 64))
            spec = spec.replace("...", ell)
        elif named != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({t.ndim}) for "
                               f"operand {i} and no ellipsis was given")
        specs.append(spec)
    ell_all = "".join(chr(0x3000 + j) for j in range(64 - n_ell, 64))
    if explicit:
        out = out.replace("...", ell_all)
        for c in out:
            if not any(c in s for s in specs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   "the output")
    else:
        letters = "".join(specs)
        out = ell_all + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                       and c not in ell_all))
    # repeated subscripts within one operand: take the diagonal
    ops = list(operands)
    for i in range(len(ops)):
        t, spec = ops[i], specs[i]
        for c in dict.fromkeys(spec):
            while spec.count(c) > 1:
                p = spec.index(c)
                q = spec.index(c, p + 1)
                if t._shape[p] != t._shape[q]:
                    raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} "
                                       f"but the sizes don't match, {t._shape[q]} != "
                                       f"{t._shape[p]}")
                t = t.diagonal(0, p, q)
                spec = spec[:p] + spec[p + 1:q] + spec[q + 1:] + c
        ops[i], specs[i] = t, spec
    # sizes agree or broadcast (size 1)
    size = {}
    for i, (t, spec) in enumerate(zip(ops, specs)):
        for c, n in zip(spec, t._shape):
            m = size.get(c)
            if m is None or m == 1:
                size[c] = n
            elif n != 1 and n != m:
                name = "ellipsis dimension" if c in ell_all else f"subscript {c}"
                raise RuntimeError(f"einsum(): {name} has size {n} for operand {i} which "
                                   f"does not broadcast with previously seen size {m}")
    for i, (t, spec) in enumerate(zip(ops, specs)):
        want = tuple(size[c] for c in spec)
        if want != t._shape:
            ops[i] = t.expand(want)
    # sum subscripts seen by one operand only (not in the output), then contract pairwise
    for i in range(len(ops)):
        others = out + "".join(s for j, s in enumerate(specs) if j != i)
        drop = [d for d, c in enumerate(specs[i]) if c not in others]
        if drop:
            ops[i] = ops[i].sum(dim=tuple(drop))
            specs[i] = "".join(c for c in specs[i] if c in others)
    cur, cur_s = ops[0], specs[0]
    for j in range(1, len(ops)):
        keep = set(out) | set("".join(specs[j + 1:]))
        cur, cur_s = _contract(cur, cur_s, ops[j], specs[j], keep)
    extra = [i for i, c in enumerate(cur_s) if c not in out]
    if extra:
        cur = cur.sum(dim=tuple(extra))
        cur_s = "".join(c for c in cur_s if c in out)
    return cur.permute([cur_s.index(c) for c in out]) if cur_s != out else cur


def _contract(a, sa, b, sb, keep):
    batch = [c for c in sa if c in sb and c in keep]
    contr = [c for c in sa if c in sb and c not in keep]
    fa = [c for c in sa if c not in sb]
    fb = [c for c in sb if c not in sa]
    size = {c: a._shape[i] for i, c in enumerate(sa)}
    size.update({c: b._shape[i] for i, c in enumerate(sb)})

    def prod(cs):
        n = 1
        for c in cs:
            n *= size[c]
        return n
    ap = a.permute([sa.index(c) for c in batch + fa + contr]).reshape(
        prod(batch), prod(fa), prod(contr))
    bp = b.permute([sb.index(c) for c in batch + contr + fb]).reshape(
        prod(batch), prod(contr), prod(fb))
    r = bmm(ap, bp).reshape(tuple(size[c] for c in batch + fa + fb))
    return r, "".join(batch + fa + fb)


def linear(x: Tensor, w: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ w.T + bias`` for 2-D ``x`` (n, in) and ``w`` (out, in), one node as PyTorch's
    addmm/mm: the weight gradient is computed as ``g.T @ x`` so it arrives contiguous (no
    transpose copy when it is accumulated into ``w.grad``)."""
    _check("linear", x, w)
    # w.T as a plain view: the node below is the only record (no TBackward0 in between)
    wt = make(w._storage, (w._shape[1], w._shape[0]), (w._stride[1], w._stride[0]), w._offset,
              w._dtype, w._shape[0] <= 1)
    out = _gemm(x, wt, (x._shape[0], w._shape[0]))
    if bias is not None:
        check_same_device("linear", x, bias)
        if bias._dtype is not out._dtype:
            raise RuntimeError(f"linear: expected bias to have dtype {out._dtype}, got "
                               f"{bias._dtype}")
        from .elementwise import BINARY, binary
        from ..autograd.grad_mode import no_grad
        if out._dtype is D.float16:
            with no_grad():
                out = binary("add", out, bias)
        else:  # out is fresh: add the bias in place
            fn = BINARY["add"].fn
            if isinstance(fn, tuple):
                fn = fn[0] if out._dtype.is_floating_point else fn[1]
            backend(out._storage.device).run_zip(fn, out, out, bias._expand_nograd(out._shape))
    if needs_grad(x, w, bias):
        def bw(n, g):
            eb, ex, ew = (e[0] is not None for e in n.next_functions)
            xs, ws = n.saved_tensor(0), n.saved_tensor(1)
            return (sum_to(g, n.ctx) if eb else None, mm(g, ws) if ex else None,
                    mm(g.t(), xs) if ew else None)
        record("AddmmBackward0" if bias is not None else "MmBackward0", (bias, x, w), (out,),
               bw, ((x, False), (w, False)), bias._shape if bias is not None else None)
    return out
