"""Compile-only check of every CUDA kernel family for a real GPU (no GPU needed): typing and
lowering with ``cuda.compile_ptx`` in a subprocess without the simulator. Catches what the
simulator cannot (it runs kernels as Python)."""

import importlib.util
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba_cuda")
if os.environ.get("NUMBA_ENABLE_CUDASIM"):
    pytest.skip("runs in the main (non-simulator) test run", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _have(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:  # no "nvidia" namespace package at all
        return False


def test_cuda_kernels_compile_for_gpu():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    r = subprocess.run([sys.executable, "-m", "kernels.cuda._typecheck"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "0 failed" in r.stdout
    if _have("nvidia.cuda_nvcc") and _have("nvidia.cuda_nvrtc"):
        # the test extra installs NVVM and NVRTC: every kernel must reach PTX
        assert " 0 typed and lowered only" in r.stdout, r.stdout[-2000:]
