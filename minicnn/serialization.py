"""``save`` and ``load``: checkpoints as a ``.npz`` (zip) archive, without pickle.

    mc.save({"model": net.state_dict(), "epoch": 3}, "ckpt.pth")
    ckpt = mc.load("ckpt.pth")            # the same structure back
    net.load_state_dict(ckpt["model"])

The file is a zip archive, readable by ``numpy.load(path, allow_pickle=False)``:

* ``minicnn.json``: the structure (nested dicts, lists, tuples, numbers,
  strings) with each array replaced by a reference ``{"array": "arrays/0", ...}``;
  its header says ``"format": "minicnn-checkpoint"`` and ``"version": 1``;
* ``arrays/0.npy``, ``arrays/1.npy``, ...: one ``.npy`` member per array.

Loading gives back the kinds that were saved: ``Tensor`` (and ``Parameter``)
as tensors on ``map_location`` (default: the CPU), NumPy arrays and NumPy
scalars as NumPy (CuPy arrays come back as NumPy arrays unless
``map_location`` is a GPU), dicts (keys of any savable scalar type, e.g. the
int keys of an optimizer's state), ``OrderedDict``, lists, tuples, ints,
floats (nan and inf too), bools, strings and None.  Two entries sharing one
array (tied weights) still share it after loading.

Why no pickle: unpickling runs code chosen by whoever wrote the file.  Here a
file is only ever parsed (JSON, then ``.npy`` headers with
``allow_pickle=False``); anything unexpected raises ``CheckpointError`` naming
the file and the problem.  See ``docs/checkpoints.md``.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import zipfile
from collections import OrderedDict

import numpy

from . import __version__, backend
from .autograd.tensor import Tensor
from .nn.parameter import Parameter

FORMAT = "minicnn-checkpoint"
VERSION = 1
STRUCTURE_MEMBER = "minicnn.json"


class CheckpointError(ValueError):
    """A file that is not a readable minicnn checkpoint (corrupt, truncated or foreign)."""


# ---------------------------------------------------------------- save
class _Encoder:
    """Turns a Python structure into JSON nodes, collecting its arrays.

    Node forms (every JSON object carries exactly one of the tags below):
      null, true, 1, 2.5, "text"            -> None, bools, ints, finite floats, str
      {"float": "nan" | "inf" | "-inf"}     -> non-finite floats
      {"list": [...]}, {"tuple": [...]}     -> sequences
      {"dict": [[key, value], ...]}         -> dicts (keys are nodes too), "ordered": true for OrderedDict
      {"array": name, "dtype", "shape", "kind", ...}
          kind "numpy" | "cupy" (an ndarray), "scalar" (a NumPy scalar),
          "tensor" | "parameter" (with "requires_grad")
    """

    def __init__(self):
        self.arrays = OrderedDict()  # member name -> host array
        self._names = {}  # id(array) -> member name (shared arrays are saved once)
        self._keep = []  # keep the arrays alive so ids stay unique while saving

    def _array_ref(self, array, kind, where):
        name = self._names.get(id(array))
        if name is None:
            host = backend.to_numpy(array)
            if host.dtype.kind == "O":
                raise TypeError(f"save: {where} is an object array, which cannot be saved without pickle")
            name = f"arrays/{len(self.arrays)}"
            self.arrays[name] = host
            self._names[id(array)] = name
            self._keep.append(array)
        return {"array": name, "kind": kind, "dtype": str(array.dtype), "shape": list(array.shape)}

    def encode(self, obj, where="obj", path=()):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, numpy.generic):  # before float: numpy.float64 is a float subclass
            return self._array_ref(numpy.asarray(obj), "scalar", where)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
        if isinstance(obj, Tensor):
            node = self._array_ref(obj.data, "parameter" if isinstance(obj, Parameter) else "tensor", where)
            node["requires_grad"] = obj.requires_grad
            return node
        if isinstance(obj, numpy.ndarray) or backend.is_gpu_array(obj):
            return self._array_ref(obj, "cupy" if backend.is_gpu_array(obj) else "numpy", where)
        if isinstance(obj, (list, tuple, dict)):
            if any(item is obj for item in path):
                raise ValueError(f"save: {where} contains itself (a reference cycle)")
            path = path + (obj,)
            if isinstance(obj, dict):
                node = {"dict": [[self.encode(k, f"a key of {where}", path), self.encode(v, f"{where}[{k!r}]", path)]
                                 for k, v in obj.items()]}
                if isinstance(obj, OrderedDict):
                    node["ordered"] = True
                return node
            tag = "list" if isinstance(obj, list) else "tuple"
            return {tag: [self.encode(v, f"{where}[{i}]", path) for i, v in enumerate(obj)]}
        raise TypeError(
            f"save: cannot save {where} of type {type(obj).__name__}; a checkpoint holds dicts, lists, tuples, "
            "Tensors, NumPy/CuPy arrays, numbers, strings, bools and None"
        )


def _write_array(archive, name, array):
    """Write one array as the ``.npy`` member ``name`` of the zip ``archive``."""
    with archive.open(name + ".npy", "w", force_zip64=True) as member:
        numpy.lib.format.write_array(member, array, allow_pickle=False)


def _fsync_directory(directory):
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj, path):
    """Write ``obj`` (nested dicts/lists/tuples of arrays, Tensors and plain values) to ``path``.

    The write is atomic: the archive goes to a temporary file in the same
    directory, is flushed to disk, then renamed over ``path``.  A crash at any
    point leaves either the old file or the new one, never a mix.  The file
    is written to exactly ``path``, whatever its suffix (``.pth``, ``.npz``, none).
    """
    path = os.fspath(path)
    encoder = _Encoder()
    structure = {"format": FORMAT, "version": VERSION, "minicnn_version": __version__,
                 "root": encoder.encode(obj)}
    text = json.dumps(structure, allow_nan=False, indent=1)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                archive.writestr(STRUCTURE_MEMBER, text)
                for name, array in encoder.arrays.items():
                    _write_array(archive, name, array)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


# ---------------------------------------------------------------- load
_PICKLE_HINT = (
    "it looks like a pickle (for example a torch.save file from PyTorch < 1.6); minicnn never unpickles "
    "files. Load it with PyTorch and convert: mc.save({k: v.numpy() for k, v in sd.items()}, path)"
)
_TORCH_HINT = (
    "it looks like a PyTorch checkpoint (torch.save); minicnn never unpickles files. Load it with "
    "PyTorch and convert: mc.save({k: v.numpy() for k, v in sd.items()}, path)"
)


_TAGS = ("float", "list", "tuple", "dict", "array")


class _Decoder:
    """Rebuilds the saved structure from JSON nodes, reading arrays from the archive."""

    def __init__(self, path, archive, device):
        self.path = path
        self.archive = archive
        self.device = device
        self._arrays = {}  # member name -> loaded array (shared arrays stay shared)

    def fail(self, where, problem):
        return CheckpointError(f"{self.path}: corrupt checkpoint structure at {where}: {problem}")

    def _read_array(self, node, where):
        name = node.get("array")
        if name in self._arrays:
            return self._arrays[name]
        if not isinstance(name, str) or name + ".npy" not in self.archive.zip.namelist():
            raise self.fail(where, f"refers to array member {name!r}, which is not in the archive")
        try:
            array = self.archive[name]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise CheckpointError(f"{self.path}: array member {name!r} cannot be read ({exc})") from None
        if not isinstance(array, numpy.ndarray):
            raise self.fail(where, f"member {name!r} is not a .npy array")
        if str(array.dtype) != node.get("dtype") or list(array.shape) != node.get("shape"):
            raise self.fail(
                where, f"member {name!r} holds {array.dtype} {tuple(array.shape)}, the structure says "
                f"{node.get('dtype')} {node.get('shape')}"
            )
        if self.device is not None:
            array = backend.to_device(array, self.device)
        self._arrays[name] = array
        return array

    def decode(self, node, where="root"):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            raise self.fail(where, "a bare JSON list (sequences are tagged 'list' or 'tuple')")
        tags = [tag for tag in _TAGS if tag in node] if isinstance(node, dict) else []
        if len(tags) != 1:
            raise self.fail(where, f"unexpected JSON value {node!r}")
        tag = tags[0]
        value = node[tag]
        if tag == "float":
            if value not in ("nan", "inf", "-inf"):
                raise self.fail(where, f"bad float {value!r}")
            return float(value)
        if tag in ("list", "tuple"):
            if not isinstance(value, list):
                raise self.fail(where, f"'{tag}' must hold a JSON list")
            items = [self.decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
                raise self.fail(where, "'dict' must hold a list of [key, value] pairs")
            out = OrderedDict() if node.get("ordered") else {}
            for key_node, value_node in value:
                key = self.decode(key_node, f"a key of {where}")
                try:
                    out[key] = self.decode(value_node, f"{where}[{key!r}]")
                except TypeError:
                    raise self.fail(where, f"unhashable key {key!r}") from None
            return out
        if tag == "array":
            array = self._read_array(node, where)
            kind = node.get("kind")
            if kind in ("numpy", "cupy"):
                return array
            if kind == "scalar":
                return backend.to_numpy(array)[()]
            if kind in ("tensor", "parameter"):
                cls = Parameter if kind == "parameter" else Tensor
                out = cls(array, requires_grad=bool(node.get("requires_grad")))
                return out
            raise self.fail(where, f"unknown array kind {kind!r}")
        raise self.fail(where, f"unknown tag {tag!r}")


def _open_archive(path):
    """``numpy.load`` the zip at ``path`` (never unpickling), or raise ``CheckpointError`` saying why."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80":
        raise CheckpointError(f"{path}: not a minicnn checkpoint; {_PICKLE_HINT}")
    if head != b"PK\x03\x04":
        raise CheckpointError(
            f"{path}: not a minicnn checkpoint (not a zip/.npz archive; the file starts with {head!r})"
        )
    try:
        return numpy.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint, the archive is corrupt or truncated ({exc})") from None


