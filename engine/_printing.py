"""Tensor repr/str formatting, identical to PyTorch's output.

A port of ``torch/_tensor_str.py`` that works on numpy arrays only. The control
flow deliberately mirrors torch's (including its quirks) so that every string
matches ``repr(torch_tensor)`` for the same values and print options.
"""

import contextlib
import dataclasses
import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "format_tensor"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None,
                     linewidth=None, profile=None, sci_mode=None):
    """Set printing options; same semantics as ``torch.set_printoptions``."""
    if profile is not None and profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    explicit = dict(precision=precision, threshold=threshold,
                    edgeitems=edgeitems, linewidth=linewidth)
    for name, value in explicit.items():
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    # torch always overwrites sci_mode, so omitting it resets to automatic.
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """Current options, usable as ``**kwargs`` for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses int/float/scientific mode and a common width for all elements."""

    def __init__(self, values: np.ndarray):
        self.floating_dtype = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating_dtype:
            for value in set(flat.tolist()):
                self.max_width = max(self.max_width, len(f"{value}"))
        else:
            self._init_float(flat)

    def _init_float(self, flat):
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            return  # nothing informative: keep int mode, width 1
        # float64 so that float16 does not overflow in the ratio below.
        abs_vals = np.abs(nonzero_finite).astype(np.float64)
        vmin, vmax = abs_vals.min(), abs_vals.max()
        with np.errstate(over="ignore"):  # inf ratio simply means sci mode
            ratio = vmax / vmin
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(ratio > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        for value in np.unique(nonzero_finite).tolist():
            if self.sci_mode:
                width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1  # room for the trailing "."
            else:
                width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, width)

    def width(self):
        return self.max_width

    def format(self, value):
        precision = PRINT_OPTS.precision
        if not self.floating_dtype:
            ret = f"{value}"
        elif self.sci_mode:
            ret = f"{value:{self.max_width}.{precision}e}"
        elif self.int_mode:
            ret = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                ret += "."  # marks the tensor as floating point
        else:
            ret = f"{value:.{precision}f}"
        return (self.max_width - len(ret)) * " " + ret


def _element_str(value, formatter1, formatter2=None):
    """One element; formatter2 (imaginary part) is set only for complex."""
    if formatter2 is None:
        return formatter1.format(value)
    real_str = formatter1.format(value.real)
    imag_str = (formatter2.format(value.imag) + "j").lstrip()
    # the imaginary part carries its own sign for negatives, -0.0 and nan
    if imag_str[0] in "+-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _vector_str(values, indent, summarize, formatter1, formatter2=None):
    # each element also needs ", " around it
    element_length = formatter1.width() + 2
    if formatter2 is not None:
        element_length += formatter2.width() + 1  # imaginary part plus "j"
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems

    def fmt(part):
        return [_element_str(v, formatter1, formatter2) for v in part.tolist()]

    if summarize and not edge:
        data = ["..."]
    elif summarize and values.shape[0] > 2 * edge:
        data = fmt(values[:edge]) + [" ..."] + fmt(values[-edge:])
    else:
        data = fmt(values)
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(values, indent, summarize, formatter1, formatter2=None):
    dim = values.ndim
    if dim == 0:
        return _element_str(values.item(), formatter1, formatter2)
    if dim == 1:
        return _vector_str(values, indent, summarize, formatter1, formatter2)

    def sub(i):
        return _tensor_str_with_formatter(values[i], indent + 1, summarize,
                                          formatter1, formatter2)

    size, edge = values.shape[0], PRINT_OPTS.edgeitems
    if summarize and size > 2 * edge:
        slices = ([sub(i) for i in range(edge)] + ["..."]
                  + [sub(i) for i in range(size - edge, size)])
    else:
        slices = [sub(i) for i in range(size)]
    # blocks of rank k are separated by k-1 blank lines
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(values):
    """Only the elements that will be printed, so widths ignore hidden ones."""
    dim, edge = values.ndim, PRINT_OPTS.edgeitems
    if dim == 0:
        return values
    if dim == 1:
        if values.shape[0] > 2 * edge:
            return np.concatenate((values[:edge], values[-edge:]))
        return values
    if not edge:
        return np.empty([0] * dim, dtype=values.dtype)
    if values.shape[0] > 2 * edge:
        rows = list(values[:edge]) + list(values[-edge:])
    else:
        rows = list(values)
    return np.stack([_summarized_data(row) for row in rows])


def _tensor_str(values, indent):
    if values.size == 0:
        return "[]"
    summarize = values.size > PRINT_OPTS.threshold
    source = _summarized_data(values) if summarize else values
    if values.dtype.kind == "c":
        real_formatter = _Formatter(np.ascontiguousarray(source.real))
        imag_formatter = _Formatter(np.ascontiguousarray(source.imag))
        return _tensor_str_with_formatter(values, indent, summarize,
                                          real_formatter, imag_formatter)
    return _tensor_str_with_formatter(values, indent, summarize, _Formatter(source))


def _add_suffixes(tensor_str, suffixes, indent):
    parts = [tensor_str]
    # torch's "+ 1" over-counts by two; kept so that wrapping points agree.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


# Aliases accepted for dtype_name; torch always prints the canonical name.
_DTYPE_ALIASES = {
    "float": "float32", "double": "float64", "half": "float16",
    "long": "int64", "int": "int32", "short": "int16", "bool_": "bool",
    "cfloat": "complex64", "cdouble": "complex128", "chalf": "complex32",
}


def _canonical_dtype(dtype_name):
    name = dtype_name.removeprefix("torch.")
    return _DTYPE_ALIASES.get(name, name)


def _dtype_and_size_suffixes(values, dtype_name, is_default_dtype):
    """size=/dtype= suffixes, following torch's rules for strided tensors."""
    suffixes = []
    dtype_suffix = "dtype=torch." + dtype_name
    if values.size == 0:
        if values.ndim != 1:  # like numpy, (0,) is implied by "[]"
            suffixes.append("size=" + str(tuple(values.shape)))
        # no elements to infer the dtype from, so only the default float is implied
        if not (is_default_dtype and values.dtype.kind != "c"):
            suffixes.append(dtype_suffix)
        return suffixes
    if not PRINT_OPTS.edgeitems:
        suffixes.append("size=" + str(tuple(values.shape)))
    if not (is_default_dtype or dtype_name in ("int64", "bool")):
        suffixes.append(dtype_suffix)
    return suffixes


def format_tensor(values, *, dtype_name, is_default_dtype, device=None,
                  requires_grad=False, grad_fn=None, prefix="tensor("):
    """Return what ``repr(tensor)`` prints in PyTorch for these values.

    values: the tensor data (any shape, incl. 0-d and empty).
    dtype_name: torch dtype name such as "float32" (the "torch." prefix is optional).
    is_default_dtype: dtype equals torch.get_default_dtype() (for complex
        tensors: equals the matching default complex dtype).
    device: None for the default (CPU) device, else e.g. "cuda:0".
    grad_fn: name of the grad_fn class; takes precedence over requires_grad.
    """
    values = np.asarray(values)
    dtype_name = _canonical_dtype(dtype_name)
    indent = len(prefix)
    suffixes = [] if device is None else [f"device='{device}'"]
    suffixes += _dtype_and_size_suffixes(values, dtype_name, is_default_dtype)
    tensor_str = "[]" if values.size == 0 else _tensor_str(values, indent)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent)
