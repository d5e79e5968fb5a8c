"""``Optimizer``: the base class every update rule builds on.

An optimizer owns

* ``param_groups``: a list of dicts, each with ``"params"`` (a list of
  ``Parameter``s) and the options of the rule for those parameters (``lr``,
  ``momentum``, ...).  One group is the usual case; several let a model train
  its parts differently, e.g. a pretrained base at a tenth of the head's lr::

      opt = optim.SGD([{"params": model.base.parameters(), "lr": 1e-3},
                       {"params": model.head.parameters()}], lr=1e-2, momentum=0.9)

* ``state``: one dict per parameter (keyed by the parameter itself) holding
  what the rule remembers between steps: a momentum buffer, running averages,
  a step count.  The values are plain arrays (on the parameter's device) and
  numbers, so that a checkpoint can store them.

A subclass writes only its rule.  ``step`` below does the shared work once:
it visits every parameter that has a gradient, creates its state on first use
(``_init_state``: a step count and zero buffers), forms the gradient the rule sees (``_gradient``: sign flip
for ``maximize``, L2 or decoupled weight decay) and hands the raw arrays to
``_update``, which changes ``param`` in place::

    ∇ = ±∂L/∂p (+ λ·p)     (``_gradient``)
    p ← rule(p, ∇, state)  (``_update``)

The arrays are NumPy or CuPy; the rules get ``xp`` from them and never branch
on the backend.  Nothing here records a graph: the updates work on ``p.data``.

``state_dict()`` / ``load_state_dict()`` use PyTorch's layout: parameters are
numbered 0, 1, 2, ... in the order of the groups, ``"state"`` maps those
numbers to the per-parameter dicts and each group lists its parameters by
number.
"""
from __future__ import annotations

from collections import defaultdict

import numpy

from .. import backend
from ..autograd import Tensor, enable_grad, no_grad


def require(condition, owner, message):
    """Raise ``ValueError("<owner>: <message>")`` when ``condition`` is false.

    Used to validate hyper-parameters: ``require(lr >= 0, "SGD", f"lr must be
    >= 0, got lr={lr}")``.
    """
    if not condition:
        raise ValueError(f"{owner}: {message}")


