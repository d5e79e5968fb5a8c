"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``.

They hold sub-modules under the names ``"0"``, ``"1"``, ... (or the keys you
give), so that the state-dict keys read ``features.0.weight`` as in PyTorch.
"""
from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module


class _ModuleSequence(Module):
    """What ``Sequential`` and ``ModuleList`` share: a numbered list of children."""

    def _key(self, index):
        """The name of the child at position ``index`` (negative counts from the end)."""
        index = operator.index(index)
        size = len(self._modules)
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} of length {size}")
        return list(self._modules)[index % size]

    def _renumber(self):
        """Name the children 0, 1, 2, ... again (after a deletion or an insertion)."""
        modules = list(self._modules.values())
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def _from_items(self, items):
        """The container of the same type holding ``items`` (``(name, module)`` pairs): slicing."""
        raise NotImplementedError

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._from_items(list(self._modules.items())[index])
        return self._modules[self._key(index)]

    def __setitem__(self, index, module):
        self.add_module(self._key(index), module)

    def __delitem__(self, index):
        keys = list(self._modules)[index] if isinstance(index, slice) else [self._key(index)]
        for key in keys:
            del self._modules[key]
        self._renumber()

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)


class Sequential(_ModuleSequence):
    """Modules applied one after the other: ``forward(x) = m_n(...m_2(m_1(x)))``.

    ``Sequential(conv, relu, pool)`` names the layers 0, 1, 2;
    ``Sequential(OrderedDict([("conv", conv), ...]))`` uses your names.
    A slice ``net[:3]`` is a ``Sequential`` of the same layers with the same names.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def _from_items(self, items):
        return Sequential(OrderedDict(items))

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters the parent registers (a plain list would hide them)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _from_items(self, items):
        return ModuleList(module for _, module in items)

    def __iadd__(self, modules):
        return self.extend(modules)


class ModuleDict(Module):
    """A dict of modules whose parameters the parent registers; keeps insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        return self._modules.pop(key)

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        """Add ``modules``: a mapping or an iterable of ``(name, module)`` pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module
