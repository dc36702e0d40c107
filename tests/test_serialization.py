"""engine.save / engine.load: torch.save / torch.load semantics (weights_only=True by default,
safe_globals, map_location), files written by real PyTorch, and hostile files."""

import collections
import importlib
import io
import json
import os
import pickle
import subprocess
import tracemalloc
import typing
import zipfile

import numpy as np
import pytest

import engine
from engine import nn
from engine import serialization as S

MAGIC = b"ENGINEv1"
OK_ERRORS = (RuntimeError, pickle.UnpicklingError, ValueError)


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    engine.save(obj, buf)
    buf.seek(0)
    return engine.load(buf, **kw)


def engine_file(header: dict, data: bytes = b"") -> bytes:
    h = json.dumps(header).encode()
    return MAGIC + len(h).to_bytes(8, "little") + h + data


def pickle_file(pkl: bytes, tensors=(), storages=()) -> bytes:
    """An engine file whose object is the pickle ``pkl`` (as engine.save writes it)."""
    return engine_file({"tree": {"t": "P"}, "storages": list(storages),
                        "tensors": list(tensors), "pickle": {"offset": 0, "nbytes": len(pkl)}},
                       pkl)


# --------------------------------------------------------------- module-level (picklable) classes

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Logger:
    """Records every unpickling (to prove a refused file constructs nothing)."""
    built: typing.ClassVar[list] = []

    def __setstate__(self, state):
        Logger.built.append(state)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("steps", engine.zeros((), dtype=engine.int64))
        self.tag = "tiny"

    def forward(self, x):
        return self.fc2(engine.relu(self.fc1(x)))


class Evil:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


# ------------------------------------------------------------------------- plain round trips

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool"])
def test_dtypes_and_0d(dtype):
    dt = getattr(engine, dtype)
    a = (np.arange(-3, 9).reshape(3, 4) % 5).astype(dt.np if hasattr(dt, "np") else dtype)
    t, s = engine.tensor(a, dtype=dt), engine.tensor(a[1, 2], dtype=dt)
    r = roundtrip({"t": t, "s": s, "e": engine.zeros(0, 2, dtype=dt)})
    assert r["t"].dtype == dt and r["s"].dtype == dt and r["s"].shape == ()
    np.testing.assert_array_equal(r["t"].numpy(), a)
    assert r["s"].item() == s.item() and r["e"].shape == (0, 2)


def test_views_non_contiguous_and_sharing():
    base = engine.arange(24.0).reshape(4, 6)
    views = {"base": base, "t": base.t(), "step": base[1:, ::2], "row": base[2],
             "x": base.t()[1:4, 1:]}
    r = roundtrip(views)
    for k, v in views.items():
        assert r[k].shape == v.shape and r[k].stride() == v.stride()
        assert r[k].storage_offset() == v.storage_offset() and r[k].tolist() == v.tolist()
        assert r[k].is_contiguous() == v.is_contiguous()
    r["base"][2, 3] = -1.0          # every view shares the one loaded storage
    assert r["row"][3].item() == -1.0 and r["t"][3, 2].item() == -1.0
    assert r["x"][2, 1].item() == -1.0 and r["step"].tolist()[1][1] != -1.0


def test_same_tensor_twice_is_one_object_and_requires_grad():
    w = engine.randn(3, requires_grad=True)
    p = nn.Parameter(engine.ones(2))
    frozen = nn.Parameter(engine.ones(2), requires_grad=False)
    r = roundtrip([w, w, p, frozen, (w * 2)])
    assert r[0] is r[1] and r[0].requires_grad and r[0].is_leaf
    assert isinstance(r[2], nn.Parameter) and r[2].requires_grad
    assert isinstance(r[3], nn.Parameter) and not r[3].requires_grad
    assert r[4].requires_grad and r[4].is_leaf and r[4].tolist() == (w * 2).tolist()


