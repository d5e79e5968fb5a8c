"""``Trainer``: the classic training loop with validation, checkpoints and resume.

The loop every PyTorch course writes by hand, made reusable::

    best = inf
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:                  # one optimisation step per batch
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            clip gradients (optional); optimizer.step()
        model.eval()
        val_loss = mean loss over val_loader       # no_grad: no graph is built
        scheduler.step()                           # ReduceLROnPlateau.step(val_loss)
        save last.pth                              # everything needed to resume
        if val_loss < best: best = val_loss; save best.pth
        stop early after `patience` epochs without improvement

    trainer = Trainer(model, optimizer, F.cross_entropy, output_dir="runs/lenet")
    history = trainer.fit(train_loader, val_loader, epochs=20)
    trainer.evaluate(test_loader)        # {"loss": ..., "accuracy": ...}
    trainer.predict(images)              # model outputs, in eval mode

Checkpoints (``mc.save``, atomic) hold the model, optimizer and scheduler
state, the epoch, the random-number state, the history and the best value
so far: ``fit(..., resume="runs/lenet/last.pth")`` continues exactly where
the run stopped, provided the loader's order is a function of the epoch (the
minicnn ``DataLoader`` with a ``seed``: the trainer calls
``loader.set_epoch(epoch)``; without a seed the order is drawn from minicnn's
generator, whose state is restored).  Ctrl-C stops at the end of the current
batch and writes ``interrupted.pth``, which resumes mid-epoch exactly.

A nan or inf loss stops training before the bad step touches the weights;
``last.pth`` and ``best.pth`` keep the last good epoch.
"""
from __future__ import annotations

import math
import os
import secrets
import signal
import sys
import threading
import time

import numpy as np

from .. import backend
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..nn.utils import clip_grad_norm_
from ..optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from ..serialization import load as _load, save as _save
from . import history as _history
from .metrics import METRICS, to_numpy

CHECKPOINT_KIND = "minicnn-trainer-checkpoint"


class NonFiniteLossError(RuntimeError):
    """The loss became nan or inf; training stopped before the step that would have used it."""


class _SafeInterrupt(Exception):
    """KeyboardInterrupt at a batch boundary, carrying the mid-epoch state needed to resume."""

    def __init__(self, partial):
        super().__init__("interrupted")
        self.partial = partial


class Callback:
    """Hooks called by ``Trainer.fit``; override the ones you need.

    ``logs`` is the history row of the epoch (``on_epoch_end``) or
    ``{"loss": ..., "batch_size": ...}`` (``on_batch_end``).  Set
    ``trainer.stop_training = True`` to stop after the current epoch.
    """

    def on_fit_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, batch, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_fit_end(self, trainer):
        pass


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: ...)``."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; hooks are on_fit_begin, on_epoch_begin, "
                                 "on_batch_end, on_epoch_end, on_fit_end")
            setattr(self, name, fn)


def _resolve_metrics(metrics):
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        return dict(metrics)
    resolved = {}
    for m in metrics:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"Trainer: unknown metric {m!r}; known metrics: {', '.join(METRICS)} "
                                 "(or pass a dict name -> fn(outputs, targets))")
            resolved[m] = METRICS[m]
        elif callable(m):
            resolved[m.__name__] = m
        else:
            raise TypeError(f"Trainer: a metric is a name or a function, got {type(m).__name__}")
    return resolved


