"""Trainer: fit/evaluate/predict, best model, resume bit-exactness, early stopping, nan stop, Ctrl-C, history."""
import csv
import json
import math

import numpy as np
import pytest

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import optim
from minicnn.train import Callback, LambdaCallback, Trainer

from .conftest import SeededLoader, make_task, tiny_cnn


def make_trainer(tmp_path=None, lr=0.1, scheduler="cosine", epochs=4, steps=6, seed=0, **kwargs):
    mc.manual_seed(seed)
    model = tiny_cnn()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps) if scheduler == "cosine" else None
    kwargs.setdefault("progress", "none")
    return Trainer(model, opt, F.cross_entropy, scheduler=sched, scheduler_step="batch",
                   output_dir=None if tmp_path is None else str(tmp_path), **kwargs)


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_bit_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def test_fit_learns_and_evaluate_predict(task, device):
    train, val = task
    trainer = make_trainer(lr=0.1, epochs=8, device=device)
    history = trainer.fit(train, val, epochs=8)
    assert [row["epoch"] for row in history] == list(range(1, 9))
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    stats = trainer.evaluate(val)
    assert stats["accuracy"] >= 0.9 and stats["loss"] == pytest.approx(history[-1]["val_loss"])
    x, y = make_task(10, seed=5)
    out = trainer.predict(x, batch_size=4)
    assert out.shape == (10, 3) and out.device == device
    assert trainer.model.training  # predict and evaluate restore the mode
    assert trainer.stop_reason == "completed"
    assert {"lr", "train_accuracy", "val_accuracy", "images_per_s", "time_s"} <= set(history[0])


def test_best_model_is_selected_by_validation_loss(task, tmp_path, monkeypatch):
    train, val = task
    trainer = make_trainer(tmp_path)
    scripted = iter([1.0, 0.5, 0.7, 0.6])
    monkeypatch.setattr(trainer, "evaluate", lambda loader: {"loss": next(scripted), "accuracy": 0.0})
    snapshots = {}
    trainer.callbacks.append(LambdaCallback(on_epoch_end=lambda t, e, logs: snapshots.update({e + 1: weights(t.model)})))
    trainer.fit(train, val, epochs=4)
    assert trainer.best_epoch == 2 and trainer.best_loss == 0.5
    best, last = mc.load(str(tmp_path / "best.pth")), mc.load(str(tmp_path / "last.pth"))
    assert best["epoch"] == 2 and last["epoch"] == 4
    assert_bit_identical({k: v.numpy() for k, v in best["model"].items()}, snapshots[2])
    assert_bit_identical({k: v.numpy() for k, v in last["model"].items()}, snapshots[4])


def test_resume_after_epoch_k_is_bit_exact(task, tmp_path):
    """Interrupted after epoch 2 (a fresh model, then --resume) ends where the uninterrupted run ends."""
    train, val = task
    full = make_trainer(tmp_path / "full")
    full.fit(train, val, epochs=4)

    first = make_trainer(tmp_path / "part")
    first.fit(train, val, epochs=2)
    mc.manual_seed(999)  # the resumed process starts from another random state
    resumed = make_trainer(tmp_path / "part", seed=7)
    resumed.fit(SeededLoader(train.x, train.y), val, epochs=4, resume=str(tmp_path / "part" / "last.pth"))
    assert_bit_identical(weights(resumed.model), weights(full.model))
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in full.history]
    assert resumed.optimizer.param_groups[0]["lr"] == full.optimizer.param_groups[0]["lr"]


def test_resume_with_the_minicnn_dataloader_and_dropout(tmp_path):
    """The real DataLoader (seeded, with augmentation noise) and dropout's random masks resume exactly too."""
    from minicnn import data

    x, y = make_task(80, seed=3)
    noise = data.transforms.batch.GaussianNoise(std=0.05)

    def loader():
        return data.DataLoader(data.TensorDataset(x, y), batch_size=16, shuffle=True, seed=5, batch_transform=noise)

    full = make_trainer(tmp_path / "full", steps=5)
    full.fit(loader(), None, epochs=4)
    part = make_trainer(tmp_path / "part", steps=5)
    part.fit(loader(), None, epochs=1)
    resumed = make_trainer(tmp_path / "part", steps=5, seed=3)
    resumed.fit(loader(), None, epochs=4, resume=str(tmp_path / "part" / "last.pth"))
    assert_bit_identical(weights(resumed.model), weights(full.model))


class InterruptAt(Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, trainer, epoch):
        self.current = epoch

    def on_batch_end(self, trainer, batch, logs):
        if (self.current, batch) == (self.epoch, self.batch):
            raise KeyboardInterrupt


def test_keyboard_interrupt_saves_and_resumes_mid_epoch_exactly(task, tmp_path):
    train, val = task
    full = make_trainer(tmp_path / "full")
    full.fit(train, val, epochs=4)

    run = make_trainer(tmp_path / "run", callbacks=[InterruptAt(epoch=2, batch=2)])
    run.fit(train, val, epochs=4)
    assert run.stop_reason == "interrupted"
    path = tmp_path / "run" / "interrupted.pth"
    assert path.exists() and f"--resume {path}" in run.message and "epoch 3, after batch 3" in run.message
    assert mc.load(str(path))["partial"]["batches"] == 3
    assert mc.load(str(tmp_path / "run" / "last.pth"))["epoch"] == 2  # the last complete epoch is kept

    resumed = make_trainer(tmp_path / "run", seed=11)
    resumed.fit(SeededLoader(train.x, train.y), val, epochs=4, resume=str(path))
    assert resumed.stop_reason == "completed"
    assert_bit_identical(weights(resumed.model), weights(full.model))
    assert [r["train_loss"] for r in resumed.history] == pytest.approx([r["train_loss"] for r in full.history],
                                                                      rel=1e-12)
    assert not path.exists()  # superseded by last.pth once the epoch completed


