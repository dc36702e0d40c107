"""Randomized parity with torch for the core tensor API (hypothesis, derandomized).

Each test draws shapes (0-d, size-0 and size-1 dims, up to 4 dims), dtypes (bool ... float64),
layouts (contiguous, transposed, sliced with a step, expanded) and values (negative ints, zeros,
inf/nan for floats), runs the same call on torch and engine, and compares: both raise the same
exception type, or both return the same shapes, dtypes and values (and, for float inputs of
differentiable ops, the same gradients). Regression cases for each bug the fuzzing found are
at the bottom.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
FLOATS = ["float16", "float32", "float64"]
LAYOUTS = ["contig", "transposed", "sliced", "expanded"]
SET = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def fz(n):
    return settings(SET, max_examples=n)


# ----------------------------------------------------------------------------- inputs

def values(seed, shape, dt, special=True, lo=-6):
    """Deterministic values for ``shape``/``dt``: small ints (negative too, zeros), floats on a
    quarter grid (ties for sort/floor) with some inf/-inf/nan/0 when ``special``."""
    rng = np.random.default_rng(seed)
    if dt == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dt == "uint8":
        return np.asarray(rng.integers(0, 12, shape).astype(dt))
    if dt.startswith("int"):
        return np.asarray(rng.integers(lo, 7, shape).astype(dt))
    a = np.round(rng.uniform(-4, 4, shape) * 4) / 4
    if special and a.size:
        u = rng.random(shape)
        a = np.where(u < 0.04, np.inf, a)
        a = np.where((u >= 0.04) & (u < 0.08), -np.inf, a)
        a = np.where((u >= 0.08) & (u < 0.12), np.nan, a)
        a = np.where((u >= 0.12) & (u < 0.2), 0.0, a)
    return np.asarray(a.astype(dt))


class In:
    """One input: numpy values, a layout, and whether a float leaf gets a gradient."""

    def __init__(self, arr, layout="contig", grad=False):
        if layout == "expanded" and arr.ndim and arr.shape[0]:
            arr = np.ascontiguousarray(np.broadcast_to(arr[:1], arr.shape))
        self.arr, self.layout = arr, layout
        # (float16 leaves get no gradient: torch's own pow backward asserts on some)
        self.grad = grad and arr.dtype in (np.float32, np.float64)

    def build(self, m):
        a, lay = self.arr, self.layout
        if lay == "transposed" and a.ndim >= 2:
            leaf = m.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)))
            view = (lambda t: t.transpose(-1, -2))
        elif lay == "sliced" and a.ndim >= 1:
            leaf = m.tensor(np.repeat(a, 2, axis=-1))
            view = (lambda t: t[..., ::2])
        elif lay == "expanded" and a.ndim >= 1 and a.shape[0]:
            leaf = m.tensor(np.ascontiguousarray(a[:1]))
            view = (lambda t, s=a.shape: t.expand(s))
        else:
            leaf = m.tensor(a)
            view = (lambda t: t)
        if self.grad:
            leaf.requires_grad_(True)
        return leaf, view(leaf)


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _flat(x)]
    return [r]


def same(e, t, where, rtol=1e-5, atol=1e-6):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, engine.Tensor), f"{where}: got {type(e).__name__}, want Tensor"
        assert tuple(e.shape) == tuple(t.shape), f"{where}: shape {tuple(e.shape)} != " \
                                                 f"{tuple(t.shape)}"
        assert str(e.dtype) == str(t.dtype), f"{where}: dtype {e.dtype} != {t.dtype}"
        a, b = _np(e), _np(t)
        if b.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b, err_msg=where)
        else:
            tol = max(rtol, 2e-3) if b.dtype == np.float16 else rtol
            np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=tol,
                                       atol=max(atol, tol / 10), equal_nan=True, err_msg=where)
    elif isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)), f"{where}: got {type(e).__name__}, want a tuple"
        assert len(e) == len(t), f"{where}: {len(e)} results, want {len(t)}"
        for i, (x, y) in enumerate(zip(e, t)):
            same(x, y, f"{where}[{i}]", rtol, atol)
    elif isinstance(t, (bool, int, float)):
        assert type(e) is type(t), f"{where}: got {type(e).__name__}, want {type(t).__name__}"
        assert e == pytest.approx(t, rel=rtol, abs=atol, nan_ok=True), f"{where}: {e} != {t}"
    else:
        assert str(e) == str(t), f"{where}: {e} != {t}"


def check(fn, *inputs, where="", rtol=1e-5, atol=1e-6, grad=True):
    """Run ``fn(m, *tensors)`` for torch and engine; same error type or same results (and
    same gradients of the float leaves through a fixed upstream gradient)."""
    inputs = [x if isinstance(x, In) else In(x) for x in inputs]
    res = {}
    for name, m in (("torch", torch), ("engine", engine)):
        built = [x.build(m) for x in inputs]
        try:
            out = fn(m, *[v for _, v in built])
        except Exception as ex:  # noqa: BLE001  (the exception type is what is compared)
            res[name] = ("raise", ex, None)
            continue
        grads = None
        if grad and any(x.grad for x in inputs):
            outs = [o for o in _flat(out) if isinstance(o, m.Tensor) and o.requires_grad]
            if outs:
                tot = None
                for o in outs:
                    w = m.tensor(np.linspace(0.5, 1.5, max(o.numel(), 1))[:o.numel()]
                                 .reshape(tuple(o.shape)), dtype=o.dtype)
                    s = (o * w).sum()
                    tot = s if tot is None else tot + s
                try:
                    tot.backward()
                except Exception as ex:
                    raise AssertionError(f"{where}: {name} backward raised "
                                         f"{type(ex).__name__}: {ex}") from ex
                grads = [leaf.grad for (leaf, _), x in zip(built, inputs) if x.grad]
        res[name] = ("ok", out, grads)
    (tk, tv, tg), (ek, ev, eg) = res["torch"], res["engine"]
    if tk == "raise":
        assert ek == "raise", f"{where}: torch raised {type(tv).__name__}: {tv}; engine " \
                              f"returned {ev!r:.300}"
        assert isinstance(ev, type(tv)), f"{where}: torch raised {type(tv).__name__}: {tv}; " \
                                         f"engine raised {type(ev).__name__}: {ev}"
        return
    if ek == "raise":
        raise AssertionError(f"{where}: engine raised {type(ev).__name__}: {ev}; torch "
                             f"returned {tv!r:.300}") from ev
    same(ev, tv, f"{where} value", rtol, atol)
    if tg is not None:
        assert eg is not None, f"{where}: engine output does not require grad"
        for i, (a, b) in enumerate(zip(eg, tg)):
            if b is None:
                assert a is None or not _np(a).any(), f"{where}: grad {i}"
            else:
                assert a is not None, f"{where}: engine got no grad for input {i}"
                same(a, b, f"{where} grad {i}", rtol * 10, atol * 10)


# ----------------------------------------------------------------------------- strategies

def shapes(max_dims=4, min_dims=0, max_side=4):
    return st.lists(st.integers(0, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def nonempty_shapes(max_dims=4, min_dims=0):
    return st.lists(st.integers(1, 4), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: ``b`` is a suffix of ``a`` with some dims set to 1 (or the
    roles swapped)."""
    a = draw(shapes())
    k = draw(st.integers(0, len(a)))
    b = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else n for n in a[len(a) - k:])
    return (b, a) if draw(st.booleans()) else (a, b)