def check_writable(directory):
    """Create ``directory`` if needed and make sure files can be written there (fails early, clearly)."""
    try:
        os.makedirs(directory, exist_ok=True)
        probe = os.path.join(directory, f".write-test-{secrets.token_hex(4)}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as exc:
        raise PermissionError(f"output directory {directory!r} is not writable: {exc.strerror or exc}") from None


class Trainer:
    """Fit a model with validation, best-model checkpointing, resume and early stopping.

    Arguments:
        model, optimizer: a ``nn.Module`` and an optimizer over its parameters.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor`` (``F.cross_entropy``, ``nn.MSELoss()``).
        device: where the model runs; batches are moved there.
        scheduler: an lr scheduler.  Stepped once per epoch (``ReduceLROnPlateau``
            with the monitored loss), or once per batch with ``scheduler_step="batch"``
            (the default for ``OneCycleLR``).
        metrics: names from ``metrics.METRICS`` (``"accuracy"``, ``"top5_accuracy"``,
            ``"macro_f1"``, ...) or a dict ``name -> fn(outputs, targets)``,
            computed over each epoch's outputs.  ``()`` for none.
        callbacks: ``Callback`` objects.
        grad_clip: clip the gradient norm to this value (``nn.utils.clip_grad_norm_``).
        output_dir: where ``last.pth``, ``best.pth``, ``history.{json,csv,png}`` go
            (None: nothing is written).
        early_stopping: stop after this many epochs without an improvement of the
            monitored loss by more than ``min_delta`` (None: never).
        checkpoint_info: plain values stored in every checkpoint under ``"info"``
            (the CLI records the model name and its arguments there).
        progress: ``"bar"`` (tqdm), ``"plain"`` (a line per epoch), ``"none"``,
            or ``"auto"``: bars when stderr is a terminal, plain lines otherwise.
    """

    def __init__(self, model, optimizer, loss_fn, device="cpu", scheduler=None, metrics=("accuracy",),
                 callbacks=(), grad_clip=None, scheduler_step=None, output_dir=None, early_stopping=None,
                 min_delta=0.0, checkpoint_info=None, progress="auto", plot=True):
        if scheduler_step not in (None, "epoch", "batch"):
            raise ValueError(f"Trainer: scheduler_step must be 'epoch' or 'batch', but got {scheduler_step!r}")
        if progress not in ("auto", "bar", "plain", "none"):
            raise ValueError(f"Trainer: progress must be 'auto', 'bar', 'plain' or 'none', but got {progress!r}")
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"Trainer: grad_clip must be a positive number or None, but got {grad_clip!r}")
        if early_stopping is not None and not (isinstance(early_stopping, int) and early_stopping >= 1):
            raise ValueError(f"Trainer: early_stopping must be a positive integer (patience) or None, "
                             f"but got {early_stopping!r}")
        self.device = backend.as_device(device)
        self.model = model.to(self.device)
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        if scheduler_step is None:
            scheduler_step = "batch" if isinstance(scheduler, OneCycleLR) else "epoch"
        self.scheduler_step = scheduler_step
        self.metrics = _resolve_metrics(metrics)
        self.callbacks = list(callbacks)
        self.grad_clip = grad_clip
        self.early_stopping = early_stopping
        self.min_delta = float(min_delta)
        self.checkpoint_info = dict(checkpoint_info or {})
        self.progress = progress
        self.plot = plot
        self.output_dir = output_dir
        if output_dir is not None:
            check_writable(output_dir)
        self.history = []
        self.epoch = 0  # completed epochs
        self.best_loss = math.inf
        self.best_epoch = None
        self.bad_epochs = 0
        self.stop_training = False
        self.stop_reason = None
        self.message = None
        self._partial = None  # mid-epoch state restored from interrupted.pth
        self._interrupt_requested = False

    # ------------------------------------------------------------ paths
    def path(self, name):
        return None if self.output_dir is None else os.path.join(self.output_dir, name)

    # ------------------------------------------------------------ one batch
    def _to_device(self, t):
        if isinstance(t, Tensor):
            return t if t.device == self.device else t.to(self.device)
        if isinstance(t, np.ndarray) or backend.is_gpu_array(t):
            return Tensor(backend.to_device(t, self.device))
        return t

    def _split_batch(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise TypeError("Trainer: each batch must be (inputs, targets), got "
                            f"{type(batch).__name__}{'' if not isinstance(batch, (tuple, list)) else f' of {len(batch)}'}")
        return self._to_device(batch[0]), self._to_device(batch[1])

    def _train_step(self, x, y, where):
        self.optimizer.zero_grad()
        output = self.model(x)
        loss = self.loss_fn(output, y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteLossError(f"the training loss became {value} at {where}")
        loss.backward()
        if self.grad_clip is not None:
            norm = float(clip_grad_norm_(self.model.parameters(), self.grad_clip).item())
            if not math.isfinite(norm):
                raise NonFiniteLossError(f"the gradient norm became {norm} at {where}")
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_step == "batch":
            self.scheduler.step()
        return output, value

    # ------------------------------------------------------------ one epoch
    def _train_epoch(self, loader, epoch, epochs):
        """Train one epoch; returns (mean loss, metrics dict, images/s, seconds)."""
        self.model.train()
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        partial, self._partial = self._partial, None
        if partial is None:
            rng_at_start = backend.get_rng_state()
            iterator = iter(loader)
            loss_sum, seen, done, elapsed = 0.0, 0, 0, 0.0
            outputs, targets = [], []
        else:  # resume mid-epoch: rebuild the epoch's iterator, then skip the batches already done
            backend.set_rng_state(partial["rng_at_epoch_start"])
            rng_at_start = partial["rng_at_epoch_start"]
            iterator = iter(loader)
            backend.set_rng_state(partial["rng"])
            loss_sum, seen, done, elapsed = partial["loss_sum"], partial["seen"], partial["batches"], partial["time_s"]
            outputs = [partial["outputs"]] if partial.get("outputs") is not None else []
            targets = [partial["targets"]] if partial.get("targets") is not None else []
            for _ in range(done):
                next(iterator)
        total = len(loader) if hasattr(loader, "__len__") else None
        bar = self._bar(total, epoch, epochs, initial=done)
        start = time.perf_counter() - elapsed
        try:
            for batch in iterator:
                x, y = self._split_batch(batch)
                output, value = self._train_step(x, y, f"epoch {epoch + 1}, batch {done + 1}")
                n = len(x)
                loss_sum += value * n
                seen += n
                done += 1
                if self.metrics:
                    outputs.append(output.data)
                    targets.append(y.data)
                if bar is not None:
                    bar.update(1)
                    if done % 5 == 0 or done == total:
                        bar.set_postfix_str(self._postfix(loss_sum / seen, outputs, targets, seen,
                                                          time.perf_counter() - start), refresh=False)
                try:
                    logs = {"loss": value, "batch_size": n}
                    for cb in self.callbacks:
                        cb.on_batch_end(self, done - 1, logs)
                    if self._interrupt_requested:
                        raise KeyboardInterrupt
                except KeyboardInterrupt:  # at a batch boundary: the state is consistent
                    outs, tgts = self._concat(outputs, targets)
                    raise _SafeInterrupt({
                        "epoch": epoch, "batches": done, "loss_sum": loss_sum, "seen": seen,
                        "time_s": time.perf_counter() - start, "outputs": outs, "targets": tgts,
                        "rng_at_epoch_start": rng_at_start, "rng": backend.get_rng_state(),
                    }) from None
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - start
        if seen == 0:
            raise ValueError("Trainer.fit: the training loader produced no batches")
        outs, tgts = self._concat(outputs, targets)
        scores = {name: float(fn(outs, tgts)) for name, fn in self.metrics.items()}
        return loss_sum / seen, scores, seen / max(seconds, 1e-9), seconds

    @staticmethod
    def _concat(outputs, targets):
        if not outputs:
            return None, None
        return np.concatenate([to_numpy(o) for o in outputs]), np.concatenate([to_numpy(t) for t in targets])

    def _postfix(self, loss, outputs, targets, seen, seconds):
        text = f"loss {loss:.4f}"
        if "accuracy" in self.metrics and outputs and outputs[-1].ndim == 2:
            last = to_numpy(outputs[-1]).argmax(axis=1) == to_numpy(targets[-1])
            text += f", acc {100 * last.mean():.1f}%"
        return text + f", {seen / max(seconds, 1e-9):,.0f} img/s"

    def _bar(self, total, epoch, epochs, initial=0):
        mode = self.progress
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "plain"
        if mode != "bar":
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                    leave=False, dynamic_ncols=True, file=sys.stderr)

    # ------------------------------------------------------------ evaluation
    def evaluate(self, loader, return_outputs=False):
        """Mean loss and metrics over ``loader`` in eval mode without building a graph.

        Returns ``{"loss": ..., <metric>: ...}``; with ``return_outputs=True``
        also the concatenated outputs and targets as NumPy arrays.
        """
        was_training = self.model.training
        self.model.eval()
        loss_sum, seen, outputs, targets = 0.0, 0, [], []
        keep = bool(self.metrics) or return_outputs
        try:
            with no_grad():
                for batch in loader:
                    x, y = self._split_batch(batch)
                    output = self.model(x)
                    loss_sum += float(self.loss_fn(output, y).item()) * len(x)
                    seen += len(x)
                    if keep:
                        outputs.append(output.data)
                        targets.append(y.data)
        finally:
            self.model.train(was_training)
        if seen == 0:
            raise ValueError("Trainer.evaluate: the loader produced no batches")
        outs, tgts = self._concat(outputs, targets)
        stats = {"loss": loss_sum / seen}
        stats.update({name: float(fn(outs, tgts)) for name, fn in self.metrics.items()})
        return (stats, outs, tgts) if return_outputs else stats

    def predict(self, x, batch_size=256):
        """The model's outputs for the inputs ``x`` (Tensor or array, batch first), in eval mode."""
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x, dtype=backend.get_default_dtype()))
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                parts = [self.model(self._to_device(x[i:i + batch_size])).data for i in range(0, len(x), batch_size)]
        finally:
            self.model.train(was_training)
        xp = backend.get_array_module(parts[0])
        return Tensor(xp.concatenate(parts))

    # ------------------------------------------------------------ checkpoints
    def state_dict(self, partial=None):
        """Everything needed to continue training (what ``last.pth`` holds)."""
        return {
            "kind": CHECKPOINT_KIND,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng": backend.get_rng_state(),
            "history": list(self.history),
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "info": self.checkpoint_info,
            "partial": partial,
        }

    def save_checkpoint(self, path, partial=None):
        _save(self.state_dict(partial), path)

    def load_checkpoint(self, checkpoint):
        """Restore a trainer checkpoint (a path or the loaded dict) to continue training from it."""
        ckpt = load_checkpoint(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint
        if not isinstance(ckpt, dict) or ckpt.get("kind") != CHECKPOINT_KIND:
            raise ValueError("Trainer.load_checkpoint: not a trainer checkpoint (no 'kind': "
                             f"{CHECKPOINT_KIND!r}); weights-only files load with model.load_state_dict")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None:
            if ckpt["scheduler"] is None:
                raise ValueError("Trainer.load_checkpoint: the checkpoint has no scheduler state, "
                                 f"but this trainer has a {type(self.scheduler).__name__}")
            self.scheduler.load_state_dict(ckpt["scheduler"])
        backend.set_rng_state(ckpt["rng"])
        self.epoch = int(ckpt["epoch"])
        self.history = [dict(row) for row in ckpt["history"]]
        self.best_loss = float(ckpt["best_loss"])
        self.best_epoch = ckpt["best_epoch"]
        self.bad_epochs = int(ckpt["bad_epochs"])
        self._partial = ckpt.get("partial")
        return ckpt

    def _write_history(self):
        if self.output_dir is None or not self.history:
            return
        summary = {"best_epoch": self.best_epoch, "best_loss": self.best_loss, "stop_reason": self.stop_reason}
        _history.write_json(self.history, self.path("history.json"), **summary)
        _history.write_csv(self.history, self.path("history.csv"))

    # ------------------------------------------------------------ Ctrl-C
    def _install_sigint(self):
        """First Ctrl-C: stop at the end of the current batch; a second one interrupts at once."""
        if threading.current_thread() is not threading.main_thread():
            return None
        self._interrupt_requested = False

        def handler(signum, frame):
            if self._interrupt_requested:
                raise KeyboardInterrupt
            self._interrupt_requested = True
            print("\nCtrl-C: stopping after the current batch (press again to stop at once)", file=sys.stderr)

        try:
            return signal.signal(signal.SIGINT, handler)
        except ValueError:
            return None

    # ------------------------------------------------------------ the loop
    def fit(self, train_loader, val_loader=None, epochs=10, resume=None):
        """Train until ``epochs`` epochs are complete (counting those of a resumed run).

        Returns the history (a list of per-epoch dicts).  ``self.stop_reason``
        says why it ended: ``"completed"``, ``"early_stopping"``, ``"callback"``,
        ``"nonfinite"`` or ``"interrupted"``; ``self.message`` explains the
        last two (and how to resume).
        """
        if resume is not None:
            self.load_checkpoint(resume)
        self.stop_training, self.stop_reason, self.message = False, None, None
        previous_handler = self._install_sigint()
        for cb in self.callbacks:
            cb.on_fit_begin(self)
        try:
            while self.epoch < epochs and not self.stop_training:
                self._run_epoch(train_loader, val_loader, epochs)
            if self.stop_reason is None:
                self.stop_reason = "completed"
        except NonFiniteLossError as exc:
            self.stop_reason = "nonfinite"
            good = self.path("last.pth") if self.epoch and self.output_dir else None
            self.message = (f"Stopped: {exc}. The weights were not updated with it. "
                            + (f"The last good checkpoint is {good} (epoch {self.epoch}). " if good else "")
                            + "Try a lower learning rate or gradient clipping.")
        except _SafeInterrupt as interrupt:
            self.stop_reason = "interrupted"
            p = interrupt.partial
            where = f"epoch {p['epoch'] + 1}, after batch {p['batches']}"
            if self.output_dir is not None:
                path = self.path("interrupted.pth")
                self.save_checkpoint(path, partial=p)
                self.message = f"Interrupted in {where}; saved {path}. Resume with --resume {path}"
            else:
                self.message = f"Interrupted in {where} (no output_dir: nothing saved)"
        except KeyboardInterrupt:  # not at a batch boundary (a second Ctrl-C): only last.pth is consistent
            self.stop_reason = "interrupted"
            last = self.path("last.pth") if self.epoch and self.output_dir else None
            self.message = ("Interrupted. "
                            + (f"The last complete epoch ({self.epoch}) is in {last}; resume with --resume {last}"
                               if last else "No epoch was complete, so there is nothing to resume."))
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
            self._interrupt_requested = False
            self._write_history()
            if self.plot and self.output_dir is not None and self.history:
                _history.plot(self.history, self.path("history.png"), best_epoch=self.best_epoch)
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.history

    def _run_epoch(self, train_loader, val_loader, epochs):
        epoch = self.epoch
        for cb in self.callbacks:
            cb.on_epoch_begin(self, epoch)
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss, train_scores, speed, seconds = self._train_epoch(train_loader, epoch, epochs)
        row = {"epoch": epoch + 1, "lr": lr, "train_loss": train_loss}
        row.update({f"train_{k}": v for k, v in train_scores.items()})
        monitored = train_loss
        if val_loader is not None:
            if hasattr(val_loader, "set_epoch"):  # random validation transforms: a function of the epoch
                val_loader.set_epoch(epoch)
            val = self.evaluate(val_loader)
            row.update({f"val_{k}": v for k, v in val.items()})
            monitored = val["loss"]
        row.update({"time_s": seconds, "images_per_s": speed})
        if self.scheduler is not None and self.scheduler_step == "epoch":
            if isinstance(self.scheduler, ReduceLROnPlateau):
                self.scheduler.step(monitored)
            else:
                self.scheduler.step()
        self.epoch = epoch + 1
        self.history.append(row)
        improved = monitored < self.best_loss - self.min_delta
        if improved:
            self.best_loss, self.best_epoch, self.bad_epochs = monitored, epoch + 1, 0
        else:
            self.bad_epochs += 1
        if self.output_dir is not None:
            self.save_checkpoint(self.path("last.pth"))
            if improved:
                self.save_checkpoint(self.path("best.pth"))
            stale = self.path("interrupted.pth")
            if os.path.exists(stale):  # superseded by last.pth
                os.remove(stale)
        self._write_history()
        self._log_epoch(row, epochs, improved)
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, row)
        if self.stop_training:
            self.stop_reason = "callback"
        elif self.early_stopping is not None and self.bad_epochs >= self.early_stopping:
            self.stop_training, self.stop_reason = True, "early_stopping"
            self.message = (f"Early stopping: no improvement of the {'val' if val_loader is not None else 'train'} "
                            f"loss for {self.bad_epochs} epochs (best {self.best_loss:.4f} at epoch {self.best_epoch})")

    def _log_epoch(self, row, epochs, improved):
        if self.progress == "none":
            return
        parts = [f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs}"]
        for split in ("train", "val"):
            if f"{split}_loss" in row:
                text = f"{split} loss {row[f'{split}_loss']:.4f}"
                for name in self.metrics:
                    text += " " + _format_metric(name, row[f"{split}_{name}"])
                parts.append(text)
        parts.append(f"lr {row['lr']:.3g}")
        parts.append(f"{row['images_per_s']:,.0f} img/s")
        parts.append(f"{row['time_s']:.1f}s")
        print("  ".join(parts) + ("  *" if improved else ""), flush=True)


def _format_metric(name, value):
    if "accuracy" in name:
        return f"{'acc' if name == 'accuracy' else name} {100 * value:.2f}%"
    if name == "psnr":
        return f"PSNR {value:.2f} dB"
    return f"{name} {value:.4f}"


def load_checkpoint(path):
    """Read a checkpoint with a clear error for a missing or corrupt file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    try:
        return _load(path)
    except Exception as exc:  # CheckpointError, zip errors, truncated files: all mean "cannot read it"
        raise ValueError(f"cannot read checkpoint {path!r}: it is corrupt or not a minicnn checkpoint ({exc})") from None