def _read_structure(path, archive):
    names = archive.zip.namelist()
    if STRUCTURE_MEMBER not in names:
        hint = _TORCH_HINT if any(n.endswith("data.pkl") for n in names) else (
            "it is a zip/.npz archive without the minicnn structure member"
        )
        raise CheckpointError(f"{path}: not a minicnn checkpoint (no {STRUCTURE_MEMBER!r} member); {hint}")
    try:
        structure = json.loads(archive.zip.read(STRUCTURE_MEMBER).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: the {STRUCTURE_MEMBER!r} member is not valid JSON ({exc})") from None
    if not isinstance(structure, dict) or structure.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a minicnn checkpoint (the format field is not {FORMAT!r})")
    version = structure.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path}: bad checkpoint format version {version!r}")
    if version > VERSION:
        raise CheckpointError(
            f"{path}: written with checkpoint format version {version} by a newer minicnn "
            f"({structure.get('minicnn_version')}); this minicnn ({__version__}) reads up to version {VERSION}"
        )
    if "root" not in structure:
        raise CheckpointError(f"{path}: the checkpoint structure has no 'root' entry")
    return structure


def load(path, map_location=None):
    """Read a checkpoint written by ``save``; returns the saved structure.

    ``map_location`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``Device``) is where
    tensors and arrays are put; by default tensors are on the CPU and arrays
    are NumPy arrays.  A file that is not a valid checkpoint raises
    ``CheckpointError`` (a ``ValueError``) naming the path and the problem;
    nothing in the file is ever executed.
    """
    path = os.fspath(path)
    device = None if map_location is None else backend.as_device(map_location)
    archive = _open_archive(path)
    with archive:
        structure = _read_structure(path, archive)
        return _Decoder(path, archive, device).decode(structure["root"])