seeds = st.integers(0, 2 ** 31 - 1)
dtypes = st.sampled_from(DTYPES)
layouts = st.sampled_from(LAYOUTS)
scalars = st.sampled_from([0, 1, 2, -3, 0.0, 1.5, -0.5, 2.0, float("inf"), float("nan"), True,
                           False])

BINARY = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "truediv": lambda m, a, b: a / b, "floordiv": lambda m, a, b: a // b,
    "mod": lambda m, a, b: a % b, "pow": lambda m, a, b: a ** b,
    "div_floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "fmod": lambda m, a, b: m.fmod(a, b), "remainder": lambda m, a, b: m.remainder(a, b),
    "lt": lambda m, a, b: a < b, "le": lambda m, a, b: a <= b, "eq": lambda m, a, b: a == b,
    "ne": lambda m, a, b: a != b, "gt": lambda m, a, b: a > b, "ge": lambda m, a, b: a >= b,
    "and": lambda m, a, b: a & b, "or": lambda m, a, b: a | b, "xor": lambda m, a, b: a ^ b,
    "lshift": lambda m, a, b: a << b, "rshift": lambda m, a, b: a >> b,
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_or": lambda m, a, b: m.logical_or(a, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b), "minimum": lambda m, a, b: m.minimum(a, b),
    "atan2": lambda m, a, b: m.atan2(a, b),
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2),
    "sub_alpha": lambda m, a, b: m.sub(a, b, alpha=-3),
}
GRAD_OPS = {"add", "sub", "mul", "truediv", "pow", "maximum", "minimum", "atan2", "add_alpha",
            "sub_alpha"}
