"""The seed tutorial, end to end, with ``import engine as torch``.

    python examples/seed_walkthrough.py [--device cpu|cuda] [--epochs 5] [--out examples/out]
    python examples/seed_walkthrough.py --torch      # the same script run by PyTorch itself

Every snippet of PyTorch's "Learn the Basics" workflow, printing what the tutorial prints:
tensors (constructors, attributes, indexing, joining, arithmetic, in-place ops, views versus
copies, the numpy bridge), devices, autograd, ``nn`` containers, a Dataset / DataLoader
train / validate / test loop on scikit-learn's bundled 8x8 digits (no download), and saving
and loading a ``state_dict``. Runs in a few seconds once the kernels are cached.

``--torch`` runs the very same code with PyTorch, so the two outputs can be diffed: they
differ only where random numbers, memory addresses or timings are printed.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import engine as torch
from engine import nn
from engine.nn import functional as F
from engine.utils.data import DataLoader, Dataset

_IMPORTS = ("import engine as torch\nfrom engine import nn\nfrom engine.nn import functional as F"
            "\nfrom engine.utils.data import DataLoader, Dataset\n")


def section(title):
    print(f"\n{'=' * 8} {title} {'=' * (70 - len(title))}")


def tensors():
    section("Tensors: initializing")
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    print(f"x_data: \n {x_data} \n")
    print(f"x_np: \n {x_np} \n")
    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    print(f"Ones Tensor: \n {x_ones} \n")
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    print(f"Random Tensor: \n {x_rand} \n")
    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    print(f"Random Tensor: \n {rand_tensor} \n")
    print(f"Ones Tensor: \n {ones_tensor} \n")
    print(f"Zeros Tensor: \n {zeros_tensor}")
    print(torch.arange(5), torch.arange(1, 4, 0.5), sep="\n")
    print(torch.full((2, 2), 7.0), torch.full_like(x_data, 9), torch.zeros_like(x_rand),
          sep="\n")
    print(torch.eye(3, dtype=torch.int64))
    print(torch.linspace(0, 1, steps=5))

    section("Tensors: attributes")
    tensor = torch.rand(3, 4)
    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    print(x_data.dtype, x_np.dtype, torch.tensor([1.5]).dtype, torch.tensor([True]).dtype)
    print(tensor.size(), tensor.size(1), tensor.dim(), tensor.numel(), tensor.ndim)


def operations(device):
    section("Tensors: operations")
    tensor = torch.rand(3, 4)
    tensor = tensor.to(device)  # the tutorial's "move to the accelerator if there is one"
    print(f"Device tensor is stored on: {tensor.device}")
    tensor = torch.ones(4, 4)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    print(tensor)
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    print(torch.stack([tensor[0], tensor[1]]).shape, torch.stack([tensor[0]] * 3, dim=1).shape)

    # matrix multiplication: y1, y2, y3 have the same value
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    # element-wise product: z1, z2, z3 have the same value
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    print(y1)
    print(torch.equal(y1, y2), torch.equal(y1, y3), torch.equal(z1, z2), torch.equal(z1, z3))

    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))

    print(f"{tensor} \n")
    tensor.add_(5)  # in-place: the suffix _
    print(tensor)
    a = torch.tensor([1.0, 2.0, 3.0])
    a.mul_(2).sub_(1)
    print(a, a + 1, a - 1, a * a, a / 2, a ** 2, -a, a // 2, a % 2, sep="\n")
    print(torch.tensor([1, 2, 3]) / 2, torch.tensor([1, 2, 3]) * 1.5)  # int -> float


def shapes():
    section("Tensors: shapes")
    x = torch.zeros(2, 1, 3)
    print(x.squeeze().shape, x.squeeze(1).shape, x.unsqueeze(0).shape, x.unsqueeze(-1).shape)
    y = torch.arange(24).reshape(2, 3, 4)
    print(y.transpose(0, 2).shape, y.permute(2, 0, 1).shape, y.flatten().shape)
    print(y.permute(2, 0, 1).is_contiguous(), y.permute(2, 0, 1).contiguous().is_contiguous())
    print(torch.cat([y, y], dim=0).shape, torch.stack([y, y], dim=0).shape)
    print(y.t() if y.dim() == 2 else y[0].t())


def views_and_copies():
    section("Views share storage; reshape views when it can")
    a = torch.arange(6)
    b = a.reshape(2, 3)  # contiguous: a view, no copy
    v = a.view(3, 2)
    b[0, 0] = 100  # writes through to a (and v)
    print(a)
    print(v)
    print("reshape of a contiguous tensor is a view:", b.data_ptr() == a.data_ptr())
    t = b.t()  # a transposed view: not contiguous
    print(t.shape, t.stride(), t.is_contiguous())
    try:
        t.view(6)
    except RuntimeError as e:
        print("t.view(6) raises RuntimeError:", str(e).split(" (")[0].split(" Use")[0])
    r = t.reshape(6)  # cannot be a view: reshape copies
    r[0] = -1
    print("reshape of a transposed tensor copies:", r, b[0, 0].item() == 100)
    s = a[1:5:2]  # slicing is a view too
    s.fill_(-7)
    print(a, s.storage_offset(), s.stride())
    c = a.clone()
    c[0] = 0
    print(a[0].item(), c[0].item())


def numpy_bridge():
    section("Bridge with NumPy: shared memory")
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")
    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")


def pick_device(requested=None):
    section("Devices")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"Using {device} device")
    if requested is not None:
        device = requested
        print(f"--device {requested}: using {device}")
    x = torch.ones(2, 2, device=device)
    print(x.device, x.to("cpu").device, torch.device(device))
    return device


def autograd():
    section("Autograd")
    x = torch.tensor([[1., 0.], [-1., 1.]], requires_grad=True)
    z = x.pow(2).sum()
    z.backward()
    print(x.grad)
    print(x.is_leaf, z.is_leaf, z.requires_grad, type(z.grad_fn).__name__)

    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = F.binary_cross_entropy_with_logits(z, y)
    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    loss.backward()
    print(w.grad)
    print(b.grad)
    print(torch.allclose(b.grad, torch.sigmoid(z.detach()) / 3), torch.allclose(
        w.grad, torch.outer(x, b.grad)))  # d loss / dz = (sigmoid(z) - y) / 3
    z = torch.matmul(x, w) + b
    print(z.requires_grad)
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    print(z.requires_grad)
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    print(z_det.requires_grad)

    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\n{inp.grad}")
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nSecond call\n{inp.grad}")
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nCall after zeroing gradients\n{inp.grad}")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def modules(device):
    section("nn: building a model")
    model = NeuralNetwork().to(device)
    print(model)
    X = torch.rand(1, 8, 8, device=device)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    print(f"Predicted class: {y_pred}")
    input_image = torch.rand(3, 8, 8)
    print(input_image.size())
    flat_image = nn.Flatten()(input_image)
    print(flat_image.size())
    layer1 = nn.Linear(in_features=64, out_features=20)
    hidden1 = layer1(flat_image)
    print(hidden1.size())
    print(f"Before ReLU: {hidden1}\n\n")
    hidden1 = nn.ReLU()(hidden1)
    print(f"After ReLU: {hidden1}")
    print(f"Model structure: {model}\n\n")
    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")

    section("nn: containers")
    seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    print(seq)
    print(seq[0], len(seq), seq(torch.ones(3, 4)).shape)
    layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    layers.append(nn.Tanh())
    print(layers)
    heads = nn.ModuleDict({"cls": nn.Linear(4, 10), "reg": nn.Linear(4, 1)})
    print(heads)
    print(list(heads.keys()), sum(p.numel() for p in layers.parameters()),
          len(list(heads.parameters())), len(seq.state_dict()))
    return model


class DigitsDataset(Dataset):
    """The tutorial's custom Dataset: __len__ and __getitem__ over an in-memory table."""

    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.images[idx])
        if self.transform:
            image = self.transform(image)
        return image, int(self.labels[idx])


