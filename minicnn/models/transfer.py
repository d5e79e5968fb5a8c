"""Transfer learning: reuse a network trained on one task for another.

The early layers of a CNN learn generic features (edges, colour blobs,
textures); the later ones are specific to the classes they were trained on.
So a network trained on a big data set is a good starting point for a new
task, and what to retrain depends on how much data the new task has and how
similar it is (the four cases, see docs/transfer_learning.md):

* small data, similar task:   ``freeze`` the base, ``replace_head``, train only the head
  (cheapest: ``extract_features`` once, then train the head on the cached features);
* large data, similar task:   fine-tune everything, the base with a lower learning
  rate than the new head (``param_groups``);
* small data, different task: freeze the early layers only, retrain the later ones and the head;
* large data, different task: fine-tune everything, or train from scratch.

    model = resnet18(); load_weights(model, "resnet18.npz")
    freeze(model); replace_head(model, num_classes=5)       # the new head is trainable
    opt = optim.SGD(param_groups(model, base_lr=0.0, head_lr=0.01), momentum=0.9)
"""
from __future__ import annotations

from .. import nn
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..factories import tensor
from ..ops import cat
from .alexnet import AlexNet
from .googlenet import GoogLeNet
from .lenet import LeNet5
from .resnet import ResNet
from .sequence import SequenceCNN
from .vgg import VGG

# the output layer(s) of each family, as dotted paths
HEADS = {
    LeNet5: ("classifier.4",),
    AlexNet: ("classifier.6",),
    VGG: ("classifier.6",),
    ResNet: ("fc",),
    GoogLeNet: ("fc", "aux1.fc2", "aux2.fc2"),
    SequenceCNN: ("fc",),
}


def freeze(module):
    """Stop training ``module``'s parameters (``requires_grad = False``); returns ``module``.

    Frozen parameters get no gradient, so an optimizer leaves them unchanged.
    Batch-norm running statistics are buffers, not parameters: they still
    follow the data in training mode.  Call ``module.eval()`` on the frozen
    part (after ``model.train()``) to keep them fixed too.
    """
    for param in module.parameters():
        param.requires_grad = False
    return module


def unfreeze(module):
    """Train ``module``'s parameters again (``requires_grad = True``); returns ``module``."""
    for param in module.parameters():
        param.requires_grad = True
    return module


def head_names(model):
    """The dotted paths of ``model``'s output layer(s) (present ones only; GoogLeNet's aux heads may be None)."""
    for family, paths in HEADS.items():
        if isinstance(model, family):
            return tuple(path for path in paths if _lookup(model, path) is not None)
    families = ", ".join(f.__name__ for f in HEADS)
    raise TypeError(
        f"no known classifier head for {type(model).__name__} (known: {families}); pass head='path.to.linear'"
    )


def _lookup(model, path):
    module = model
    for name in path.split("."):
        module = getattr(module, name, None)
        if module is None:
            return None
    return module


def replace_head(model, num_classes, head=None):
    """Swap the output ``Linear`` layer(s) for new, trainable ones with ``num_classes`` outputs.

    ``head``: the dotted path of the layer, for models outside the zoo
    (default: the family's, see ``HEADS``; GoogLeNet's auxiliary heads are
    replaced too).  The new layer has PyTorch's default initialisation and
    lives on the old one's device and dtype.  Returns ``model``.
    """
    for path in (head,) if head is not None else head_names(model):
        old = _lookup(model, path)
        if not isinstance(old, nn.Linear):
            raise TypeError(
                f"replace_head: {path!r} of {type(model).__name__} is a {type(old).__name__}, expected Linear"
            )
        new = nn.Linear(old.in_features, num_classes).to(old.weight.device, old.weight.dtype)
        parent_path, _, name = path.rpartition(".")
        parent = _lookup(model, parent_path) if parent_path else model
        parent.add_module(name, new)  # same name: same position in a Sequential
    return model


def param_groups(model, base_lr, head_lr, head=None):
    """Two optimizer parameter groups for fine-tuning: the base at ``base_lr``, the head at ``head_lr``.

    Pretrained layers only need small corrections, the new head must learn
    from scratch: e.g. ``base_lr = head_lr / 10``.  Frozen parameters are
    left out.  ``optim.SGD(param_groups(model, 1e-3, 1e-2), momentum=0.9)``.
    """
    paths = (head,) if head is not None else head_names(model)
    head_params = {id(p) for path in paths for p in _lookup(model, path).parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in trainable if id(p) not in head_params], "lr": base_lr},
        {"params": [p for p in trainable if id(p) in head_params], "lr": head_lr},
    ]


def _batches(data, batch_size):
    """``(inputs, labels or None)`` batches from a tensor/array or from a loader of (x, y) pairs."""
    if isinstance(data, Tensor) or hasattr(data, "__array__"):
        data = data if isinstance(data, Tensor) else tensor(data)
        for start in range(0, data.shape[0], batch_size):
            yield data[start:start + batch_size], None
        return
    for batch in data:
        if isinstance(batch, (tuple, list)):
            yield batch[0], batch[1]
        else:
            yield batch, None


def extract_features(base, data, batch_size=256, flatten=True):
    """Run ``base`` once over ``data`` without gradients; return the features (and labels).

    data: an (N, ...) tensor or array (processed ``batch_size`` at a time),
          or a loader / iterable of ``(x, y)`` batches.
    Returns the (N, D) feature tensor (``flatten``: everything after the batch
    axis as one), or ``(features, labels)`` when the loader gave labels.

    Training a head on these cached features costs one pass through the base
    instead of one per epoch.  ``base`` runs in eval mode (dropout off,
    batch norm on its running statistics) and is put back afterwards.
    """
    modes = [(m, m.training) for m in base.modules()]
    params = list(base.parameters())
    device = params[0].device if params else None
    features, labels = [], []
    base.eval()
    try:
        with no_grad():
            for x, y in _batches(data, batch_size):
                x = x if isinstance(x, Tensor) else tensor(x)
                if device is not None:
                    x = x.to(device)
                out = base(x)
                features.append(out.flatten(1) if flatten else out)
                if y is not None:
                    labels.append(y if isinstance(y, Tensor) else tensor(y))
    finally:
        for module, mode in modes:
            module.training = mode
    if not features:
        raise ValueError("extract_features: the data gave no batches")
    features = cat(features, axis=0)
    return (features, cat(labels, axis=0)) if labels else features
