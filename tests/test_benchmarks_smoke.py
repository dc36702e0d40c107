"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs end to end and its
JSON holds every row. Nothing about speed is asserted (timings live in BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.breakdown import cpu_us
from benchmarks.harness import Config, measure, timing_from_samples
from benchmarks.report import fmt_time, table
from benchmarks.spec import Row, Target, evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXPECTED = {"add_fresh", "exp_mul_add", "sum_all", "sum_dim0", "sum_dim1", "softmax",
            "matmul_64", "matmul_128", "conv2d_1_16", "conv2d_16_32", "add_1elem",
            "add_1elem_grad", "train_mlp_b8", "train_mlp_b16", "train_tiny_b32",
            "train_cnn_b4", "import", "first_step_warm", "cold_compile"}


def test_quick_suite_writes_all_rows(tmp_path):
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out),
                        "--plot", str(png)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    data = json.loads(out.read_text())
    keys = {ln["key"] for ln in data["rows"]}
    assert EXPECTED <= keys, f"missing rows: {sorted(EXPECTED - keys)}"
    errors = [(ln["key"], ln.get("error")) for ln in data["rows"] if ln["status"] == "ERROR"]
    assert not errors, errors
    for ln in data["rows"]:
        assert ln["status"] in ("PASS", "MISS", "n/a", ""), ln
        if ln["key"] != "cold_compile":          # skipped in --quick
            assert ln["median_s"] and ln["median_s"] > 0, ln
    gemm = [ln for ln in data["rows"] if ln["key"] == "matmul_64"]
    assert {ln["impl"] for ln in gemm} == {"engine", "engine-gemm"}
    assert data["meta"]["ceilings"]["bw_gbs"] > 0
    assert "engine" in data["meta"]["engine_info"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert png.stat().st_size > 1000


def test_cuda_flag_is_clear_when_unavailable(capsys):
    try:
        import engine.cuda as ec
        available = ec.is_available()
    except Exception:  # noqa: BLE001  (no engine.cuda module or no driver)
        available = False
    if available:
        pytest.skip("a CUDA device is available")
    from benchmarks import main
    rc = main(["--device", "cuda", "--quick", "--no-torch", "--filter", "add_1elem"])
    assert rc == 2
    assert "CUDA" in capsys.readouterr().err


def test_harness_and_targets():
    t = measure({"a": lambda: None, "b": lambda: sum(range(10))}, Config.for_mode(True))
    assert set(t) == {"a", "b"} and t["a"].n >= 3 and t["b"].first_s is not None
    s = timing_from_samples([3.0, 1.0, 2.0, 4.0, 5.0])
    assert s.median_s == 3.0 and s.q1_s == 2.0 and s.q3_s == 4.0
    row = Row("r", "row", "x", unit="GB/s", work=1e9,
              targets={"engine": Target("torch_ratio_le", 0.5),
                       "engine-gemm": Target("numpy_rate_ge", 0.6)})
    timings = {k: timing_from_samples([v]) for k, v in
               (("engine", 1.0), ("engine-gemm", 2.0), ("torch", 4.0), ("numpy", 1.0))}
    lines = evaluate(row, timings, {"bw_gbs": 2.0})
    by = {ln["impl"]: ln for ln in lines}
    assert by["engine"]["status"] == "PASS" and by["engine"]["ratio_torch"] == 0.25
    assert by["engine"]["pct_ceiling"] == pytest.approx(50.0)
    assert by["engine-gemm"]["status"] == "MISS"      # numpy rate / 2 < 60 %
    assert Target("seconds_lt", 1).check({"median_s": 0.5}) is True
    assert "| row |" in table(lines) and fmt_time(2e-3) == "2.00 ms"
    assert 0 < cpu_us(lambda: sum(range(100)), number=10, repeat=3, warm=1) < 1e4
