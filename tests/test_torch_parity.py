# ruff: noqa: PLC3002  (the idiom table calls small lambdas inline on purpose)
"""Parity with torch on random inputs: values, dtypes, shapes, gradients and reprs.

Each case is ``fn(m, *inputs)`` run with ``m = torch`` and ``m = engine`` on the same random
arrays (contiguous, transposed and strided-slice layouts for float inputs). Outputs must agree
in shape, dtype and value; gradients of every float input (through a random upstream gradient)
must agree too. A second table compares ``repr`` output, and a third grad_fn names.
"""

from __future__ import annotations

import math
import re
import zlib

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

F32, F64, I64, I32, BOOL, U8 = "float32", "float64", "int64", "int32", "bool", "uint8"


class In:
    """An input spec: shape, dtype, value domain, and whether it gets a gradient."""

    def __init__(self, *shape, dtype=F32, lo=-2.0, hi=2.0, grad=None, away0=False, vals=None):
        self.shape, self.dtype, self.lo, self.hi = shape, dtype, lo, hi
        self.grad = dtype in (F32, F64) if grad is None else grad
        self.away0, self.vals = away0, vals

    def array(self, rng):
        if self.vals is not None:
            return np.asarray(self.vals).astype(self.dtype)
        if self.dtype == BOOL:
            return rng.random(self.shape) < 0.5
        if self.dtype in (I64, I32, U8):
            return rng.integers(int(self.lo), int(self.hi), self.shape).astype(self.dtype)
        a = rng.uniform(self.lo, self.hi, self.shape)
        if self.away0:
            a = np.where(np.abs(a) < 0.1, 0.5, a)
        return a.astype(self.dtype)


def P(lo=0.2, hi=2.0, *shape, **kw):
    return In(*shape, lo=lo, hi=hi, **kw)


class C:
    def __init__(self, name, fn, *inputs, grad=True, rtol=1e-4, atol=1e-5, layouts=True,
                 xfail=None, gtol=None):
        self.name, self.fn, self.inputs = name, fn, inputs
        self.grad, self.rtol, self.atol, self.layouts = grad, rtol, atol, layouts
        self.xfail, self.gtol = xfail, gtol or (rtol * 10, atol * 10)


def F(m):
    return m.nn.functional