# small exponents keep integer ** integer inside every dtype's range
_POW_SAFE = {"pow"}


def _vals(seed, shape, dt, op, special=True):
    v = values(seed, shape, dt, special)
    if op in _POW_SAFE and dt not in FLOATS and dt != "bool":
        v = np.asarray(np.clip(v, -2 if dt != "uint8" else 0, 3).astype(dt))
    return v


# ----------------------------------------------------------------------------- binary ops

@fz(80)
@given(op=st.sampled_from(sorted(BINARY)), da=dtypes, db=dtypes, sh=broadcast_pair(),
       la=layouts, lb=layouts, seed=seeds)
def test_binary_tensor_tensor(op, da, db, sh, la, lb, seed):
    grad = op in GRAD_OPS
    a = In(_vals(seed, sh[0], da, op, not grad), la, grad)
    b = In(_vals(seed + 1, sh[1], db, op, not grad), lb, grad)
    check(BINARY[op], a, b, where=f"{op} {da}{sh[0]}/{la} {db}{sh[1]}/{lb}")


@fz(80)
@given(op=st.sampled_from(sorted(BINARY)), da=dtypes, s=scalars, left=st.booleans(),
       sh=shapes(), la=layouts, seed=seeds)
def test_binary_tensor_scalar(op, da, s, left, sh, la, seed):
    if op in ("lshift", "rshift") and isinstance(s, float):
        s = 2
    a = In(_vals(seed, sh, da, op), la, op in GRAD_OPS)
    f = BINARY[op]
    if left:
        if op.endswith("alpha") or op in ("div_floor", "div_trunc", "fmod", "remainder",
                                          "logical_and", "logical_or", "logical_xor",
                                          "maximum", "minimum", "atan2"):
            return  # torch's functions want a Tensor first
        check(lambda m, x: f(m, s, x), a, where=f"{op} {s!r} (x) {da}{sh}/{la}")
    else:
        if op in ("maximum", "minimum", "atan2", "logical_and", "logical_or", "logical_xor"):
            return  # Tensor-only second argument in torch
        check(lambda m, x: f(m, x, s), a, where=f"{op} {da}{sh}/{la} (x) {s!r}")


@fz(40)
@given(op=st.sampled_from(sorted(BINARY)), da=dtypes, db=dtypes, sh=shapes(min_dims=1),
       swap=st.booleans(), seed=seeds)
def test_binary_tensor_0d(op, da, db, sh, swap, seed):
    a = In(_vals(seed, sh, da, op), "contig", op in GRAD_OPS)
    b = In(_vals(seed + 1, (), db, op), "contig", op in GRAD_OPS)
    if swap:
        a, b = b, a
    check(BINARY[op], a, b, where=f"{op} {a.arr.dtype}{a.arr.shape} {b.arr.dtype}{b.arr.shape}")


INPLACE = {
    "iadd": lambda x, o: x.__iadd__(o), "isub": lambda x, o: x.__isub__(o),
    "imul": lambda x, o: x.__imul__(o), "itruediv": lambda x, o: x.__itruediv__(o),
    "ifloordiv": lambda x, o: x.__ifloordiv__(o), "imod": lambda x, o: x.__imod__(o),
    "iand": lambda x, o: x.__iand__(o), "ior": lambda x, o: x.__ior__(o),
    "add_alpha_": lambda x, o: x.add_(o, alpha=2), "mul_": lambda x, o: x.mul_(o),
    "clamp_": lambda x, o: x.clamp_(min=o), "pow_": lambda x, o: x.pow_(o),
}


@fz(60)
@given(op=st.sampled_from(sorted(INPLACE)), da=dtypes, db=dtypes, scalar=st.booleans(),
       s=scalars, sh=broadcast_pair(), la=st.sampled_from(["contig", "transposed", "sliced"]),
       seed=seeds)
