"""benchmarks/gpu_check.py's rows run end to end (tiny sizes, simulator or GPU), so the first
real-GPU run spends its minutes measuring rather than on a broken script."""

import pytest

import engine

if not engine.cuda.is_available():
    pytest.skip("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

from benchmarks import gpu_check as G  # noqa: E402


@pytest.fixture(autouse=True)
def _rows():
    G.ROWS.clear()
    yield
    G.ROWS.clear()


def _values():
    return {r[0]: r[1] for r in G.ROWS}


def test_bandwidth_rows():
    G.bench_bandwidth(256, reps=1, row_len=64)
    v = _values()
    assert [k for k in v if "GB/s" not in v[k]] == []
    assert {"a + b", "sum (all)", "softmax (rows of 64)"} <= set(v)


def test_matmul_rows():
    G.bench_matmul(16)
    v = _values()
    assert "GFLOP/s" in v["matmul 16^3 f32"]
    assert float(v["  matmul rel. error vs f64"]) < 1e-4


def test_launch_rows():
    G.bench_launch(reps=2, n=64)
    assert all("us/op" in x for x in _values().values())


def test_mlp_row():
    G.bench_mlp(4, dims=(8, 6, 5, 3), reps=1)
    (name, val, _, note), = G.ROWS
    assert name == "MLP 8-6-5-3 b4 step" and val.endswith(" ms")
    assert note.endswith("driver allocs/step 0"), note
