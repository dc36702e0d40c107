"""Bad-input probes: wrong shapes, dtypes, devices, out-of-range indices and misuse of autograd.

Each probe builds its inputs with ``setup(m)`` and runs ``act(m, *inputs)`` under torch and
engine. engine must raise the same exception type as torch (RuntimeError, IndexError, TypeError,
ValueError, ...), with a message that names what is needed (the op, the shapes or dtypes, the
values involved), and the failed call must leave its inputs untouched (values, shape, strides,
version counter, grad).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")


class Probe:
    def __init__(self, name, setup, act, must=(), xfail=None):
        self.name, self.setup, self.act, self.must, self.xfail = name, setup, act, must, xfail


def one(*shape, dtype=None, rg=False):
    return lambda m: [m.ones(*shape, dtype=dtype if dtype is None else getattr(m, dtype),
                             requires_grad=rg)]


def ar(*shape, dtype="float32"):
    """A tensor counting 0..n-1 (distinct values so a partial write would show)."""
    def f(m):
        n = int(np.prod(shape)) if shape else 1
        return [m.arange(n, dtype=getattr(m, dtype)).reshape(shape)]
    return f


def two(s1, s2, d1="float32", d2="float32"):
    return lambda m: [m.ones(s1, dtype=getattr(m, d1)), m.ones(s2, dtype=getattr(m, d2))]


def none(m):
    return []


def F(m):
    return m.nn.functional


def _after_backward(m):
    a = m.ones(3, requires_grad=True)
    y = (a * a).sum()
    y.backward()
    return [a, y]


SHAPE_23 = r"2, 3|2x3|\(3\)"

PROBES = [
    # ---- shapes
    Probe("add_broadcast", two((2, 3), (4,)), lambda m, a, b: a + b, [r"\b3\b", r"\b4\b"]),
    Probe("mul_broadcast_3d", two((2, 3, 4), (3, 1, 5)), lambda m, a, b: a * b, [r"\b4\b"]),
    Probe("matmul_inner", two((2, 3), (4, 5)), lambda m, a, b: a @ b, [SHAPE_23, r"4, 5|4x5"]),
    Probe("matmul_batched", two((2, 2, 3), (2, 4, 5)), lambda m, a, b: m.matmul(a, b),
          [r"\b3\b", r"\b4\b"]),
    Probe("matmul_0d", two((), (3,)), lambda m, a, b: m.matmul(a, b), ["matmul|dimension"]),
    Probe("mm_1d", two((3,), (3, 2)), lambda m, a, b: m.mm(a, b), ["mm|2D|matri"]),
    Probe("bmm_2d", two((3, 3), (3, 3)), lambda m, a, b: m.bmm(a, b), ["bmm|3D|batch"]),
    Probe("dot_sizes", two((3,), (4,)), lambda m, a, b: m.dot(a, b), [r"\b3\b", r"\b4\b"]),
    Probe("view_numel", ar(2, 3), lambda m, a: a.view(4), [r"\b6\b", r"\[4\]|\(4,?\)"]),
    Probe("view_noncontig", ar(2, 3), lambda m, a: a.t().view(6), ["reshape"]),
    Probe("reshape_numel", ar(2, 3), lambda m, a: a.reshape(4, -1), [r"\b6\b"]),
    Probe("reshape_two_inferred", ar(2, 3), lambda m, a: a.reshape(-1, -1), ["infer|-1"]),
    Probe("cat_shapes", two((2, 3), (2, 4)), lambda m, a, b: m.cat([a, b], 0),
          [r"\b3\b", r"\b4\b"]),
    Probe("cat_ndim", two((2, 3), (3,)), lambda m, a, b: m.cat([a, b]), ["cat|dim"]),
    Probe("cat_dim_range", two((2, 3), (2, 3)), lambda m, a, b: m.cat([a, b], 2),
          ["range|dim"]),
    Probe("stack_shapes", two((2, 3), (3, 2)), lambda m, a, b: m.stack([a, b]),
          [r"stack|size"]),
    Probe("expand_bad", ar(2, 3), lambda m, a: a.expand(4, 3), [r"\b4\b", r"\b2\b"]),
    Probe("expand_fewer_dims", ar(2, 3), lambda m, a: a.expand(3), ["expand|dim"]),
    Probe("permute_ndim", ar(2, 3), lambda m, a: a.permute(0), ["permute|dim"]),
    Probe("permute_repeat", ar(2, 3), lambda m, a: a.permute(0, 0), ["permute|repeat|dim"]),
    Probe("transpose_range", ar(2, 3), lambda m, a: a.transpose(0, 2), ["range"]),
    Probe("sum_dim_range", ar(2, 3), lambda m, a: a.sum(3), ["range", r"\b3\b"]),
    Probe("sum_dup_dims", ar(2, 3), lambda m, a: a.sum((0, 0)), ["multiple|twice|repeat"]),
    Probe("squeeze_range", ar(2, 3), lambda m, a: a.squeeze(4), ["range"]),
    Probe("unsqueeze_range", ar(2, 3), lambda m, a: a.unsqueeze(5), ["range"]),
    Probe("softmax_dim", ar(2, 3), lambda m, a: a.softmax(2), ["range"]),
    Probe("narrow_range", ar(2, 3), lambda m, a: a.narrow(1, 2, 5), ["narrow|exceed|range"]),
    Probe("split_sizes_sum", ar(5), lambda m, a: a.split([2, 2]), ["split|sum|5"]),
    Probe("chunk_zero", ar(5), lambda m, a: a.chunk(0), ["chunk"]),
    Probe("topk_k", ar(3), lambda m, a: a.topk(5), ["k|range"]),
    Probe("copy_shape", lambda m: [m.zeros(3), m.ones(2, 3)], lambda m, a, b: a.copy_(b),
          [r"\[3\]|\(3,?\)", r"2, 3"]),
    Probe("inplace_broadcast_grow", lambda m: [m.zeros(3), m.ones(2, 3)],
          lambda m, a, b: a.add_(b), [r"\[3\]", r"2, 3"]),
    Probe("repeat_fewer", ar(2, 3), lambda m, a: a.repeat(2), ["repeat|dim"]),
    Probe("flatten_range", ar(2, 3), lambda m, a: a.flatten(0, 3), ["range"]),
    Probe("unflatten_sizes", ar(2, 6), lambda m, a: a.unflatten(1, (4, 2)), ["unflatten|6"]),
    Probe("einsum_operands", two((2, 3), (3, 4)), lambda m, a, b: m.einsum("ij->ij", a, b),
          ["einsum|operand"]),
    Probe("einsum_dims", two((2, 3), (4, 5)), lambda m, a, b: m.einsum("ij,jk->ik", a, b),
          ["einsum", r"\bj\b|subscript"]),
    Probe("permute_dim_range", ar(2, 3), lambda m, a: a.permute(0, 5), ["range"]),
    # ---- nn.functional / modules
    Probe("linear_in_features", lambda m: [m.ones(2, 3), m.nn.Linear(4, 5)],
          lambda m, x, lin: lin(x), [r"2x3|2, 3", r"\b4\b"]),
    Probe("linear_dtype", lambda m: [m.ones(2, 4, dtype=m.float64), m.nn.Linear(4, 5)],
          lambda m, x, lin: lin(x), ["double|float64", "float"]),
    Probe("conv2d_channels", lambda m: [m.ones(1, 3, 8, 8), m.nn.Conv2d(4, 2, 3)],
          lambda m, x, c: c(x), [r"\b3\b", r"\b4\b"]),
    Probe("conv2d_2d_input", lambda m: [m.ones(8, 8), m.nn.Conv2d(1, 2, 3)],
          lambda m, x, c: c(x), ["3D|4D|dim"]),
    Probe("conv2d_too_small", lambda m: [m.ones(1, 1, 2, 2), m.nn.Conv2d(1, 2, 3)],
          lambda m, x, c: c(x), ["kernel|size"]),
    Probe("maxpool_too_big", ar(1, 1, 2, 2), lambda m, x: F(m).max_pool2d(x, 3),
          ["size|small|kernel"]),
    Probe("batchnorm_channels", lambda m: [m.ones(2, 3, 4), m.nn.BatchNorm1d(4)],
          lambda m, x, bn: bn(x), [r"\b3\b|\b4\b"]),
    Probe("layernorm_shape", lambda m: [m.ones(2, 3), m.nn.LayerNorm(4)],
          lambda m, x, ln: ln(x), [r"\b4\b", r"\b3\b"]),
    Probe("ce_target_range", lambda m: [m.zeros(2, 3), m.tensor([0, 3])],
          lambda m, x, t: F(m).cross_entropy(x, t), [r"\b3\b", "bound|range"]),
    Probe("ce_target_negative", lambda m: [m.zeros(2, 3), m.tensor([0, -2])],
          lambda m, x, t: F(m).cross_entropy(x, t), [r"-2", "bound|range"]),
    Probe("ce_batch_mismatch", lambda m: [m.zeros(2, 3), m.tensor([0, 1, 2])],
          lambda m, x, t: F(m).cross_entropy(x, t), [r"\b2\b", r"\b3\b"]),
    Probe("nll_float_target", lambda m: [m.zeros(2, 3), m.tensor([0.0, 1.0])],
          lambda m, x, t: F(m).nll_loss(x, t), ["Long|int64|integer", "Float|float32"]),
    Probe("bce_range", lambda m: [m.tensor([0.5, 1.5]), m.tensor([0.0, 1.0])],
          lambda m, x, t: F(m).binary_cross_entropy(x, t), ["between 0 and 1"]),
    Probe("bce_shape", lambda m: [m.tensor([0.5, 0.5]), m.tensor([0.0, 1.0, 1.0])],
          lambda m, x, t: F(m).binary_cross_entropy(x, t), [r"\b2\b", r"\b3\b"]),
    Probe("embedding_range", lambda m: [m.nn.Embedding(3, 2), m.tensor([0, 3])],
          lambda m, e, i: e(i), ["range|bound"]),
    Probe("embedding_float_idx", lambda m: [m.nn.Embedding(3, 2), m.tensor([0.0, 1.0])],
          lambda m, e, i: e(i), ["Long|int64|integer", "Float|float"]),
    Probe("one_hot_range", lambda m: [m.tensor([0, 5])], lambda m, t: F(m).one_hot(t, 3),
          ["num_classes|class"]),
    Probe("dropout_p", ar(3), lambda m, x: F(m).dropout(x, 1.5), ["probability|between|1.5"]),
    Probe("pad_reflect_too_big", ar(1, 2, 3), lambda m, x: F(m).pad(x, (3, 3), mode="reflect"),
          ["pad"]),
    Probe("mse_target_dtype_long", lambda m: [m.zeros(3), m.zeros(3, dtype=m.int64)],
          lambda m, x, t: F(m).l1_loss(x.long(), t), ["l1|abs|Long|int"]),
    # ---- indexing
    Probe("index_int", ar(3), lambda m, a: a[5], [r"\b5\b", r"\b3\b"]),
    Probe("index_int_neg", ar(3), lambda m, a: a[-4], [r"-4", r"\b3\b"]),
    Probe("index_second_dim", ar(2, 3), lambda m, a: a[0, 3], [r"\b3\b", "dim"]),
    Probe("index_tensor", ar(3), lambda m, a: a[m.tensor([0, 5])], [r"\b5\b", r"\b3\b"]),
    Probe("index_tensor_neg", ar(3), lambda m, a: a[m.tensor([-4])], [r"-4", r"\b3\b"]),
    Probe("index_too_many", ar(3), lambda m, a: a[0, 0], ["too many|dimension"]),
    Probe("index_float", ar(3), lambda m, a: a[1.5], ["integer|index"]),
    Probe("index_float_tensor", ar(3), lambda m, a: a[m.tensor([1.0])],
          ["long|int|bool|index"]),
    Probe("index_mask_shape", ar(3), lambda m, a: a[m.tensor([True, False])],
          [r"\b2\b", r"\b3\b"]),
    Probe("setitem_range", ar(3), lambda m, a: a.__setitem__(5, 1.0), [r"\b5\b", r"\b3\b"]),
    Probe("setitem_tensor_range", ar(3),
          lambda m, a: a.__setitem__(m.tensor([0, 7]), 1.0), [r"\b7\b"]),
    Probe("setitem_value_shape", ar(2, 3), lambda m, a: a.__setitem__(0, m.ones(2)),
          [r"\b2\b", r"\b3\b"]),
    Probe("gather_range", lambda m: [m.zeros(2, 3), m.tensor([[0], [5]])],
          lambda m, a, i: a.gather(1, i), [r"\b5\b", r"\b3\b"]),
    Probe("gather_dtype", lambda m: [m.zeros(2, 3), m.tensor([[0.0], [1.0]])],
          lambda m, a, i: a.gather(1, i), ["int64|Long|index"]),
    Probe("index_select_range", lambda m: [m.zeros(2, 3), m.tensor([0, 3])],
          lambda m, a, i: a.index_select(1, i), ["range|bound"]),
    Probe("index_select_range_dim0", lambda m: [m.zeros(3, 2), m.tensor([0, -4])],
          lambda m, a, i: a.index_select(0, i), ["range|bound"]),
    Probe("index_select_range_dim1_3d", lambda m: [m.zeros(2, 3, 4), m.tensor([3])],
          lambda m, a, i: a.index_select(-2, i), ["range|bound", r"\b3\b"]),
    Probe("scatter_range", lambda m: [m.zeros(2, 3), m.tensor([[0], [9]])],
          lambda m, a, i: a.scatter_(1, i, 1.0), [r"\b9\b", r"\b3\b"]),
    Probe("scatter_add_range", lambda m: [m.zeros(2, 3), m.tensor([[0, 3]]), m.ones(1, 2)],
          lambda m, a, i, s: a.scatter_add_(1, i, s), [r"\b3\b"]),
    Probe("index_add_range", lambda m: [m.zeros(3, 2), m.tensor([0, 3]), m.ones(2, 2)],
          lambda m, a, i, s: a.index_add_(0, i, s), ["range|bound"]),
    Probe("index_put_range", lambda m: [m.zeros(3), m.tensor([4]), m.ones(1)],
          lambda m, a, i, v: a.index_put_((i,), v), [r"\b4\b"]),
    Probe("masked_fill_float_mask", lambda m: [m.zeros(3), m.ones(3)],
          lambda m, a, k: a.masked_fill_(k, 1.0), ["bool"]),
    Probe("masked_fill_shape", lambda m: [m.zeros(3), m.tensor([True, False])],
          lambda m, a, k: a.masked_fill_(k, 1.0), [r"\b2\b", r"\b3\b"]),
    Probe("take_range", lambda m: [m.zeros(2, 3), m.tensor([6])],
          lambda m, a, i: m.take(a, i), [r"\b6\b"]),
    # ---- dtypes
    Probe("matmul_dtypes", two((2, 2), (2, 2), "float32", "int64"), lambda m, a, b: a @ b,
          ["float|Float", "long|Long|int64"]),
    Probe("mm_dtypes_f64", two((2, 2), (2, 2), "float32", "float64"),
          lambda m, a, b: m.mm(a, b), ["float|Float", "double|Double|float64"]),
    Probe("requires_grad_int", none, lambda m: m.tensor([1, 2], requires_grad=True),
          ["floating point"]),
    Probe("requires_grad_int_method", ar(3, dtype="int64"), lambda m, a: a.requires_grad_(),
          ["floating point"]),
    Probe("parameter_int", ar(3, dtype="int64"), lambda m, a: m.nn.Parameter(a),
          ["floating point"]),
    Probe("bitwise_float", two((2,), (2,)), lambda m, a, b: a & b, ["Float|float"]),
    Probe("mean_int", ar(3, dtype="int64"), lambda m, a: a.mean(), ["Long|int64", "dtype"]),
    Probe("inplace_int_float", ar(3, dtype="int64"), lambda m, a: a.add_(1.5),
          ["Float|float", "Long|int64"]),
    Probe("inplace_int_div", ar(3, dtype="int64"), lambda m, a: a.div_(2),
          ["Float|float", "Long|int64"]),
    Probe("inplace_bool_add", lambda m: [m.tensor([True, False])],
          lambda m, a: a.add_(2), ["Bool|bool", "Long|int64"]),
    Probe("where_cond_float", two((2,), (2,)), lambda m, a, b: m.where(a, a, b),
          ["bool|Bool", "Float|float"]),
    Probe("cumsum_no_dim", ar(3), lambda m, a: m.cumsum(a), ["dim"]),
    Probe("arange_zero_step", none, lambda m: m.arange(0, 5, 0), ["step"]),
    Probe("arange_wrong_sign", none, lambda m: m.arange(0, 5, -1), ["step|bound|sign"]),
    Probe("zeros_negative", none, lambda m: m.zeros(2, -1), [r"-1"]),
    Probe("randint_bounds", none, lambda m: m.randint(5, 3, (2,)), ["from|low|5"]),
    Probe("tensor_ragged", none, lambda m: m.tensor([[1, 2], [3]]), ["length|sequence|dim"]),
    Probe("tensor_str", none, lambda m: m.tensor("abc"), ["str"]),
    Probe("tensor_object", none, lambda m: m.tensor([object()]), ["object|infer|type"]),
    Probe("dtype_str", none, lambda m: m.ones(2, dtype="float32"), ["dtype"]),
    Probe("dtype_str_tensor", none, lambda m: m.tensor([1.0], dtype="float64"), ["dtype"]),
    Probe("device_bad", none, lambda m: m.ones(2, device="gpu"), ["gpu"]),
    Probe("to_bad_device", ar(2), lambda m, a: a.to("tpu"), ["tpu"]),
    Probe("linspace_steps", none, lambda m: m.linspace(0, 1, -1), ["steps|negative"]),
    Probe("multinomial_negative", none,
          lambda m: m.multinomial(m.tensor([0.5, -0.1]), 1), ["negative|invalid|prob"]),
    # ---- scalars / conversion
    Probe("item_many", ar(3), lambda m, a: a.item(), [r"\b3\b", "element"]),
    Probe("bool_many", ar(3), lambda m, a: bool(a), ["ambiguous"]),
    Probe("float_many", ar(3), lambda m, a: float(a), ["element|scalar|convert"]),
    Probe("numpy_requires_grad", one(3, rg=True), lambda m, a: a.numpy(), ["detach"]),
    Probe("len_0d", lambda m: [m.tensor(1.0)], lambda m, a: len(a), ["0-d|len"]),
    Probe("iter_0d", lambda m: [m.tensor(1.0)], lambda m, a: iter(a), ["0-d|iter"]),
    Probe("index_0d_float", lambda m: [m.tensor(1.5)], lambda m, a: [1, 2][a],
          ["integer|index"]),
    # ---- autograd misuse
    Probe("backward_nonscalar", one(3, rg=True), lambda m, a: (a * 2).backward(),
          ["scalar"]),
    Probe("backward_no_grad", ar(3), lambda m, a: a.sum().backward(), ["grad"]),
    Probe("backward_twice", lambda m: _after_backward(m), lambda m, a, y: y.backward(),
          ["second time"]),
    Probe("inplace_leaf", one(3, rg=True), lambda m, a: a.add_(1), ["leaf"]),
    Probe("inplace_leaf_view", one(3, rg=True), lambda m, a: a[0].mul_(2), ["leaf|view"]),
    Probe("saved_modified", one(3, rg=True),
          lambda m, a: [y := a.exp(), y.add_(1), y.sum().backward()], ["inplace", "version"]),
    Probe("backward_grad_shape", one(3, rg=True), lambda m, a: (a * 2).backward(m.ones(4)),
          [r"\b3\b", r"\b4\b"]),
    Probe("grad_assign_shape", one(3, rg=True),
          lambda m, a: setattr(a, "grad", m.ones(4)), ["size|shape"]),
    Probe("autograd_grad_unused", lambda m: [m.ones(3, requires_grad=True),
                                             m.ones(3, requires_grad=True)],
          lambda m, a, b: m.autograd.grad((a * 2).sum(), [a, b]), ["allow_unused"]),
    Probe("requires_grad_nonleaf_false", one(3, rg=True),
          lambda m, a: (a * 2).requires_grad_(False), ["leaf"]),
    Probe("out_requires_grad", lambda m: [m.ones(3, requires_grad=True), m.empty(3)],
          lambda m, a, o: m.mul(a, 2, out=o), ["out=", "grad"]),
    Probe("out_dtype", lambda m: [m.ones(3), m.empty(3, dtype=m.int64)],
          lambda m, a, o: m.add(a, 0.5, out=o), ["Float", "Long"]),
    Probe("expanded_inplace", lambda m: [m.ones(1, 3)],
          lambda m, a: a.expand(2, 3).add_(1), ["memory location|overlap|single"]),
    # ---- optim / modules / data
    Probe("optim_tensor_params", one(3, rg=True), lambda m, a: m.optim.SGD(a, lr=0.1),
          ["iterable"]),
    Probe("optim_negative_lr", one(3, rg=True), lambda m, a: m.optim.SGD([a], lr=-0.1),
          ["learning rate|lr", r"-0.1"]),
    Probe("adam_betas", one(3, rg=True),
          lambda m, a: m.optim.Adam([a], betas=(1.5, 0.9)), ["beta"]),
    Probe("optim_empty", none, lambda m: m.optim.SGD([], lr=0.1), ["empty"]),
    Probe("state_dict_missing", lambda m: [m.nn.Linear(2, 3)],
          lambda m, lin: lin.load_state_dict({"weight": m.zeros(3, 2)}), ["bias", "Missing"]),
    Probe("state_dict_shape", lambda m: [m.nn.Linear(2, 3)],
          lambda m, lin: lin.load_state_dict({"weight": m.zeros(3, 3), "bias": m.zeros(3)}),
          ["size mismatch", r"3, 3", r"3, 2"]),
    Probe("state_dict_unexpected", lambda m: [m.nn.Linear(2, 3)],
          lambda m, lin: lin.load_state_dict({"weight": m.zeros(3, 2), "bias": m.zeros(3),
                                              "extra": m.zeros(1)}), ["Unexpected", "extra"]),
    Probe("module_setattr_param", lambda m: [m.nn.Linear(2, 3)],
          lambda m, lin: setattr(lin, "weight", m.zeros(3, 2)), ["Parameter|weight"]),
    Probe("sequential_index", lambda m: [m.nn.Sequential(m.nn.ReLU())],
          lambda m, s: s[3], ["index|range"]),
    Probe("module_no_forward", lambda m: [m.nn.Module()], lambda m, mod: mod(1),
          ["forward"]),
    Probe("dataloader_batch_size", none,
          lambda m: m.utils.data.DataLoader([1, 2], batch_size=0), ["batch_size"]),
    Probe("tensordataset_sizes", none,
          lambda m: m.utils.data.TensorDataset(m.zeros(3), m.zeros(4)), ["size"]),
    Probe("random_split_lengths", none,
          lambda m: m.utils.data.random_split(range(5), [2, 2]), ["sum|length"]),
]


# ----------------------------------------------------------------------------- machinery

def _builtin_base(exc_type):
    for k in exc_type.__mro__:
        if k.__module__ == "builtins":
            return k
    return Exception


def _snapshot(objs):
    """Tensor inputs: values, geometry, dtype, version, grad (modules: torch itself updates
    some state before raising, e.g. load_state_dict, so they are not compared)."""
    snap = []
    for t in objs:
        if isinstance(t, (torch.Tensor, engine.Tensor)):
            snap.append(("T", np.array(t.detach().numpy(), copy=True), tuple(t.shape),
                         tuple(t.stride()), str(t.dtype), t._version, t.requires_grad,
                         None if t.grad is None else np.array(t.grad.numpy(), copy=True)))
        else:
            snap.append(("O", None))
    return snap


def _same_snap(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "T":
        if a[2:7] != b[2:7] or not np.array_equal(a[1], b[1]):
            return False
        return (a[7] is None) == (b[7] is None) and (a[7] is None or np.array_equal(a[7], b[7]))
    return True


def _raise(m, probe):
    objs = probe.setup(m)
    before = _snapshot(objs)
    try:
        probe.act(m, *objs)
    except Exception as e:  # noqa: BLE001
        return e, before, _snapshot(objs)
    return None, before, None


def _params():
    return [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(reason=p.xfail, strict=True)]
                         if p.xfail else []) for p in PROBES]


@pytest.mark.parametrize("probe", _params())
def test_bad_input(probe):
    t_exc, _, _ = _raise(torch, probe)
    assert t_exc is not None, f"probe {probe.name}: torch does not raise (fix the probe)"
    want = _builtin_base(type(t_exc))
    e_exc, before, after = _raise(engine, probe)
    assert e_exc is not None, f"{probe.name}: engine does not raise; torch raises " \
                              f"{type(t_exc).__name__}: {t_exc}"
    assert isinstance(e_exc, want), (
        f"{probe.name}: engine raises {type(e_exc).__name__}: {e_exc}\n"
        f"torch raises {type(t_exc).__name__}: {t_exc}")
    msg = str(e_exc)
    for pat in probe.must:
        assert re.search(pat, msg, re.IGNORECASE), (
            f"{probe.name}: engine's message lacks /{pat}/: {msg!r}\n(torch: {t_exc})")
    for i, (x, y) in enumerate(zip(before, after)):
        assert _same_snap(x, y), f"{probe.name}: the failed call changed input {i}"


# ----------------------------------------------------------------------------- warnings

WARN_PROBES = [
    ("mse_broadcast", lambda m: m.nn.functional.mse_loss(m.zeros(3, 1), m.zeros(3))),
    ("softmax_implicit_dim", lambda m: m.nn.functional.softmax(m.zeros(2, 3))),
    ("tensor_from_tensor", lambda m: m.tensor(m.zeros(2))),
    ("out_resize", lambda m: m.add(m.ones(2), 1, out=m.zeros(3))),
]


@pytest.mark.parametrize("name,fn", WARN_PROBES, ids=[w[0] for w in WARN_PROBES])
def test_warns_like_torch(name, fn):
    import warnings
    cats = []
    for m in (torch, engine):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn(m)
        cats.append(sorted({x.category.__name__ for x in w}))
    assert cats[1] == cats[0], f"{name}: engine warns {cats[1]}, torch warns {cats[0]}"


# ----------------------------------------------------------------------------- device

def test_cuda_request_without_gpu_is_a_clear_error():
    if engine.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        engine.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        engine.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        engine.ones(2).cuda()


# ----------------------------------------------------------------------------- unsafe files

class _Boom:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > pwned.txt",))


def _engine_file(path, header: dict, data: bytes = b""):
    import json
    h = json.dumps(header).encode()
    path.write_bytes(b"ENGINEv1" + len(h).to_bytes(8, "little") + h + data)
    return path


def _tree_tensor(**kw):
    node = {"t": "T", "s": 0, "dtype": "float32", "shape": [2], "stride": [1], "offset": 0,
            "rg": False, "dev": "cpu", "param": False}
    node.update(kw)
    return node


@pytest.mark.parametrize("case", ["pickle", "torch_zip", "header_too_long", "negative_numel",
                                  "storage_past_end", "bad_dtype", "view_past_storage",
                                  "bad_storage_index", "not_json", "empty"])
def test_unsafe_or_corrupt_file_is_refused(case, tmp_path, monkeypatch):
    import pickle
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "f.pt"
    st = [{"dtype": "float32", "numel": 2, "offset": 0}]
    if case == "pickle":
        p.write_bytes(pickle.dumps({"w": _Boom()}))
    elif case == "torch_zip":  # a real torch checkpoint whose pickle calls os.system
        torch.save({"w": torch.ones(2), "x": _Boom()}, p)
    elif case == "header_too_long":
        p.write_bytes(b"ENGINEv1" + (10 ** 12).to_bytes(8, "little") + b"{}")
    elif case == "negative_numel":
        _engine_file(p, {"tree": _tree_tensor(), "storages": [dict(st[0], numel=-5)]})
    elif case == "storage_past_end":
        _engine_file(p, {"tree": _tree_tensor(), "storages": [dict(st[0], numel=10 ** 9)]},
                     b"\0" * 8)
    elif case == "bad_dtype":
        _engine_file(p, {"tree": _tree_tensor(), "storages": [dict(st[0], dtype="object")]},
                     b"\0" * 8)
    elif case == "view_past_storage":
        _engine_file(p, {"tree": _tree_tensor(shape=[4], stride=[3]), "storages": st},
                     b"\0" * 8)
    elif case == "bad_storage_index":
        _engine_file(p, {"tree": _tree_tensor(s=7), "storages": st}, b"\0" * 8)
    elif case == "not_json":
        p.write_bytes(b"ENGINEv1" + (3).to_bytes(8, "little") + b"{x]")
    else:
        p.write_bytes(b"")
    import pickle as _pickle
    refused = (RuntimeError, _pickle.UnpicklingError)  # torch: UnpicklingError for pickles
    with pytest.raises(refused, match="(?i)engine|pickle|checkpoint|file|weights"):
        engine.load(p)
    with pytest.raises(refused):
        engine.load(str(p), weights_only=True)
    assert not (tmp_path / "pwned.txt").exists()
