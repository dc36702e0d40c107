"""engine/_printing.py must reproduce repr(torch.Tensor) exactly (torch is the oracle)."""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, seed, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_p = pathlib.Path(__file__).resolve().parents[1] / "engine" / "_printing.py"
spec = importlib.util.spec_from_file_location("engine_printing_under_test", _p)
printing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(printing)


@pytest.fixture(autouse=True)
def _reset_options():
    yield
    torch.set_printoptions(profile="default")
    printing.set_printoptions(profile="default")
    torch.set_default_dtype(torch.float32)


def set_both(**kwargs):
    torch.set_printoptions(**kwargs)
    printing.set_printoptions(**kwargs)


def call_args(t, prefix="tensor("):
    """Build format_tensor's arguments from a torch tensor."""
    default = torch.get_default_dtype()
    default_complex = torch.complex128 if default == torch.float64 else torch.complex64
    data = t.detach()
    if data.dtype == torch.bfloat16:  # numpy has no bfloat16; values are exact in float32
        data = data.float()
    return dict(
        values=data.numpy(),
        dtype_name=str(t.dtype).removeprefix("torch."),
        is_default_dtype=t.dtype in (default, default_complex),
        requires_grad=t.requires_grad,
        grad_fn=type(t.grad_fn).__name__ if t.grad_fn is not None else None,
        prefix=prefix,
    )


def check(t):
    got = printing.format_tensor(**call_args(t))
    assert got == repr(t), f"\n--- engine:\n{got}\n--- torch:\n{t!r}"
    assert got == str(t)