# ----------------------------------------------------------------------------- the table
A = In(3, 4)
CASES = [
    # -- elementwise and operators, with broadcasting
    C("add_bcast", lambda m, a, b: a + b, In(3, 4), In(4)),
    C("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=2), In(3, 4), In(3, 1)),
    C("mul_bcast3", lambda m, a, b: a * b, In(2, 1, 4), In(3, 1)),
    C("div", lambda m, a, b: a / b, In(3, 4), In(3, 4, away0=True)),
    C("div_floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"), In(3, 4),
      In(3, 4, away0=True), grad=False),
    C("div_trunc", lambda m, a, b: m.div(a, b, rounding_mode="trunc"), In(3, 4),
      In(3, 4, away0=True), grad=False),
    C("pow_tensor", lambda m, a, b: a ** b, P(0.5, 2, 3, 4), In(3, 4)),
    C("pow_scalar", lambda m, a: a ** 3, In(3, 4)),
    C("pow_frac", lambda m, a: a.pow(0.5), P(0.2, 2, 3, 4)),
    C("rpow", lambda m, a: 2 ** a, In(3, 4)),
    C("rsub", lambda m, a: 1 - a, In(3, 4)),
    C("rdiv", lambda m, a: 2 / a, In(3, 4, away0=True)),
    C("neg_abs", lambda m, a: (-a).abs(), In(3, 4, away0=True)),
    C("exp_log", lambda m, a: a.exp() + a.abs().log(), In(3, 4, away0=True)),
    C("trig", lambda m, a: a.sin() * a.cos() + a.tanh() + a.atan(), In(3, 4)),
    C("sigmoid", lambda m, a: m.sigmoid(a), In(3, 4)),
    C("sqrt_rsqrt", lambda m, a: a.sqrt() + a.rsqrt(), P(0.2, 2, 3, 4)),
    C("clamp", lambda m, a: a.clamp(-0.5, 0.7), In(3, 4)),
    C("clamp_min", lambda m, a: m.clamp(a, min=0.1), In(3, 4)),
    C("clamp_tensor", lambda m, a, lo: m.clamp(a, min=lo), In(3, 4), In(4)),
    C("maximum", lambda m, a, b: m.maximum(a, b), In(3, 4), In(4)),
    C("minimum", lambda m, a, b: m.minimum(a, b), In(3, 4), In(3, 4)),
    C("where", lambda m, c, a, b: m.where(c, a, b), In(3, 4, dtype=BOOL), In(3, 4), In(4)),
    C("where_scalar", lambda m, a: m.where(a > 0, a, 0.0), In(3, 4)),
    C("lerp", lambda m, a, b: m.lerp(a, b, 0.3), In(3, 4), In(3, 4)),
    C("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), In(3, 4), In(4), In(3, 1)),
    C("addcdiv", lambda m, a, b, c: m.addcdiv(a, b, c, value=2), In(3, 4), In(4),
      In(3, 1, away0=True)),
    C("remainder", lambda m, a: m.remainder(a, 0.7), In(3, 4), grad=False),
    C("fmod", lambda m, a: m.fmod(a, 0.7), In(3, 4), grad=False),
    C("floor_ceil_round", lambda m, a: a.floor() + a.ceil() + a.round() + a.trunc(),
      In(3, 4), grad=False),
    C("sign_frac", lambda m, a: a.sign() + a.frac(), In(3, 4, away0=True), grad=False),
    C("atan2", lambda m, a, b: m.atan2(a, b), In(3, 4), In(3, 4, away0=True)),
    C("erf_expm1_log1p", lambda m, a: m.erf(a) + a.expm1() + a.abs().log1p(), In(3, 4)),
    C("square_reciprocal", lambda m, a: a.square() + a.reciprocal(), In(3, 4, away0=True)),
    C("compare", lambda m, a, b: ((a < b) | (a >= 1)) & ~(a == b), In(3, 4), In(4),
      grad=False),
    C("logical", lambda m, a, b: m.logical_xor(a, b) + m.logical_and(a, b).int(),
      In(3, 4, dtype=BOOL), In(3, 4, dtype=BOOL), grad=False),
    C("isnan_isinf", lambda m, a: m.isfinite(a / (a - a)).sum() + m.isnan(a.log()).sum(),
      In(3, 4), grad=False),
    C("nan_to_num", lambda m, a: m.nan_to_num(a.log(), nan=0.5, neginf=-9.0), In(3, 4),
      grad=False),
    # -- type promotion
    C("int_plus_float_scalar", lambda m, a: a + 1.5, In(3, dtype=I64, lo=-5, hi=5)),
    C("int_div_int", lambda m, a, b: a / b, In(3, dtype=I64, lo=1, hi=5),
      In(3, dtype=I64, lo=1, hi=5)),
    C("int_floordiv", lambda m, a, b: a // b, In(6, dtype=I64, lo=-9, hi=9),
      In(6, dtype=I64, lo=1, hi=4)),
    C("int_mod_neg", lambda m, a: a % 3, In(6, dtype=I64, lo=-9, hi=9)),
    C("int32_plus_int64", lambda m, a, b: a + b, In(3, dtype=I32, lo=0, hi=5),
      In(3, dtype=I64, lo=0, hi=5)),
    C("bool_plus_int", lambda m, a: a + 1, In(3, dtype=BOOL)),
    C("bool_sum", lambda m, a: a.sum(), In(3, 4, dtype=BOOL)),
    C("uint8_mul", lambda m, a: a * 2, In(4, dtype=U8, lo=0, hi=200)),
    C("f32_plus_f64", lambda m, a, b: a + b, In(3), In(3, dtype=F64)),
    C("f32_plus_f64_0d", lambda m, a, b: a + b, In(3), In(dtype=F64)),
    C("int_plus_f32_0d", lambda m, a, b: a + b, In(3, dtype=I64, lo=0, hi=5), In()),
    C("int_pow_float", lambda m, a: a ** 0.5, In(3, dtype=I64, lo=0, hi=9)),
    C("int_true_div_scalar", lambda m, a: a / 2, In(3, dtype=I64, lo=0, hi=9)),
    C("int_mean_dtype", lambda m, a: a.sum(dtype=m.float64), In(3, dtype=I32, lo=0, hi=9)),
    C("int_sum_is_int64", lambda m, a: a.sum(), In(3, dtype=I32, lo=0, hi=9)),
    # -- reductions with dims and keepdim
    C("sum_all", lambda m, a: a.sum(), In(3, 4)),
    C("sum_dim", lambda m, a: a.sum(1), In(3, 4, 5)),
    C("sum_dims_keep", lambda m, a: a.sum((0, -1), keepdim=True), In(3, 4, 5)),
    C("mean_dim", lambda m, a: a.mean(-1), In(3, 4)),
    C("mean_dims_keep", lambda m, a: m.mean(a, dim=(0, 2), keepdim=True), In(3, 4, 5)),
    C("prod_dim", lambda m, a: a.prod(1), In(3, 4)),
    C("prod_all", lambda m, a: a.prod(), In(2, 3)),
    C("amax_dims", lambda m, a: a.amax((0, 1)), In(3, 4, 5)),
    C("amin_keep", lambda m, a: a.amin(-1, keepdim=True), In(3, 4)),
    C("max_all", lambda m, a: a.max(), In(3, 4)),
    C("max_dim", lambda m, a: a.max(1), In(3, 4)),
    C("min_dim_keep", lambda m, a: m.min(a, dim=0, keepdim=True), In(3, 4)),
    C("max_binary", lambda m, a, b: m.max(a, b), In(3, 4), In(3, 4)),
    C("argmax", lambda m, a: (a.argmax(), a.argmax(1), a.argmin(0, keepdim=True)), In(3, 4),
      grad=False),
    C("var_std", lambda m, a: (a.var(), a.std(1), a.var(0, unbiased=False)), In(3, 4)),
    C("var_correction", lambda m, a: m.var(a, dim=1, correction=0, keepdim=True), In(3, 4)),
    C("var_mean", lambda m, a: m.var_mean(a, 1), In(3, 4)),
    C("logsumexp", lambda m, a: m.logsumexp(a, 1), In(3, 4)),
    C("norm", lambda m, a: (a.norm(), a.norm(dim=1), a.norm(p=1), m.norm(a, p=float("inf"))),
      In(3, 4)),
    C("all_any", lambda m, a: (a.all(), a.any(1), (a > 0).all(0)), In(3, 4, dtype=BOOL),
      grad=False),
    C("cumsum", lambda m, a: a.cumsum(1), In(3, 4)),
    C("cumprod", lambda m, a: a.cumprod(0), In(3, 4, away0=True)),
    C("cummax", lambda m, a: m.cummax(a, 1), In(3, 4)),
    C("median", lambda m, a: (a.median(), a.median(1)), In(3, 5)),
    C("sort", lambda m, a: a.sort(1, descending=True), In(3, 5)),
    C("argsort", lambda m, a: a.argsort(0), In(4, 3), grad=False),
    C("topk", lambda m, a: a.topk(2, dim=1), In(3, 5)),
    C("count_nonzero", lambda m, a: m.count_nonzero(a > 0, dim=1), In(3, 4), grad=False),
    C("softmax", lambda m, a: m.softmax(a, dim=1), In(3, 4)),
    C("log_softmax", lambda m, a: a.log_softmax(-1), In(3, 4)),
    C("aminmax", lambda m, a: m.aminmax(a, dim=1), In(3, 4), grad=False),
    C("nansum", lambda m, a: m.nansum(a.log(), 1), In(3, 4), grad=False),
    C("std_mean_all", lambda m, a: m.std_mean(a), In(3, 4)),
    # -- views and shape ops
    C("view", lambda m, a: a.view(4, 3) * 2, In(3, 4), layouts=False),
    C("reshape", lambda m, a: a.reshape(2, -1), In(3, 4)),
    C("permute", lambda m, a: a.permute(2, 0, 1), In(2, 3, 4)),
    C("transpose_t", lambda m, a: a.transpose(0, 1) + a.t() + a.T, In(3, 3)),
    C("mT", lambda m, a: a.mT, In(2, 3, 4)),
    C("squeeze_unsqueeze", lambda m, a: a.unsqueeze(1).squeeze(), In(3, 1, 4)),
    C("squeeze_dim", lambda m, a: a.squeeze(1), In(3, 1, 4)),
    C("flatten", lambda m, a: a.flatten(1), In(2, 3, 4)),
    C("unflatten", lambda m, a: a.unflatten(1, (2, 2)), In(3, 4)),
    C("narrow_select", lambda m, a: a.narrow(1, 1, 2).select(0, -1), In(3, 4)),
    C("expand", lambda m, a: a.expand(2, 3, 4), In(3, 1)),
    C("expand_as", lambda m, a, b: a.expand_as(b), In(1, 4), In(3, 4, grad=False)),
    C("repeat", lambda m, a: a.repeat(2, 3), In(2, 3)),
    C("tile", lambda m, a: m.tile(a, (2,)), In(2, 3)),
    C("chunk", lambda m, a: a.chunk(3, 1), In(2, 7)),
    C("split_sizes", lambda m, a: a.split([1, 3], dim=1), In(2, 4)),
    C("split_int", lambda m, a: m.split(a, 2), In(5, 2)),
    C("unbind", lambda m, a: a.unbind(1), In(2, 3)),
    C("movedim", lambda m, a: m.movedim(a, 0, -1), In(2, 3, 4)),
    C("flip", lambda m, a: a.flip(0, 1), In(3, 4)),
    C("roll", lambda m, a: m.roll(a, 1, 1), In(3, 4)),
    C("roll_flat", lambda m, a: a.roll(-2), In(3, 4)),
    C("tril_triu", lambda m, a: a.tril() + a.triu(1), In(4, 4)),
    C("diag", lambda m, a: m.diag(a), In(4, 4)),
    C("diag_embed", lambda m, a: m.diag(a), In(4)),
    C("diagonal", lambda m, a: a.diagonal(), In(3, 4)),
    C("trace", lambda m, a: a.trace(), In(3, 3)),
    C("cat", lambda m, a, b: m.cat([a, b], 1), In(2, 3), In(2, 2)),
    C("cat_neg_dim", lambda m, a, b: m.cat((a, b), dim=-2), In(2, 3), In(1, 3)),
    C("stack", lambda m, a, b: m.stack([a, b], 1), In(2, 3), In(2, 3)),
    C("hstack_vstack", lambda m, a, b: (m.hstack([a, b]), m.vstack([a, b])), In(2, 3),
      In(2, 3)),
    C("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), In(3, 1)),
    C("contiguous_clone", lambda m, a: a.t().contiguous().clone() * 1, In(3, 4)),
    C("meshgrid", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), In(3), In(4)),
    C("cross", lambda m, a, b: m.cross(a, b, dim=1), In(2, 3), In(2, 3)),
    C("diff", lambda m, a: m.diff(a, dim=1), In(3, 4)),
    # -- indexing
    C("getitem_basic", lambda m, a: a[1:, ::2], In(3, 4)),
    C("getitem_neg", lambda m, a: a[-1, -2], In(3, 4)),
    C("getitem_ellipsis_none", lambda m, a: a[..., None, 1], In(2, 3, 4)),
    C("getitem_long", lambda m, a, i: a[i], In(5, 3), In(4, dtype=I64, lo=-5, hi=5)),
    C("getitem_long2", lambda m, a, i, j: a[i, j], In(5, 3), In(4, dtype=I64, lo=0, hi=5),
      In(4, dtype=I64, lo=0, hi=3)),
    C("getitem_long_slice", lambda m, a, i: a[:, i], In(3, 5), In(2, 2, dtype=I64, lo=0, hi=5)),
    C("getitem_list", lambda m, a: a[[0, 2, 2]], In(3, 4)),
    C("getitem_bool", lambda m, a: a[a > 0], In(3, 4)),
    C("getitem_bool_row", lambda m, a, k: a[k], In(4, 3), In(4, dtype=BOOL)),
    C("index_select", lambda m, a, i: a.index_select(1, i), In(3, 5),
      In(4, dtype=I64, lo=0, hi=5)),
    C("gather", lambda m, a, i: a.gather(1, i), In(3, 5), In(3, 2, dtype=I64, lo=0, hi=5)),
    C("take_along_dim", lambda m, a, i: m.take_along_dim(a, i, 1), In(3, 5),
      In(3, 2, dtype=I64, lo=0, hi=5)),
    C("scatter", lambda m, a, i, s: a.scatter(1, i, s), In(3, 5),
      In(3, 1, dtype=I64, lo=0, hi=5), In(3, 1)),
    C("scatter_add", lambda m, a, i, s: a.scatter_add(1, i, s), In(3, 5),
      In(3, 4, dtype=I64, lo=0, hi=5), In(3, 4)),
    C("index_add", lambda m, a, i, s: a.index_add(0, i, s), In(4, 3),
      In(5, dtype=I64, lo=0, hi=4), In(5, 3)),
    C("masked_fill", lambda m, a: a.masked_fill(a < 0, 0.5), In(3, 4)),
    C("masked_select", lambda m, a: m.masked_select(a, a > 0.5), In(3, 4)),
    C("nonzero", lambda m, a: (m.nonzero(a > 0), (a > 0).nonzero(as_tuple=True)), In(3, 4),
      grad=False),
    C("setitem_slice", lambda m, a: _setitem(m, a, (slice(None), 1), 0.0), In(3, 4)),
    C("setitem_tensor", lambda m, a, v: _setitem(m, a, (0,), v), In(3, 4), In(4)),
    C("setitem_bool", lambda m, a: _setitem(m, a, a > 0, -1.0), In(3, 4)),
    C("setitem_long", lambda m, a, i: _setitem(m, a, (i,), 2.0), In(5, 2),
      In(3, dtype=I64, lo=0, hi=5)),
    C("put_index", lambda m, a, i, v: a.index_put((i,), v, accumulate=True), In(5),
      In(6, dtype=I64, lo=0, hi=5), In(6)),
    # -- matmul family
    C("matmul_2d", lambda m, a, b: a @ b, In(3, 4), In(4, 5)),
    C("matmul_1d_1d", lambda m, a, b: m.matmul(a, b), In(4), In(4)),
    C("matmul_2d_1d", lambda m, a, b: a @ b, In(3, 4), In(4)),
    C("matmul_1d_2d", lambda m, a, b: a @ b, In(4), In(4, 5)),
    C("matmul_batched_bcast", lambda m, a, b: a @ b, In(2, 1, 3, 4), In(5, 4, 2)),
    C("matmul_3d_1d", lambda m, a, b: a @ b, In(2, 3, 4), In(4)),
    C("mm_bmm", lambda m, a, b: (m.mm(a[0], b[0]), m.bmm(a, b)), In(2, 3, 4), In(2, 4, 5)),
    C("addmm", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2), In(5), In(3, 4),
      In(4, 5)),
    C("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b), In(2, 3, 5), In(2, 3, 4), In(2, 4, 5)),
    C("baddbmm_bcast_alpha", lambda m, c, a, b: m.baddbmm(c, a, b, beta=0.5, alpha=-2),
      In(3, 1), In(2, 3, 4), In(2, 4, 5)),
    C("addmm_beta0", lambda m, c, a, b: m.addmm(c, a, b, beta=0), In(3, 5), In(3, 4), In(4, 5)),
    C("rsub_fn", lambda m, a, b: (m.rsub(a, b, alpha=2), m.rsub(a, 3), 1.5 - a), In(3, 4),
      In(4, dtype=F64)),
    C("stack_grad", lambda m, a, b: (m.stack([a, b], dim=1), m.stack((a, b), -1)), In(3, 4),
      In(3, 4)),
    C("dot_outer_mv", lambda m, a, b, c: (m.dot(a, b), m.outer(a, b), m.mv(c, a)), In(4),
      In(4), In(3, 4)),
    C("einsum_mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b), In(3, 4), In(4, 5)),
    C("einsum_batch", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), In(2, 3, 4),
      In(2, 4, 5)),
    C("einsum_trace_diag", lambda m, a: (m.einsum("ii", a), m.einsum("ii->i", a)), In(3, 3)),
    C("einsum_transpose_sum", lambda m, a: (m.einsum("ij->ji", a), m.einsum("ij->", a)),
      In(3, 4)),
    C("einsum_outer", lambda m, a, b: m.einsum("i,j->ij", a, b), In(3), In(4)),
    C("einsum_ellipsis", lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), In(2, 3, 4),
      In(2, 4, 2)),
    C("einsum_ellipsis_bcast", lambda m, a, b: (m.einsum("b...,b...->b", a, b),
                                                m.einsum("i...i", a.transpose(0, 2)[:3])),
      In(3, 2, 3), In(1, 2, 3)),
    C("einsum_diag_mixed", lambda m, a, b: m.einsum("iij,jk->ki", a, b), In(2, 2, 3), In(3, 4)),
    C("einsum_list_operands", lambda m, a, b: m.einsum("bn,anm,bm->ba", a, m.ones(2, 3, 4), b),
      In(5, 3), In(5, 4)),
    C("tensordot", lambda m, a, b: m.tensordot(a, b, dims=([1], [0])), In(3, 4), In(4, 5)),
    C("tensordot_int", lambda m, a, b: m.tensordot(a, b, dims=2), In(2, 3, 4), In(3, 4, 5)),
    C("kron", lambda m, a, b: m.kron(a, b), In(2, 2), In(2, 3)),
    C("diff_prepend_n2", lambda m, a, b: m.diff(a, n=2, dim=0, prepend=b), In(4, 3), In(1, 3)),
    C("logaddexp", lambda m, a, b: m.logaddexp(a, b), In(3, 4), In(4)),
    C("inner", lambda m, a, b: m.inner(a, b), In(2, 3), In(4, 3)),
    C("tensor_split_sections", lambda m, a: m.tensor_split(a, 3, dim=1), In(2, 7)),
    C("tensor_split_indices", lambda m, a: a.tensor_split([1, 4], dim=1), In(2, 7)),
    C("hsplit_vsplit", lambda m, a: (m.hsplit(a, 2), m.vsplit(a, [1])), In(2, 4)),
    C("nanmean", lambda m, a: m.nanmean(a.log(), dim=1), In(3, 4), grad=False),
    C("deg2rad_ravel", lambda m, a: m.deg2rad(a).ravel() + m.rad2deg(a).t().ravel(), In(2, 2)),
    C("bincount_weights", lambda m, i, w: m.bincount(i, w, minlength=7), In(6, dtype=I64, lo=0,
                                                                            hi=5), In(6),
      grad=False),
    # -- nn.functional
    C("relu_family", lambda m, a: (F(m).relu(a), F(m).leaky_relu(a, 0.1), F(m).elu(a),
                                   F(m).selu(a), F(m).celu(a), F(m).relu6(a * 4)),
      In(3, 4, away0=True)),
    C("gelu", lambda m, a: (F(m).gelu(a), F(m).gelu(a, approximate="tanh")), In(3, 4)),
    C("silu_mish_softplus", lambda m, a: (F(m).silu(a), F(m).mish(a), F(m).softplus(a, beta=2)),
      In(3, 4)),
    C("hard_acts", lambda m, a: (F(m).hardtanh(a), F(m).hardsigmoid(a), F(m).hardswish(a)),
      In(3, 4, away0=True, lo=-4, hi=4)),
    C("logsigmoid_softsign", lambda m, a: (F(m).logsigmoid(a), F(m).softsign(a),
                                           F(m).tanhshrink(a)), In(3, 4)),
    C("glu", lambda m, a: F(m).glu(a, -1), In(3, 4)),
    C("softmax_dims", lambda m, a: (F(m).softmax(a, dim=0), F(m).log_softmax(a, dim=2),
                                    F(m).softmin(a, dim=1)), In(2, 3, 4)),
    C("linear", lambda m, x, w, b: F(m).linear(x, w, b), In(2, 3, 4), In(5, 4), In(5)),
    C("linear_1d", lambda m, x, w, b: F(m).linear(x, w, b), In(4), In(5, 4), In(5)),
    C("linear_nobias", lambda m, x, w: F(m).linear(x, w), In(3, 4), In(5, 4)),
    C("bilinear", lambda m, a, b, w: F(m).bilinear(a, b, w), In(2, 3), In(2, 4), In(5, 3, 4)),
    C("conv1d", lambda m, x, w, b: F(m).conv1d(x, w, b, stride=2, padding=1), In(2, 3, 9),
      In(4, 3, 3), In(4), rtol=1e-4, atol=1e-4),
    C("conv2d", lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1), In(2, 3, 6, 6),
      In(4, 3, 3, 3), In(4), atol=1e-4),
    C("conv2d_stride_dil_groups", lambda m, x, w: F(m).conv2d(x, w, stride=2, dilation=2,
                                                              groups=2, padding=2),
      In(1, 4, 7, 7), In(6, 2, 3, 3), atol=1e-4),
    C("conv2d_same", lambda m, x, w: F(m).conv2d(x, w, padding="same"), In(1, 2, 5, 5),
      In(3, 2, 3, 3), atol=1e-4),
    C("conv_transpose2d", lambda m, x, w: F(m).conv_transpose2d(x, w, stride=2, padding=1),
      In(1, 2, 4, 4), In(2, 3, 3, 3), atol=1e-4),
    C("max_pool2d", lambda m, x: F(m).max_pool2d(x, 2), In(2, 3, 6, 6)),
    C("max_pool2d_pad_stride", lambda m, x: F(m).max_pool2d(x, 3, stride=2, padding=1),
      In(1, 2, 7, 7)),
    C("max_pool1d", lambda m, x: F(m).max_pool1d(x, 2), In(2, 3, 8)),
    C("avg_pool2d", lambda m, x: F(m).avg_pool2d(x, 2), In(2, 3, 6, 6)),
    C("avg_pool2d_pad", lambda m, x: F(m).avg_pool2d(x, 3, stride=2, padding=1,
                                                     count_include_pad=False), In(1, 2, 7, 7)),
    C("adaptive_avg_pool2d", lambda m, x: F(m).adaptive_avg_pool2d(x, (2, 3)), In(2, 3, 6, 7)),
    C("adaptive_avg_pool2d_1", lambda m, x: F(m).adaptive_avg_pool2d(x, 1), In(2, 3, 5, 5)),
    C("adaptive_max_pool2d", lambda m, x: F(m).adaptive_max_pool2d(x, 2), In(2, 3, 6, 6)),
    C("adaptive_max_pool2d_indices", lambda m, x: (
        F(m).adaptive_max_pool2d(x, (3, 4), return_indices=True),
        F(m).adaptive_max_pool2d(x[0], (None, 2))), In(2, 3, 7, 5)),
    C("adaptive_max_pool1d", lambda m, x: F(m).adaptive_max_pool1d(x, 3, return_indices=True),
      In(2, 3, 7)),
    C("adaptive_max_pool_modules", lambda m, x: (m.nn.AdaptiveMaxPool2d((2, 3))(x),
                                                 m.nn.AdaptiveMaxPool1d(4)(x[0]),
                                                 m.nn.AdaptiveMaxPool2d(3, True)(x)),
      In(2, 3, 5, 6)),
    C("layer_norm", lambda m, x, w, b: F(m).layer_norm(x, (4,), w, b), In(2, 3, 4), In(4),
      In(4)),
    C("group_norm", lambda m, x, w, b: F(m).group_norm(x, 2, w, b), In(2, 4, 3), In(4), In(4),
      atol=1e-4),
    C("batch_norm_train", lambda m, x, w, b: F(m).batch_norm(x, None, None, w, b,
                                                             training=True), In(4, 3, 5), In(3),
      In(3), atol=1e-4),
    C("batch_norm_eval", lambda m, x, rm, rv: F(m).batch_norm(x, rm, rv, training=False),
      In(4, 3), In(3, grad=False), P(0.5, 2, 3, grad=False)),
    C("instance_norm", lambda m, x: F(m).instance_norm(x), In(2, 3, 5), atol=1e-4),
    C("instance_norm_affine", lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b),
      In(2, 3, 4, 5), In(3), In(3), atol=1e-4),
    C("instance_norm_running", lambda m, x, rm, rv: (
        F(m).instance_norm(x, rm, rv, momentum=0.3), rm, rv,
        F(m).instance_norm(x, rm, rv, use_input_stats=False)), In(2, 3, 6),
      In(3, grad=False), P(0.5, 2, 3, grad=False), atol=1e-4),
    C("instance_norm_modules", lambda m, x: (
        m.nn.InstanceNorm1d(3)(x[0]), m.nn.InstanceNorm2d(2, affine=True)(x),
        m.nn.InstanceNorm1d(3, track_running_stats=True).eval()(x[0])), In(2, 2, 3, 4),
      atol=1e-4),
    C("normalize", lambda m, x: F(m).normalize(x, dim=1), In(3, 4)),
    C("cosine_similarity", lambda m, a, b: F(m).cosine_similarity(a, b), In(3, 4), In(3, 4)),
    C("pairwise_distance", lambda m, a, b: F(m).pairwise_distance(a, b), In(3, 4), In(3, 4)),
    C("pad_constant", lambda m, x: F(m).pad(x, (1, 2, 0, 1), value=0.5), In(2, 3, 4)),
    C("pad_reflect", lambda m, x: F(m).pad(x, (2, 1), mode="reflect"), In(2, 3, 4)),
    C("pad_replicate", lambda m, x: F(m).pad(x, (1, 1, 2, 0), mode="replicate"), In(1, 2, 3, 4)),
    C("embedding", lambda m, i, w: F(m).embedding(i, w), In(2, 3, dtype=I64, lo=0, hi=5),
      In(5, 4)),
    C("one_hot", lambda m, i: F(m).one_hot(i, 5), In(4, dtype=I64, lo=0, hi=5), grad=False),
    C("dropout_eval", lambda m, x: F(m).dropout(x, 0.5, training=False), In(3, 4)),
    C("interpolate_nearest", lambda m, x: F(m).interpolate(x, scale_factor=2), In(1, 2, 3, 3)),
    C("interpolate_bilinear", lambda m, x: F(m).interpolate(x, size=(5, 4), mode="bilinear",
                                                            align_corners=False),
      In(1, 2, 3, 3)),
    C("interpolate_bilinear_align", lambda m, x: (
        F(m).interpolate(x, size=(7, 2), mode="bilinear", align_corners=True),
        F(m).interpolate(x, scale_factor=1.5, mode="bilinear"),
        F(m).interpolate(x, scale_factor=(0.5, 2), mode="bilinear", align_corners=True)),
      In(2, 2, 4, 3)),
    C("interpolate_linear", lambda m, x: (F(m).interpolate(x, scale_factor=2.5, mode="linear"),
                                          F(m).interpolate(x, size=2, mode="linear",
                                                           align_corners=True)), In(2, 3, 5)),
    C("upsample_bilinear_modules", lambda m, x: (
        m.nn.Upsample(scale_factor=2, mode="bilinear")(x),
        m.nn.Upsample(size=(3, 5), mode="bilinear", align_corners=True)(x),
        m.nn.UpsamplingBilinear2d(scale_factor=2)(x)), In(1, 2, 3, 4)),
    C("pixel_shuffle", lambda m, x: F(m).pixel_shuffle(x, 2), In(1, 8, 2, 3)),
    C("pixel_unshuffle", lambda m, x: (F(m).pixel_unshuffle(x, 2),
                                       F(m).pixel_shuffle(F(m).pixel_unshuffle(x, 2), 2)),
      In(2, 3, 4, 6)),
    C("pixel_shuffle_modules", lambda m, x: (m.nn.PixelShuffle(3)(x),
                                             m.nn.PixelUnshuffle(1)(x)), In(2, 9, 2, 2)),
    C("unfold", lambda m, x: F(m).unfold(x, 2, stride=1), In(1, 2, 3, 4)),
    # -- losses
    C("cross_entropy", lambda m, x, t: F(m).cross_entropy(x, t), In(4, 5),
      In(4, dtype=I64, lo=0, hi=5)),
    C("cross_entropy_opts", lambda m, x, t, w: F(m).cross_entropy(
        x, t, weight=w, ignore_index=1, label_smoothing=0.1), In(6, 5),
      In(6, dtype=I64, lo=0, hi=5), P(0.5, 2, 5, grad=False)),
    C("cross_entropy_sum_none", lambda m, x, t: (F(m).cross_entropy(x, t, reduction="sum"),
                                                 F(m).cross_entropy(x, t, reduction="none")),
      In(4, 5), In(4, dtype=I64, lo=0, hi=5)),
    C("cross_entropy_nd", lambda m, x, t: F(m).cross_entropy(x, t), In(2, 5, 3),
      In(2, 3, dtype=I64, lo=0, hi=5)),
    C("cross_entropy_probs", lambda m, x, t: F(m).cross_entropy(x, t.softmax(1)), In(4, 5),
      In(4, 5, grad=False)),
    C("nll_loss", lambda m, x, t: F(m).nll_loss(F(m).log_softmax(x, 1), t), In(4, 5),
      In(4, dtype=I64, lo=0, hi=5)),
    C("mse_l1", lambda m, a, b: (F(m).mse_loss(a, b), F(m).l1_loss(a, b, reduction="sum")),
      In(3, 4), In(3, 4)),
    C("smooth_l1_huber", lambda m, a, b: (F(m).smooth_l1_loss(a, b, beta=0.5),
                                          F(m).huber_loss(a, b, delta=0.7)), In(3, 4), In(3, 4)),
    C("bce", lambda m, p, t: F(m).binary_cross_entropy(p, t), P(0.05, 0.95, 3, 4),
      P(0, 1, 3, 4, grad=False)),
    C("bce_logits", lambda m, x, t, pw: F(m).binary_cross_entropy_with_logits(x, t,
                                                                              pos_weight=pw),
      In(3, 4), P(0, 1, 3, 4, grad=False), P(0.5, 2, 4, grad=False)),
    C("kl_div", lambda m, x, t: F(m).kl_div(x.log_softmax(1), t.softmax(1),
                                            reduction="batchmean"), In(3, 4), In(3, 4)),
    C("margin_losses", lambda m, a, b, y: (F(m).margin_ranking_loss(a, b, y),
                                           F(m).soft_margin_loss(a, y),
                                           F(m).hinge_embedding_loss(a, y)),
      In(4), In(4), In(4, vals=[1.0, -1.0, 1.0, -1.0], grad=False)),
    C("poisson_gaussian_nll", lambda m, a, b, v: (F(m).poisson_nll_loss(a, b),
                                                  F(m).gaussian_nll_loss(a, b, v)),
      In(4), P(0.1, 2, 4), P(0.5, 2, 4)),
    C("triplet", lambda m, a, p, n: F(m).triplet_margin_loss(a, p, n), In(3, 4), In(3, 4),
      In(3, 4), atol=1e-4),
    C("cosine_embedding", lambda m, a, b, y: F(m).cosine_embedding_loss(a, b, y), In(3, 4),
      In(3, 4), In(3, vals=[1.0, -1.0, 1.0], grad=False)),
    C("multi_margin", lambda m, x, t: F(m).multi_margin_loss(x, t), In(3, 4),
      In(3, dtype=I64, lo=0, hi=4)),
    C("index_range", lambda m, a: (a[range(2)], a[range(3), range(1, 4)], a[:, range(3, 0, -1)],
                                   _setitem(m, a, (range(2), 0), 5.0)), In(3, 4)),
]


