"""Train a small CNN on scikit-learn's bundled 8x8 digits (no download) with engine.

    python examples/digits_cnn.py [--epochs 12] [--device cpu|cuda] [--out examples/out]
                                  [--no-plot] [--compare-torch]

The digits are reshaped to (1, 8, 8) images. Same workflow as ``digits_mlp.py``:
train/validation/test split, a tqdm progress bar per epoch, best-on-validation checkpoint
(engine.save), final test accuracy of the best checkpoint, and a PNG of the curves.

``--compare-torch`` trains the same model with PyTorch in the same run: same data split, the
same initial weights (copied through numpy), the same hyperparameters and the same training
loop (``fit`` below takes the framework module, so the loop is literally one piece of code
run once with ``engine`` and once with ``torch``), and prints both per-epoch times and
final accuracies. Batch order and dropout masks come from each framework's own RNG.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import engine as torch
from engine import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits_mlp import _plot, load_digits_split  # the same split and plot


def make_model(nn=nn, width: int = 24, p_drop: float = 0.25):
    """Conv-BN-ReLU-pool twice (8x8 -> 4x4 -> 2x2), then dropout and a linear classifier.
    ``nn`` is ``engine.nn`` or ``torch.nn``: the architecture is written once. The convs have
    no bias: BatchNorm right after them cancels it."""
    w = width
    return nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(p_drop), nn.Linear(2 * w * 4, 10))


def evaluate(T, model, loader, device):
    """Mean loss and accuracy of ``model`` on ``loader`` (T is engine or torch)."""
    F = T.nn.functional
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with T.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss_sum += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
            total += yb.shape[0]
    return loss_sum / total, correct / total


def loaders(T, splits, batch_size, seed, image_shape):
    """Train/val/test DataLoaders of framework T over numpy splits (reshaped to image_shape)."""
    from_np = T.from_numpy
    ds = [T.utils.data.TensorDataset(from_np(np.ascontiguousarray(x.reshape(-1, *image_shape))),
                                     from_np(y)) for x, y in splits]
    DataLoader = T.utils.data.DataLoader
    return (DataLoader(ds[0], batch_size=batch_size, shuffle=True,
                       generator=T.Generator().manual_seed(seed)),
            DataLoader(ds[1], batch_size=256), DataLoader(ds[2], batch_size=256))


def fit(T, model, splits, args, ckpt, image_shape=(1, 8, 8), name="engine", verbose=True,
        one_cycle=True, keep_later_ties=True):
    """Train ``model`` with framework ``T`` (``engine`` or ``torch``): Adam (+ OneCycle LR
    stepped per batch when ``one_cycle``), best-on-validation checkpoint (a tie replaces it
    when ``keep_later_ties``: later epochs are further annealed), test accuracy of the best
    checkpoint. Returns (test_acc, per-epoch seconds, history)."""
    F = T.nn.functional
    device = T.device(args.device)
    T.manual_seed(args.seed)
    train, val, test = loaders(T, splits, args.batch_size, args.seed, image_shape)
    model = model.to(device)
    opt = T.optim.Adam(model.parameters(), lr=args.lr)
    sched = T.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                            steps_per_epoch=len(train)) if one_cycle else None
    try:
        from tqdm import tqdm
    except ImportError:  # progress bar is optional
        tqdm = None
    hist = {"train_loss": [], "val_loss": [], "val_acc": []}
    best, t_epochs = -1.0, []
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        it = tqdm(train, desc=f"{name} epoch {epoch:3d}", leave=False) if tqdm else train
        tot = n = 0
        for xb, yb in it:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            tot += loss.item() * yb.shape[0]
            n += yb.shape[0]
            if tqdm:
                it.set_postfix(loss=f"{tot / n:.4f}")
        t_epochs.append(time.perf_counter() - t0)
        vl, va = evaluate(T, model, val, device)
        hist["train_loss"].append(tot / n)
        hist["val_loss"].append(vl)
        hist["val_acc"].append(va)
        if va > best or (keep_later_ties and va == best):
            best = va
            T.save({"model": model.state_dict(), "epoch": epoch, "val_acc": va}, ckpt)
        if verbose:
            print(f"[{name}] epoch {epoch:3d}  train loss {tot / n:.4f}  val loss {vl:.4f}  "
                  f"val acc {va:.4f}  ({t_epochs[-1]:.2f} s)")
    state = T.load(ckpt, map_location=device)
    model.load_state_dict(state["model"])
    _, ta = evaluate(T, model, test, device)
    print(f"[{name}] best epoch {state['epoch']} (val acc {state['val_acc']:.4f}); test accuracy "
          f"{ta:.4f}; median epoch time {median(t_epochs):.3f} s")
    return ta, t_epochs, hist


def median(xs):
    return sorted(xs)[len(xs) // 2]


def numpy_state(model):
    """A model's state_dict as numpy copies (framework-neutral initial weights)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def compare_with_torch(torch_model_fn, init_state, splits, args, out, engine_times, engine_acc,
                       image_shape, **fit_kwargs):
    """Train ``torch_model_fn(torch.nn)`` from ``init_state`` with real PyTorch through
    :func:`fit` (``fit_kwargs`` pick the recipe) and print a side-by-side of per-epoch times
    and test accuracies. Returns those figures as a dict (None without PyTorch)."""
    try:
        import torch as real_torch
    except ImportError:
        print("--compare-torch: PyTorch is not installed")
        return None
    m = torch_model_fn(real_torch.nn)
    m.load_state_dict({k: real_torch.from_numpy(v) for k, v in init_state.items()})
    targs = argparse.Namespace(**{**vars(args), "device": "cpu"})
    ckpt = os.path.join(out, "torch_best.pt")
    tacc, ttimes, _ = fit(real_torch, m, splits, targs, ckpt, image_shape, name="torch",
                          verbose=False, **fit_kwargs)
    print("per-epoch seconds (engine / torch):")
    for i, (a, b) in enumerate(zip(engine_times, ttimes), 1):
        print(f"  epoch {i:3d}  {a:7.3f}  {b:7.3f}")
    me, mt = median(engine_times), median(ttimes)
    print(f"median epoch  engine {me:.3f} s  torch {mt:.3f} s  (engine/torch {me / mt:.2f}x); "
          f"test accuracy  engine {engine_acc:.4f}  torch {tacc:.4f}")
    return {"engine_epoch_s": me, "torch_epoch_s": mt, "engine_acc": engine_acc,
            "torch_acc": tacc}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-2, help="peak learning rate (OneCycle)")
    p.add_argument("--width", type=int, default=24, help="channels of the first conv")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--compare-torch", action="store_true",
                   help="also train the same model with PyTorch and compare time and accuracy")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    splits = load_digits_split(args.seed)
    model = make_model(nn, args.width)
    print(model)
    init = numpy_state(model) if args.compare_torch else None
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "digits_cnn_best.pt")
    ta, t_epochs, hist = fit(torch, model, splits, args, ckpt)
    if not args.no_plot:
        _plot(hist, os.path.join(args.out, "digits_cnn_curves.png"))
    if args.compare_torch:
        compare_with_torch(lambda tnn: make_model(tnn, args.width), init, splits, args,
                           args.out, t_epochs, ta, (1, 8, 8))
    return ta


if __name__ == "__main__":
    main()