def _cases():
    g = torch.Generator().manual_seed(0)

    def randn(*shape, dtype=torch.float32, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(dtype)

    nan, inf = float("nan"), float("inf")
    return {
        "int_valued_floats": torch.tensor([1.0, 2.0]),
        "int_valued_neg": torch.tensor([-1.0, 20.0, 300.0]),
        "zero_dim_float": torch.tensor(3.5),
        "zero_dim_int": torch.tensor(7),
        "zero_dim_bool": torch.tensor(True),
        "zero_dim_f16": torch.tensor(2.25, dtype=torch.float16),
        "zero_dim_nan": torch.tensor(nan),
        "tiny": randn(10, scale=1e-5),
        "small": randn(10, scale=1e-3),
        "unit": randn(10),
        "big": randn(10, scale=1e5),
        "huge": randn(10, scale=1e8),
        "mixed_magnitudes": torch.tensor([1e-5, 1.0, 1e3, 1e8, -2.5]),
        "below_1e-4": torch.tensor([5e-5, 7e-5, -6e-5]),
        "above_1e8": torch.tensor([1.5e8, 2.5e8]),
        "ratio_just_over_1000": torch.tensor([1.0, 1000.5]),
        "ints_valued_sci": torch.tensor([1.0, 1e10]),
        "ints": torch.tensor([-5, 0, 12, 123456]),
        "large_ints": torch.tensor([2**62, -(2**62), 3]),
        "int8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "int16": torch.tensor([-300, 7], dtype=torch.int16),
        "int32": torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
        "uint8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bools": torch.tensor([True, False, True]),
        "bools_2d": torch.tensor([[True], [False]]),
        "float16": randn(3, 4, dtype=torch.float16),
        "float16_big": torch.tensor([60000.0, 1.5], dtype=torch.float16),
        "float64": randn(4, 3, dtype=torch.float64),
        "bfloat16": randn(5, dtype=torch.bfloat16),
        "nan_inf_mix": torch.tensor([nan, inf, -inf, 1.5, 0.0]),
        "nan_inf_ints": torch.tensor([nan, inf, -inf, 2.0]),
        "only_nonfinite": torch.tensor([nan, inf, -inf]),
        "zeros": torch.zeros(2, 3),
        "neg_zero": torch.tensor([-0.0, 0.0]),
        "neg_zero_mix": torch.tensor([-0.0, 1.25]),
        "nan_sci": torch.tensor([nan, 1e-7, 3.0]),
        "empty": torch.empty(0),
        "empty_int": torch.empty(0, dtype=torch.int64),
        "empty_bool": torch.empty(0, dtype=torch.bool),
        "empty_f64": torch.empty(0, dtype=torch.float64),
        "empty_0x3": torch.empty(0, 3),
        "empty_2x0x4": torch.empty(2, 0, 4, dtype=torch.int32),
        "summ_1d_int": torch.arange(2000),
        "summ_1d_float": randn(2000),
        "summ_2d": randn(100, 100),
        "summ_3d": randn(10, 20, 30, scale=1e4),
        "summ_4d": randn(8, 2, 9, 10),
        "summ_edge_rows": randn(1001, 1),
        "wrap_row": randn(50, scale=100.0),
        "wrap_int_row": torch.arange(-100, 100, 3),
        "wrap_2d": randn(3, 40),
        "blocks_3d": randn(2, 3, 4),
        "blocks_4d": torch.arange(24).reshape(2, 3, 2, 2),
        "complex": randn(2, 3, dtype=torch.complex64),
        "complex_0d": torch.tensor(1 - 2j),
        "complex128_summ": randn(1500, dtype=torch.complex128),
        "complex_empty": torch.empty(0, dtype=torch.complex64),
        "requires_grad": randn(3).requires_grad_(),
        "requires_grad_f64": randn(30, 3, dtype=torch.float64).requires_grad_(),
        "grad_fn_add": randn(3).requires_grad_() + 1,
        "grad_fn_mul_long": randn(40).requires_grad_() * 3,
        "grad_fn_0d": randn(4).requires_grad_().sum(),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    check(CASES[name])


@pytest.mark.parametrize("name", ["unit", "float64", "empty", "empty_f64", "complex",
                                  "complex_empty", "ints", "requires_grad_f64"])
def test_default_dtype_float64(name):
    torch.set_default_dtype(torch.float64)
    check(CASES[name])


OPTION_SETS = [
    dict(precision=2),
    dict(precision=8),
    dict(precision=0),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(profile="full"),
    dict(profile="short"),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0),
    dict(linewidth=40),
    dict(linewidth=200),
    dict(linewidth=10),
]


@pytest.mark.parametrize("opts", OPTION_SETS, ids=str)
@pytest.mark.parametrize("name", ["unit", "tiny", "big", "int_valued_floats", "ints",
                                  "summ_2d", "summ_3d", "wrap_row", "nan_inf_mix",
                                  "zero_dim_float", "complex", "requires_grad_f64",
                                  "empty_0x3", "float16", "bools_2d"])
def test_print_options(opts, name):
    set_both(**opts)
    check(CASES[name])


def test_get_printoptions_round_trip():
    from torch._tensor_str import get_printoptions as torch_get

    assert printing.get_printoptions() == torch_get()
    set_both(precision=2, sci_mode=True, linewidth=100)
    assert printing.get_printoptions() == torch_get()
    saved = printing.get_printoptions()
    printing.set_printoptions(profile="full")
    assert printing.get_printoptions()["threshold"] == math.inf
    assert printing.get_printoptions()["sci_mode"] is None  # omitted -> automatic
    printing.set_printoptions(**saved)
    assert printing.get_printoptions() == saved
    printing.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    assert printing.get_printoptions() == torch_get()


def test_printoptions_context_manager_restores():
    before = printing.get_printoptions()
    with printing.printoptions(precision=1, sci_mode=False):
        assert printing.get_printoptions()["precision"] == 1
    assert printing.get_printoptions() == before


def test_device_suffix_position():
    fmt = printing.format_tensor
    ones = np.ones(2, dtype=np.float32)
    assert fmt(ones, dtype_name="float32", is_default_dtype=True,
               device="cuda:0") == "tensor([1., 1.], device='cuda:0')"
    assert fmt(np.ones(2, dtype=np.float16), dtype_name="float16", is_default_dtype=False,
               device="cuda:1", requires_grad=True) == (
        "tensor([1., 1.], device='cuda:1', dtype=torch.float16, requires_grad=True)")
    assert fmt(np.empty((0, 3), dtype=np.int64), dtype_name="int64", is_default_dtype=False,
               device="cuda:0") == (
        "tensor([], device='cuda:0', size=(0, 3), dtype=torch.int64)")


def test_subclass_prefix():
    class MyT(torch.Tensor):
        pass

    t = torch.randn(30).as_subclass(MyT)
    assert printing.format_tensor(**call_args(t, prefix="MyT(")) == repr(t)


def test_dtype_name_aliases():
    got = printing.format_tensor(np.ones(1, np.float64), dtype_name="torch.double",
                                 is_default_dtype=False)
    assert got == "tensor([1.], dtype=torch.float64)"


# ---- property-based: random arrays of many magnitudes, shapes and dtypes ----

_FLOAT_DTYPES = {np.float16: 16, np.float32: 32, np.float64: 64}


@st.composite
def float_arrays(draw):
    dtype = draw(st.sampled_from(list(_FLOAT_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7))
    elements = st.floats(allow_nan=True, allow_infinity=True, width=_FLOAT_DTYPES[dtype])
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    scale = draw(st.sampled_from([1e-6, 1e-3, 1.0, 1e4, 1e9]))
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(arr * dtype(scale) if dtype != np.float16 else arr)


@seed(1234)
@settings(deadline=None, max_examples=300)
@given(float_arrays())
def test_hypothesis_floats(arr):
    check(torch.from_numpy(arr.copy()))


@seed(31)
@settings(deadline=None, max_examples=200)
@given(st.integers(-9, 10), st.sampled_from([np.float16, np.float32, np.float64]),
       hnp.arrays(np.float64, st.integers(1, 12), elements=st.floats(-10, 10)))
def test_hypothesis_one_magnitude(exponent, dtype, mantissas):
    # values of one magnitude exercise the fixed/sci thresholds (1e-4, 1e8)
    with np.errstate(over="ignore", under="ignore"):
        arr = (mantissas * 10.0**exponent).astype(dtype)
    check(torch.from_numpy(arr))


@seed(99)
@settings(deadline=None, max_examples=150)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=30),
                  elements=st.integers(-10**6, 10**6).map(float)))
def test_hypothesis_integer_valued_floats(arr):
    check(torch.from_numpy(arr))


@seed(7)
@settings(deadline=None, max_examples=150)
@given(st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_])
       .flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3,
                                                           min_side=0, max_side=6))))
def test_hypothesis_ints_and_bools(arr):
    check(torch.from_numpy(arr))


@seed(2024)
@settings(deadline=None, max_examples=60)
@given(st.integers(0, 6), st.integers(1, 12), st.sampled_from([None, True, False]),
       st.integers(20, 120), float_arrays())
def test_hypothesis_options(precision, threshold, sci_mode, linewidth, arr):
    set_both(precision=precision, threshold=threshold, sci_mode=sci_mode, linewidth=linewidth)
    check(torch.from_numpy(arr.copy()))