def test_inplace(op, da, db, scalar, s, sh, la, seed):
    xa = _vals(seed, sh[0], da, "pow" if op == "pow_" else op)
    ob = s if scalar else In(_vals(seed + 1, sh[1], db, "pow" if op == "pow_" else op))

    def fn(m, x, *o):
        r = INPLACE[op](x, o[0] if o else s)
        assert r is x
        return x
    args = (In(xa, la),) if scalar else (In(xa, la), ob)
    check(fn, *args, where=f"{op} {da}{sh[0]}/{la} with {s if scalar else db + str(sh[1])}")


# ----------------------------------------------------------------------------- reductions

RED = ["sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "std", "var",
       "std_mean", "var_mean", "logsumexp", "all", "any", "norm", "count_nonzero", "nansum"]


@st.composite
def dim_spec(draw, nd):
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or (nd == 0 and kind == "tuple"):
        return None
    if kind == "int":
        return draw(st.integers(-max(nd, 1), max(nd, 1) - 1))
    k = draw(st.integers(1, nd))
    ds = draw(st.permutations(range(nd)))[:k]
    return tuple(d - nd if draw(st.booleans()) else d for d in ds)


def _reduce(op, dim, keep, extra):
    def f(m, x):
        kw = {}
        if dim is not None:
            kw["dim"] = dim
        if keep is not None and (dim is not None or op not in (
                "max", "min", "count_nonzero", "sum", "mean", "prod", "nansum")):
            kw["keepdim"] = keep  # (torch's sum/mean/prod take keepdim only with a dim)
        if extra == "dtype" and op in ("sum", "mean", "prod", "nansum"):
            kw["dtype"] = m.float64
        if extra == "dtype_int" and op in ("sum", "prod") and not x.requires_grad:
            kw["dtype"] = m.int32
        if extra == "correction" and op in ("std", "var", "std_mean", "var_mean"):
            kw["correction"] = 0
        if op == "count_nonzero":
            kw.pop("keepdim", None)
        if op in ("max", "min", "argmax", "argmin") and isinstance(dim, tuple):
            kw["dim"] = dim[0] if dim else None
        return getattr(m, op)(x, **kw)
    return f


@fz(90)
@given(op=st.sampled_from(RED), dt=dtypes, data=st.data(), keep=st.sampled_from([None, True,
                                                                                   False]),
       extra=st.sampled_from([None, "dtype", "dtype_int", "correction"]), lay=layouts,
       seed=seeds)
def test_reductions(op, dt, data, keep, extra, lay, seed):
    sh = data.draw(shapes())
    dim = data.draw(dim_spec(len(sh)))
    if dim == () and op not in ("sum", "mean", "prod", "amax", "amin", "all", "any", "nansum"):
        dim = None  # dim=() is torch's "all dims" only for some ops (std's grad differs)
    grad = dt in ("float32", "float64") and op not in ("argmax", "argmin", "all", "any",
                                                        "count_nonzero")
    # (torch's std_mean/var_mean take the mean by Welford: inf and -inf give nan, not inf)
    special = not grad and op not in ("std_mean", "var_mean")
    x = In(values(seed, sh, dt, special=special), lay, grad)
    check(_reduce(op, dim, keep, extra), x, where=f"{op} {dt}{sh}/{lay} dim={dim} keep={keep} "
                                                  f"{extra}", rtol=1e-4, atol=1e-5)


@fz(25)
@given(op=st.sampled_from(["cumsum", "cumprod"]), dt=dtypes, sh=shapes(min_dims=1),
       data=st.data(), cast=st.sampled_from([None, "float64", "int32"]), lay=layouts,
       seed=seeds)