def test_plain_objects_and_ordereddict_with_metadata():
    sd = TinyNet().state_dict()
    assert hasattr(sd, "_metadata") or True
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    obj = {"sd": sd, "n": [1, -2**70, 2.5, float("inf"), "s", None, True, b"\x00\xff"],
           "tup": (engine.Size([2, 3]), engine.float16, engine.device("cpu")), 3: {(1, 2): "k"}}
    r = roundtrip(obj)     # weights_only=True: no pickle is needed for any of this
    assert type(r["sd"]) is collections.OrderedDict and list(r["sd"]) == list(sd)
    assert r["sd"]._metadata == sd._metadata
    assert r["n"] == obj["n"] and r[3] == {(1, 2): "k"}
    assert r["tup"] == obj["tup"] and type(r["tup"][0]) is engine.Size
    buf = io.BytesIO()
    engine.save(obj, buf)
    assert b"\x80\x04" not in buf.getvalue()[:200] and S.get_unsafe_globals_in_checkpoint(
        io.BytesIO(buf.getvalue())) == []


def test_model_state_dict_roundtrip_into_new_model(tmp_path):
    m = TinyNet()
    engine.save(m.state_dict(), tmp_path / "sd.pth")
    m2 = TinyNet()
    m2.load_state_dict(engine.load(tmp_path / "sd.pth", weights_only=True))
    x = engine.randn(5, 4)
    assert engine.equal(m(x), m2(x))


# --------------------------------------------------------------- whole objects (pickle part)

def test_whole_model_needs_weights_only_false(tmp_path):
    m = TinyNet()
    p = tmp_path / "model.pth"
    engine.save(m, p)
    with pytest.raises(pickle.UnpicklingError) as ei:
        engine.load(p)
    msg = str(ei.value)
    assert "Weights only load failed" in msg and "weights_only` set to `False`" in msg
    assert "arbitrary code execution" in msg and "TinyNet" in msg and "add_safe_globals" in msg
    m2 = engine.load(p, weights_only=False)
    assert type(m2) is TinyNet and m2.tag == "tiny" and str(m2) == str(m)
    x = engine.randn(3, 4)
    assert engine.equal(m2(x), m(x))
    assert [n for n, _ in m2.named_buffers()] == ["steps"]
    assert all(isinstance(q, nn.Parameter) and q.requires_grad for q in m2.parameters())
    m2(x).sum().backward()
    assert m2.fc1.weight.grad is not None


def test_model_and_optimizer_share_parameters_after_load():
    m = TinyNet()
    opt = engine.optim.SGD(m.parameters(), lr=0.1)
    r = roundtrip({"m": m, "opt": opt, "sd": m.state_dict(), "pt": Point(engine.float16, 1)},
                  weights_only=False)
    assert r["pt"].x is engine.float16          # dtypes inside pickled objects
    assert r["opt"].param_groups[0]["params"][0] is r["m"].fc1.weight
    r["m"].fc1.weight.data.fill_(3.0)
    assert r["sd"]["fc1.weight"][0, 0].item() == 3.0      # shared storage


def test_safe_globals_allowlist():
    pt = Point(1, engine.ones(2))
    buf = io.BytesIO()
    engine.save(pt, buf)
    assert S.get_unsafe_globals_in_checkpoint(io.BytesIO(buf.getvalue())) == [
        f"{__name__}.Point"]
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL .*Point was not an allowed"):
        engine.load(io.BytesIO(buf.getvalue()))
    assert S.get_safe_globals() == []
    with S.safe_globals([Point]):
        assert S.get_safe_globals() == [Point]
        r = engine.load(io.BytesIO(buf.getvalue()))
    assert S.get_safe_globals() == []
    assert type(r) is Point and r.x == 1 and r.y.tolist() == [1.0, 1.0]
    S.add_safe_globals([(Point, f"{__name__}.Point")])
    try:
        assert type(engine.load(io.BytesIO(buf.getvalue()))) is Point
    finally:
        S.clear_safe_globals()
    assert S.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        engine.load(io.BytesIO(buf.getvalue()))


def test_pickle_module_with_weights_only_is_refused():
    with pytest.raises(RuntimeError, match="pickle_module"):
        engine.load(io.BytesIO(b""), pickle_module=pickle)


