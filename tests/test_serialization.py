"""mc.save / mc.load: exact round trips, atomic writes, and refusing bad files without unpickling."""
import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn, serialization
from minicnn.serialization import CheckpointError


def assert_same(a, b):
    """Deep equality that also checks types, dtypes and shapes."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert type(k) is type([kb for kb in b if kb == k][0])
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, mc.Tensor):
        assert a.requires_grad == b.requires_grad
        assert_same(a.numpy(), b.numpy())
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_is_exact(tmp_path):
    obj = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f64_noncontiguous": np.arange(12.0).reshape(3, 4).T,
        "i64": np.array([1, -2**40], dtype=np.int64),
        "bool": np.array([True, False]),
        "u8": np.arange(5, dtype=np.uint8),
        "zero_d": np.array(3.5),
        "empty": np.zeros((0, 3), dtype=np.float16),
        "scalar": np.float32(0.5),
        "int_scalar": np.int64(7),
        "tensor": mc.tensor([1.0, 2.0], requires_grad=True),
        "param": nn.Parameter(mc.ones(2, 2)),
        "nested": [1, 2.0, (3, "four"), None, True, False, [], {}],
        "floats": [float("nan"), float("inf"), -float("inf"), 1e-300, -0.0],
        "big_int": 2**70,
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "text": "ünïcode \n \"quotes\"",
        0: {"step": 10, "exp_avg": np.ones(3)},  # int keys, as in an optimizer's state
        (1, 2): "tuple key",
        2.5: "float key",
        None: "none key",
    }
    path = tmp_path / "ckpt.npz"
    mc.save(obj, path)
    loaded = mc.load(path)
    assert_same(obj, loaded)
    assert type(loaded["param"]) is nn.Parameter and loaded["tensor"].device == "cpu"


def test_saves_to_exactly_the_given_path_whatever_the_suffix(tmp_path):
    for name in ["model.pth", "model", "weights.bin"]:
        mc.save({"x": np.ones(2)}, tmp_path / name)
        assert (tmp_path / name).exists()
    assert sorted(os.listdir(tmp_path)) == ["model", "model.pth", "weights.bin"]
    # the file is a plain .npz: readable by numpy without pickle
    with np.load(tmp_path / "model.pth", allow_pickle=False) as npz:
        structure = json.loads(npz["minicnn.json"])
        assert structure["format"] == "minicnn-checkpoint" and structure["version"] == 1
        np.testing.assert_array_equal(npz["arrays/0"], np.ones(2))


def test_model_state_dict_round_trip(tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2))
    path = tmp_path / "net.pth"
    mc.save({"model": net.state_dict(), "epoch": 4}, path)
    ckpt = mc.load(path)
    assert ckpt["epoch"] == 4 and list(ckpt["model"]) == list(net.state_dict())
    assert ckpt["model"]["1.num_batches_tracked"].dtype == np.int64
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2))
    other.load_state_dict(ckpt["model"])
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k].numpy(), v.numpy())


def test_shared_arrays_stay_shared(tmp_path):
    a = np.arange(4.0)
    t = mc.tensor([1.0, 2.0])
    mc.save({"x": a, "y": a, "t1": t, "t2": t.detach()}, tmp_path / "c")
    out = mc.load(tmp_path / "c")
    assert out["x"] is out["y"]
    assert out["t1"].data is out["t2"].data and out["t1"] is not out["t2"]
    with np.load(tmp_path / "c") as npz:
        assert sorted(npz.files) == ["arrays/0", "arrays/1", "minicnn.json"]


def test_map_location(tmp_path, device):
    mc.save({"t": mc.ones(3, device=device), "a": np.zeros(2)}, tmp_path / "c")
    out = mc.load(tmp_path / "c")
    assert out["t"].device == "cpu" and isinstance(out["a"], np.ndarray)
    out = mc.load(tmp_path / "c", map_location=device)
    assert out["t"].device == device
    np.testing.assert_array_equal(out["t"].numpy(), np.ones(3))


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "c"
    with pytest.raises(TypeError, match=r"obj\['bad'\] of type set"):
        mc.save({"bad": {1, 2}}, path)
    with pytest.raises(TypeError, match="object array"):
        mc.save({"o": np.array([object()])}, path)
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="cycle"):
        mc.save(loop, path)
    assert not path.exists() and os.listdir(tmp_path) == []


# ------------------------------------------------------------------ atomic writes
def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pth"
    mc.save({"w": np.ones(3)}, path)
    old_bytes = path.read_bytes()
    written = []
    real_write = serialization._write_array

    def write_then_crash(archive, name, array):
        if written:
            raise OSError("disk full (simulated)")
        written.append(name)
        real_write(archive, name, array)

    monkeypatch.setattr(serialization, "_write_array", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        mc.save({"w": np.zeros(3), "v": np.zeros(1000)}, path)
    assert written  # the crash happened midway, after one array had been written
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.pth"]  # no temporary file left behind
    np.testing.assert_array_equal(mc.load(path)["w"], np.ones(3))


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    def no_replace(src, dst):
        raise PermissionError("read-only (simulated)")

    monkeypatch.setattr(serialization.os, "replace", no_replace)
    with pytest.raises(PermissionError):
        mc.save({"a": 1}, tmp_path / "c")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ bad files
def checkpoint_with(tmp_path, structure, arrays=()):
    """A zip written by hand, with the given JSON structure and .npy members."""
    path = tmp_path / "forged.pth"
    with zipfile.ZipFile(path, "w") as z:
        if structure is not None:
            z.writestr("minicnn.json", structure if isinstance(structure, str) else json.dumps(structure))
        for name, array in arrays:
            buf = io.BytesIO()
            np.save(buf, array, allow_pickle=True)
            z.writestr(name + ".npy", buf.getvalue())
    return path


def header(root):
    return {"format": "minicnn-checkpoint", "version": 1, "root": root}


@pytest.mark.parametrize("content, message", [
    (pickle.dumps({"a": 1}), "looks like a pickle"),
    (b"", "not a zip"),
    (b"hello world, not a checkpoint", "not a zip"),
    (b"PK\x03\x04" + b"\x00" * 20, "corrupt or truncated"),
])
def test_foreign_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as err:
        mc.load(path)
    assert str(path) in str(err.value)
    assert isinstance(err.value, ValueError)


def test_pickles_are_never_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError):
        mc.load(path)
    # an object array inside a well-formed checkpoint is refused too
    forged = checkpoint_with(tmp_path, header({"array": "arrays/0", "kind": "numpy", "dtype": "object",
                                               "shape": [1]}), [("arrays/0", np.array([Boom()], dtype=object))])
    with pytest.raises(CheckpointError, match="cannot be read"):
        mc.load(forged)
    assert not (tmp_path / "pwned").exists()


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "c.pth"
    mc.save({"w": np.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        mc.load(path)


def test_a_plain_npz_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.ones(2))
    with pytest.raises(CheckpointError, match="no 'minicnn.json' member"):
        mc.load(path)


def test_a_pytorch_checkpoint_gets_a_conversion_hint(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "torch.pth"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="PyTorch checkpoint"):
        mc.load(path)


@pytest.mark.parametrize("structure, arrays, message", [
    ("{not json", [], "not valid JSON"),
    ({"format": "something-else", "version": 1, "root": None}, [], "format field"),
    ({"format": "minicnn-checkpoint", "version": 99, "root": None}, [], "newer minicnn"),
    ({"format": "minicnn-checkpoint", "version": "1", "root": None}, [], "version"),
    ({"format": "minicnn-checkpoint", "version": 1}, [], "no 'root'"),
    (header({"dict": [["w", {"array": "arrays/7", "kind": "numpy", "dtype": "float64", "shape": [2]}]]}),
     [], r"root\['w'\].*arrays/7.*not in the archive"),
    (header({"array": "arrays/0", "kind": "numpy", "dtype": "float32", "shape": [2]}),
     [("arrays/0", np.ones(3))], "structure says float32"),
    (header({"array": "arrays/0", "kind": "weird", "dtype": "float64", "shape": [1]}),
     [("arrays/0", np.ones(1))], "unknown array kind"),
    (header({"set": [1, 2]}), [], "unexpected JSON value"),
    (header([1, 2]), [], "bare JSON list"),
    (header({"float": "1e5"}), [], "bad float"),
    (header({"dict": [[{"list": [1]}, 2]]}), [], "unhashable key"),
    (header({"dict": [["a"]]}), [], "key, value"),
])
def test_corrupt_structures_are_refused(tmp_path, structure, arrays, message):
    path = checkpoint_with(tmp_path, structure, arrays)
    with pytest.raises(CheckpointError, match=message) as err:
        mc.load(path)
    assert str(path) in str(err.value)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        mc.load("/nonexistent/dir/ckpt.pth")


def test_optimizer_state_round_trip(tmp_path):
    optim = pytest.importorskip("minicnn.optim")
    net = nn.Linear(3, 2)
    opt = optim.Adam(net.parameters(), lr=0.01)
    net(mc.ones(4, 3)).sum().backward()
    opt.step()
    mc.save({"optimizer": opt.state_dict()}, tmp_path / "opt.pth")
    loaded = mc.load(tmp_path / "opt.pth")["optimizer"]
    assert_same(opt.state_dict(), loaded)
    fresh = optim.Adam(nn.Linear(3, 2).parameters(), lr=0.5)
    fresh.load_state_dict(loaded)
    assert fresh.param_groups[0]["lr"] == 0.01
