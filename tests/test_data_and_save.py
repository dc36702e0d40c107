"""DataLoader semantics and the safe checkpoint format."""

import os
import pickle

import numpy as np
import pytest

import engine
from engine.utils.data import (DataLoader, TensorDataset, random_split, Dataset,
                               WeightedRandomSampler, BatchSampler, SequentialSampler)


def test_loader_order_shuffle_droplast():
    ds = TensorDataset(engine.arange(10.0), engine.arange(10))
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    g1 = engine.Generator().manual_seed(3)
    g2 = engine.Generator().manual_seed(3)
    a = [b[1].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=g1)]
    b = [b[1].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=g2)]
    assert a == b and sorted(sum(a, [])) == list(range(10))
    assert not batches[0][0].requires_grad


def test_default_collate_types():
    class D(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "y": i, "name": f"s{i}", "f": 0.5}
    b = next(iter(DataLoader(D(), batch_size=2)))
    assert b["x"].shape == (2, 2) and b["y"].tolist() == [0, 1]
    assert b["name"] == ["s0", "s1"] and b["f"].dtype == engine.float64


def test_workers_yield_every_sample_once():
    ds = TensorDataset(engine.arange(23))
    seen = [int(v) for (b,) in DataLoader(ds, batch_size=4, num_workers=2) for v in b.tolist()]
    assert seen == list(range(23))


class _Bad(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("bad sample 5")
        return i


def test_worker_error_surfaces():
    with pytest.raises(ValueError, match="bad sample 5"):
        list(DataLoader(_Bad(), batch_size=2, num_workers=2))


def test_random_split_and_samplers():
    parts = random_split(range(10), [0.7, 0.3], generator=engine.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    w = WeightedRandomSampler([0.0, 1.0, 0.0], 5)
    assert list(w) == [1] * 5
    assert list(BatchSampler(SequentialSampler(range(5)), 2, False)) == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_save_load_roundtrip_dtypes(tmp_path, dtype):
    t = engine.tensor(np.arange(6).reshape(2, 3) % 2, dtype=getattr(engine, dtype if dtype !=
                                                                    "bool" else "bool"))
    p = tmp_path / "t.pt"
    engine.save({"t": t, "e": engine.zeros(0, 3), "s": engine.tensor(2.5), "n": [1, "a", None,
                                                                            (2.0, True)]}, p)
    r = engine.load(p)
    assert r["t"].dtype == t.dtype and r["t"].tolist() == t.tolist()
    assert r["e"].shape == (0, 3) and r["s"].item() == 2.5 and r["n"] == [1, "a", None,
                                                                          (2.0, True)]


def test_views_keep_sharing(tmp_path):
    base = engine.arange(6.0)
    p = tmp_path / "v.pt"
    engine.save([base, base[2:4]], p)
    a, v = engine.load(p)
    v[0] = 100
    assert a[2].item() == 100


def test_malicious_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    p = tmp_path / "evil.pt"
    p.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(RuntimeError, match="pickle"):
        engine.load(p)
    assert not (tmp_path / "pwned").exists()


def test_truncated_and_garbage_files(tmp_path):
    p = tmp_path / "ok.pt"
    engine.save({"w": engine.randn(100)}, p)
    blob = p.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(blob[:-40])
    with pytest.raises(RuntimeError, match="truncated"):
        engine.load(tmp_path / "trunc.pt")
    (tmp_path / "garbage.pt").write_bytes(b"hello world" * 10)
    with pytest.raises(RuntimeError, match="not a valid engine checkpoint"):
        engine.load(tmp_path / "garbage.pt")
    (tmp_path / "hdr.pt").write_bytes(blob[:8] + (10**12).to_bytes(8, "little") + blob[16:])
    with pytest.raises(RuntimeError, match="header length"):
        engine.load(tmp_path / "hdr.pt")


def test_failed_save_keeps_previous_file(tmp_path):
    p = tmp_path / "ckpt.pt"
    engine.save({"a": engine.ones(3)}, p)
    with pytest.raises(TypeError):
        engine.save({"a": engine.ones(3), "bad": (i for i in ())}, p)  # unpicklable
    assert engine.load(p)["a"].tolist() == [1, 1, 1]
    assert [f for f in os.listdir(tmp_path) if f.startswith(".engine-save")] == []


def test_whole_module_needs_weights_only_false(tmp_path):
    """As torch >= 2.6: a whole nn.Module saves, the default weights_only=True load refuses it
    (UnpicklingError), weights_only=False loads it; plain containers need no pickle."""
    engine.save(engine.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        engine.load(tmp_path / "m.pt")
    assert isinstance(engine.load(tmp_path / "m.pt", weights_only=False), engine.nn.Linear)
    obj = {"w": [engine.ones(2), (1, 2.5, "s", None)], "n": {"flag": True}}
    engine.save(obj, tmp_path / "o.pt")
    back = engine.load(tmp_path / "o.pt")
    assert back["w"][0].tolist() == [1.0, 1.0] and back["w"][1] == (1, 2.5, "s", None)
    assert back["n"] == {"flag": True}


def test_model_and_optimizer_resume_identically(tmp_path):
    import engine.nn as nn
    engine.manual_seed(0)
    m = nn.Linear(4, 2)
    opt = engine.optim.Adam(m.parameters(), lr=0.1)
    x, y = engine.randn(8, 4), engine.randn(8, 2)

    def step(model, o):
        loss = ((model(x) - y) ** 2).mean()
        o.zero_grad()
        loss.backward()
        o.step()
    step(m, opt)
    engine.save({"m": m.state_dict(), "o": opt.state_dict()}, tmp_path / "c.pt")
    step(m, opt)
    m2 = nn.Linear(4, 2)
    opt2 = engine.optim.Adam(m2.parameters(), lr=0.1)
    st = engine.load(tmp_path / "c.pt")
    m2.load_state_dict(st["m"])
    opt2.load_state_dict(st["o"])
    step(m2, opt2)
    assert np.allclose(m.weight.detach().numpy(), m2.weight.detach().numpy())


def test_cpu_caching_allocator_reuses_freed_blocks_but_never_escaped_ones():
    """Large freed buffers go back to the pool (no page faults per step); a block whose memory
    a numpy view still references is never handed out again."""
    from engine._storage import cpu_allocator_stats
    a, b = engine.randn(1 << 20), engine.randn(1 << 20)  # 4 MiB each
    for _ in range(3):
        a + b  # result freed at once
    s0 = cpu_allocator_stats()
    for _ in range(5):
        a + b
    s1 = cpu_allocator_stats()
    assert s1["hits"] - s0["hits"] == 5 and s1["misses"] == s0["misses"]
    c = a + b
    view = c.numpy()
    expect = view.copy()
    del c
    for _ in range(4):
        a * 3.0 - b  # would overwrite the block if it had been recycled
    np.testing.assert_array_equal(view, expect)