# ------------------------------------------------------------------- atomic save / map_location

def test_failed_save_leaves_nothing(tmp_path):
    p = tmp_path / "ckpt.pth"
    engine.save({"a": engine.ones(3)}, p)
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        engine.save({"a": engine.zeros(3), "bad": Point(lambda: 0, 1)}, p)
    assert engine.load(p)["a"].tolist() == [1, 1, 1]
    assert os.listdir(tmp_path) == ["ckpt.pth"]
    buf = io.BytesIO()
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        engine.save([engine.ones(2), (i for i in ())], buf)
    assert buf.getvalue() == b""
    with pytest.raises(RuntimeError, match="Parent directory .*missing does not exist"):
        engine.save({"a": engine.ones(1)}, tmp_path / "missing" / "x.pth")


def _with_location(obj, loc: str) -> bytes:
    buf = io.BytesIO()
    engine.save(obj, buf)
    blob = buf.getvalue()
    n = int.from_bytes(blob[8:16], "little")
    h = json.loads(blob[16:16 + n])
    for m in h["storages"]:
        m["dev"] = loc
    return engine_file(h, blob[16 + n:])


def test_map_location_forms():
    w = engine.arange(6.0)
    obj = {"w": w, "v": w[2:4]}
    blob = _with_location(obj, "cuda:0")
    seen = []

    def keep(storage, loc):
        seen.append((tuple(storage.shape), loc))
        return storage
    for ml in ("cpu", engine.device("cpu"), {"cuda:0": "cpu"}, keep):
        r = engine.load(io.BytesIO(blob), map_location=ml)
        assert r["w"].device.type == "cpu" and r["v"].tolist() == [2.0, 3.0]
        r["w"][2] = 9.0
        assert r["v"][0].item() == 9.0
    assert seen == [((6,), "cuda:0")]
    r = engine.load(io.BytesIO(_with_location(obj, "cpu")), map_location=lambda s, loc: None)
    assert r["w"].tolist() == w.tolist()


