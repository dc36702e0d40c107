"""The README's main job: the digits MLP example reaches its accuracy threshold."""

import os
import sys

import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples"))


def test_digits_mlp_reaches_97_percent(tmp_path):
    import digits_mlp
    acc = digits_mlp.main(["--epochs", "40", "--out", str(tmp_path), "--no-plot"])
    assert acc >= 0.97
    assert (tmp_path / "digits_mlp_best.pt").exists()
