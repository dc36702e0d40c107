"""What ``np`` and the ``kernels.fastmath`` names mean inside CUDA device code.

The scalar functions in ``kernels/scalar.py`` are written once, for the CPU, with ``np.*``
ufuncs and the vectorisable ``fexp``/``flog``/... of ``kernels.fastmath``. numba-cuda types only
a few ufuncs on scalars and cannot compile the CPU-only fastmath intrinsics, so for a real GPU
the scalar function's code is re-bound to these globals (``math.*``, which numba-cuda maps to
libdevice, float32 in -> float32 out) by ``kernels.cuda._device.device_scalar``."""

import math

from numba import cuda

inf = math.inf
nan = math.nan
pi = math.pi
e = math.e

exp = math.exp
exp2 = math.exp2
log = math.log
log2 = math.log2
log10 = math.log10
log1p = math.log1p
expm1 = math.expm1
sqrt = math.sqrt
sin = math.sin
cos = math.cos
tan = math.tan
arcsin = math.asin
arccos = math.acos
arctan = math.atan
sinh = math.sinh
cosh = math.cosh
tanh = math.tanh
floor = math.floor
ceil = math.ceil
trunc = math.trunc
isinf = math.isinf
isfinite = math.isfinite
isnan = math.isnan
fmod = math.fmod
arctan2 = math.atan2
hypot = math.hypot
copysign = math.copysign


@cuda.jit(device=True)
def round(x):
    r = math.floor(x)
    d = x - r
    if d > 0.5 or (d == 0.5 and math.fmod(r, 2.0) != 0.0):
        r += 1.0
    return r


# kernels.fastmath names -> libdevice
FASTMATH = {"fexp": math.exp, "fexpm1": math.expm1, "flog": math.log, "flog1p": math.log1p,
            "ftanh": math.tanh, "ferf": math.erf}
