"""Training-step rows: the same model, weights, batch and hyperparameters in engine and torch;
one timed call = zero_grad + forward + loss + backward + optimizer step.

FLOP counts use 6 x MACs per sample x batch (forward 2, backward 4), as the perf anchors do.
"""

from __future__ import annotations

import itertools

import numpy as np

from .spec import Ctx, Row, Target

__all__ = ["MODELS", "copy_weights", "make_model", "training_rows"]

MLP = (784, 256, 128, 10)
TINY = (2, 16, 16, 1)


def _mlp(nn, sizes, act):
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(1568, 10))


MODELS = {"mlp": lambda nn: _mlp(nn, MLP, nn.ReLU),
          "tiny": lambda nn: _mlp(nn, TINY, nn.Tanh),
          "cnn": _cnn}


def make_model(lib, kind: str):
    """``make_model(engine, 'mlp')`` -> the benchmark's model built from ``lib.nn``."""
    return MODELS[kind](lib.nn)


def copy_weights(src_torch_model, dst_engine_model):
    """Load a torch model's parameters into an engine model with the same structure."""
    import engine as E
    sd = {k: E.from_numpy(v.detach().cpu().numpy().copy())
          for k, v in src_torch_model.state_dict().items()}
    dst_engine_model.load_state_dict(sd)


def _data(kind, batch, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "tiny":
        x = rng.standard_normal((batch, 2), dtype=np.float32)
        y = (np.sin(x[:, :1]) * np.cos(x[:, 1:])).astype(np.float32)
        return x, y
    shape = (batch, 1, 28, 28) if kind == "cnn" else (batch, 784)
    return rng.standard_normal(shape, dtype=np.float32), rng.integers(0, 10, batch)


def _optimizer(lib, kind, params):
    if kind == "tiny":
        return lib.optim.Adam(params, lr=1e-3)
    return lib.optim.SGD(params, lr=0.01, momentum=0.9)


def _stepper(lib, kind, model, x, y, with_step=True):
    F = lib.nn.functional
    opt = _optimizer(lib, kind, model.parameters())
    loss_fn = F.mse_loss if kind == "tiny" else F.cross_entropy

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if with_step:
            opt.step()
        return loss
    return step


def _build(ctx: Ctx, kind: str, batch: int, with_step: bool = True):
    import engine as E
    x, y = _data(kind, batch)
    T = ctx.torch
    tmodel = None
    if T is not None:
        T.manual_seed(0)
        tmodel = make_model(T, kind)
    E.manual_seed(0)
    emodel = make_model(E, kind)
    if tmodel is not None:
        copy_weights(tmodel, emodel)
    if ctx.device != "cpu":
        emodel = emodel.to(ctx.device)
    ex, ey = E.from_numpy(x).to(ctx.device), E.from_numpy(y).to(ctx.device)
    impls = {"engine": _stepper(E, kind, emodel, ex, ey, with_step)}
    meta = {}
    if tmodel is not None and (ctx.device == "cpu" or T.cuda.is_available()):
        tmodel = tmodel.to(ctx.device)
        tx, ty = T.from_numpy(x).to(ctx.device), T.from_numpy(y).to(ctx.device)
        impls["torch"] = _stepper(T, kind, tmodel, tx, ty, with_step)
        # Same weights and batch: the first losses must agree (checks the setups match).
        le, lt = impls["engine"]().item(), impls["torch"]().item()
        meta = {"loss0_engine": le, "loss0_torch": lt, "loss0_absdiff": abs(le - lt)}
    return impls, meta


RNN = (35, 16, 32, 64)  # T, B, input, hidden: a small sequence model's layer


def _build_rnn(ctx: Ctx, mode: str):
    """One recurrent layer, forward + backward of sum(output) (the per-time-step cost)."""
    import engine as E
    T_, B, I_, H = RNN
    x = np.random.default_rng(0).standard_normal((T_, B, I_), dtype=np.float32)
    impls, mods = {}, {}
    T = ctx.torch
    E.manual_seed(0)
    mods["engine"] = getattr(E.nn, mode)(I_, H).to(ctx.device)
    if T is not None and (ctx.device == "cpu" or T.cuda.is_available()):
        T.manual_seed(0)
        mods["torch"] = getattr(T.nn, mode)(I_, H)
        copy_weights(mods["torch"], mods["engine"])
        mods["torch"] = mods["torch"].to(ctx.device)
    for name, m in mods.items():
        lib = E if name == "engine" else T
        xt = lib.from_numpy(x).to(ctx.device)

        def step(m=m, xt=xt):
            m.zero_grad()
            out = m(xt)[0].sum()
            out.backward()
            return out
        impls[name] = step
    return impls


def _macs(kind: str) -> int:
    if kind == "cnn":
        return 28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 1568 * 10
    sizes = TINY if kind == "tiny" else MLP
    return sum(a * b for a, b in itertools.pairwise(sizes))


def training_rows(ctx: Ctx) -> list[Row]:
    """MLP 784-256-128-10 (bs 64, 512), tiny MLP 2-16-16-1 (Adam, bs 32), CNN (bs 64)."""
    q = ctx.quick
    specs = [("mlp", 8 if q else 64, 1.0), ("mlp", 16 if q else 512, 1.0),
             ("tiny", 32, 2.0), ("cnn", 4 if q else 64, 1.5)]
    labels = {"mlp": "MLP 784-256-128-10 SGD-momentum step",
              "tiny": "MLP 2-16-16-1 tanh MSE Adam step",
              "cnn": "CNN conv16-conv32-fc step"}
    bounds = {
        "mlp": "small GEMMs (FLOP/s) plus per-op overhead of ~30 ops fwd+bwd+step",
        "tiny": "per-op Python overhead only (~50 tiny ops incl. autograd and Adam)",
        "cnn": "im2col/col2im traffic, conv GEMMs and max-pool fwd/bwd kernels",
    }
    rows = []
    for kind, batch, tgt in specs:
        key = f"train_{kind}_b{batch}"
        bound = bounds[kind]
        if kind == "mlp":
            bound = ("GEMM FLOP/s (~0.7 GFLOP per step)" if batch >= 512 else bounds[kind])
        rows.append(Row(key, f"{labels[kind]} bs={batch}", "training",
                        lambda c, k=kind, b=batch: _build(c, k, b), "GFLOP/s",
                        6.0 * _macs(kind) * batch, {"engine": Target("torch_ratio_le", tgt)},
                        bound))
    # the autograd issue's figure: forward + backward only (zero_grad, loss, backward)
    for batch in ((8, 16) if q else (64, 512)):
        rows.append(Row(f"fwdbwd_mlp_b{batch}", f"MLP 784-256-128-10 forward+backward bs={batch}",
                        "training", lambda c, b=batch: _build(c, "mlp", b, with_step=False),
                        "GFLOP/s", 6.0 * _macs("mlp") * batch, {},
                        "GEMMs plus the tape's per-op recording and replay"))
    T_, B, I_, H = RNN
    for mode, gates in (("LSTM", 4), ("GRU", 3)):
        macs = T_ * B * gates * H * (I_ + H)
        rows.append(Row(f"fwdbwd_{mode.lower()}", f"{mode}({I_},{H}) T={T_} bs={B} "
                        "forward+backward", "training", lambda c, m=mode: _build_rnn(c, m),
                        "GFLOP/s", 6.0 * macs, {},
                        "one node per layer: a BLAS GEMM + fused cell kernel per step"))
    return rows