def digits_datasets(seed=0):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)  # (1797, 8, 8)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    x, y = x[perm], y[perm]
    n = len(x) // 10
    return (DigitsDataset(x[2 * n:], y[2 * n:]), DigitsDataset(x[n:2 * n], y[n:2 * n]),
            DigitsDataset(x[:n], y[:n]))


def train_loop(dataloader, model, loss_fn, optimizer, device):
    size = len(dataloader.dataset)
    model.train()  # dropout / batchnorm in training mode (good practice)
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 10 == 0:
            loss, current = loss.item(), batch * dataloader.batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn, device, name="Test"):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"{name} Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


def training(device, epochs, out, seed=0, lr=0.1):
    section("Datasets, DataLoaders and the optimization loop")
    training_data, val_data, test_data = digits_datasets(seed)
    img, label = training_data[0]
    print(len(training_data), len(val_data), len(test_data), img.shape, img.dtype, label)
    train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
    val_dataloader = DataLoader(val_data, batch_size=64)
    test_dataloader = DataLoader(test_data, batch_size=64)
    train_features, train_labels = next(iter(train_dataloader))
    print(f"Feature batch shape: {train_features.size()}")
    print(f"Labels batch shape: {train_labels.size()}")

    model = NeuralNetwork().to(device)
    learning_rate = lr
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
    best, path = -1.0, os.path.join(out, "seed_walkthrough_best.pth")
    t0 = time.perf_counter()
    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer, device)
        acc = test_loop(val_dataloader, model, loss_fn, device, name="Validation")
        if acc > best:
            best = acc
            torch.save(model.state_dict(), path)
    print(f"Done! ({epochs} epochs in {time.perf_counter() - t0:.2f} s)")

    section("Save and load the model")
    model = NeuralNetwork().to(device)  # a fresh, untrained model ...
    model.load_state_dict(torch.load(path, weights_only=True))  # ... given the best weights
    model.eval()
    print(sorted(model.state_dict().keys()))
    test_acc = test_loop(test_dataloader, model, loss_fn, device)
    return test_acc, best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.1, help="SGD (momentum 0.9) learning rate")
    p.add_argument("--torch", action="store_true", help="run the same code with PyTorch")
    args = p.parse_args(argv)
    if args.torch:
        return _run_with_pytorch(argv)
    print(f"{torch.__name__} {torch.__version__}")
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    tensors()
    device = pick_device(args.device)
    operations(device)
    shapes()
    views_and_copies()
    numpy_bridge()
    autograd()
    modules(device)
    test_acc, val_acc = training(device, args.epochs, args.out, args.seed, args.lr)
    return {"test_acc": test_acc, "val_acc": val_acc, "device": device}


def _run_with_pytorch(argv):
    """Run this very file with its imports changed to PyTorch's (as a module of its own, so
    that pickling the model class works)."""
    import sys
    import types
    with open(__file__) as f:
        src = f.read()
    assert _IMPORTS in src
    src = src.replace(_IMPORTS, _IMPORTS.replace("engine", "torch"), 1)
    mod = types.ModuleType("seed_walkthrough_torch")
    mod.__file__ = __file__
    sys.modules[mod.__name__] = mod
    exec(compile(src, __file__, "exec"), mod.__dict__)  # noqa: S102  (this file, edited)
    argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--torch"]
    return mod.main(argv)


if __name__ == "__main__":
    main()
