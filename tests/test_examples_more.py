"""Examples 1 and 3 of the training workflow: the seed-tutorial walkthrough and the digits CNN
(plus the ``--compare-torch`` flag of both digits examples)."""

import contextlib
import io
import os
import re
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples"))

# Sections of the walkthrough that print no random numbers, addresses or timings: with
# PyTorch installed, engine's output must equal PyTorch's there, character for character.
DETERMINISTIC = ("Devices", "Tensors: operations", "Tensors: shapes",
                 "Views share storage; reshape views when it can",
                 "Bridge with NumPy: shared memory", "nn: containers")


def _sections(text):
    parts = re.split(r"^======== (.+?) =+$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    import seed_walkthrough

    out = tmp_path_factory.mktemp("walk")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        res = seed_walkthrough.main(["--out", str(out), "--device", "cpu"])
    return res, buf.getvalue(), out


def test_walkthrough_prints_the_tutorials_facts(walkthrough):
    res, text, out = walkthrough
    for fact in [
        "Shape of tensor: torch.Size([3, 4])",
        "Datatype of tensor: torch.float32",
        "Device tensor is stored on: cpu",
        "Using cpu device",
        "First column: tensor([1., 1., 1., 1.])",
        "12.0 <class 'float'>",
        "True True True True",  # y1 == y2 == y3, z1 == z2 == z3
        # reshape of a contiguous tensor is a view: writing through it changes the base
        "tensor([100,   1,   2,   3,   4,   5])",
        "reshape of a contiguous tensor is a view: True",
        "t.view(6) raises RuntimeError: view size is not compatible",
        "reshape of a transposed tensor copies: tensor([-1,  3,  1,  4,  2,  5]) True",
        # the numpy bridge shares memory both ways
        "t: tensor([2., 2., 2., 2., 2.])\nn: [2. 2. 2. 2. 2.]",
        "t: tensor([2., 2., 2., 2., 2.], dtype=torch.float64)\nn: [2. 2. 2. 2. 2.]",
        # autograd
        "tensor([[ 2.,  0.],\n        [-2.,  2.]])\nTrue False True SumBackward0",
        "Gradient function for z = <AddBackward0 object at 0x",
        "Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0 object at 0x",
        "True\nFalse\nFalse\nFirst call",  # requires_grad; under no_grad; detach
        "Second call\ntensor([[8., 4., 4., 4., 4.],",
        # nn reprs
        ("  (linear_relu_stack): Sequential(\n    (0): Linear(in_features=64, out_features=64, "
         "bias=True)"),
        ("ModuleList(\n  (0-2): 3 x Linear(in_features=4, out_features=4, bias=True)\n"
         "  (3): Tanh()\n)"),
        ("ModuleDict(\n  (cls): Linear(in_features=4, out_features=10, bias=True)\n"
         "  (reg): Linear(in_features=4, out_features=1, bias=True)\n)"),
        # data and the loop
        "Feature batch shape: torch.Size([64, 8, 8])",
        "Labels batch shape: torch.Size([64])",
        "Epoch 5\n-------------------------------\nloss: ",
        "Validation Error: \n Accuracy: ",
    ]:
        assert fact in text, fact
    assert res["device"] == "cpu"
    assert res["test_acc"] >= 0.85 and res["val_acc"] >= 0.85
    assert (out / "seed_walkthrough_best.pth").exists()
    acc = float(re.findall(r"Test Error: \n Accuracy: ([\d.]+)%", text)[-1])
    assert acc == pytest.approx(100 * res["test_acc"], abs=0.05)


def test_walkthrough_matches_pytorch_output(walkthrough, tmp_path):
    pytest.importorskip("torch")
    import seed_walkthrough

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        seed_walkthrough.main(["--torch", "--out", str(tmp_path), "--device", "cpu",
                               "--epochs", "1"])
    mine, theirs = _sections(walkthrough[1]), _sections(buf.getvalue())
    assert set(mine) == set(theirs)
    for name in DETERMINISTIC:
        assert mine[name] == theirs[name], name


def test_digits_cnn_reaches_98_percent(tmp_path):
    import digits_cnn
    acc = digits_cnn.main(["--out", str(tmp_path), "--no-plot"])
    assert acc >= 0.98
    assert (tmp_path / "digits_cnn_best.pt").exists()


def test_same_init_same_gradients_as_pytorch():
    """The --compare-torch premise: the model written once, weights copied through numpy,
    gives PyTorch's loss and gradients."""
    torch = pytest.importorskip("torch")
    import digits_cnn

    import engine
    me = digits_cnn.make_model(engine.nn, 8, p_drop=0.0)
    mt = digits_cnn.make_model(torch.nn, 8, p_drop=0.0)
    mt.load_state_dict({k: torch.from_numpy(v) for k, v in digits_cnn.numpy_state(me).items()})
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    le = engine.nn.functional.cross_entropy(me(engine.from_numpy(x)), engine.from_numpy(y))
    lt = torch.nn.functional.cross_entropy(mt(torch.from_numpy(x)), torch.from_numpy(y))
    le.backward()
    lt.backward()
    assert le.item() == pytest.approx(lt.item(), rel=1e-5)
    for (n, pe), (_, pt) in zip(me.named_parameters(), mt.named_parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=n)


@pytest.mark.parametrize("example", ["digits_cnn", "digits_mlp"])
def test_compare_torch_flag(example, tmp_path, capsys):
    pytest.importorskip("torch")
    mod = __import__(example)
    argv = ["--epochs", "1", "--out", str(tmp_path), "--no-plot", "--compare-torch"]
    if example == "digits_cnn":
        argv += ["--width", "4"]
    acc = mod.main(argv)
    text = capsys.readouterr().out
    assert "per-epoch seconds (engine / torch):" in text
    m = re.search(r"median epoch  engine ([\d.]+) s  torch ([\d.]+) s .*test accuracy  "
                  r"engine ([\d.]+)  torch ([\d.]+)", text)
    assert m, text[-2000:]
    assert float(m.group(3)) == pytest.approx(acc, abs=1e-4)
    assert 0.0 <= float(m.group(4)) <= 1.0