@pytest.mark.skipif(engine.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_location_without_cuda_raises():
    blob = _with_location({"w": engine.ones(2)}, "cuda:0")
    for ml in (None, {"cpu": "cpu"}, lambda s, loc: None):
        with pytest.raises(RuntimeError, match=r"CUDA device.*is_available\(\) is False.*"
                                               r"map_location"):
            engine.load(io.BytesIO(blob), map_location=ml)
    with pytest.raises(RuntimeError, match="is_available"):
        roundtrip({"w": engine.ones(2)}, map_location="cuda")


@pytest.mark.skipif(not engine.cuda.is_available(), reason="needs CUDA")
def test_map_location_cuda():
    r = roundtrip({"w": engine.arange(4.0), "v": engine.arange(4.0)[1:]}, map_location="cuda")
    assert r["w"].is_cuda and r["w"].cpu().tolist() == [0, 1, 2, 3]
    back = roundtrip(r, map_location=None)
    assert back["w"].is_cuda


# ----------------------------------------------------------------------------- hostile files

def _evils(tmp_path):
    flag = tmp_path / "pwned"
    import builtins
    return flag, [Evil(os.system, f"touch {flag}"),
                  Evil(builtins.eval, f"open({str(flag)!r}, 'w')"),
                  Evil(builtins.exec, f"open({str(flag)!r}, 'w')"),
                  Evil(subprocess.call, ["touch", str(flag)]),
                  Evil(importlib.import_module, "os")]


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_code_executing_pickles_are_refused(tmp_path, protocol):
    flag, evils = _evils(tmp_path)
    for ev in evils:
        for blob in (pickle.dumps(ev, protocol), pickle_file(pickle.dumps(ev, protocol)),
                     pickle_file(pickle.dumps([Logger(), ev], protocol))):
            # os.* stays blocked even when allowlisted
            with S.safe_globals([os.system, Logger]), pytest.raises(
                    pickle.UnpicklingError, match="Weights only load failed"):
                engine.load(io.BytesIO(blob))
            assert not flag.exists() and Logger.built == []


def _tensor_file(pkl: bytes) -> bytes:
    """An engine file holding one float32 tensor record (4 elements) and the pickle ``pkl``."""
    return engine_file({"tree": {"t": "P"}, "storages": [{"dtype": "float32", "numel": 4,
                                                          "offset": 0, "dev": "cpu"}],
                        "tensors": [{"s": 0, "dtype": "float32", "shape": [4], "stride": [1],
                                     "offset": 0, "rg": False, "param": False}],
                        "pickle": {"offset": 16, "nbytes": len(pkl)}}, b"\x00" * 16 + pkl)


GIANT = b"J\x00\xca\x9a\x3b\x85"                 # BININT 10**9, TUPLE1
TENSOR = b"\x8c\x0dengine.tensorK\x00\x86Q"    # ("engine.tensor", 0), BINPERSID


@pytest.mark.parametrize("pkl,match", [
    # BUILD with slot state on a loaded tensor: would set its size past its storage
    (b"\x80\x04" + TENSOR + b"N}\x8c\x06_shape" + GIANT + b"s\x86b.", "BUILD"),
    # BUILD on the shared dtype singleton (engine.float32.np = ...)
    (b"\x80\x02cengine._dtype\nto_dtype\n\x8c\x07float32\x85RN}\x8c\x02npK\x01s\x86b.",
     "BUILD"),
    # APPENDS / SETITEMS call methods of whatever is on the stack
    (b"\x80\x04" + TENSOR + b"(K\x01e.", "append to"),
    (b"\x80\x02cengine._dtype\nto_dtype\n\x8c\x07float32\x85RK\x01K\x02s.", "set items .* got dtype"),
    # REDUCE / NEWOBJ only call allowlisted globals, not objects from persistent ids
    (b"\x80\x04" + TENSOR + b")R.", "REDUCE"),
    (b"\x80\x04" + TENSOR + b")\x81.", "NEWOBJ"),
    # bytearray(10**9) would allocate a gigabyte
    (b"\x80\x02c__builtin__\nbytearray\n" + GIANT + b"R.", "bytearray"),
    # INST / OBJ / EXT opcodes are refused outright
    (b"\x80\x02\x82\x01)\x81.", "copyreg extension|unsupported pickle opcode"),
])
def test_weights_only_vm_refuses_state_tampering(pkl, match):
    assert engine.load(io.BytesIO(_tensor_file(b"\x80\x04" + TENSOR + b".")),
                       weights_only=True).tolist() == [0.0] * 4
    before = engine.float32.np
    with pytest.raises(pickle.UnpicklingError, match=match):
        engine.load(io.BytesIO(_tensor_file(pkl)))
    assert engine.float32.np is before


def test_forbidden_global_in_torch_zip(tmp_path):
    flag, evils = _evils(tmp_path)
    for ev in evils:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", pickle.dumps(ev, 2))
            z.writestr("archive/byteorder", "little")
        with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL \S+ (was not an allowed|"
                                                         r"whose module)"):
            engine.load(io.BytesIO(buf.getvalue()))
        assert not flag.exists()


def test_truncations_and_bit_flips_never_crash_or_run_code():
    m = {"a": engine.arange(10.0), "b": [engine.ones(2, 2).t(), 3], "c": Point(1, 2)}
    buf = io.BytesIO()
    engine.save(m, buf)
    blob = buf.getvalue()
    with S.safe_globals([Point]):
        assert type(engine.load(io.BytesIO(blob))["c"]) is Point
        for cut in range(0, len(blob), 7):
            with pytest.raises(OK_ERRORS):
                engine.load(io.BytesIO(blob[:cut]))
        rng = np.random.default_rng(0)
        for _ in range(300):
            b = bytearray(blob)
            for i in rng.integers(0, len(b), 3):
                b[i] = int(rng.integers(0, 256))
            try:
                engine.load(io.BytesIO(bytes(b)))
            except OK_ERRORS:
                pass


@pytest.mark.parametrize("header,match", [
    ({"tree": {"t": "R", "i": 0}, "storages": [{"dtype": "float32", "numel": 10**15,
                                                "offset": 0}], "tensors": []}, "runs past"),
    ({"tree": {"t": "R", "i": 0}, "storages": [{"dtype": "float32", "numel": 2,
                                                "offset": -8}], "tensors": []}, "runs past"),
    ({"tree": {"t": "R", "i": 0}, "storages": [{"dtype": "float32", "numel": 2, "offset": 0}],
      "tensors": [{"s": 0, "dtype": "float32", "shape": [10**6, 10**6], "stride": [1, 1],
                   "offset": 0}]}, "reaches element"),
    ({"tree": {"t": "R", "i": 0}, "storages": [{"dtype": "float32", "numel": 2, "offset": 0}],
      "tensors": [{"s": 0, "dtype": "float32", "shape": [2], "stride": [-1],
                   "offset": 1}]}, "geometry"),
    ({"tree": {"t": "R", "i": 0}, "storages": [{"dtype": "float32", "numel": 2, "offset": 0}],
      "tensors": [{"s": 3, "dtype": "float32", "shape": [2], "stride": [1],
                   "offset": 0}]}, "storage 3"),
    ({"tree": {"t": "R", "i": 5}, "storages": [], "tensors": []}, "tensor 5"),
    ({"tree": {"t": "i", "v": "9" * 10000}, "storages": []}, "malformed"),
    ({"tree": {"t": "P"}, "storages": [], "pickle": {"offset": 0, "nbytes": 10**12}},
     "bad pickle record"),
    ({"tree": {"t": "evil"}, "storages": []}, "unknown node"),
    ({"tree": {"t": "R", "i": 0}, "storages": [{"dtype": "object", "numel": 1, "offset": 0}],
      "tensors": []}, "bad storage record"),
])
def test_hostile_engine_headers(header, match):
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=match) as ei:
            engine.load(io.BytesIO(engine_file(header, b"\x00" * 8)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "<file object>" in str(ei.value) and peak < 50 << 20


def test_json_bomb_wrong_magic_and_sizes():
    deep = b'{"tree": ' + b"[" * 100000 + b"]" * 100000 + b', "storages": []}'
    with pytest.raises(RuntimeError, match="unreadable header|nested too deeply"):
        engine.load(io.BytesIO(MAGIC + len(deep).to_bytes(8, "little") + deep))
    for depth, match in ((300, "nested too deeply"), (5000, "unreadable header")):
        h = b'{"storages": [], "tree": ' + b'{"t": "l", "v": [' * depth + b"]}" * depth + b"}"
        with pytest.raises(RuntimeError, match=match):
            engine.load(io.BytesIO(MAGIC + len(h).to_bytes(8, "little") + h))
    deep = [engine.ones(1)]
    for _ in range(300):            # a deep plain tree is saved as a (global-free) pickle
        deep = [deep]
    back = roundtrip(deep)
    for _ in range(300):
        back = back[0]
    assert back[0].tolist() == [1.0]
    with pytest.raises(RuntimeError, match="header length"):
        engine.load(io.BytesIO(MAGIC + (2**62).to_bytes(8, "little") + b"{}"))
    for junk in (b"", b"ENGINEv0" + b"\x00" * 20, b"GIF89a....", b"\x00" * 64):
        with pytest.raises(RuntimeError, match="not a valid engine checkpoint"):
            engine.load(io.BytesIO(junk))


def test_pickle_declaring_huge_bytes_is_refused_without_allocating():
    pkl = b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"abc"   # BINBYTES8 of 1 TiB
    tracemalloc.start()
    try:
        with pytest.raises(pickle.UnpicklingError, match="truncated|corrupted"):
            engine.load(io.BytesIO(pickle_file(pkl)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20


def _torch_zip(entries, prefix="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d, *c in entries:
            z.writestr(n[1:] if n.startswith("=") else f"{prefix}/{n}", d,  # "=": as is
                       *(c or [zipfile.ZIP_STORED]))
    return buf.getvalue()


def test_hostile_zip_files():
    good_pkl = pickle.dumps({}, 2)
    for entries, match in [
        ([("=../../etc/data.pkl", good_pkl)], "path traversal"),
        ([("data.pkl", good_pkl), ("../../x", b"")], "path traversal"),
        ([("data.pkl", good_pkl), ("=..\\..\\x", b"")], "path traversal"),
        ([("=/abs/data.pkl", good_pkl)], "path traversal"),
        ([("=a/data.pkl", good_pkl), ("=b/data.pkl", good_pkl)], "found 2"),
        ([("data/0", b"")], "found 0"),
        ([("data.pkl", good_pkl), ("data/0", b"\x00" * (65 << 20), zipfile.ZIP_DEFLATED)],
         "zip bomb"),
    ]:
        with pytest.raises(RuntimeError, match=match):
            engine.load(io.BytesIO(_torch_zip(entries)))
    with pytest.raises(RuntimeError, match="corrupted zip"):
        engine.load(io.BytesIO(b"PK\x03\x04" + b"\x00" * 100))
    assert engine.load(io.BytesIO(_torch_zip([("data.pkl", good_pkl)]))) == {}


# ------------------------------------------------------------------- files written by PyTorch

def _torch_sd(torch):
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3),
                            torch.nn.Flatten(), torch.nn.Linear(12, 2))
    m(torch.randn(2, 2, 4, 4))          # BatchNorm running stats + num_batches_tracked
    return m


def _engine_twin():
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 2))


@pytest.mark.parametrize("zip_format", [True, False])
def test_torch_written_checkpoint(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    tm = _torch_sd(torch)
    base = torch.arange(20.0).reshape(4, 5)
    extra = {"view": base.t()[1:, 2:], "base": base, "bf16": torch.tensor([1.5, -2.25, 3e38],
             dtype=torch.bfloat16), "flags": torch.tensor([True, False]), "i8": torch.tensor(
             -3, dtype=torch.int8), "f64": torch.randn(3, dtype=torch.float64),
             "half": torch.randn(2, 2).half(), "p": torch.nn.Parameter(torch.ones(2)),
             "meta": [1, 2.5, "x", None, (torch.float16, torch.Size([2]))]}
    p, q = tmp_path / "sd.pth", tmp_path / "extra.pth"
    torch.save(tm.state_dict(), p, _use_new_zipfile_serialization=zip_format)
    torch.save(extra, q, _use_new_zipfile_serialization=zip_format)
    sd = engine.load(p)
    assert type(sd) is collections.OrderedDict and list(sd) == list(tm.state_dict())
    assert sd._metadata == tm.state_dict()._metadata
    em = _engine_twin()
    em.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    tm.eval(), em.eval()
    np.testing.assert_allclose(em(engine.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    r = engine.load(q)
    for k in ("view", "base", "flags", "i8", "f64", "half"):
        v = extra[k]
        assert r[k].dtype == getattr(engine, str(v.dtype)[6:]) and r[k].stride() == v.stride()
        assert r[k].storage_offset() == v.storage_offset()
        np.testing.assert_array_equal(r[k].numpy(), v.numpy())
    np.testing.assert_array_equal(r["bf16"].numpy(), extra["bf16"].float().numpy())
    assert isinstance(r["p"], nn.Parameter) and r["p"].requires_grad
    assert r["meta"] == [1, 2.5, "x", None, (engine.float16, engine.Size([2]))]
    r["base"][3, 1] = 100.0
    assert r["view"][0, 1].item() == 100.0        # storages stay shared


def test_torch_checkpoint_map_location_and_whole_model_refusal(tmp_path):
    torch = pytest.importorskip("torch")
    tm = _torch_sd(torch)
    p = tmp_path / "m.pth"
    torch.save(tm.state_dict(), p)
    seen = []
    sd = engine.load(p, map_location=lambda s, loc: seen.append(loc) or s)
    assert seen and set(seen) == {"cpu"} and sd["0.weight"].shape == (3, 2, 3, 3)
    torch.save(tm, tmp_path / "whole.pth")
    with pytest.raises(pickle.UnpicklingError, match=r"torch\.nn\.modules\.container\."
                                                     r"Sequential was not an allowed global"):
        engine.load(tmp_path / "whole.pth")
    assert "torch.nn.modules.linear.Linear" in S.get_unsafe_globals_in_checkpoint(
        tmp_path / "whole.pth")



def test_engine_writes_torch_format(tmp_path):
    torch = pytest.importorskip("torch")
    em = _engine_twin()
    em(engine.randn(2, 2, 4, 4))
    base = engine.arange(20.0).reshape(4, 5)
    obj = {"sd": em.state_dict(), "view": base.t()[1:, 2:], "base": base, "again": base,
           "p": nn.Parameter(engine.ones(2)), "i8": engine.tensor([-1, 2], dtype=engine.int8),
           "meta": [1, -2**70, 2.5, "x", None, True, b"\x00\xff",
                    (engine.float16, engine.Size([2]), engine.device("cpu"))]}
    p = tmp_path / "for_torch.pth"
    engine.save(obj, p, format="torch")
    r = torch.load(p, weights_only=True)
    tm = _torch_sd(torch)
    tm.load_state_dict(r["sd"])
    assert r["sd"]._metadata == tm.state_dict()._metadata
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4)).astype(np.float32)
    tm.eval(), em.eval()
    np.testing.assert_allclose(tm(torch.tensor(x)).detach().numpy(),
                               em(engine.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    for k in ("view", "base", "i8"):
        assert r[k].stride() == obj[k].stride() and r[k].storage_offset() == obj[k]._offset
        np.testing.assert_array_equal(r[k].numpy(), obj[k].numpy())
    assert r["again"] is r["base"] and isinstance(r["p"], torch.nn.Parameter)
    r["base"][3, 1] = 100.0
    assert r["view"][0, 1].item() == 100.0
    assert r["meta"] == [1, -2**70, 2.5, "x", None, True, b"\x00\xff",
                         (torch.float16, torch.Size([2]), torch.device("cpu"))]
    assert engine.load(p)["meta"] == obj["meta"]
    with pytest.raises(TypeError, match="PyTorch's format"):
        engine.save(em, tmp_path / "m.pth", format="torch")
    assert sorted(os.listdir(tmp_path)) == ["for_torch.pth"]


def _torch_pkl(numel: bytes, offset: bytes, size: bytes, stride: bytes) -> bytes:
    """data.pkl of one float32 tensor, written opcode by opcode (ints as pickled ops)."""
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" + numel + b"tQ" +
            offset + size + b"\x85" + stride + b"\x85\x89ccollections\nOrderedDict\n)RtR.")


@pytest.mark.parametrize("numel,offset,size,stride,match", [
    (b"K\x04", b"K\x00", b"K\x04", b"K\x01", None),
    (b"J\x00\x00\x00\x40", b"K\x00", b"K\x04", b"K\x01", "needs 4294967296"),
    (b"K\x04", b"J\xff\xff\xff\xff", b"K\x01", b"K\x01", "geometry"),
    (b"K\x04", b"K\x00", b"J\x00\x00\x00\x40", b"K\x01", "reaches element"),
    (b"K\x04", b"K\x00", b"K\x02", b"J\xfe\xff\xff\xff", "geometry"),
    (b"J\xff\xff\xff\xff", b"K\x00", b"K\x01", b"K\x01", "bad storage record"),
])
def test_hostile_torch_tensor_records(numel, offset, size, stride, match):
    blob = _torch_zip([("data.pkl", _torch_pkl(numel, offset, size, stride)),
                       ("data/0", np.arange(4, dtype=np.float32).tobytes())])
    if match is None:
        assert engine.load(io.BytesIO(blob)).tolist() == [0.0, 1.0, 2.0, 3.0]
        return
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=match):
            engine.load(io.BytesIO(blob))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20


def test_dtype_pickles_to_the_same_singleton():
    import copy
    import pickle
    for d in (engine.float32, engine.float16, engine.int64, engine.bool, engine.uint8):
        assert pickle.loads(pickle.dumps(d)) is d
        assert copy.deepcopy(d) is d
