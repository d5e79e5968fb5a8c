"""``Parameter``: a tensor that a ``Module`` owns and an optimizer updates."""
from ..autograd.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` by default, registered by the
    ``Module`` it is assigned to (so ``parameters()`` and ``state_dict()`` find it)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
