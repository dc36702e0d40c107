"""Train an MLP on scikit-learn's bundled 8x8 digits (no download) with engine.

    python examples/digits_mlp.py [--epochs 40] [--device cpu|cuda] [--out examples/out]
                                  [--compare-torch]

Train/validation/test split, a tqdm progress bar per epoch, best-on-validation checkpoint
(engine.save), final test accuracy of the best checkpoint, and a PNG of the curves.
``--compare-torch`` then trains the same model with PyTorch (same split, initial weights copied
through numpy, same hyperparameters) and prints both per-epoch times and test accuracies
(the loop is digits_cnn.fit, run with torch).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import engine as torch
import engine.nn as nn
import engine.nn.functional as F
from engine.utils.data import DataLoader, TensorDataset


def load_digits_split(seed: int = 0):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    x, y = x[perm], y[perm]
    n_test = n_val = len(x) // 10
    return ((x[n_test + n_val:], y[n_test + n_val:]), (x[n_test:n_test + n_val],
            y[n_test:n_test + n_val]), (x[:n_test], y[:n_test]))


def make_model(nn=nn):
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 64),
                         nn.ReLU(), nn.Linear(64, 10))


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss_sum += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
            total += yb.shape[0]
    return loss_sum / total, correct / total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--compare-torch", action="store_true",
                   help="also train the same model with PyTorch and compare time and accuracy")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    (xtr, ytr), (xva, yva), (xte, yte) = load_digits_split(args.seed)
    train = DataLoader(TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)),
                       batch_size=args.batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(args.seed))
    val = DataLoader(TensorDataset(torch.from_numpy(xva), torch.from_numpy(yva)), batch_size=256)
    test = DataLoader(TensorDataset(torch.from_numpy(xte), torch.from_numpy(yte)), batch_size=256)
    model = make_model().to(device)
    print(model)
    init = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()} \
        if args.compare_torch else None
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "digits_mlp_best.pt")
    try:
        from tqdm import tqdm
    except ImportError:  # progress bar is optional
        tqdm = None
    hist = {"train_loss": [], "val_loss": [], "val_acc": []}
    best = -1.0
    t_epochs = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        it = tqdm(train, desc=f"epoch {epoch:3d}", leave=False) if tqdm else train
        tot = n = 0
        for xb, yb in it:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * yb.shape[0]
            n += yb.shape[0]
            if tqdm:
                it.set_postfix(loss=f"{tot / n:.4f}")
        t_epochs.append(time.perf_counter() - t0)
        vl, va = evaluate(model, val, device)
        hist["train_loss"].append(tot / n)
        hist["val_loss"].append(vl)
        hist["val_acc"].append(va)
        if va > best:
            best = va
            torch.save({"model": model.state_dict(), "epoch": epoch, "val_acc": va}, ckpt)
        print(f"epoch {epoch:3d}  train loss {tot / n:.4f}  val loss {vl:.4f}  "
              f"val acc {va:.4f}  ({t_epochs[-1]:.2f} s)")
    state = torch.load(ckpt, map_location=device)
    model.load_state_dict(state["model"])
    tl, ta = evaluate(model, test, device)
    med = sorted(t_epochs)[len(t_epochs) // 2]
    print(f"best epoch {state['epoch']} (val acc {state['val_acc']:.4f}); test accuracy "
          f"{ta:.4f}; median epoch time {med:.3f} s")
    if not args.no_plot:
        _plot(hist, os.path.join(args.out, "digits_mlp_curves.png"))
    if args.compare_torch:
        from digits_cnn import compare_with_torch  # the same loop, run with torch
        compare_with_torch(make_model, init, ((xtr, ytr), (xva, yva), (xte, yte)), args,
                           args.out, t_epochs, ta, (64,), one_cycle=False,
                           keep_later_ties=False)
    return ta


def _plot(hist, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(hist["train_loss"], label="train")
    a.plot(hist["val_loss"], label="validation")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend()
    b.plot(hist["val_acc"])
    b.set_xlabel("epoch")
    b.set_ylabel("validation accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