def _setitem(m, a, idx, v):
    a = a.clone()
    a[idx] = v
    return a


# ----------------------------------------------------------------------------- machinery

def _seed(name):
    return zlib.crc32(name.encode())


def _build(m, arrays, specs, layout):
    """Leaves (requires_grad where the spec says) and the views handed to the op."""
    leaves, args = [], []
    for a, s in zip(arrays, specs):
        is_float = s.dtype in (F32, F64)
        lay = layout if (is_float and a.ndim >= 2) else "contig"
        if lay == "transposed":
            base = m.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)))
        elif lay == "strided":
            big = np.repeat(a, 2, axis=-1)
            big[..., 1::2] = 7.0
            base = m.tensor(big)
        else:
            base = m.tensor(a)
        if s.grad:
            base.requires_grad_(True)
        leaves.append(base)
        if lay == "transposed":
            args.append(base.transpose(-1, -2))
        elif lay == "strided":
            args.append(base[..., ::2])
        else:
            args.append(base)
    return leaves, args


def _flat(r):
    if isinstance(r, (tuple, list)):
        out = []
        for x in r:
            out.extend(_flat(x))
        return out
    return [r]


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def assert_same(e, t, rtol, atol, where=""):
    """Engine result ``e`` equals torch result ``t``: types, shapes, dtypes, values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, engine.Tensor), f"{where}: got {type(e).__name__}, want a Tensor"
        assert tuple(e.shape) == tuple(t.shape), f"{where}: shape {tuple(e.shape)} != " \
                                                 f"{tuple(t.shape)}"
        assert str(e.dtype) == str(t.dtype), f"{where}: dtype {e.dtype} != {t.dtype}"
        a, b = _np(e), _np(t)
        if b.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b, err_msg=where)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
    elif isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)), f"{where}: got {type(e).__name__}, want a tuple"
        assert len(e) == len(t), f"{where}: {len(e)} results, want {len(t)}"
        if hasattr(t, "_fields") or hasattr(t, "values") and hasattr(t, "indices"):
            for f in ("values", "indices"):
                if hasattr(t, f):
                    assert hasattr(e, f), f"{where}: result lacks .{f} (a named tuple)"
        for i, (x, y) in enumerate(zip(e, t)):
            assert_same(x, y, rtol, atol, f"{where}[{i}]")
    elif isinstance(t, (bool, int, float)):
        assert type(e) is type(t), f"{where}: got {type(e).__name__}, want {type(t).__name__}"
        assert e == pytest.approx(t, rel=rtol, abs=atol, nan_ok=True), where
    elif isinstance(t, (torch.dtype, torch.device, torch.Size)):
        assert str(e) == str(t), f"{where}: {e} != {t}"
    else:
        assert e == t, where


def run_case(case: C, layout: str):
    rng = np.random.default_rng(_seed(case.name))
    arrays = [s.array(rng) for s in case.inputs]
    results = {}
    for name, m in (("torch", torch), ("engine", engine)):
        leaves, args = _build(m, arrays, case.inputs, layout)
        out = case.fn(m, *args)
        grads = None
        if case.grad:
            outs = [o for o in _flat(out) if isinstance(o, m.Tensor) and o.requires_grad
                    and o.dtype in (m.float32, m.float64)]
            if outs:
                grng = np.random.default_rng(_seed(case.name) + 1)
                total = sum((o * m.tensor(grng.uniform(0.5, 1.5, tuple(o.shape)),
                                          dtype=o.dtype)).sum() for o in outs)
                total.backward()
                grads = [leaf.grad if leaf.requires_grad else None for leaf in leaves]
        results[name] = (out, grads)
    (e_out, e_grads), (t_out, t_grads) = results["engine"], results["torch"]
    assert_same(e_out, t_out, case.rtol, case.atol, f"{case.name} value")
    if t_grads is not None:
        assert e_grads is not None, f"{case.name}: engine output does not require grad"
        for i, (ge, gt) in enumerate(zip(e_grads, t_grads)):
            if gt is None:
                assert ge is None or not _np(ge).any(), f"{case.name}: grad of input {i}"
                continue
            assert ge is not None, f"{case.name}: input {i} got no gradient"
            assert_same(ge, gt, *case.gtol, f"{case.name} grad of input {i}")


def _params():
    out = []
    for c in CASES:
        marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
        out.append(pytest.param(c, "contig", id=c.name, marks=marks))
        if c.layouts and any(s.dtype in (F32, F64) and len(s.shape) >= 2 for s in c.inputs):
            for lay in ("transposed", "strided"):
                out.append(pytest.param(c, lay, id=f"{c.name}-{lay}", marks=marks))
    return out


@pytest.mark.parametrize("case,layout", _params())
def test_parity(case, layout):
    run_case(case, layout)


# ----------------------------------------------------------------------------- creation

CREATION = [
    ("tensor_int", lambda m: m.tensor([1, 2, 3])),
    ("tensor_float", lambda m: m.tensor([[1.0, 2], [3, 4]])),
    ("tensor_bool", lambda m: m.tensor([True, False])),
    ("tensor_mixed", lambda m: m.tensor([1, 2.5, True])),
    ("tensor_scalar", lambda m: m.tensor(3.5)),
    ("tensor_empty", lambda m: m.tensor([])),
    ("tensor_np_f64", lambda m: m.tensor(np.arange(3.0))),
    ("tensor_np_i32", lambda m: m.tensor(np.arange(3, dtype=np.int32))),
    ("tensor_np_scalar", lambda m: m.tensor(np.float64(2.5))),
    ("as_tensor_list", lambda m: m.as_tensor([1, 2], dtype=m.float64)),
    ("from_numpy_u8", lambda m: m.from_numpy(np.arange(4, dtype=np.uint8))),
    ("tensor_of_tensors", lambda m: m.tensor([m.tensor(1.5), m.tensor(2.0)])),
    ("zeros_ones", lambda m: (m.zeros(2, 3), m.ones((2,), dtype=m.int64), m.zeros([]))),
    ("full_inference", lambda m: (m.full((2,), 3), m.full((2,), 3.0), m.full((2,), True))),
    ("arange", lambda m: (m.arange(5), m.arange(1, 4), m.arange(0, 1, 0.25),
                          m.arange(5.0), m.arange(0, 10, 3), m.arange(1, 0, -0.3))),
    ("linspace_logspace", lambda m: (m.linspace(0, 1, 5), m.linspace(-1, 1, 1),
                                     m.logspace(0, 2, 3))),
    ("eye", lambda m: (m.eye(3), m.eye(2, 3, dtype=m.int64))),
    ("like", lambda m: (m.zeros_like(m.ones(2, dtype=m.int32)),
                        m.full_like(m.ones(2), 7), m.ones_like(m.ones(2), dtype=m.bool))),
    ("new_methods", lambda m: (m.ones(2, dtype=m.float64).new_zeros(3),
                               m.ones(2).new_tensor([1, 2]), m.ones(2).new_full((2,), 4))),
    ("empty_shape", lambda m: (m.empty(2, 0).shape, m.empty((3,)).dtype)),
    ("default_dtype", lambda m: (m.get_default_dtype(), m.tensor(1.0).dtype)),
    ("tril_indices", lambda m: m.tril_indices(3, 3)),
    ("complex_scalars", lambda m: (m.tensor(2) * 1.5, m.tensor([1, 2]) * True)),
]


@pytest.mark.parametrize("name,fn", CREATION, ids=[c[0] for c in CREATION])
def test_creation_parity(name, fn):
    assert_same(fn(engine), fn(torch), 1e-6, 1e-7, name)


def test_random_shapes_and_ranges():
    engine.manual_seed(0)
    r = engine.rand(1000)
    assert r.dtype == engine.float32 and 0 <= float(r.min()) and float(r.max()) < 1
    n = engine.randn(2000, dtype=engine.float64)
    assert abs(float(n.mean())) < 0.1 and abs(float(n.std()) - 1) < 0.1
    i = engine.randint(3, 7, (100,))
    assert i.dtype == engine.int64 and int(i.min()) >= 3 and int(i.max()) <= 6
    p = engine.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype == engine.int64
    engine.manual_seed(5)
    a = engine.randn(3)
    engine.manual_seed(5)
    assert engine.equal(a, engine.randn(3))
    x = engine.empty(50).uniform_(2, 3)
    assert 2 <= float(x.min()) and float(x.max()) <= 3
    b = engine.bernoulli(engine.full((100,), 0.5))
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    mn = engine.multinomial(engine.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
    assert mn.tolist() == [1, 1]


# ----------------------------------------------------------------------------- in-place ops

INPLACE = [
    ("add_", lambda m, a, b: a.add_(b)),
    ("add_alpha", lambda m, a, b: a.add_(b, alpha=-2)),
    ("mul_scalar", lambda m, a, b: a.mul_(3)),
    ("div_", lambda m, a, b: a.div_(b.abs() + 1)),
    ("sub_bcast", lambda m, a, b: a.sub_(b[0])),
    ("clamp_", lambda m, a, b: a.clamp_(-0.5, 0.5)),
    ("pow_", lambda m, a, b: a.pow_(2)),
    ("exp_", lambda m, a, b: a.exp_()),
    ("relu_", lambda m, a, b: a.relu_()),
    ("zero_fill_", lambda m, a, b: (a[0].zero_(), a[1].fill_(2.5), a)[-1]),
    ("copy_t", lambda m, a, b: a.copy_(b.t().t())),
    ("masked_fill_", lambda m, a, b: a.masked_fill_(b > 0, -1.0)),
    ("index_fill_", lambda m, a, b: a.index_fill_(1, m.tensor([0, 2]), 9.0)),
    ("iadd_view", lambda m, a, b: (a[:, 1:].__iadd__(1), a)[-1]),
    ("addcmul_", lambda m, a, b: a.addcmul_(b, b, value=0.5)),
    ("lerp_", lambda m, a, b: a.lerp_(b, 0.25)),
    ("scatter_", lambda m, a, b: a.scatter_(1, m.tensor([[0], [1], [2]]), 5.0)),
    ("t_", lambda m, a, b: a.t_()),
    ("unsqueeze_", lambda m, a, b: a.unsqueeze_(0)),
    ("sigmoid_tanh_", lambda m, a, b: a.sigmoid_().tanh_()),
    ("floor_divide_int", lambda m, a, b: a.long().floor_divide_(2)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_parity(name, fn):
    rng = np.random.default_rng(_seed(name))
    a, b = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal((3, 3)).astype(
        np.float32)
    res = {}
    for m in (torch, engine):
        x, y = m.tensor(a), m.tensor(b)
        v0 = x._version
        r = fn(m, x, y)
        res[m.__name__] = (r, x, r is x or r.data_ptr() == x.data_ptr(), x._version > v0)
    (er, ex, eis, ev), (tr, tx, tis, tv) = res["engine"], res["torch"]
    assert_same(er, tr, 1e-5, 1e-6, name)
    assert_same(ex, tx, 1e-5, 1e-6, name + " (input after)")
    assert eis == tis, f"{name}: returns self: engine {eis}, torch {tis}"
    assert ev == tv, f"{name}: version bump: engine {ev}, torch {tv}"


def test_inplace_autograd_parity():
    res = []
    for m in (torch, engine):
        x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = x * 2
        y.mul_(3)
        y[0] = 0.0
        (y * y).sum().backward()
        res.append(x.grad.tolist())
    assert res[0] == res[1]


# ----------------------------------------------------------------------------- out=

OUT = [
    ("add", lambda m, a, b, o: m.add(a, b, out=o)),
    ("mul_bcast", lambda m, a, b, o: m.mul(a, b[0], out=o)),
    ("matmul", lambda m, a, b, o: m.matmul(a, b, out=o)),
    ("exp", lambda m, a, b, o: m.exp(a, out=o)),
    ("sum_dim", lambda m, a, b, o: m.sum(a, 1, out=o)),
    ("cat", lambda m, a, b, o: m.cat([a, b], out=o)),
    ("clamp", lambda m, a, b, o: m.clamp(a, 0, 1, out=o)),
    ("where", lambda m, a, b, o: m.where(a > 0, a, b, out=o)),
]


@pytest.mark.parametrize("name,fn", OUT, ids=[c[0] for c in OUT])
def test_out_parity(name, fn):
    rng = np.random.default_rng(_seed(name))
    a, b = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal((3, 3)).astype(
        np.float32)
    res = {}
    for m in (torch, engine):
        o = m.empty(0)
        r = fn(m, m.tensor(a), m.tensor(b), o)
        res[m.__name__] = (r is o, o)
    assert res["engine"][0] and res["torch"][0]
    assert_same(res["engine"][1], res["torch"][1], 1e-5, 1e-6, name)


# ----------------------------------------------------------------------------- repr

REPRS = [
    ("float_small", lambda m: m.tensor([1.0, 2.5, -3.25])),
    ("float_int_valued", lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]])),
    ("float_sci", lambda m: m.tensor([1e-5, 1.0, 12345.0])),
    ("float_big", lambda m: m.tensor([1e10, 2.0])),
    ("float_nan_inf", lambda m: m.tensor([float("nan"), float("inf"), -float("inf"), 1.5])),
    ("negative_zero", lambda m: m.tensor([-0.0, 0.0, 1.0])),
    ("float64", lambda m: m.tensor([1.5, 2.0], dtype=m.float64)),
    ("float16", lambda m: m.tensor([1.5, 2.0], dtype=m.float16)),
    ("int64", lambda m: m.tensor([[1, -20], [300, 4]])),
    ("int32", lambda m: m.tensor([1, 2], dtype=m.int32)),
    ("uint8", lambda m: m.tensor([1, 255], dtype=m.uint8)),
    ("bool", lambda m: m.tensor([True, False])),
    ("scalar", lambda m: m.tensor(3.14159)),
    ("scalar_int", lambda m: m.tensor(7)),
    ("empty", lambda m: m.zeros(0)),
    ("empty_2d", lambda m: m.zeros(2, 0)),
    ("empty_int", lambda m: m.zeros(0, dtype=m.int64)),
    ("requires_grad", lambda m: m.ones(2, requires_grad=True)),
    ("grad_fn", lambda m: m.ones(2, requires_grad=True) * 2),
    ("grad_fn_sum", lambda m: (m.ones(2, requires_grad=True) * 2).sum()),
    ("three_d", lambda m: m.arange(24.0).reshape(2, 3, 4)),
    ("summarized", lambda m: m.arange(2000.0)),
    ("summarized_2d", lambda m: m.arange(3000).reshape(100, 30)),
    ("wide_rows", lambda m: m.arange(20.0).reshape(2, 10) / 3),
    ("precision_mixed", lambda m: m.tensor([0.1, 123.456, 1.0])),
    ("size", lambda m: m.ones(2, 3).shape),
    ("dtype", lambda m: m.float32),
    ("device", lambda m: m.device("cpu")),
    ("parameter", lambda m: m.nn.Parameter(m.ones(2))),
    ("linear_module", lambda m: m.nn.Linear(3, 2)),
    ("sequential", lambda m: m.nn.Sequential(m.nn.Conv2d(1, 2, 3, padding=1), m.nn.ReLU(),
                                            m.nn.MaxPool2d(2), m.nn.Flatten(),
                                            m.nn.Dropout(0.2), m.nn.BatchNorm1d(4),
                                            m.nn.LayerNorm(4), m.nn.Embedding(3, 2))),
    ("max_namedtuple", lambda m: m.tensor([[1.0, 3.0], [4.0, 2.0]]).max(1)),
    ("sort_namedtuple", lambda m: m.tensor([3.0, 1.0, 2.0]).sort()),
    ("transposed_view", lambda m: m.arange(6.0).reshape(2, 3).t()),
    ("str_int_float_scalar_item", lambda m: (m.tensor(2).item(), m.tensor(2.5).item())),
    ("sgd", lambda m: m.optim.SGD([m.nn.Parameter(m.ones(1))], lr=0.1, momentum=0.9)),
    ("adam", lambda m: m.optim.Adam([m.nn.Parameter(m.ones(1))], lr=0.01)),
    ("new_modules", lambda m: m.nn.Sequential(
        m.nn.AdaptiveMaxPool2d((2, None)), m.nn.AdaptiveMaxPool1d(3, return_indices=True),
        m.nn.InstanceNorm1d(3), m.nn.InstanceNorm2d(4, affine=True, track_running_stats=True),
        m.nn.PixelShuffle(2), m.nn.PixelUnshuffle(3), m.nn.Upsample(scale_factor=2,
                                                                  mode="bilinear"),
        m.nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
        m.nn.UpsamplingBilinear2d(scale_factor=2))),
]


def _repr_tokens(s):
    s = re.sub(r"0x[0-9a-f]+", "0x?", s)
    return s


@pytest.mark.parametrize("name,fn", REPRS, ids=[r[0] for r in REPRS])
def test_repr_parity(name, fn):
    torch.manual_seed(0)
    engine.manual_seed(0)
    e, t = fn(engine), fn(torch)
    if name in ("linear_module", "sequential", "sgd", "adam", "new_modules"):
        assert repr(e) == repr(t)
        return
    assert _repr_tokens(repr(e)) == _repr_tokens(repr(t))
    assert _repr_tokens(str(e)) == _repr_tokens(str(t))


def test_print_options_parity():
    try:
        for m in (torch, engine):
            m.set_printoptions(precision=2)
        assert repr(engine.tensor([1.23456, 2.5])) == repr(torch.tensor([1.23456, 2.5]))
        for m in (torch, engine):
            m.set_printoptions(sci_mode=True)
        assert repr(engine.tensor([1.5, 2.0])) == repr(torch.tensor([1.5, 2.0]))
    finally:
        for m in (torch, engine):
            m.set_printoptions(profile="default")
            m.set_printoptions(sci_mode=None)


# ----------------------------------------------------------------------------- grad_fn names

GRAD_FNS = [
    ("mul", lambda m, x: x * 2), ("add", lambda m, x: x + 1), ("sub", lambda m, x: x - 1),
    ("div", lambda m, x: x / 2), ("neg", lambda m, x: -x), ("pow", lambda m, x: x ** 2),
    ("exp", lambda m, x: x.exp()), ("sum", lambda m, x: x.sum()),
    ("sum_dim", lambda m, x: x.sum(1)), ("mean", lambda m, x: x.mean()),
    ("mean_dim", lambda m, x: x.mean(0)), ("view", lambda m, x: x.view(-1)),
    ("reshape", lambda m, x: x.reshape(-1)), ("t", lambda m, x: x.t()),
    ("T", lambda m, x: x.T), ("transpose", lambda m, x: x.transpose(0, 1)),
    ("select", lambda m, x: x[0]), ("slice", lambda m, x: x[:, 1:]),
    ("unsqueeze", lambda m, x: x.unsqueeze(0)), ("permute", lambda m, x: x.permute(1, 0)),
    ("expand", lambda m, x: x[:1].expand(3, 4)), ("cat", lambda m, x: m.cat([x, x])),
    ("relu", lambda m, x: m.relu(x)), ("sigmoid", lambda m, x: x.sigmoid()),
    ("tanh", lambda m, x: x.tanh()), ("softmax", lambda m, x: x.softmax(1)),
    ("log_softmax", lambda m, x: F(m).log_softmax(x, 1)),
    ("max_all", lambda m, x: x.max()), ("max_dim", lambda m, x: x.max(1)[0]),
    ("mm", lambda m, x: x @ x.t()), ("clone", lambda m, x: x.clone()),
    ("linear", lambda m, x: F(m).linear(x, x, x[0])),
    ("linear_nobias", lambda m, x: F(m).linear(x, x)),
    ("mse", lambda m, x: F(m).mse_loss(x, x.detach() + 1)),
    ("cross_entropy", lambda m, x: F(m).cross_entropy(x, m.tensor([0, 1, 2, 3]))),
    ("nll", lambda m, x: F(m).nll_loss(x, m.tensor([0, 1, 2, 3]))),
    ("bce_logits", lambda m, x: F(m).binary_cross_entropy_with_logits(x, x.detach().sigmoid())),
    ("l1", lambda m, x: F(m).l1_loss(x, x.detach() + 1)),
    ("flatten", lambda m, x: m.nn.Flatten(0)(x)),
    ("stack", lambda m, x: m.stack([x, x])),
    ("rsub", lambda m, x: 1 - x),
    ("rsub_tensor", lambda m, x: m.rsub(x, x.detach())),
    ("addmm", lambda m, x: m.addmm(x[0], x, x.t())),
    ("baddbmm", lambda m, x: m.baddbmm(x[None], x[None], x[None])),
    ("squeeze", lambda m, x: x[:1].squeeze(0)),
    ("abs", lambda m, x: x.abs()), ("clamp", lambda m, x: x.clamp(0, 1)),
    ("where", lambda m, x: m.where(x > 0, x, 0.0)),
    ("index", lambda m, x: x[m.tensor([0, 1])]),
    ("gather", lambda m, x: x.gather(1, m.tensor([[0], [1], [0], [1]]))),
    ("masked_fill", lambda m, x: x.masked_fill(x > 0, 0.0)),
    ("layer_norm", lambda m, x: F(m).layer_norm(x, (4,))),
    ("embedding", lambda m, x: F(m).embedding(m.tensor([0, 1]), x)),
    ("dropout_train", lambda m, x: F(m).dropout(x, 0.5)),
    ("adaptive_max_pool2d", lambda m, x: F(m).adaptive_max_pool2d(x[None], 2)),
    ("instance_norm", lambda m, x: F(m).instance_norm(x[None])),
    ("interpolate_bilinear", lambda m, x: F(m).interpolate(x[None, None], scale_factor=2,
                                                           mode="bilinear")),
    ("interpolate_linear", lambda m, x: F(m).interpolate(x[None], size=3, mode="linear")),
    ("pixel_shuffle", lambda m, x: F(m).pixel_shuffle(x.reshape(4, 2, 2), 2)),
    ("pixel_unshuffle", lambda m, x: F(m).pixel_unshuffle(x[None], 2)),
]


@pytest.mark.parametrize("entry", [
    pytest.param(g, id=g[0], marks=[pytest.mark.xfail(reason=g[2], strict=True)] if len(g) > 2
                 else []) for g in GRAD_FNS])
def test_grad_fn_names(entry):
    fn = entry[1]
    got = []
    for m in (engine, torch):
        x = m.randn(4, 4, requires_grad=True)
        got.append(type(fn(m, x).grad_fn).__name__)
    assert got[0] == got[1]


def test_gradcheck_second_order():
    """create_graph=True: engine's backward rules are differentiable like torch's."""
    res = []
    for m in (torch, engine):
        x = m.tensor([0.3, -1.2, 2.0], dtype=m.float64, requires_grad=True)
        y = (x.sin() * x.exp() + x ** 3).sum()
        (g,) = m.autograd.grad(y, x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        res.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-10)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)


def test_module_state_dict_parity():
    """Module structure: state_dict keys and shapes, parameter counts, train/eval flags."""
    def build(m):
        nn = m.nn
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 26 * 26, 10), nn.LayerNorm(10))
    e, t = build(engine), build(torch)
    es, ts = e.state_dict(), t.state_dict()
    assert list(es.keys()) == list(ts.keys())
    for k in ts:
        assert tuple(es[k].shape) == tuple(ts[k].shape) and str(es[k].dtype) == str(ts[k].dtype)
    assert sum(p.numel() for p in e.parameters()) == sum(p.numel() for p in t.parameters())
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    e.eval()
    assert not any(mod.training for mod in e.modules())


def test_math_constants():
    for name in ("pi", "e", "inf"):
        assert getattr(engine, name) == getattr(torch, name) == getattr(math, name)
    assert math.isnan(engine.nan)


# ----------------------------------------------------------------------------- idioms
# Everyday tutorial idioms: the repr of what each returns must match torch's, or both raise the
# same exception type.

IDIOMS = [
    ("grad_data_zero",
        lambda m: (lambda x: ((x*2).sum().backward(), x.grad.data.zero_(), x.grad)[-1])(m.ones(2,
        requires_grad=True))),
    ("no_grad_decorator",
        lambda m: (m.no_grad()(lambda x: x*2))(m.ones(2, requires_grad=True)).requires_grad),
    ("size_eq_tuple",
        lambda m: (m.ones(2,3).shape == (2,3), m.ones(2,3).shape[1:], m.Size([2,3]).numel())),
    ("argmax_keepdim", lambda m: m.argmax(m.tensor([[1.,3.],[4.,2.]]), dim=1, keepdim=True)),
    ("to_device_obj", lambda m: m.ones(2).to(m.device('cpu'), non_blocking=True)),
    ("to_dtype_copy", lambda m: m.ones(2).to(m.float64, copy=True)),
    ("to_other", lambda m: m.ones(2).to(m.zeros(1, dtype=m.int32))),
    ("from_numpy_float", lambda m: m.from_numpy(np.arange(3)).float()),
    ("max_data", lambda m: m.max(m.tensor([[1.,3.],[4.,2.]]).data, 1)[1]),
    ("where_single", lambda m: m.where(m.tensor([0,1,1]) > 0)),
    ("T_1d", lambda m: m.arange(3).T),
    ("randsplit_frac",
        lambda m: [len(s) for s in m.utils.data.random_split(range(10), [0.8, 0.2])]),
    ("lr_sched",
        lambda m: (lambda o: (lambda s: [s.step() for _ in range(3)] and s.get_last_lr())(m.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5)))(m.optim.SGD([m.nn.Parameter(m.ones(1))], lr=1.0))),
    ("apply_init",
        lambda m: (lambda net: (net.apply(lambda mod: m.nn.init.zeros_(mod.weight) if isinstance(mod, m.nn.Linear) else None), net[0].weight.sum().item())[-1])(m.nn.Sequential(m.nn.Linear(2,2)))),
    ("state_dict_keys",
        lambda m: list(m.nn.Sequential(m.nn.Linear(2,2), m.nn.BatchNorm1d(2)).state_dict().keys())),
    ("param_groups",
        lambda m: sorted(m.optim.Adam([m.nn.Parameter(m.ones(1))]).param_groups[0].keys())),
    ("sgd_defaults",
        lambda m: sorted(m.optim.SGD([m.nn.Parameter(m.ones(1))], lr=0.1).defaults.items())),
    ("clone_detach", lambda m: m.ones(2, requires_grad=True).clone().detach().requires_grad),
    ("item_bool", lambda m: (m.tensor([1,2]) == 1).any().item()),
    ("index_tuple_0d", lambda m: ("a","b","c")[m.tensor(2)]),
    ("list_index_tensor", lambda m: [10,20,30][m.tensor([1])[0]]),
    ("int_of_tensor", lambda m: (int(m.tensor(3.7)), float(m.tensor(2)), m.tensor(3).__index__())),
    ("range_of_tensor", lambda m: list(range(m.tensor(3)))),
    ("tensor_in_fstring_spec", lambda m: f"{m.tensor(2.3456):.2f} {m.tensor(3):>4d}"),
    ("round_decimals", lambda m: m.tensor([1.2345]).round(decimals=2)),
    ("numpy_ops_on_tensor", lambda m: np.mean(m.tensor([1.,2.,3.]).numpy())),
    ("np_array_of_tensor", lambda m: np.array(m.tensor([1.,2.])).dtype.name),
    ("tensor_eq_none", lambda m: m.tensor([1.]) is None),
    ("sum_of_tensors_builtin", lambda m: sum([m.tensor(1.), m.tensor(2.)])),
    ("tensor_list_tolist", lambda m: m.tensor([[1,2],[3,4]]).tolist()),
    ("unique", lambda m: m.tensor([3,1,2,3,1]).unique()),
    ("unique_counts", lambda m: m.unique(m.tensor([3,1,2,3,1]), return_counts=True)),
    ("bincount", lambda m: m.bincount(m.tensor([0,1,1,3]))),
    ("sort_stable", lambda m: m.sort(m.tensor([2,1,2,1]), stable=True)),
    ("topk_smallest", lambda m: m.topk(m.tensor([3.,1.,2.]), 2, largest=False)),
    ("cumsum_dtype", lambda m: m.tensor([1,2,3]).cumsum(0).dtype),
    ("mean_of_int_dtype", lambda m: m.tensor([1,2]).float().mean()),
    ("inplace_ops_chain", lambda m: m.zeros(3).add_(1).mul_(2).sub_(0.5)),
    ("masked_scatter",
        lambda m: m.zeros(4).masked_scatter(m.tensor([True,False,True,False]), m.tensor([1.,2.]))),
    ("repeat_interleave", lambda m: m.tensor([1,2]).repeat_interleave(2)),
    ("repeat_interleave_fn", lambda m: m.repeat_interleave(m.tensor([[1,2],[3,4]]), 2, dim=0)),
    ("clamp_int", lambda m: m.tensor([1,5,9]).clamp(2, 6)),
    ("float_tensor_div_int", lambda m: m.tensor([5,6]) // 4),
    ("linspace_int_dtype", lambda m: m.linspace(0, 10, 5, dtype=m.int64)),
    ("arange_float_len", lambda m: m.arange(0, 1, 0.1).shape),
    ("full_bool", lambda m: m.full((2,), False)),
    ("zeros_size_obj", lambda m: m.zeros(m.Size([2,3])).shape),
    ("ones_like_rg", lambda m: m.ones_like(m.ones(2), requires_grad=True)),
    ("new_ones", lambda m: m.ones(2, dtype=m.int32).new_ones((2,2))),
    ("view_minus1", lambda m: m.arange(6).view(-1, 2)),
    ("view_dtype", lambda m: m.arange(2, dtype=m.int32).view(m.float32).shape),
    ("view_dtype_bits", lambda m: (m.tensor([1.0, -2.0]).view(m.int32),
                                   m.arange(6.).reshape(2, 3).t().view(m.uint8).stride(),
                                   m.arange(8.).reshape(2, 4)[:, 2:].view(m.float64),
                                   m.tensor([1, 256], dtype=m.int16).view(dtype=m.uint8))),
    ("view_dtype_shares", lambda m: (lambda x: (x.view(m.int32).fill_(0), x,
                                                x._version))(m.ones(3))),
    ("view_dtype_odd_offset", lambda m: m.arange(8.).reshape(2, 4)[:, 1:3].view(m.float64)),
    ("flatten_0d", lambda m: m.tensor(3.).flatten()),
    ("squeeze_0", lambda m: m.ones(1,3).squeeze(0).shape),
    ("unsqueeze_neg", lambda m: m.ones(3).unsqueeze(-1).shape),
    ("stack_tuple", lambda m: m.stack((m.ones(2), m.zeros(2)), dim=1)),
    ("cat_mixed_dtype", lambda m: m.cat([m.ones(2), m.ones(2, dtype=m.int64)]).dtype),
    ("chunk_uneven", lambda m: [c.shape[0] for c in m.arange(10).chunk(3)]),
    ("tensor_split", lambda m: [c.shape[0] for c in m.tensor_split(m.arange(10), 3)]),
    ("einsum_bilinear",
        lambda m: m.einsum('bn,anm,bm->ba', m.ones(2,3), m.ones(4,3,5), m.ones(2,5))),
    ("einsum_spaces", lambda m: m.einsum('i j , j k -> i k', m.ones(2,3), m.ones(3,4))),
    ("matmul_int", lambda m: m.tensor([[1,2],[3,4]]) @ m.tensor([[1],[1]])),
    ("mv_int", lambda m: m.mv(m.tensor([[1,2],[3,4]]), m.tensor([1,1]))),
    ("bool_ops",
        lambda m: (m.tensor([True]) + m.tensor([True]), m.tensor([True]) * 2, ~m.tensor([True,
        False]))),
    ("neg_bool", lambda m: -m.tensor([True])),
    ("pow_int_neg", lambda m: m.tensor([2]) ** -1),
    ("div_zero", lambda m: (m.tensor([1.,-1.,0.]) / 0)),
    ("int_div_zero", lambda m: m.tensor([1]) // 0),
    ("remainder_neg", lambda m: m.tensor([-3., 3.]) % 2),
    ("fmod_neg", lambda m: m.fmod(m.tensor([-3, 3]), 2)),
    ("sqrt_neg", lambda m: m.tensor([-1.]).sqrt()),
    ("log_zero", lambda m: m.tensor([0.]).log()),
    ("max_nan", lambda m: m.tensor([1., float('nan'), 2.]).max()),
    ("argmax_nan", lambda m: m.tensor([1., float('nan'), 2.]).argmax()),
    ("sort_nan", lambda m: m.tensor([1., float('nan'), 0.]).sort()),
    ("sum_empty", lambda m: m.zeros(0).sum()),
    ("mean_empty", lambda m: m.zeros(0).mean()),
    ("prod_empty", lambda m: m.zeros(0).prod()),
    ("amax_empty_dim", lambda m: m.zeros(0, 3).amax(1)),
    ("std_single", lambda m: m.tensor([1.]).std()),
    ("softmax_inf", lambda m: m.tensor([float('-inf'), 0.]).softmax(0)),
    ("logsumexp_neg_inf", lambda m: m.logsumexp(m.tensor([float('-inf'), float('-inf')]), 0)),
    ("int_overflow_sum", lambda m: m.tensor([2**62, 2**62]).sum()),
    ("uint8_wrap", lambda m: m.tensor([250], dtype=m.uint8) + 10),
    ("float16_ops", lambda m: (m.ones(2, dtype=m.float16) * 3).sum()),
    ("half_matmul", lambda m: (m.ones(2,2, dtype=m.float16) @ m.ones(2,2,dtype=m.float16))),
    ("type_str", lambda m: m.ones(2).type()),
    ("type_conv", lambda m: m.ones(2).type(m.int64)),
    ("is_floating",
        lambda m: (m.ones(1).is_floating_point(), m.ones(1).long().is_floating_point())),
    ("dtype_props", lambda m: (m.float32.is_floating_point, m.int64.is_signed, m.float32.itemsize)),
    ("finfo", lambda m: (m.finfo(m.float32).eps, m.finfo(m.float32).max, m.iinfo(m.int32).max)),
    ("promote_types", lambda m: m.promote_types(m.int32, m.float32)),
    ("result_type", lambda m: m.result_type(m.tensor([1]), 1.0)),
    ("can_cast", lambda m: m.can_cast(m.float32, m.int32)),
    ("get_default_dtype", lambda m: m.get_default_dtype()),
    ("set_default_dtype64",
        lambda m: (m.set_default_dtype(m.float64), m.tensor([1.]).dtype, m.ones(1).dtype,
        m.set_default_dtype(m.float32))[1:3]),
    ("manual_seed_ret", lambda m: type(m.manual_seed(0)).__name__),
    ("generator", lambda m: m.randn(2, generator=m.Generator().manual_seed(1)).shape),
    ("numel_fn", lambda m: m.numel(m.ones(2,3))),
    ("is_tensor", lambda m: (m.is_tensor(m.ones(1)), m.is_tensor(1))),
    ("isinstance_Tensor", lambda m: isinstance(m.nn.Parameter(m.ones(1)), m.Tensor)),
    ("Tensor_ctor", lambda m: m.Tensor([1,2])),
    ("FloatTensor", lambda m: m.FloatTensor([1,2])),
    ("LongTensor", lambda m: m.LongTensor([1,2])),
    ("tensor_ctor_shape", lambda m: m.Tensor(2,3).shape),
    ("detach_requires", lambda m: m.ones(1, requires_grad=True).detach().requires_grad),
    ("requires_grad_default_param", lambda m: m.nn.Parameter(m.ones(1)).requires_grad),
    ("param_repr_grad", lambda m: repr(m.nn.Parameter(m.ones(1)) * 2)),
    ("hooks_module",
        lambda m: (lambda lin: (lin.register_forward_hook(lambda mod, i, o: o * 0),
        lin(m.ones(1,2)).sum().item())[-1])(m.nn.Linear(2,2))),
    ("module_children",
        lambda m: [type(c).__name__ for c in m.nn.Sequential(m.nn.Linear(1,1),
        m.nn.ReLU()).children()]),
    ("named_params", lambda m: [n for n,_ in m.nn.Sequential(m.nn.Linear(1,1)).named_parameters()]),
    ("modulelist", lambda m: len(m.nn.ModuleList([m.nn.Linear(1,1)]*3))),
    ("moduledict", lambda m: list(m.nn.ModuleDict({'a': m.nn.ReLU()}).keys())),
    ("parameterlist",
        lambda m: len(list(m.nn.ParameterList([m.nn.Parameter(m.ones(1))]).parameters()))),
    ("register_buffer",
        lambda m: (lambda mod: (mod.register_buffer('b', m.ones(2)),
        list(mod.state_dict().keys()))[-1])(m.nn.Module())),
    ("train_eval",
        lambda m: (lambda d: (d.eval(), d.training, d.train(), d.training)[1::2])(m.nn.Dropout())),
    ("zero_grad_none",
        lambda m: (lambda lin: ((lin(m.ones(1,1))).sum().backward(), lin.zero_grad(),
        lin.weight.grad)[-1])(m.nn.Linear(1,1))),
    ("opt_zero_grad_none",
        lambda m: (lambda p: ((p*2).sum().backward(), m.optim.SGD([p], lr=1).zero_grad(),
        p.grad)[-1])(m.nn.Parameter(m.ones(1)))),
    ("clip_grad_norm",
        lambda m: (lambda p: ((p*3).sum().backward(), m.nn.utils.clip_grad_norm_([p], 1.0),
        p.grad)[1:])(m.nn.Parameter(m.ones(4)))),
    ("crossentropy_module_ls",
        lambda m: m.nn.CrossEntropyLoss(label_smoothing=0.1)(m.zeros(2,3), m.tensor([0,1]))),
    ("sequential_slice", lambda m: type(m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh())[1:]).__name__),
    ("sequential_len_append",
        lambda m: (lambda s: (s.append(m.nn.ReLU()), len(s))[-1])(m.nn.Sequential())),
    ("flatten_module_args", lambda m: m.nn.Flatten(0, 1)(m.ones(2,3,4)).shape),
    ("unflatten_module", lambda m: m.nn.Unflatten(1, (2, 2))(m.ones(3,4)).shape),
    ("identity", lambda m: m.nn.Identity(54, unused='x')(m.ones(2))),
    ("softmax_module_dim_none", lambda m: m.nn.Softmax()(m.ones(2,2))),
    ("embedding_padding", lambda m: m.nn.Embedding(3, 2, padding_idx=0).weight[0]),
    ("linear_no_bias_repr", lambda m: repr(m.nn.Linear(2, 3, bias=False))),
    ("conv_repr", lambda m: repr(m.nn.Conv2d(1, 2, 3, stride=2, padding=1, bias=False))),
    ("bn_repr", lambda m: repr(m.nn.BatchNorm2d(3))),
    ("dropout_repr", lambda m: repr(m.nn.Dropout(p=0.25))),
    ("maxpool_repr", lambda m: repr(m.nn.MaxPool2d(2, 2))),
    ("adaptive_repr", lambda m: repr(m.nn.AdaptiveAvgPool2d((1, 1)))),
    ("leaky_repr", lambda m: repr(m.nn.LeakyReLU(0.2, inplace=True))),
    ("ce_repr", lambda m: repr(m.nn.CrossEntropyLoss())),
    ("optim_repr", lambda m: repr(m.optim.SGD([m.nn.Parameter(m.ones(1))], lr=0.1))),
    ("dataset_len_idx",
        lambda m: (lambda ds: (len(ds), ds[1]))(m.utils.data.TensorDataset(m.arange(3),
        m.arange(3)*2))),
    ("dataloader_len", lambda m: len(m.utils.data.DataLoader(range(10), batch_size=3))),
    ("dataloader_droplast",
        lambda m: len(m.utils.data.DataLoader(range(10), batch_size=3, drop_last=True))),
    ("collate_dict",
        lambda m: next(iter(m.utils.data.DataLoader([{'a': 1, 'b': m.ones(2)}]*2, batch_size=2)))),
    ("collate_np", lambda m: next(iter(m.utils.data.DataLoader([np.ones(2)]*2, batch_size=2)))),
    ("collate_float", lambda m: next(iter(m.utils.data.DataLoader([1.5, 2.5], batch_size=2)))),
    ("collate_tuple_str",
        lambda m: next(iter(m.utils.data.DataLoader([(m.ones(1), 'x')]*2, batch_size=2)))),
    ("subset", lambda m: len(m.utils.data.Subset(range(10), [1,2]))),
    ("concat_ds", lambda m: len(m.utils.data.ConcatDataset([range(3), range(4)]))),
]


def _outcome(m, fn):
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn(m)
    except Exception as e:  # noqa: BLE001
        return "raises", type(e).__mro__[[k.__module__ for k in type(e).__mro__].index(
            "builtins")].__name__
    return "returns", re.sub(r"0x[0-9a-f]+", "0x?", r if isinstance(r, str) else repr(r))


@pytest.mark.parametrize("name,fn", [i if hasattr(i, "marks") else pytest.param(*i, id=i[0])
                                     for i in IDIOMS])
def test_idiom(name, fn):
    assert _outcome(engine, fn) == _outcome(torch, fn)


# ----------------------------------------------------------------------------- autograd idioms
# Gradients through in-place ops on views, ties, kinks, zeros, hooks, autograd.grad options:
# the gradients (rounded) must equal torch's, or both raise the same exception type.

def _grad_modes(m):
    a, seen = m.ones(1, requires_grad=True), []
    with m.set_grad_enabled(False):
        seen.append((a * 2).requires_grad)
        with m.enable_grad():
            seen.append((a * 2).requires_grad)
        with m.no_grad():
            seen.append((a * 2).requires_grad)
    seen.append((a * 2).requires_grad)
    m.set_grad_enabled(False)
    seen.append(m.is_grad_enabled())
    m.set_grad_enabled(True)
    seen.append(m.is_grad_enabled())
    return seen


def _grads(m, f, *shapes):
    rng = np.random.default_rng(0)
    xs = [m.tensor(rng.standard_normal(s).astype(np.float32).round(2), requires_grad=True)
          for s in shapes]
    y = f(m, *xs)
    y.backward(m.ones_like(y)) if y.ndim else y.backward()
    return [None if x.grad is None else (x.grad.numpy().round(4) + 0.0).tolist() for x in xs]


AUTOGRAD = [
    ("setitem_grad",
        lambda m: _grads(m, lambda m, a, b: (lambda c: (c.__setitem__((slice(None), 0), b),
            (c*c).sum())[-1])(a.clone()), (3,2), (3,))),
    ("view_inplace_nonleaf",
        lambda m: _grads(m, lambda m, a: (lambda c: (c.view(-1).mul_(2),
            c.sum() + (c*c).sum())[-1])(a * 1), (2,3))),
    ("slice_inplace",
        lambda m: _grads(m, lambda m, a: (lambda c: (c[0].add_(c[1]), (c**2).sum())[-1])(a + 0),
            (2,3))),
    ("transpose_inplace",
        lambda m: _grads(m, lambda m, a: (lambda c: (c.t().mul_(3), c.sum())[-1])(a * 1), (2,3))),
    ("masked_fill_inplace",
        lambda m: _grads(m, lambda m, a: (lambda c: (c.masked_fill_(c > 0, 0),
            (c*c).sum())[-1])(a * 2), (3,3))),
    ("index_put_grad",
        lambda m: _grads(m, lambda m, a, v: (lambda c: (c.index_put_((m.tensor([0,2]),), v),
            (c*c).sum())[-1])(a.clone()), (4,), (2,))),
    ("index_put_acc_grad",
        lambda m: _grads(m, lambda m, a, v: a.index_put((m.tensor([0,0]),), v,
            accumulate=True).pow(2).sum(), (4,), (2,))),
    ("zero_dim_bcast", lambda m: _grads(m, lambda m, a, b: (a * b + b).sum(), (3,4), ())),
    ("expand_grad",
        lambda m: _grads(m, lambda m, a: (a.expand(3, 4) * m.arange(12.).view(3,4)).sum(), (1,4))),
    ("reuse_twice", lambda m: _grads(m, lambda m, a: (a * a * a).sum(), (3,))),
    ("detach_mix", lambda m: _grads(m, lambda m, a: (a * a.detach()).sum(), (3,))),
    ("where_grad", lambda m: _grads(m, lambda m, a, b: m.where(a > 0, a, b).sum(), (4,), (4,))),
    ("max_ties", lambda m: _grads(m, lambda m, a: m.stack([a, a]).max(), (1,))),
    ("amax_ties", lambda m: _grads(m, lambda m, a: m.cat([a, a]).amax(), (1,))),
    ("max_dim_ties", lambda m: _grads(m, lambda m, a: m.cat([a, a], 1).max(1).values.sum(), (2,1))),
    ("norm_zero", lambda m: _grads(m, lambda m, a: (a * 0).norm(), (3,))),
    ("abs_zero", lambda m: _grads(m, lambda m, a: (a * 0).abs().sum(), (3,))),
    ("relu_zero", lambda m: _grads(m, lambda m, a: (a * 0).relu().sum(), (3,))),
    ("clamp_boundary", lambda m: _grads(m, lambda m, a: (a*0 + 1).clamp(1, 2).sum(), (3,))),
    ("sqrt_zero", lambda m: _grads(m, lambda m, a: (a * 0).sqrt().sum(), (3,))),
    ("pow_zero_base", lambda m: _grads(m, lambda m, a: (a * 0).pow(2).sum(), (3,))),
    ("pow_zero_exp0", lambda m: _grads(m, lambda m, a: (a * 0).pow(0).sum(), (3,))),
    ("pow_tensor_zero_base",
        lambda m: _grads(m, lambda m, a, b: (a*0).pow(b.abs()).sum(), (3,), (3,))),
    ("minimum_ties", lambda m: _grads(m, lambda m, a: m.minimum(a, a).sum(), (3,))),
    ("median_even", lambda m: _grads(m, lambda m, a: a.median(), (4,))),
    ("sort_grad", lambda m: _grads(m, lambda m, a: (a.sort()[0] * m.arange(4.)).sum(), (4,))),
    ("cumprod_zero",
        lambda m: _grads(m, lambda m, a: (a * m.tensor([1., 0., 1.])).cumprod(0).sum(), (3,))),
    ("prod_zero", lambda m: _grads(m, lambda m, a: (a * m.tensor([1., 0., 1.])).prod(), (3,))),
    ("logsumexp_inf",
        lambda m: _grads(m, lambda m, a: m.logsumexp(a + m.tensor([float('-inf'), 0., 0.]), 0),
            (3,))),
    ("softmax_grad", lambda m: _grads(m, lambda m, a: (a.softmax(-1) * m.arange(3.)).sum(), (2,3))),
    ("std_grad", lambda m: _grads(m, lambda m, a: a.std(), (4,))),
    ("var_single", lambda m: _grads(m, lambda m, a: a.var(), (1,))),
    ("cat_grad",
        lambda m: _grads(m, lambda m, a, b: (m.cat([a, b]) * m.arange(5.)).sum(), (2,), (3,))),
    ("split_grad", lambda m: _grads(m, lambda m, a: a.split(2)[1].sum() * 3, (5,))),
    ("unbind_grad", lambda m: _grads(m, lambda m, a: a.unbind(0)[1].sum(), (3,2))),
    ("gather_dup", lambda m: _grads(m, lambda m, a: a.gather(0, m.tensor([0, 0, 1])).sum(), (3,))),
    ("index_dup", lambda m: _grads(m, lambda m, a: a[m.tensor([1, 1, 2])].sum(), (3,))),
    ("mask_index", lambda m: _grads(m, lambda m, a: a[a > 0].sum(), (5,))),
    ("matmul_1d_grad", lambda m: _grads(m, lambda m, a, b: a @ b, (3,), (3,))),
    ("bmm_bcast_grad", lambda m: _grads(m, lambda m, a, b: (a @ b).sum(), (2,3,4), (4,5))),
    ("einsum_grad", lambda m: _grads(m, lambda m, a, b: m.einsum('ij,jk->', a, b), (2,3), (3,4))),
    ("lerp_grad", lambda m: _grads(m, lambda m, a, b, w: m.lerp(a, b, w).sum(), (3,), (3,), (3,))),
    ("atan2_grad", lambda m: _grads(m, lambda m, a, b: m.atan2(a, b).sum(), (3,), (3,))),
    ("hook_modify",
        lambda m: _grads(m, lambda m, a: (lambda b: (b.register_hook(lambda gr: gr * 10),
            (b * 2).sum())[-1])(a * 1), (3,))),
    ("grad_accumulate",
        lambda m: (lambda a: ((a*2).sum().backward(), (a*3).sum().backward(),
            a.grad.tolist())[-1])(m.ones(2, requires_grad=True))),
    ("retain_graph",
        lambda m: (lambda a: (lambda y: (y.backward(retain_graph=True), y.backward(),
            a.grad.tolist())[-1])((a*a).sum()))(m.ones(2, requires_grad=True))),
    ("autograd_grad_multi",
        lambda m: (lambda a, b: [x.tolist() for x in m.autograd.grad((a*b).sum(), [a,
            b])])(m.ones(2, requires_grad=True), m.full((2,), 3., requires_grad=True))),
    ("grad_outputs",
        lambda m: (lambda a: m.autograd.grad(a * 2, a, grad_outputs=m.tensor([1.,
            2.]))[0].tolist())(m.ones(2, requires_grad=True))),
    ("allow_unused",
        lambda m: (lambda a, b: m.autograd.grad((a*2).sum(), [a, b],
            allow_unused=True)[1])(m.ones(2, requires_grad=True), m.ones(2, requires_grad=True))),
    ("backward_inputs",
        lambda m: (lambda a, b: ((a*b).sum().backward(inputs=[a]), a.grad.tolist(),
            b.grad)[1:])(m.ones(2, requires_grad=True), m.ones(2, requires_grad=True))),
    ("nonleaf_grad_none",
        lambda m: (lambda a: (lambda b: (b.sum().backward(), b.grad)[-1])(a * 2))(m.ones(2,
            requires_grad=True))),
    ("requires_grad_propagation",
        lambda m: [(m.ones(2, requires_grad=True) * 2).argmax().requires_grad, (m.ones(2,
            requires_grad=True) > 0).requires_grad, m.ones(2,
            requires_grad=True).long().requires_grad, m.ones(2,
            requires_grad=True).double().requires_grad]),
    ("is_leaf",
        lambda m: [m.ones(2).is_leaf, m.ones(2, requires_grad=True).is_leaf, (m.ones(2,
            requires_grad=True)*2).is_leaf, (m.ones(2)*2).is_leaf]),
    ("grad_fn_none_nograd", lambda m: (m.ones(2) * 2).grad_fn),
    ("next_functions",
        lambda m: [type(f[0]).__name__ for f in (m.ones(2, requires_grad=True) * m.ones(2,
            requires_grad=True)).grad_fn.next_functions]),
    ("double_backward_relu",
        lambda m: (lambda a: (lambda gr: m.autograd.grad(gr.sum(), a,
            allow_unused=True)[0])(m.autograd.grad(a.relu().pow(2).sum(), a,
            create_graph=True)[0]))(m.tensor([1., -1.], requires_grad=True))),
    ("custom_function_mark_dirty", lambda m: _grads(m, lambda m, a: (a.exp() * 2).sum(), (2,))),
    ("set_grad_enabled_nested", lambda m: _grad_modes(m)),
    ("no_grad_then_backward",
        lambda m: (lambda a: (lambda y: (y.sum().backward(),
            a.grad.tolist())[-1])((a * 2) + (lambda: None)() if False else a * 2))(m.ones(2,
            requires_grad=True))),
    ("inference_tensor_in_autograd",
        lambda m: (lambda a: (lambda t: (a * t).sum().requires_grad)(m.inference_mode()(lambda:
            m.ones(2))()))(m.ones(2, requires_grad=True))),
    ("inference_tensor_add_ok",
        lambda m: (lambda a: (lambda t: ((a + t).requires_grad, t.is_inference(),
                                         t[0].is_inference(), t.clone().is_inference(),
                                         a.is_inference()))(m.inference_mode()(lambda:
            m.ones(2))()))(m.ones(2, requires_grad=True))),
    ("inference_mode_views_and_nesting",
        lambda m: (lambda a: m.inference_mode()(lambda: (a[0].is_inference(),
                                                        (a * 2).is_inference(),
                                                        m.inference_mode(False)(lambda:
            m.ones(1).is_inference())()))())(m.ones(2))),
    ("clone_grad", lambda m: _grads(m, lambda m, a: (a.clone() * 3).sum(), (2,))),
    ("contiguous_grad",
        lambda m: _grads(m, lambda m, a: (a.t().contiguous() * m.arange(6.).view(3,2)).sum(),
            (2,3))),
    ("repeat_grad",
        lambda m: _grads(m, lambda m, a: (a.repeat(2, 2) * m.arange(8.).view(2,4)).sum(), (1,2))),
    ("flip_roll_grad",
        lambda m: _grads(m, lambda m, a: (a.flip(0).roll(1) * m.arange(3.)).sum(), (3,))),
    ("unfold_grad", lambda m: _grads(m, lambda m, a: (a.unfold(1, 3, 2) * m.arange(
        12.).view(2, 2, 3)).sum(), (2, 6))),
    ("diag_grad", lambda m: _grads(m, lambda m, a: (m.diag(a) * 2).sum(), (3,3))),
    ("tril_grad", lambda m: _grads(m, lambda m, a: a.tril().sum(), (3,3))),
    ("pad_grad",
        lambda m: _grads(m, lambda m, a: (m.nn.functional.pad(a, (1, 1),
            mode='reflect') * m.arange(5.)).sum(), (1,1,3))),
    ("embedding_padding_grad",
        lambda m: (lambda e: (e(m.tensor([0, 1, 0])).sum().backward(),
            e.weight.grad.tolist())[-1])(m.nn.Embedding(3, 2, padding_idx=0))),
]


@pytest.mark.parametrize("name,fn", [i if hasattr(i, "marks") else pytest.param(*i, id=i[0])
                                     for i in AUTOGRAD])
def test_autograd_idiom(name, fn):
    assert _outcome(engine, fn) == _outcome(torch, fn)


# ----------------------------------------------------------------------------- dtype sweep
# Result dtypes (and values) of everyday ops for every dtype, or the same exception type.

DTYPE_OPS = {
 "sum": lambda m, x: x.sum(), "prod": lambda m, x: x.prod(), "cumsum": lambda m, x: x.cumsum(0),
 "cumprod": lambda m, x: x.cumprod(0), "max": lambda m, x: x.max(), "amax": lambda m, x: x.amax(0),
 "argmax": lambda m, x: x.argmax(), "abs": lambda m, x: x.abs(), "neg": lambda m, x: -x,
 "sqrt": lambda m, x: x.sqrt(), "exp": lambda m, x: x.exp(), "sigmoid": lambda m, x: x.sigmoid(),
 "floor": lambda m, x: x.floor(), "round": lambda m, x: x.round(), "sign": lambda m, x: x.sign(),
 "clamp": lambda m, x: x.clamp(0, 1), "clamp_f": lambda m, x: x.clamp(0.5, 1.5),
 "add_int": lambda m, x: x + 1, "add_float": lambda m, x: x + 1.5,
 "mul_bool": lambda m, x: x * True,
 "div": lambda m, x: x / 2, "floordiv": lambda m, x: x // 2, "pow2": lambda m, x: x ** 2,
 "pow_f": lambda m, x: x ** 0.5, "eq": lambda m, x: x == 1,
 "where": lambda m, x: m.where(x > 0, x, 0),
 "where_f": lambda m, x: m.where(x > 0, x, 0.5),
 "maximum_f": lambda m, x: m.maximum(x, m.tensor(0.5)),
 "square": lambda m, x: x.square(), "reciprocal": lambda m, x: x.reciprocal(),
 "matmul": lambda m, x: x @ x, "dot": lambda m, x: m.dot(x, x),
 "softmax": lambda m, x: x.softmax(0) if x.is_floating_point() else m.tensor(0),
 "mean_dtype": lambda m, x: x.mean(dtype=m.float64),
 "sum_dtype": lambda m, x: x.sum(dtype=m.float32),
 "std": lambda m, x: x.float().std(), "norm": lambda m, x: x.float().norm(),
 "bitnot": lambda m, x: ~x if not x.is_floating_point() else m.tensor(0),
 "relu": lambda m, x: x.relu(), "logical_not": lambda m, x: x.logical_not(),
 "trunc": lambda m, x: x.trunc(),
 "frac": lambda m, x: x.frac() if x.is_floating_point() else m.tensor(0),
 "lt_float": lambda m, x: x < 0.5, "isnan": lambda m, x: x.isnan(),
 "nonzero": lambda m, x: x.nonzero(),
 "count_nonzero": lambda m, x: m.count_nonzero(x), "topk": lambda m, x: x.topk(1).values,
 "sort": lambda m, x: x.sort().values,
 "cat_with_f": lambda m, x: m.cat([x, m.ones(1)]),
 "stack_with_i": lambda m, x: m.stack([x, m.ones(2, dtype=m.int64)]),
 "median": lambda m, x: x.median(), "fmod": lambda m, x: m.fmod(x, 2),
 "remainder": lambda m, x: x % 2,
 "ceil": lambda m, x: x.ceil(), "argmin": lambda m, x: x.argmin(0),
 "pow3": lambda m, x: x ** 3, "pow0": lambda m, x: m.pow(x, 0),
}


def _dtype_outcome(m, dn, fn):
    import warnings
    x = m.tensor([1, 2], dtype=getattr(m, dn))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn(m, x)
    except Exception as e:  # noqa: BLE001
        return "raises", next(k for k in type(e).__mro__ if k.__module__ == "builtins").__name__
    return str(r.dtype), [round(float(v), 3) for v in r.reshape(-1).tolist()]


# ops whose bool behaviour is special in torch (raise, or promote to int64): checked by
# test_dtype_sweep_bool_gaps
_BOOL_GAPS = {"argmax", "abs", "floor", "round", "pow2", "square", "matmul", "dot", "relu",
              "trunc", "topk", "median"}


@pytest.mark.parametrize("dn", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16",
                                "float32", "float64"])
def test_dtype_sweep(dn):
    bad = [(name, _dtype_outcome(engine, dn, fn), _dtype_outcome(torch, dn, fn))
           for name, fn in DTYPE_OPS.items() if not (dn == "bool" and name in _BOOL_GAPS)]
    assert [b for b in bad if b[1] != b[2]] == []


def test_dtype_sweep_bool_gaps():
    bad = [n for n in sorted(_BOOL_GAPS) if _dtype_outcome(engine, "bool", DTYPE_OPS[n])
           != _dtype_outcome(torch, "bool", DTYPE_OPS[n])]
    assert bad == []
