"""Bad-input probes, second round (machinery in test_bad_input.py): each call must raise
torch's exception type with a message naming what is needed, and leave its inputs untouched.

Covers the areas of test_parity_fuzz2.py: index family dtypes and shapes, shape ops, order
statistics, losses, interpolate/pad/conv/pool/norm options, factories, out=, Tensor attributes.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_bad_input import F, Probe, ar, none, one
from test_bad_input import test_bad_input as _run_probe

pytest.importorskip("torch")

PROBES2 = [
    Probe("mT_1d", ar(3), lambda m, a: a.mT, ["mT", "1-D"]),
    Probe("H_3d", ar(2, 3, 4), lambda m, a: a.H, ["\\bH\\b", "3-D"]),
    Probe("invert_float", ar(3), lambda m, a: ~a, ["invert", "float"]),
    Probe("kthvalue_k", ar(2), lambda m, a: a.kthvalue(3), ["kthvalue", "k=3|\\b3\\b"]),
    Probe(
        "median_empty_dim",
        lambda m: [m.ones(0, 3)],
        lambda m, a: a.median(0),
        ["median", "non-zero"],
    ),
    Probe("pad_odd", ar(2, 3), lambda m, a: F(m).pad(a, (1,)), ["divisible by 2"]),
    Probe("pad_too_long", ar(3), lambda m, a: F(m).pad(a, (1, 1, 1, 1)), ["padding length 4"]),
    Probe(
        "pad_reflect_2d_4",
        ar(2, 3),
        lambda m, a: F(m).pad(a, (1, 1, 1, 1), mode="reflect"),
        ["Padding size 4", "2D"],
    ),
    Probe(
        "pad_replicate_to_empty",
        ar(2, 2),
        lambda m, a: F(m).pad(a, (-1, -1), mode="replicate"),
        ["too small", "replicate"],
    ),
    Probe(
        "bce_target_dtype",
        lambda m: [m.tensor([0.5]), m.tensor([1.0], dtype=m.float64)],
        lambda m, x, t: F(m).binary_cross_entropy(x, t),
        ["Double", "Float"],
    ),
    Probe(
        "bce_logits_int_target",
        lambda m: [m.tensor([0.5]), m.tensor([1])],
        lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t),
        ["Long", "float"],
    ),
    Probe(
        "logaddexp_int",
        lambda m: [m.tensor([1]), m.tensor([2])],
        lambda m, a, b: m.logaddexp(a, b),
        ["logaddexp", "int64|Long"],
    ),
    Probe(
        "hypot_int",
        lambda m: [m.tensor([3]), m.tensor([4])],
        lambda m, a, b: m.hypot(a, b),
        ["hypot", "Long"],
    ),
    Probe(
        "gcd_float",
        lambda m: [m.tensor([3.0]), m.tensor([4])],
        lambda m, a, b: m.gcd(a, b),
        ["gcd", "float"],
    ),
    Probe(
        "isclose_dtypes",
        lambda m: [m.ones(2), m.ones(2, dtype=m.float64)],
        lambda m, a, b: m.isclose(a, b),
        ["Float", "Double"],
    ),
    Probe(
        "allclose_dtypes",
        lambda m: [m.ones(2), m.ones(2, dtype=m.float64)],
        lambda m, a, b: m.allclose(a, b),
        ["Float", "Double"],
    ),
    Probe(
        "zeros_out_dtype",
        lambda m: [m.empty(2)],
        lambda m, o: m.zeros(2, dtype=m.float64, out=o),
        ["Double", "out"],
    ),
    Probe(
        "arange_out_requires_grad",
        lambda m: [m.empty(2, requires_grad=True)],
        lambda m, o: m.add(o, 1, out=o),
        ["out="],
    ),
    Probe(
        "index_fill_int32",
        lambda m: [m.zeros(3), m.tensor([0], dtype=m.int32)],
        lambda m, a, i: a.index_fill(0, i, 1.0),
        ["index_fill", "int64"],
    ),
    Probe(
        "index_copy_int32",
        lambda m: [m.zeros(3), m.tensor([0], dtype=m.int32), m.ones(1)],
        lambda m, a, i, s: a.index_copy(0, i, s),
        ["index_copy", "long|int64"],
    ),
    Probe(
        "take_int32",
        lambda m: [m.zeros(3), m.tensor([0], dtype=m.int32)],
        lambda m, a, i: a.take(i),
        ["take", "long"],
    ),
    Probe(
        "take_along_dim_int32",
        lambda m: [m.zeros(3), m.tensor([0], dtype=m.int32)],
        lambda m, a, i: m.take_along_dim(a, i, 0),
        ["take_along_dim", "Long"],
    ),
    Probe(
        "put_numel",
        lambda m: [m.zeros(3), m.tensor([0, 1]), m.ones(3)],
        lambda m, a, i, s: a.put_(i, s),
        ["source.numel\\(\\) = 3", "index.numel\\(\\) = 2"],
    ),
    Probe(
        "put_range",
        lambda m: [m.zeros(3), m.tensor([0, 5]), m.ones(2)],
        lambda m, a, i, s: a.put_(i, s),
        ["\\b5\\b", "\\b3\\b"],
    ),
    Probe(
        "interp_bilinear_3d",
        ar(1, 2, 3),
        lambda m, a: F(m).interpolate(a, size=4, mode="bilinear"),
        ["bilinear", "4D"],
    ),
    Probe(
        "interp_bicubic_5d",
        ar(1, 1, 2, 2, 2),
        lambda m, a: F(m).interpolate(a, size=4, mode="bicubic"),
        ["bicubic", "5D"],
    ),
    Probe(
        "interp_align_nearest",
        ar(1, 2, 3),
        lambda m, a: F(m).interpolate(a, size=4, align_corners=True),
        ["align_corners"],
    ),
    Probe(
        "interp_size_and_scale",
        ar(1, 2, 3),
        lambda m, a: F(m).interpolate(a, size=4, scale_factor=2),
        ["size", "scale_factor"],
    ),
    Probe(
        "interp_no_size", ar(1, 2, 3), lambda m, a: F(m).interpolate(a), ["size", "scale_factor"]
    ),
    Probe(
        "interp_size_len",
        ar(1, 2, 3, 3),
        lambda m, a: F(m).interpolate(a, size=(2, 2, 2), mode="bilinear"),
        ["spatial"],
    ),
    Probe(
        "interp_int",
        lambda m: [m.ones(1, 1, 2, 2, dtype=m.long)],
        lambda m, a: F(m).interpolate(a, size=4, mode="bilinear"),
        ["Long"],
    ),
    Probe(
        "gather_ndim",
        lambda m: [m.zeros(2, 3), m.tensor([0, 1])],
        lambda m, a, i: a.gather(1, i),
        ["number of dimensions"],
    ),
    Probe(
        "gather_index_bigger",
        lambda m: [m.zeros(2, 3), m.zeros(3, 3, dtype=m.long)],
        lambda m, a, i: a.gather(1, i),
        ["3, 3", "2, 3"],
    ),
    Probe(
        "scatter_src_dtype",
        lambda m: [m.zeros(2, 3), m.tensor([[0, 1]]), m.ones(1, 2, dtype=m.float64)],
        lambda m, a, i, s: a.scatter_(1, i, s),
        ["dtype"],
    ),
    Probe(
        "index_select_float_idx",
        lambda m: [m.zeros(2, 3), m.tensor([0.0])],
        lambda m, a, i: a.index_select(0, i),
        ["index_select", "int"],
    ),
    Probe(
        "index_select_2d_idx",
        lambda m: [m.zeros(2, 3), m.tensor([[0]])],
        lambda m, a, i: a.index_select(0, i),
        ["vector"],
    ),
    Probe(
        "index_add_src_shape",
        lambda m: [m.zeros(3, 2), m.tensor([0, 1]), m.ones(2, 3)],
        lambda m, a, i, s: a.index_add_(0, i, s),
        ["3, 2", "2, 3"],
    ),
    Probe(
        "masked_scatter_small_src",
        lambda m: [m.zeros(3), m.tensor([True, True, True]), m.ones(2)],
        lambda m, a, k, s: a.masked_scatter(k, s),
        ["source"],
    ),
    Probe(
        "masked_fill_tensor_value_dim",
        lambda m: [m.zeros(3), m.tensor([True, False, True])],
        lambda m, a, k: a.masked_fill(k, m.ones(2)),
        ["0-dimensional"],
    ),
    Probe(
        "setitem_mask_values",
        lambda m: [m.zeros(3)],
        lambda m, a: a.__setitem__(a == 0, m.ones(2)),
        ["\\[2\\]", "\\[3\\]"],
    ),
    Probe(
        "setitem_bool_idx_shape",
        lambda m: [m.zeros(2, 3)],
        lambda m, a: a.__getitem__(m.tensor([True, False, True])),
        ["\\[3\\]", "2, 3"],
    ),
    Probe(
        "index_two_tensors_bcast",
        lambda m: [m.zeros(3, 3)],
        lambda m, a: a[m.tensor([0, 1]), m.tensor([0, 1, 2])],
        ["\\[2\\]", "\\[3\\]"],
    ),
    Probe("view_dtype_size", ar(3), lambda m, a: a.view(m.float64), ["Double"]),
    Probe("reshape_neg2", ar(6), lambda m, a: a.reshape(-2, 3), ["-2"]),
    Probe("view_neg_size", ar(6), lambda m, a: a.view(2, -3), ["-3"]),
    Probe("expand_neg_new_dim", ar(3), lambda m, a: a.expand(-1, 3), ["-1"]),
    Probe("repeat_neg", ar(3), lambda m, a: a.repeat(-1), ["negative"]),
    Probe(
        "repeat_interleave_neg",
        ar(3),
        lambda m, a: a.repeat_interleave(m.tensor([1, -1, 1])),
        ["negative"],
    ),
    Probe(
        "repeat_interleave_len",
        ar(3),
        lambda m, a: a.repeat_interleave(m.tensor([1, 1])),
        ["\\b2\\b", "\\b3\\b"],
    ),
    Probe("tile_neg", ar(3), lambda m, a: a.tile((-1,)), ["negative"]),
    Probe("unfold_size_big", ar(3), lambda m, a: a.unfold(0, 4, 1), ["\\b4\\b", "\\b3\\b"]),
    Probe("unfold_step_0", ar(3), lambda m, a: a.unfold(0, 2, 0), ["step"]),
    Probe("rot90_dims", ar(2, 3), lambda m, a: a.rot90(1, (0, 0)), ["different|dim"]),
    Probe("rot90_ndim", ar(3), lambda m, a: a.rot90(), ["dims"]),
    Probe("diag_embed_dims", ar(2, 3), lambda m, a: m.diag_embed(a, 0, 1, 1), ["identical"]),
    Probe("diagonal_same_dims", ar(2, 3), lambda m, a: a.diagonal(0, 1, 1), ["identical"]),
    Probe(
        "movedim_repeat",
        ar(2, 3),
        lambda m, a: m.movedim(a, (0, 0), (1, 0)),
        ["more than once|repeat"],
    ),
    Probe(
        "movedim_len", ar(2, 3), lambda m, a: m.movedim(a, (0, 1), (1,)), ["movedim", "same number"]
    ),
    Probe("flip_repeat", ar(2, 3), lambda m, a: a.flip(0, 0), ["multiple"]),
    Probe("roll_len", ar(2, 3), lambda m, a: a.roll((1, 2), (0,)), ["shifts"]),
    Probe(
        "tensor_split_zero", ar(3), lambda m, a: m.tensor_split(a, 0), ["sections|larger than 0"]
    ),
    Probe("split_neg", ar(3), lambda m, a: a.split(-1), ["split"]),
    Probe("stack_empty", none, lambda m: m.stack([]), ["non-empty"]),
    Probe("cat_empty", none, lambda m: m.cat([]), ["non-empty"]),
    Probe(
        "stack_dtype_dims",
        lambda m: [m.ones(2), m.ones(3)],
        lambda m, a, b: m.stack([a, b]),
        ["\\[2\\]", "\\[3\\]"],
    ),
    Probe("tril_1d", ar(3), lambda m, a: a.tril(), ["2 dimensions"]),
    Probe("unflatten_neg_twice", ar(6), lambda m, a: a.unflatten(0, (-1, -1)), ["unflatten|-1"]),
    Probe("squeeze_dim_range", ar(2, 3), lambda m, a: a.squeeze((0, 3)), ["range"]),
    Probe("quantile_q_range", ar(3), lambda m, a: m.quantile(a, 1.5), ["\\[0, 1\\]"]),
    Probe("quantile_int", ar(3, dtype="int64"), lambda m, a: m.quantile(a, 0.5), ["float"]),
    Probe(
        "quantile_q_dtype",
        ar(3),
        lambda m, a: m.quantile(a, m.tensor([0.5], dtype=m.float64)),
        ["same dtype"],
    ),
    Probe("median_bool", lambda m: [m.tensor([True])], lambda m, a: a.median(), ["Bool"]),
    Probe("mode_empty", lambda m: [m.ones(0)], lambda m, a: a.mode(), ["non-zero"]),
    Probe("cummax_dim", ar(3), lambda m, a: a.cummax(1), ["range"]),
    Probe("unique_dim_range", ar(3), lambda m, a: m.unique(a, dim=1), ["range"]),
    Probe("std_int", ar(3, dtype="int64"), lambda m, a: a.std(), ["floating"]),
    Probe("prod_dim_range", ar(3), lambda m, a: a.prod(1), ["range"]),
    Probe("mean_bool", lambda m: [m.tensor([True])], lambda m, a: a.mean(), ["Bool"]),
    Probe("topk_neg", ar(3), lambda m, a: a.topk(-1), ["-1"]),
    Probe("sort_dim", ar(3), lambda m, a: a.sort(1), ["range"]),
    Probe("argmax_empty", lambda m: [m.ones(0)], lambda m, a: a.argmax(), ["non-zero|numel"]),
    Probe("max_empty", lambda m: [m.ones(0)], lambda m, a: a.max(), ["numel\\(\\) == 0|dim"]),
    Probe("amax_empty_dim", lambda m: [m.ones(0, 2)], lambda m, a: a.amax(0), ["non-zero"]),
    Probe(
        "conv_same_stride",
        lambda m: [m.ones(1, 1, 5), m.ones(1, 1, 3)],
        lambda m, x, w: F(m).conv1d(x, w, stride=2, padding="same"),
        ["same", "stride"],
    ),
    Probe(
        "conv_groups_bad",
        lambda m: [m.ones(1, 3, 5), m.ones(2, 1, 3)],
        lambda m, x, w: F(m).conv1d(x, w, groups=2),
        ["groups=2", "3 channels"],
    ),
    Probe(
        "conv_bias_shape",
        lambda m: [m.ones(1, 1, 5), m.ones(2, 1, 3), m.ones(3)],
        lambda m, x, w, b: F(m).conv1d(x, w, b),
        ["bias", "\\b2\\b"],
    ),
    Probe(
        "conv_weight_dims",
        lambda m: [m.ones(1, 1, 5, 5), m.ones(2, 1, 3)],
        lambda m, x, w: F(m).conv2d(x, w),
        ["4-D|weight"],
    ),
    Probe(
        "conv_padding_str",
        lambda m: [m.ones(1, 1, 5), m.ones(2, 1, 3)],
        lambda m, x, w: F(m).conv1d(x, w, padding="full"),
        ["full"],
    ),
    Probe(
        "avgpool_pad_big", ar(1, 1, 4, 4), lambda m, x: F(m).avg_pool2d(x, 2, padding=2), ["half"]
    ),
    Probe("maxpool_stride0", ar(1, 1, 4, 4), lambda m, x: F(m).max_pool2d(x, 2, 0), ["stride"]),
    Probe(
        "adaptive_pool_neg",
        ar(1, 1, 4, 4),
        lambda m, x: F(m).adaptive_avg_pool2d(x, -1),
        ["output_size"],
    ),
    Probe(
        "maxunpool_size",
        ar(1, 1, 4, 4),
        lambda m, x: F(m).max_unpool2d(
            *F(m).max_pool2d(x, 2, return_indices=True), 2, output_size=(9, 9)
        ),
        ["output_size|9"],
    ),
    Probe(
        "layer_norm_weight_shape",
        lambda m: [m.ones(2, 3), m.ones(4)],
        lambda m, x, w: F(m).layer_norm(x, (3,), w),
        ["\\b4\\b", "\\b3\\b"],
    ),
    Probe(
        "group_norm_groups",
        ar(2, 3, 4),
        lambda m, x: F(m).group_norm(x, 2),
        ["divisible", "num_groups=2"],
    ),
    Probe(
        "batch_norm_running_shape",
        lambda m: [m.ones(2, 3), m.zeros(4), m.ones(4)],
        lambda m, x, rm, rv: F(m).batch_norm(x, rm, rv),
        ["running_mean", "\\b4\\b"],
    ),
    Probe(
        "embedding_padding_idx",
        lambda m: [m.ones(3, 2)],
        lambda m, w: F(m).embedding(m.tensor([0]), w, padding_idx=5),
        ["[Pp]adding_idx"],
    ),
    Probe(
        "one_hot_float",
        lambda m: [m.tensor([0.0])],
        lambda m, t: F(m).one_hot(t),
        ["LongTensor|Long"],
    ),
    Probe(
        "one_hot_neg", lambda m: [m.tensor([-1])], lambda m, t: F(m).one_hot(t), ["non-negative"]
    ),
    Probe(
        "normalize_int", ar(3, dtype="int64"), lambda m, x: F(m).normalize(x, dim=0), ["floating"]
    ),
    Probe(
        "ce_probs_shape",
        lambda m: [m.zeros(2, 3), m.zeros(2, 4)],
        lambda m, x, t: F(m).cross_entropy(x, t),
        ["2, 3", "2, 4"],
    ),
    Probe(
        "ce_ls_range",
        lambda m: [m.zeros(2, 3), m.tensor([0, 1])],
        lambda m, x, t: F(m).cross_entropy(x, t, label_smoothing=1.5),
        ["label_smoothing", "1.5"],
    ),
    Probe(
        "ce_weight_shape",
        lambda m: [m.zeros(2, 3), m.tensor([0, 1])],
        lambda m, x, t: F(m).cross_entropy(x, t, weight=m.ones(4)),
        ["\\b3\\b", "\\[4\\]"],
    ),
    Probe(
        "kl_div_reduction",
        lambda m: [m.zeros(3), m.zeros(3)],
        lambda m, x, t: F(m).kl_div(x, t, reduction="avg"),
        ["avg"],
    ),
    Probe(
        "mse_reduction",
        lambda m: [m.zeros(3), m.zeros(3)],
        lambda m, x, t: F(m).mse_loss(x, t, reduction="avg"),
        ["avg"],
    ),
    Probe(
        "smooth_l1_neg_beta",
        lambda m: [m.zeros(3), m.zeros(3)],
        lambda m, x, t: F(m).smooth_l1_loss(x, t, beta=-1.0),
        ["beta"],
    ),
    Probe(
        "huber_neg_delta",
        lambda m: [m.zeros(3), m.zeros(3)],
        lambda m, x, t: F(m).huber_loss(x, t, delta=-1.0),
        ["delta"],
    ),
    Probe(
        "margin_ranking_shape",
        lambda m: [m.zeros(3), m.zeros(3), m.ones(2)],
        lambda m, a, b, y: F(m).margin_ranking_loss(a, b, y),
        ["\\b2\\b", "\\b3\\b"],
    ),
    Probe(
        "bce_weight_shape",
        lambda m: [m.tensor([0.5, 0.5]), m.tensor([0.0, 1.0])],
        lambda m, x, t: F(m).binary_cross_entropy(x, t, weight=m.ones(3)),
        ["\\b2\\b", "\\b3\\b"],
    ),
    Probe("item_empty", lambda m: [m.ones(0)], lambda m, a: a.item(), ["0 elements"]),
    Probe("type_bad", ar(2), lambda m, a: a.type("torch.Foo"), ["torch.Foo"]),
    Probe(
        "requires_grad_nonfloat_setattr",
        ar(2, dtype="int64"),
        lambda m, a: setattr(a, "requires_grad", True),
        ["floating point"],
    ),
    Probe("clamp_none", ar(2), lambda m, a: a.clamp(), ["min", "max"]),
    Probe(
        "lerp_dtype",
        lambda m: [m.ones(2), m.ones(2, dtype=m.float64)],
        lambda m, a, b: m.lerp(a, b, 0.5),
        ["end", "float64|double"],
    ),
    Probe(
        "where_shapes",
        lambda m: [m.ones(2), m.ones(3)],
        lambda m, a, b: m.where(a > 0, a, b),
        ["\\[2\\]", "\\[3\\]"],
    ),
    Probe(
        "masked_select_shape",
        lambda m: [m.ones(2), m.tensor([True, False, True])],
        lambda m, a, k: a.masked_select(k),
        ["\\[2\\]", "\\[3\\]"],
    ),
    Probe(
        "bincount_float",
        lambda m: [m.tensor([1.0])],
        lambda m, a: m.bincount(a),
        ["bincount", "float"],
    ),
    Probe("bincount_2d", lambda m: [m.tensor([[1]])], lambda m, a: m.bincount(a), ["1-d"]),
    Probe("histc_int", lambda m: [m.tensor([1])], lambda m, a: m.histc(a), ["Long|int"]),
    Probe(
        "searchsorted_dims",
        lambda m: [m.tensor([[1.0, 2.0]]), m.tensor([1.0])],
        lambda m, s, v: m.searchsorted(s, v),
        ["boundaries"],
    ),
    Probe(
        "multinomial_zero_sum",
        none,
        lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1),
        ["sum|invalid"],
    ),
    Probe(
        "multinomial_too_many", none, lambda m: m.multinomial(m.tensor([0.5, 0.5]), 3), ["\\b3\\b"]
    ),
    Probe("randint_low_high", none, lambda m: m.randint(3, 3, (2,)), ["from|3"]),
    Probe("normal_neg_std", none, lambda m: m.normal(m.zeros(2), -1.0), ["std"]),
    Probe("full_bad_fill", none, lambda m: m.full((2,), "a"), ["str"]),
    Probe("eye_neg", none, lambda m: m.eye(-1), ["-1"]),
    Probe("linspace_neg", none, lambda m: m.linspace(0, 1, -2), ["steps|negative"]),
    Probe("arange_nan", none, lambda m: m.arange(0, float("nan")), ["nan"]),
    Probe("empty_neg", none, lambda m: m.empty(-1), ["negative"]),
    Probe("from_numpy_object", none, lambda m: m.from_numpy(np.array([object()])), ["object"]),
    Probe(
        "cross_dim",
        lambda m: [m.ones(2, 2), m.ones(2, 2)],
        lambda m, a, b: m.cross(a, b, dim=1),
        ["length 3|3"],
    ),
    Probe(
        "dot_dtype",
        lambda m: [m.ones(2), m.ones(2, dtype=m.float64)],
        lambda m, a, b: m.dot(a, b),
        ["float32|Float", "float64|Double"],
    ),
    Probe("dot_2d", lambda m: [m.ones(2, 2), m.ones(2)], lambda m, a, b: m.dot(a, b), ["1-D|1D"]),
    Probe(
        "outer_2d",
        lambda m: [m.ones(2, 2), m.ones(2)],
        lambda m, a, b: m.outer(a, b),
        ["outer", "1-D"],
    ),
    Probe(
        "mv_shape",
        lambda m: [m.ones(2, 3), m.ones(2)],
        lambda m, a, b: m.mv(a, b),
        ["2, 3", "\\[2\\]"],
    ),
    Probe("einsum_bad_char", lambda m: [m.ones(2)], lambda m, a: m.einsum("i->j", a), ["\\bj\\b"]),
    Probe("chunk_neg", ar(3), lambda m, a: a.chunk(-1), ["chunk"]),
    Probe("narrow_neg_len", ar(3), lambda m, a: a.narrow(0, 0, -1), ["-1|length"]),
    Probe("select_range", ar(3), lambda m, a: a.select(0, 5), ["\\b5\\b", "\\b3\\b"]),
    Probe("unbind_0d", lambda m: [m.tensor(1.0)], lambda m, a: a.unbind(), ["dimension|0-d"]),
    Probe(
        "index_put_acc_dtype",
        lambda m: [m.zeros(3), m.tensor([0]), m.ones(1, dtype=m.float64)],
        lambda m, a, i, v: a.index_put_((i,), v, accumulate=True),
        ["Float|Double|dtype"],
    ),
    Probe(
        "inplace_on_leaf_view_bcast",
        lambda m: [m.zeros(2, 3)],
        lambda m, a: a[0].add_(m.ones(2, 3)),
        ["\\[3\\]", "2, 3"],
    ),
    Probe(
        "inplace_shape_mismatch",
        lambda m: [m.zeros(3)],
        lambda m, a: a.mul_(m.ones(2)),
        ["\\b3\\b", "\\b2\\b"],
    ),
    Probe("resize_requires_grad", one(3, rg=True), lambda m, a: a.resize_(4), ["resize", "grad"]),
    Probe(
        "view_requires_grad_inplace", one(3, rg=True), lambda m, a: a.view(3).zero_(), ["leaf|view"]
    ),
    Probe(
        "detach_inplace_version",
        one(2, rg=True),
        lambda m, a: [b := a.exp(), b.detach().zero_(), b.sum().backward()],
        ["inplace", "version"],
    ),
]


@pytest.mark.parametrize("probe", PROBES2, ids=[p.name for p in PROBES2])
def test_bad_input2(probe):
    _run_probe(probe)
