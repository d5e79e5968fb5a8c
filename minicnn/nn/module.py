"""``Module``: the base class of every layer and every network.

A module is a tree.  Each node owns

* **parameters** (``Parameter``: trained by an optimizer),
* **buffers** (plain ``Tensor`` state that is saved but not trained, such as
  batch norm's running mean), and
* **sub-modules** (its children),

all registered simply by assigning them as attributes::

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 6, 5)          # a child  -> "conv."
            self.scale = nn.Parameter(mc.ones(1))   # a parameter -> "scale"

        def forward(self, x):
            return self.conv(x) * self.scale

Walking the tree gives ``parameters()`` for the optimizer and ``state_dict()``
for checkpoints, whose keys are the dotted attribute paths
(``features.0.weight``), exactly as PyTorch spells them.  Modules hold state;
the math lives in ``minicnn.nn.functional``.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy

from .. import backend
from ..autograd.tensor import Tensor, parse_to_arguments
from .parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it could not match."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook.

    Also a context manager: ``with model.register_forward_hook(h): model(x)``.
    """

    _ids = itertools.count()

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _check_name(owner, name, kind):
    """A registered name must be a non-empty string without dots, not already a plain attribute."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")
    if hasattr(owner, name) and not any(name in store for store in owner._stores()):
        raise KeyError(f"attribute {name!r} already exists on {type(owner).__name__}")


class Module:
    """Base class of all layers and networks; subclasses define ``forward``.

    ``module(x)`` runs the forward pre-hooks, ``forward(x)`` and the forward
    hooks.  ``training`` is True after construction (``train()``/``eval()``
    switch it for the whole tree).
    """

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these stores to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ------------------------------------------------------------ registration
    def _stores(self):
        return (self._parameters, self._buffers, self._modules)

    def register_parameter(self, name, param):
        """Register ``param`` (a ``Parameter`` or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameters before Module.__init__() call")
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} object to parameter {name!r} "
                "(minicnn.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"cannot assign non-leaf tensor to parameter {name!r}; model parameters must be "
                "created explicitly (wrap a detached value: Parameter(x.detach()))"
            )
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` (a ``Tensor`` or None) as state that is not trained.

        Persistent buffers are part of ``state_dict()``; all buffers move with ``to()``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, name, "buffer")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign {type(tensor).__name__} object to buffer {name!r} (Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register ``module`` (a ``Module`` or None) as a child called ``name``."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        stores = self.__dict__
        if isinstance(value, Parameter):
            self._forget(name)
            self.register_parameter(name, value)
        elif "_parameters" in stores and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(minicnn.nn.Parameter or None expected)"
                )
            self._parameters[name] = None
        elif isinstance(value, Module):
            self._forget(name)
            self.add_module(name, value)
        elif "_modules" in stores and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} (Module or None expected)")
            self._modules[name] = None
        elif "_buffers" in stores and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} (Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop ``name`` from every store before it is registered anew (as PyTorch)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call")
        self.__dict__.pop(name, None)
        for store in self._stores():
            store.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the three stores
        stores = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in stores and name in stores[store]:
                return stores[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in self._stores():
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        names = set(super().__dir__())
        for store in self._stores():
            names.update(store)
        return sorted(names)

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(dotted_name, module)`` for this module and every descendant, depth first.

        A module reachable by two paths is listed once (the first path).
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            child_prefix = prefix + ("." if prefix else "") + name
            yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self):
        """This module and every descendant, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """``(name, module)`` for the direct children."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        """``(dotted_name, tensor)`` from ``store`` ("_parameters" or "_buffers") of the tree."""
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and value in seen):
                    continue
                seen.add(value)
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted_name, Parameter)``; a parameter shared by two layers is listed once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every ``Parameter`` of the tree (what an optimizer is given)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------ state dict
    def _state_entries(self, prefix=""):
        """``(key, tensor)`` for every entry of the state dict, in PyTorch's order:
        per module (depth first) its parameters, then its persistent buffers."""
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            dot = module_prefix + "." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    yield dot + name, param
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers:
                    yield dot + name, buf

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ``OrderedDict`` from dotted names to tensors: parameters and persistent buffers.

        The values are detached tensors sharing memory with the module
        (``keep_vars=True`` gives the ``Parameter`` objects themselves).
        """
        if destination is None:
            destination = OrderedDict()
        for key, value in self._state_entries(prefix):
            destination[key] = value if keep_vars else value.detach()
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of ``state_dict`` into this module's parameters and buffers.

        Values may be Tensors or arrays (NumPy, CuPy, anything with
        ``__array__``); each is copied in place onto the parameter's device and
        dtype, so ``Parameter`` objects (and an optimizer holding them) are kept.
        Everything is checked before anything is copied: a missing or
        unexpected key (when ``strict``) or a wrong shape raises ``RuntimeError``
        listing every problem, and the module is left unchanged.

        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"expected state_dict to be a mapping (dict), got {type(state_dict).__name__}")
        targets = OrderedDict(self._state_entries())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        sources = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key])
            if value is None:
                errors.append(f"value for {key} is a {type(state_dict[key]).__name__}, expected a Tensor or an array.")
            elif tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} from checkpoint, "
                    f"the shape in current model is {tuple(target.shape)}."
                )
            else:
                sources[key] = value
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__} (nothing was loaded):\n\t"
                + "\n\t".join(errors)
            )
        for key, value in sources.items():
            target = targets[key]
            target.data[...] = backend.to_device(value, target.device).astype(target.dtype, copy=False)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm uses batch statistics) for the whole tree."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch gradient tracking of every parameter (``requires_grad_(False)`` freezes)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter (set to None, or to zeros)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant (children first) and on self; returns self.

        Typical use: ``net.apply(init_weights)``.
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ devices and dtypes
    def _apply_to_arrays(self, convert):
        """Replace the array of every parameter, gradient and buffer by ``convert(array)``.

        Only ``.data`` changes, so Parameter objects keep their identity and
        an optimizer built earlier still holds the right tensors.
        """
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            tensor.data = convert(tensor.data)
            if tensor.grad is not None:
                tensor.grad.data = convert(tensor.grad.data)
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """Move parameters and buffers to a device and/or cast floating ones to a dtype, in place.

        ``net.to("cuda")``, ``net.to(mc.float64)``, ``net.to("cuda", mc.float64)``.
        Integer buffers (``num_batches_tracked``) keep their dtype.
        """
        device, dtype = parse_to_arguments(args, device, dtype)
        if dtype is not None:
            dtype = backend.as_dtype(dtype)
            if not backend.is_floating(dtype):
                raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if device is not None:
            device = backend.as_device(device)

        def convert(array):
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and backend.is_floating(array.dtype):
                array = array.astype(dtype, copy=False)
            return array

        return self._apply_to_arrays(convert)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """Move to the GPU (``device``: an index, ``"cuda:N"`` or None for the current one)."""
        if isinstance(device, int):
            device = backend.Device("cuda", device)
        return self.to("cuda" if device is None else device)

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self.to(backend.float32)

    def double(self):
        """Cast floating parameters and buffers to float64."""
        return self.to(backend.float64)

    # ------------------------------------------------------------ hooks
    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before each forward; a non-None result replaces ``args``."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces ``output``."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------ printing
    def extra_repr(self):
        """The text between the parentheses of this module's repr (its settings)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        """``Net(\\n  (conv): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\\n)``, as PyTorch prints it."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()
        ]
        if not child_lines and len(extra_lines) <= 1:
            return f"{self._get_name()}({extra})"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{self._get_name()}(\n  {body}\n)"


def _as_array(value):
    """The array inside a state-dict value, or None when it is not array-like."""
    if isinstance(value, Tensor):
        return value.data
    if backend.is_gpu_array(value) or isinstance(value, (numpy.ndarray, numpy.generic)):
        return value
    if hasattr(value, "__array__") and hasattr(value, "shape"):  # e.g. a torch.Tensor on the CPU
        return numpy.asarray(value)
    return None