def test_cumulative(op, dt, sh, data, cast, lay, seed):
    dim = data.draw(st.integers(-len(sh), len(sh) - 1))
    x = In(values(seed, sh, dt, special=False), lay, True)

    def f(m, t):
        kw = {"dtype": getattr(m, cast)} if cast and not (cast == "int32" and
                                                         t.requires_grad) else {}
        return getattr(m, op)(t, dim, **kw)
    check(f, x, where=f"{op} {dt}{sh}/{lay} dim={dim} dtype={cast}", rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- indexing

@st.composite
def index_for(draw, shape, seed):
    """A random index expression for ``shape``: ints, slices with steps, None, Ellipsis,
    bool masks, long tensors (several, broadcasting; separated by a slice or not)."""
    rng = np.random.default_rng(seed)
    items, d = [], 0
    nd = len(shape)
    n_adv = 0
    while d < nd and len(items) < 5:
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "long", "mask", "ellipsis",
                                     "list", "stop"]))
        n = shape[d]
        if kind == "stop":
            break
        if kind == "int":
            items.append(int(rng.integers(-n - 1 if n else -1, n + 1)) if draw(st.booleans())
                         or n == 0 else int(rng.integers(-n, n)))
            d += 1
        elif kind == "slice":
            items.append(slice(draw(st.sampled_from([None, 0, 1, -1, -3, 5])),
                               draw(st.sampled_from([None, 2, -1, 10])),
                               draw(st.sampled_from([None, 1, 2, 3]))))
            d += 1
        elif kind == "none":
            items.append(None)
        elif kind == "ellipsis" and Ellipsis not in items:
            items.append(Ellipsis)
            d = nd - sum(1 for _ in range(0))  # the rest is covered by the ellipsis
            break
        elif kind == "long":
            ish = draw(st.sampled_from([(2,), (1,), (2, 2), (3,), (0,)]))
            if n_adv:
                ish = draw(st.sampled_from([ish, (1,), (2, 1)]))
            hi = n if draw(st.integers(0, 9)) else n + 1  # sometimes out of range
            items.append(("long", rng.integers(-n, max(hi, 1), ish) if n else
                          np.zeros((0,), np.int64)))
            n_adv += 1
            d += 1
        elif kind == "list" and n:
            items.append([int(v) for v in rng.integers(-n, n, 2)])
            n_adv += 1
            d += 1
        elif kind == "mask":
            k = draw(st.integers(1, max(1, min(2, nd - d))))
            items.append(("mask", rng.random(shape[d:d + k]) < 0.5))
            d += k
    return items


def _materialize(m, items):
    out = []
    for it in items:
        if isinstance(it, tuple) and it[0] == "long":
            out.append(m.tensor(np.asarray(it[1], dtype=np.int64)))
        elif isinstance(it, tuple) and it[0] == "mask":
            out.append(m.tensor(it[1]))
        else:
            out.append(it)
    return tuple(out)


@fz(100)
@given(dt=st.sampled_from(["int64", "float32", "float64", "bool", "int8"]),
       sh=shapes(min_dims=1), lay=layouts, seed=seeds, data=st.data())
def test_getitem(dt, sh, lay, seed, data):
    items = data.draw(index_for(sh, seed))
    x = In(values(seed, sh, dt, special=False), lay, True)
    check(lambda m, t: t[_materialize(m, items)], x, where=f"{dt}{sh}/{lay}[{items}]")


@fz(80)
@given(dt=st.sampled_from(["int64", "float32", "float64", "bool", "uint8"]),
       sh=shapes(min_dims=1), seed=seeds, data=st.data(),
       vkind=st.sampled_from(["int", "float", "bool", "tensor", "tensor_bcast"]))
def test_setitem(dt, sh, seed, data, vkind):
    items = data.draw(index_for(sh, seed))

    def f(m, t):
        t = t.clone()
        idx = _materialize(m, items)
        if vkind == "tensor" or vkind == "tensor_bcast":
            shape = tuple(t[idx].shape)
            if vkind == "tensor_bcast" and shape:
                shape = shape[1:]
            v = m.tensor(values(seed + 7, shape, "float64", special=False)).to(t.dtype)
        else:
            v = {"int": -2, "float": 2.5, "bool": True}[vkind]
        t[idx] = v
        return t
    check(f, In(values(seed, sh, dt, special=False)), where=f"{dt}{sh}[{items}] = {vkind}")


@fz(40)
@given(dt=st.sampled_from(["float32", "float64", "int64"]), sh=shapes(min_dims=1, max_dims=3),
       n_idx=st.integers(1, 3), acc=st.booleans(), seed=seeds)
