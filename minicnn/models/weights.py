"""``load_weights(model, source)``: put saved or converted weights into a model by name.

A state dict maps dotted names (``layer1.0.conv1.weight``) to arrays.  Since
minicnn's models use torchvision's names and shapes, a torchvision state dict
is already a minicnn state dict once its tensors are arrays.  ``source`` may be

* a ``dict`` of arrays, minicnn ``Tensor``s, or torch tensors;
* a path to a minicnn checkpoint (``mc.save``: any suffix, recognised by its
  ``minicnn.json`` member) or to a plain ``.npz`` (``numpy.savez``);
* a path to a PyTorch file (``.pth``/``.pt`` written by ``torch.save``):
  only when PyTorch is installed, read with ``torch.load(weights_only=True)``
  (PyTorch's restricted unpickler).  minicnn itself never unpickles.  Convert
  once with ``python -m minicnn.models.convert in.pth out.npz`` and torch is
  no longer needed.

A checkpoint holding ``{"state_dict": ...}`` or ``{"model": ...}`` is
unwrapped, and the ``module.`` prefix that ``nn.DataParallel`` adds is
stripped.  Every key and shape is checked before anything is copied; a
file for another architecture fails listing the keys that do not match.
"""
from __future__ import annotations

import os
import zipfile
from collections import OrderedDict
from collections.abc import Mapping

import numpy

from .. import backend
from ..autograd.tensor import Tensor
from ..nn.module import _IncompatibleKeys
from ..serialization import STRUCTURE_MEMBER
from ..serialization import load as mc_load


class WeightsError(ValueError):
    """Weights that cannot be read, or that do not fit the model."""


_SHOWN = 8  # keys listed per problem before "... and N more"


def _key_list(keys):
    keys = list(keys)
    shown = ", ".join(repr(k) for k in keys[:_SHOWN])
    return shown + (f", ... and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")


def _to_numpy(value, key):
    """A host NumPy array from a minicnn Tensor, a NumPy/CuPy array or a torch tensor."""
    if isinstance(value, Tensor):
        return backend.to_numpy(value.data)
    if isinstance(value, (numpy.ndarray, numpy.generic)) or backend.is_gpu_array(value):
        return backend.to_numpy(value)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    raise WeightsError(f"weights: value of {key!r} is a {type(value).__name__}, expected an array or a tensor")


def _unwrap(state):
    """The state dict inside a training checkpoint, without DataParallel's ``module.`` prefix."""
    for wrapper in ("state_dict", "model"):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
            break
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = OrderedDict((k[len("module."):], v) for k, v in state.items())
    return state


def _read_torch_file(path):
    try:
        import torch
    except ImportError:
        raise WeightsError(
            f"weights: {path} is a PyTorch file; reading it needs PyTorch, which is not installed "
            "(minicnn never unpickles files itself). Convert it once where PyTorch is installed: "
            f"python -m minicnn.models.convert {path} weights.npz"
        ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for unreadable or unsafe files
        raise WeightsError(f"weights: PyTorch could not read {path} safely (weights_only=True): {error}") from error


def _read_file(path):
    """The mapping stored in a weights file (minicnn checkpoint, plain .npz or PyTorch file)."""
    if not os.path.exists(path):
        raise WeightsError(f"weights: no such file: {path}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if STRUCTURE_MEMBER in names:
            return mc_load(path)
        if names and all(name.endswith(".npy") for name in names):
            with numpy.load(path, allow_pickle=False) as archive:
                return OrderedDict((key, archive[key]) for key in archive.files)
    # torch.save writes a zip of its own (data.pkl inside) or, before torch 1.6, a bare pickle
    return _read_torch_file(path)


def read_weights(source):
    """An ``OrderedDict`` of name -> NumPy array from a dict or a file (see the module docstring)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        state = _read_file(path)
        where = path
    else:
        state, where = source, "the given state dict"
    if not isinstance(state, Mapping):
        raise WeightsError(f"weights: {where} holds a {type(state).__name__}, not a state dict (a mapping)")
    state = _unwrap(state)
    return OrderedDict((key, _to_numpy(value, key)) for key, value in state.items())


def check_weights(model, state, strict=True):
    """Compare ``state`` with ``model.state_dict()``; raise ``WeightsError`` describing every mismatch.

    Returns ``(missing, unexpected)``.  Shapes must always agree; missing and
    unexpected keys are errors only when ``strict``.
    """
    targets = model.state_dict()
    missing = [key for key in targets if key not in state]
    unexpected = [key for key in state if key not in targets]
    wrong_shape = [
        f"{key}: weights {tuple(state[key].shape)}, model {tuple(targets[key].shape)}"
        for key in targets if key in state and tuple(state[key].shape) != tuple(targets[key].shape)
    ]
    problems = []
    if strict and missing:
        problems.append(f"{len(missing)} key(s) of the model are missing from the weights: {_key_list(missing)}")
    if strict and unexpected:
        problems.append(f"{len(unexpected)} key(s) of the weights are not in the model: {_key_list(unexpected)}")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} shape mismatch(es): " + "; ".join(wrong_shape[:_SHOWN])
                        + (f"; ... and {len(wrong_shape) - _SHOWN} more" if len(wrong_shape) > _SHOWN else ""))
    if problems:
        matched = len(targets) - len(missing)
        hint = ""
        if matched < len(targets) // 2:
            hint = " (fewer than half the keys match: are these weights for another architecture?)"
        elif wrong_shape and not missing and not unexpected:
            hint = (" (a different num_classes or in_channels? build the model as the weights were trained, "
                    "load them, then call replace_head)")
        raise WeightsError(
            f"weights do not fit {type(model).__name__}: {matched} of {len(targets)} model keys found{hint}.\n  "
            + "\n  ".join(problems)
        )
    return missing, unexpected


def load_weights(model, source, strict=True):
    """Copy weights from ``source`` (dict, .npz, minicnn checkpoint, or .pth/.pt with PyTorch) into ``model``.

    With ``strict=False`` keys missing on either side are skipped (shapes of
    the common keys must still agree): e.g. load a backbone into a model with
    a new head.  Returns ``(missing_keys, unexpected_keys)``.
    """
    state = read_weights(source)
    missing, unexpected = check_weights(model, state, strict)
    model.load_state_dict(OrderedDict((k, v) for k, v in state.items() if k not in unexpected), strict=False)
    return _IncompatibleKeys(missing, unexpected)