class Optimizer:
    """Base class of the optimizers (see the module docstring).

    ``params`` is an iterable of ``Parameter``s or of dicts (parameter groups,
    each with a ``"params"`` entry and any options that override ``defaults``).
    """

    # Whether every array in a parameter's state has that parameter's shape
    # (checked by ``load_state_dict``).  LBFGS, whose state is made of flat
    # vectors over all parameters, turns it off.
    per_parameter_state = True

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Parameters or of dicts, "
                "but got a single Tensor; pass [param] or model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``"params"`` and options).

        Options missing from the group take the optimizer's defaults; the
        options are validated (``_check_options``) before the group is added.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{type(self).__name__}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: can only optimize Tensors, but parameter {i} of the group "
                    f"is a {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor (parameter {i} of the group)")
        if len(set(map(id, params))) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once in the group")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group):
        """Validate one group's hyper-parameters (each optimizer overrides this)."""

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``p.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad = p.grad.detach()
                    p.grad.data[...] = 0

    def _evaluate(self, closure):
        """Run ``closure`` (which recomputes the loss and calls backward) with grad on."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        ``closure``, when given, is called first (with grad enabled) to
        recompute the loss and its gradients; its value is returned.
        """
        loss = self._evaluate(closure)
        with no_grad():
            work = self._prepare_step()
            for p, grad, state, group in work:
                self._decay_decoupled(p, group)
                self._update(p.data, grad, state, group)
        return loss

    def _prepare_step(self):
        """Everything a step allocates, before any parameter changes.

        Creates the state of parameters seen for the first time and forms
        each gradient ∇; returns ``[(p, ∇, state, group)]``.  State arrays
        left on another device (the model was moved with ``.to()`` after some
        steps) follow their parameter there.  When this runs
        out of memory, the states it created are removed again and the error
        propagates: the parameters and the optimizer are as they were.  (SGD
        and Adam then update in place, on the GPU with fused kernels that
        allocate nothing.)
        """
        work, created = [], []
        try:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        created.append(p)
                        self._init_state(state, p.data, group)
                    else:
                        _follow_param(state, p.data)
                    work.append((p, self._gradient(p, group), state, group))
        except MemoryError:
            for p in created:
                self.state.pop(p, None)
            raise
        return work

    def _gradient(self, p, group):
        """The gradient the rule sees, ∇; applies ``maximize`` and L2 weight decay.

        * ``maximize``: ∇ = -∂L/∂p (ascend instead of descend);
        * L2 weight decay (``weight_decay`` = λ): ∇ ← ∇ + λ·p;
        * decoupled weight decay (AdamW) leaves ∇ alone: see ``_decay_decoupled``.

        The caller's ``p.grad`` is never modified: when ∇ differs from it, ∇ is
        a new array.
        """
        grad = p.grad.data
        if group.get("maximize", False):
            grad = -grad
        decay = group.get("weight_decay", 0)
        if decay != 0 and not group.get("decoupled_weight_decay", False):
            grad = grad + decay * p.data
        return grad

    def _decay_decoupled(self, p, group):
        """Decoupled weight decay (AdamW): the parameter itself shrinks, p ← p·(1 - lr·λ),
        just before the rule's update."""
        decay = group.get("weight_decay", 0)
        if decay != 0 and group.get("decoupled_weight_decay", False):
            p.data *= 1 - group["lr"] * decay

    def _init_state(self, state, param, group):
        """Fill the empty ``state`` of ``param`` (an array) before its first update:
        a step count t = 0 and a zero array shaped like ``param`` for each name
        in ``_buffers(group)``."""
        xp = backend.get_array_module(param)
        state["step"] = 0
        for name in self._buffers(group):
            state[name] = xp.zeros_like(param)

    def _buffers(self, group):
        """Names of the per-parameter arrays the rule keeps (each optimizer overrides this)."""
        return ()

    def _update(self, param, grad, state, group):
        """Change ``param`` (an array) in place from ``grad`` (an array) and ``state``."""
        raise NotImplementedError(f"{type(self).__name__} does not define its update rule (_update)")

    # ------------------------------------------------------------ checkpoints
    def state_dict(self):
        """A snapshot of the optimizer: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are referred to by their index (0, 1, ... over the groups in
        order), as in PyTorch.  Arrays are copies, so the snapshot does not
        change when the optimizer steps on.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {
            index[id(p)]: {key: _copy(value) for key, value in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` taken from an optimizer over parameters of the same shapes.

        Everything is checked before anything changes: on error the optimizer
        is left as it was.  State arrays are copied onto each parameter's
        device (and floating ones to its dtype).
        """
        name = type(self).__name__
        if "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups', "
                             f"got keys {sorted(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter group(s), "
                f"the optimizer has {len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} parameter(s) "
                    f"in the state dict but {len(group['params'])} in the optimizer"
                )
        by_index = {}
        for group, saved in zip(self.param_groups, saved_groups):
            for saved_index, p in zip(saved["params"], group["params"]):
                by_index[int(saved_index)] = p

        new_state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            k = int(key)  # keys may come back from a file as strings
            if k not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter {k}, which no group lists")
            p = by_index[k]
            if self.per_parameter_state:
                for field, value in saved_state.items():
                    shape = getattr(value, "shape", ())
                    if len(shape) > 0 and tuple(shape) != tuple(p.shape):
                        raise ValueError(
                            f"{name}.load_state_dict: state '{field}' of parameter {k} has shape "
                            f"{tuple(shape)}, but the parameter has shape {tuple(p.shape)}"
                        )
            new_state[p] = {field: _like_param(value, p.data) for field, value in saved_state.items()}

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            options = {k: _plain(v) for k, v in saved.items() if k != "params"}
            new_groups.append({**group, **options, "params": group["params"]})
        for group in new_groups:
            self._check_options(group)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------- helpers
def _copy(value):
    """A copy of a state value (arrays and lists of arrays are copied)."""
    if hasattr(value, "shape") and hasattr(value, "copy"):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _follow_param(state, param):
    """Move the state arrays of ``param`` to its device, where they are not already."""
    device = backend.device_of(param)
    for key, value in state.items():
        if hasattr(value, "shape") and backend.device_of(value) != device:
            state[key] = backend.to_device(value, device)


def _plain(value):
    """Turn what a checkpoint file may give back into plain Python values:
    0-d arrays and NumPy scalars into numbers, 1-d arrays into tuples."""
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    return value


def _like_param(value, param):
    """A loaded state value made ready for ``param``: arrays copied to its device
    (floating ones cast to its dtype), 0-d arrays turned into numbers, lists recursed."""
    if isinstance(value, (list, tuple)):
        return [_like_param(v, param) for v in value]
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, numpy.generic) or (hasattr(value, "shape") and value.ndim == 0):
        return value.item()
    if hasattr(value, "shape"):
        array = backend.to_device(value, backend.device_of(param))
        if array.dtype.kind == "f" and array.dtype != param.dtype:
            array = array.astype(param.dtype)
        return array.copy() if array is value else array
    return value