def test_index_put(dt, sh, n_idx, acc, seed):
    rng = np.random.default_rng(seed)
    n_idx = min(n_idx, len(sh))
    idx = [rng.integers(-max(n, 1), max(n, 1), (3,)) if n else np.zeros(0, np.int64)
           for n in sh[:n_idx]]
    if any(n == 0 for n in sh[:n_idx]):
        idx = [i[:0] for i in idx]
    vsh = (len(idx[0]),) + tuple(sh[n_idx:])
    v = In(values(seed + 3, vsh, dt, special=False), "contig", True)
    x = In(values(seed, sh, dt, special=False), "contig", True)

    def f(m, t, val):
        ts = tuple(m.tensor(np.asarray(i, dtype=np.int64)) for i in idx)
        return t.index_put(ts, val, accumulate=acc)
    check(f, x, v, where=f"index_put {dt}{sh} idx={idx} acc={acc}")


# ----------------------------------------------------------------------------- shape ops

def _shape_ops(nd, draw):
    d = draw(st.integers(-max(nd, 1), max(nd, 1) - 1))
    perm = tuple(draw(st.permutations(range(nd))))
    d2 = draw(st.integers(-max(nd, 1), max(nd, 1) - 1))
    k = draw(st.integers(1, 4))
    sizes = [draw(st.integers(0, 3)) for _ in range(draw(st.integers(1, 3)))]
    ops = {
        "reshape_-1": lambda m, x: x.reshape(-1),
        "reshape_2": lambda m, x: x.reshape(x.shape[0] if x.dim() else 1, -1),
        "view_-1": lambda m, x: x.view(-1),
        "view_split": lambda m, x: x.view(*x.shape[:-1], -1, 1) if x.dim() else x.view(1),
        "permute": lambda m, x: x.permute(perm),
        "transpose": lambda m, x: x.transpose(d, d2),
        "movedim": lambda m, x: m.movedim(x, d, d2),
        "squeeze": lambda m, x: x.squeeze(),
        "squeeze_dim": lambda m, x: x.squeeze(d),
        "squeeze_tuple": lambda m, x: x.squeeze((d, d2)),
        "unsqueeze": lambda m, x: x.unsqueeze(d),
        "flatten": lambda m, x: x.flatten(),
        "flatten_range": lambda m, x: x.flatten(min(d, d2) % max(nd, 1), max(d, d2) % max(nd, 1)),
        "unflatten": lambda m, x: x.unflatten(d, (1, -1)),
        "chunk": lambda m, x: x.chunk(k, d),
        "split_int": lambda m, x: x.split(k, d),
        "split_list": lambda m, x: x.split(sizes, d),
        "tensor_split_n": lambda m, x: m.tensor_split(x, k, d),
        "tensor_split_idx": lambda m, x: m.tensor_split(x, sizes, d),
        "repeat": lambda m, x: x.repeat(*([2, 1, 3, 1][:nd] or [2])),
        "repeat_more": lambda m, x: x.repeat(2, *([1] * nd)),
        "tile": lambda m, x: m.tile(x, (2,)),
        "expand": lambda m, x: x.expand(2, *x.shape),
        "roll": lambda m, x: m.roll(x, k, d),
        "roll_flat": lambda m, x: m.roll(x, -k),
        "roll_multi": lambda m, x: m.roll(x, (k, -1), (d, d2)),
        "flip": lambda m, x: m.flip(x, (d,)),
        "narrow": lambda m, x: x.narrow(d, 0, min(k, x.shape[d] if x.dim() else 1)),
        "diagonal": lambda m, x: x.diagonal(0, d, d2),
        "diagonal_off": lambda m, x: x.diagonal(1, -1, -2),
        "tril": lambda m, x: x.tril(k - 2),
        "triu": lambda m, x: x.triu(-k + 2),
        "sort": lambda m, x: m.sort(x, dim=d, descending=bool(k % 2), stable=True),
        "sort_unstable": lambda m, x: m.sort(x, d, bool(k % 2))[0],
        "argsort": lambda m, x: m.argsort(x, dim=d, descending=bool(k % 2), stable=True),
        "topk": lambda m, x: m.topk(x, min(k, x.shape[d] if x.dim() else 1), d,
                                    largest=bool(k % 2)),
        "clamp_t": lambda m, x: m.clamp(x, min=x.flip(-1) if x.dim() else x, max=None),
        "where_scalar": lambda m, x: m.where(x > 0, x, 2),
        "where_scalars": lambda m, x: m.where(x > 0, 1.5, -1),
        "unbind": lambda m, x: x.unbind(d),
    }
    return ops


