"""Training: the ``Trainer`` loop, metrics, callbacks and the history files.

    from minicnn.train import Trainer, metrics
    trainer = Trainer(model, optimizer, F.cross_entropy, output_dir="runs/x")
    trainer.fit(train_loader, val_loader, epochs=20)

See docs/training.md.
"""
from ..nn import utils as _nn_utils  # noqa: F401  (so that ``minicnn.nn.utils`` is set as an attribute)
from . import metrics
from .metrics import accuracy, confusion_matrix, f1_score, precision, precision_recall_f1, recall, top_k_accuracy
from .trainer import (
    Callback,
    LambdaCallback,
    NonFiniteLossError,
    Trainer,
    check_writable,
    load_checkpoint,
)

__all__ = [
    "Trainer",
    "Callback",
    "LambdaCallback",
    "NonFiniteLossError",
    "check_writable",
    "load_checkpoint",
    "metrics",
    "accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "precision",
    "recall",
    "f1_score",
    "precision_recall_f1",
]