def test_early_stopping(task):
    train, val = task
    trainer = make_trainer(lr=0.0, scheduler=None, early_stopping=2)  # lr 0: the loss never improves
    history = trainer.fit(train, val, epochs=10)
    assert len(history) == 3 and trainer.stop_reason == "early_stopping"
    assert "Early stopping" in trainer.message and trainer.best_epoch == 1


def test_callback_can_stop_training(task):
    train, val = task
    trainer = make_trainer(callbacks=[LambdaCallback(on_epoch_end=lambda t, e, logs: setattr(t, "stop_training", e == 1))])
    assert len(trainer.fit(train, val, epochs=5)) == 2 and trainer.stop_reason == "callback"


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(task, tmp_path):
    train, val = task
    calls = {"n": 0}

    def loss_fn(output, target):
        loss = F.cross_entropy(output, target)
        if output.requires_grad:
            calls["n"] += 1
            if calls["n"] == 2 * len(train) + 3:  # epoch 3, batch 3
                return loss * float("nan")
        return loss

    trainer = make_trainer(tmp_path)
    trainer.loss_fn = loss_fn
    trainer.fit(train, val, epochs=4)
    assert trainer.stop_reason == "nonfinite"
    assert "nan" in trainer.message and "epoch 3, batch 3" in trainer.message and "last.pth" in trainer.message
    last = mc.load(str(tmp_path / "last.pth"))
    assert last["epoch"] == 2 and len(last["history"]) == 2
    assert all(np.isfinite(v.numpy()).all() for v in trainer.model.state_dict().values())
    assert json.loads((tmp_path / "history.json").read_text())["stop_reason"] == "nonfinite"


def test_gradient_clipping_bounds_the_step(task):
    train, _ = task
    norms = []
    trainer = make_trainer(grad_clip=0.01, scheduler=None)
    original = trainer.optimizer.step

    def step(*args):
        total = math.sqrt(sum(float((p.grad.data.astype(np.float64) ** 2).sum()) for p in trainer.model.parameters()))
        norms.append(total)
        return original(*args)

    trainer.optimizer.step = step
    trainer.fit(train, None, epochs=1)
    assert max(norms) <= 0.01 * (1 + 1e-5)


def test_history_files_are_written_and_valid(task, tmp_path):
    train, val = task
    trainer = make_trainer(tmp_path)
    trainer.fit(train, val, epochs=3)
    data = json.loads((tmp_path / "history.json").read_text())
    assert len(data["history"]) == 3 and data["best_epoch"] == trainer.best_epoch
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[2]["val_loss"]) == pytest.approx(trainer.history[2]["val_loss"])
    pytest.importorskip("matplotlib")
    png = (tmp_path / "history.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_plain_progress_prints_one_line_per_epoch(task, capsys):
    train, val = task
    make_trainer(progress="plain").fit(train, val, epochs=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch")]
    assert len(lines) == 2 and "val loss" in lines[0] and "acc" in lines[0] and "img/s" in lines[0]


def test_reduce_on_plateau_gets_the_validation_loss(task):
    train, val = task
    mc.manual_seed(0)
    model = tiny_cnn()
    opt = optim.SGD(model.parameters(), lr=0.0)  # no learning: the loss plateaus
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    opt.param_groups[0]["lr"] = 0.0
    trainer = Trainer(model, opt, F.cross_entropy, scheduler=sched, progress="none")
    seen = []
    original = sched.step
    sched.step = lambda metric: (seen.append(metric), original(metric))
    trainer.fit(train, val, epochs=2)
    assert seen == [row["val_loss"] for row in trainer.history]


def test_bad_arguments():
    model = tiny_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="unknown metric"):
        Trainer(model, opt, F.cross_entropy, metrics=("acuracy",))
    with pytest.raises(ValueError, match="early_stopping"):
        Trainer(model, opt, F.cross_entropy, early_stopping=0)
    with pytest.raises(PermissionError, match="not writable"):
        Trainer(model, opt, F.cross_entropy, output_dir=__file__ + "/sub")
    trainer = Trainer(model, opt, F.cross_entropy, progress="none")
    with pytest.raises(ValueError, match="not a trainer checkpoint"):
        trainer.load_checkpoint({"weights": 1})


def test_noisy_pairs_warp_input_and_target_alike():
    """Denoising pairs: augmentation reaches the target too; only the loader's noise is input-only."""
    from minicnn import data
    from minicnn.train.recipes import NoisyPairs

    x, y = make_task(32, seed=4)
    augment = data.transforms.batch.RandomAffine(degrees=20, translate=(0.2, 0.2))
    pairs = NoisyPairs(data.TensorDataset(x, y), augment)
    noise = data.transforms.batch.GaussianNoise(std=0.5)
    loader = data.DataLoader(pairs, batch_size=8, shuffle=True, seed=0, batch_transform=noise)
    for inputs, targets in loader:
        assert inputs.shape == targets.shape == (8, 1, 6, 6)
        assert not np.array_equal(inputs.numpy(), targets.numpy())  # the noise is on the inputs only
    for inputs, targets in data.DataLoader(pairs, batch_size=8, seed=3):  # without noise: identical warps
        assert np.array_equal(inputs.numpy(), targets.numpy())
    first = [t.numpy() for _, t in data.DataLoader(pairs, batch_size=8, seed=3)]
    again = [t.numpy() for _, t in data.DataLoader(pairs, batch_size=8, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # the warps follow the loader's seed
    assert not all(np.array_equal(a, x[i * 8:(i + 1) * 8]) for i, a in enumerate(first))  # and do warp
    image, target = pairs[0]
    assert np.array_equal(image, target)