@fz(150)
@given(dt=st.sampled_from(["float32", "float64", "int64", "bool", "float16"]),
       sh=shapes(), lay=layouts, seed=seeds, data=st.data())
def test_shape_ops(dt, sh, lay, seed, data):
    ops = _shape_ops(len(sh), data.draw)
    name = data.draw(st.sampled_from(sorted(ops)))
    grad = dt in ("float32", "float64")
    x = In(values(seed, sh, dt, special=False), lay, grad)
    check(ops[name], x, where=f"{name} {dt}{sh}/{lay}")


CAT = {
    "cat0": lambda m, a, b: m.cat([a, b]), "cat_last": lambda m, a, b: m.cat((a, b), -1),
    "stack": lambda m, a, b: m.stack([a, b]), "stack_last": lambda m, a, b: m.stack([a, b], -1),
    "hstack": lambda m, a, b: m.hstack([a, b]), "vstack": lambda m, a, b: m.vstack([a, b]),
    "where": lambda m, a, b: m.where(a > b, a, b),
    "clamp_tensors": lambda m, a, b: m.clamp(a, min=b, max=b + 1),
}


@fz(40)
@given(name=st.sampled_from(sorted(CAT)), da=dtypes, db=dtypes, sh=shapes(),
       same_shape=st.booleans(), empty_b=st.booleans(), lay=layouts, seed=seeds)
def test_cat_family(name, da, db, sh, same_shape, empty_b, lay, seed):
    shb = sh if same_shape or not sh else sh[:-1] + (2,)
    if empty_b and not same_shape:
        shb = (0,)
    grad = True
    a = In(values(seed, sh, da, special=False), lay, grad)
    b = In(values(seed + 1, shb, db, special=False), "contig", grad)
    check(CAT[name], a, b, where=f"{name} {da}{sh}/{lay} {db}{shb}")


# ----------------------------------------------------------------------------- regressions

REGRESSIONS = [
    ("bool_minus_bool", lambda m: m.tensor([True]) - m.tensor([False])),
    ("int_minus_true", lambda m: m.tensor([1, 2]) - True),
    ("one_minus_bool", lambda m: 1 - m.tensor([True])),
    ("bool_floordiv", lambda m: m.tensor([True]) // m.tensor([True])),
    ("bool_fmod", lambda m: m.fmod(m.tensor([True]), m.tensor([True]))),
    ("int_floordiv_zero_empty", lambda m: m.ones(0, 3, dtype=m.int64) // m.zeros(3, dtype=m.int64)),
    ("int_floordiv_zero", lambda m: m.ones(3, dtype=m.int64) // 0),
    ("float_floordiv_inf", lambda m: m.tensor([-0.25, 0.25, float("inf"), 3.0]) // m.tensor(
        [float("inf"), float("-inf"), 2.0, 0.0])),
    ("add_alpha_keeps_int8", lambda m: m.add(m.tensor([1, 2], dtype=m.int8),
                                             m.tensor([True, False]), alpha=3)),
    ("add_alpha_bool", lambda m: m.add(m.tensor([True, False]), m.tensor([True, True]), alpha=3)),
    ("add_float_alpha_int", lambda m: m.add(m.tensor([1, 2]), 1, alpha=1.5)),
    ("trunc_div_uint8_neg_0d", lambda m: m.div(m.tensor([3, 200], dtype=m.uint8),
                                               m.tensor(-3, dtype=m.int32), rounding_mode="trunc")),
    ("lshift", lambda m: (m.tensor([1, 2], dtype=m.int8) << m.tensor([7, 9]),
                          m.tensor([-8, 8], dtype=m.int8) >> m.tensor([9, -1]),
                          2 << m.tensor([1, 2]), m.tensor([3]) << 63,
                          m.tensor(-5, dtype=m.int8) >> m.tensor([3, 11], dtype=m.uint8))),
    ("bool_pow_bool", lambda m: (m.tensor([True]) ** m.tensor([False]),
                                 m.tensor([True]) ** m.tensor([2]))),
    ("int_scalar_pow_int_tensor", lambda m: (2 ** m.tensor([1, 2, -1]),
                                             2 ** m.tensor([True]), 0 ** m.tensor([-1, 2]),
                                             2 ** m.tensor([1, 2], dtype=m.int8),
                                             -1 ** m.tensor([-3, 2]), True ** m.tensor([True]))),
    ("std_var_int_raise", lambda m: m.std(m.tensor([1, 2]))),
    ("var_mean_uint8_empty", lambda m: m.var_mean(m.zeros(0, dtype=m.uint8))),
    ("norm_int_raise", lambda m: m.tensor([3, 4]).norm()),
    ("nansum_int", lambda m: (m.nansum(m.tensor([1, 2], dtype=m.int8)),
                              m.nansum(m.tensor([True, True])))),
    ("argmax_keepdim_no_dim", lambda m: m.tensor([[1, 5], [3, 2]]).argmax(keepdim=True)),
    ("all_any_uint8", lambda m: (m.tensor([[1, 0, 2]], dtype=m.uint8).all(),
                                 m.tensor([[1, 0, 2]], dtype=m.uint8).any(1),
                                 m.tensor([[1, 0]]).all(dim=()))),
    ("cumsum_dtype_int32_0d", lambda m: m.cumsum(m.tensor(True), 0, dtype=m.int32)),
    ("cumsum_empty", lambda m: (m.cumsum(m.ones(0, 2), 1), m.cumprod(m.ones(2, 0), 0))),
    ("cumprod_0d_grad", lambda m: _grad_of(m, lambda t: m.cumprod(t, 0), 2.0)),
    ("std_zero_grad", lambda m: _grad_of(m, lambda t: m.std(t, correction=0), [1.5])),
    ("prod_tuple_dim", lambda m: m.ones(2, 3).prod((0, 1))),
    ("setitem_uint8_negative_int", lambda m: _setitem(m, m.tensor([1, 2], dtype=m.uint8), 0, -2)),
    ("index_empty_broadcast_unchecked", lambda m: (
        m.zeros(0, 1)[m.tensor([], dtype=m.long), m.tensor([1])],
        _setitem(m, m.zeros(0, 1), (m.tensor([], dtype=m.long), m.tensor([1])), 1.0))),
    ("zero_dim_shape_ops", lambda m: (m.topk(m.tensor(2.0), 1), m.movedim(m.tensor(2.0), 0, -1))),
    ("zero_dim_errors", lambda m: _errors(m, lambda x: m.roll(x, 1, 0),
                                          lambda x: x.narrow(0, 0, 1), lambda x: x.diagonal(),
                                          lambda x: x.chunk(2), lambda x: x.split(1),
                                          lambda x: m.tensor_split(x, 2),
                                          lambda x: x.unflatten(0, (1, -1)),
                                          lambda x: m.ones(1, 2).squeeze((0, 0)))),
    ("empty_sort_topk_chunk", lambda m: (m.ones(0).chunk(3), m.sort(m.ones(2, 0), 0),
                                         m.topk(m.ones(0, 3), 2), m.argsort(m.ones(0)))),
    ("clamp_tensor_ties_nan_grad", lambda m: _grad_of(m, lambda t: m.clamp(
        t, min=m.tensor([1.0, 3.0, float("nan")]), max=m.tensor(2.5)), [1.0, 2.0, 3.0])),
    ("rpow_zero_negative_base_grad", lambda m: (
        _grad_of(m, lambda t: 0 ** t, [-1.0, 0.0, 2.0]),
        _grad_of(m, lambda t: (-2) ** t, [1.0, 2.0]))),
    ("cat_empty_grad", lambda m: _grad_of(m, lambda t: m.cat([t, m.ones(2)]), [])),
    ("lshift_float", lambda m: m.tensor([1.5]) << 2),
    ("int_iadd_float", lambda m: m.tensor([1, 2]).__iadd__(1.5)),
]


def _setitem(m, t, idx, v):
    t[idx] = v
    return t


def _errors(m, *fns):
    """The exception type name each ``fn(0-d tensor)`` raises (or 'ok')."""
    out = []
    for f in fns:
        try:
            f(m.tensor(2.0))
            out.append("ok")
        except Exception as ex:  # noqa: BLE001
            out.append(type(ex).__name__)
    return tuple(out)


def _grad_of(m, f, v):
    t = m.tensor(v, requires_grad=True)
    f(t).sum().backward()
    return t.grad


@pytest.mark.parametrize("name,fn", REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_regression(name, fn):
    check(lambda m: fn(m), where=name)
