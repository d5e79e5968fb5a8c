"""The ``minicnn`` command (also ``python -m minicnn``).

    minicnn train       train a model on a dataset (no arguments: LeNet-5 on the MNIST sample)
    minicnn eval        a checkpoint on a dataset: loss, accuracy, precision/recall, confusion matrix
    minicnn predict     a checkpoint on image files: the top-5 classes with probabilities
    minicnn summary     the layer table of a model (output shapes, parameter counts)
    minicnn gradcheck   backward vs finite differences for every differentiable op (float64)
    minicnn info        versions, backends, kernel implementations, GPU

Each command is a small function taking the parsed arguments; ``main`` only
dispatches, and turns the errors a user can fix (a wrong name, a missing or
corrupt file, an unwritable folder) into one clear line and exit status 2.
Set ``MINICNN_DEBUG=1`` to see the traceback instead.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import sys
import time
from importlib import metadata


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


class CommandError(Exception):
    """An error the user can fix: printed as one line, exit status 2."""


# ====================================================================== info
def collect_info():
    """What ``minicnn info`` prints, as a dict (versions, devices, kernels)."""
    import minicnn
    from minicnn import backend, kernels

    cupy_version = _version("cupy") or _version("cupy-cuda12x") or _version("cupy-cuda13x")
    reason = backend.cuda_unavailable_reason()
    return {
        "minicnn": minicnn.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "cupy": cupy_version,
        "cuda_available": reason is None,
        "cuda_devices": backend.cuda_device_count(),
        "cuda_reason": reason,
        "kernel_setting": kernels.current(),
        "kernels": {
            name: {"available": impls, "cpu": kernels.choose(name, on_gpu=False)}
            for name, impls in kernels.available().items()
        },
        "default_dtype": str(backend.get_default_dtype()),
    }


def cmd_info(args):
    info = collect_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    lines = [
        f"minicnn {info['minicnn']}  (Python {info['python']}, {info['platform']})",
        f"numpy   {info['numpy']}",
        f"numba   {info['numba'] or 'not installed (CPU kernels fall back to the NumPy reference)'}",
        f"cupy    {info['cupy'] or 'not installed'}",
        f"GPU     {'yes, ' + str(info['cuda_devices']) + ' device(s)' if info['cuda_available'] else 'no: ' + info['cuda_reason']}",
        f"default dtype: {info['default_dtype']}",
        f"kernels (setting {info['kernel_setting']!r}; MINICNN_KERNELS or minicnn.kernels.use() change it):",
    ]
    if not info["kernels"]:
        lines.append("  (none registered yet)")
    for name, entry in info["kernels"].items():
        lines.append(f"  {name:<28} cpu uses {entry['cpu']:<10} available: {', '.join(entry['available'])}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("BLAS    (install threadpoolctl to see which BLAS NumPy uses)")
    else:
        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(
                    f"BLAS    {pool.get('internal_api')} {pool.get('version')} "
                    f"({pool.get('architecture')}, {pool.get('num_threads')} threads)"
                )
    print("\n".join(lines))
    return 0


# ====================================================================== shared helpers
def _parse_model_args(pairs):
    """``["activation=relu", "widths=(8, 16)"]`` -> ``{"activation": "relu", "widths": (8, 16)}``."""
    kwargs = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise CommandError(f"--model-arg expects KEY=VALUE (e.g. activation=relu), got {pair!r}")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value  # a bare word: a string
    return kwargs


def _parse_shape(text):
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise CommandError(f"--input-shape expects C,H,W (e.g. 1,28,28), got {text!r}") from None
    if not shape or any(v <= 0 for v in shape):
        raise CommandError(f"--input-shape expects positive sizes C,H,W, got {text!r}")
    return shape


def _limit(dataset, n):
    """The first ``n`` samples of ``dataset`` (all of them when n is None or larger)."""
    from minicnn import data

    if n is None or n >= len(dataset):
        return dataset
    return data.Subset(dataset, list(range(n)))


def _read_checkpoint(path):
    from minicnn.train import load_checkpoint

    try:
        return load_checkpoint(path)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def _model_from_checkpoint(ckpt, path, model_name=None, model_args=None):
    """Rebuild the model a checkpoint was trained as (or ``model_name``) and load its weights."""
    from minicnn.train import recipes

    info = ckpt.get("info", {}) if isinstance(ckpt, dict) else {}
    weights = ckpt.get("model") if isinstance(ckpt, dict) and "model" in ckpt else ckpt
    name = model_name or info.get("model")
    if name is None:
        raise CommandError(f"{path} does not record which model it holds (it was not written by `minicnn train`); "
                           "pass --model NAME")
    name = recipes.canonical_model_name(name)
    kwargs = dict(info.get("model_kwargs", {})) if name == info.get("model") else {}
    kwargs.update(model_args or {})
    model = recipes.build_model(name, kwargs)
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError) as exc:
        raise CommandError(f"{path} does not fit model {name} {kwargs}: {exc}") from None
    return model, name, info


def _device(name):
    from minicnn import backend

    try:
        return backend.as_device(name)
    except Exception as exc:
        raise CommandError(f"--device {name}: {exc}") from None


# ====================================================================== train
TRAIN_DEFAULTS = {"epochs": 30, "lr": 0.05, "batch_size": 64}  # the main job's recipe


def cmd_train(args):
    import minicnn as mc
    import minicnn.nn.functional as F
    from minicnn import data
    from minicnn.train import Trainer, check_writable, recipes

    start = time.perf_counter()
    resume = args.resume
    if resume:  # the run's own settings, so that it continues exactly as it started
        ckpt = _read_checkpoint(resume)
        saved = (ckpt.get("info") or {}).get("args") if isinstance(ckpt, dict) else None
        if not saved:
            raise CommandError(f"{resume} was not written by `minicnn train`: it records no training arguments")
        keep = {"resume": resume, "progress": args.progress, "device": args.device, "threads": args.threads}
        if args.output_dir is not None:
            keep["output_dir"] = args.output_dir
        defaults = {k: v for k, v in vars(build_parser().parse_args(["train"])).items() if k != "func"}
        args = argparse.Namespace(**{**defaults, **saved, **keep})

    # ---- names first: a typo fails before anything is loaded
    spec = recipes.get_dataset_spec(args.dataset)
    model_name = recipes.canonical_model_name(args.model)
    if args.optimizer is not None and args.optimizer.lower() not in recipes.OPTIMIZERS:
        raise CommandError(f"unknown optimizer {args.optimizer!r}; valid optimizers: {', '.join(recipes.OPTIMIZERS)}")
    if args.scheduler.lower() not in recipes.SCHEDULERS:
        raise CommandError(f"unknown scheduler {args.scheduler!r}; valid schedulers: {', '.join(recipes.SCHEDULERS)}")
    if args.task not in ("classify", "denoise"):
        raise CommandError(f"unknown task {args.task!r}; valid tasks: classify, denoise")
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not 0 <= args.val_split < 1:
        raise CommandError(f"--val-split must be in [0, 1), got {args.val_split}")
    # the recipe's defaults: SGD with momentum for classification, Adam for the autoencoder
    denoise = args.task == "denoise"
    if args.optimizer is None:
        args.optimizer = "adam" if denoise else "sgd"
    if args.lr is None:
        args.lr = 1e-3 if args.optimizer in ("adam", "adamw", "rmsprop") else TRAIN_DEFAULTS["lr"]
    # the denoiser did best on its validation split without weight decay and without augmentation
    # (validation MSE 0.0063, against 0.0073 with augmentation and 0.0101 with both; docs/training.md)
    if args.weight_decay is None:
        args.weight_decay = 0.0 if denoise else 5e-4
    if args.augment is None:
        args.augment = not denoise
    device = _device(args.device)
    output_dir = args.output_dir or os.path.join(
        "runs", f"{model_name.replace('_', '-')}-{spec.name}" + ("-denoise" if args.task == "denoise" else ""))
    args.output_dir = output_dir
    check_writable(output_dir)  # before any training

    mc.manual_seed(args.seed)
    # ---- data: the fixed train/test split; a validation part carved from train by the seed
    train_set = _limit(spec.load(True, args.data_dir, args.download), args.limit_train)
    test_set = _limit(spec.load(False, args.data_dir, args.download), args.limit_test)
    num_classes = spec.num_classes or len(getattr(train_set, "classes", []))
    classes = spec.classes or list(getattr(train_set, "classes", []))
    n_val = int(round(args.val_split * len(train_set)))
    if n_val:
        train_set, val_set = data.random_split(train_set, [len(train_set) - n_val, n_val], seed=args.seed)
    else:
        val_set = None
    b = data.transforms.batch
    if denoise:  # noisy input, clean target; no normalisation (the decoder ends in a sigmoid)
        noise = b.GaussianNoise(std=args.noise_std, clip=(0.0, 1.0))
        # augmentation warps input and target alike, so it goes into the pairs, before the noise
        train_set = recipes.NoisyPairs(train_set, spec.augmentation() if args.augment else None)
        test_set = recipes.NoisyPairs(test_set)
        val_set = recipes.NoisyPairs(val_set) if val_set is not None else None
        train_tf = eval_tf = noise
    else:
        train_tf = b.Compose([spec.augmentation(), spec.normalize()]) if args.augment else spec.normalize()
        eval_tf = spec.normalize()
    loader = dict(device=device, prefetch=args.prefetch)
    train_loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed,
                                   batch_transform=train_tf, **loader)
    # evaluation batches get a seed too: the noise of a denoising run's validation is then a function of the
    # epoch (the Trainer calls set_epoch), so a resumed run validates on the same noisy images
    def eval_loader(dataset):
        return data.DataLoader(dataset, batch_size=500, seed=args.seed + 1, batch_transform=eval_tf, **loader)

    val_loader = eval_loader(val_set) if val_set is not None else None
    test_loader = eval_loader(test_set)

    # ---- model, optimizer, schedule
    kwargs = recipes.default_model_kwargs(model_name, spec, args.task, recipe=True)
    if "num_classes" in kwargs:
        kwargs["num_classes"] = num_classes
    kwargs.update(_parse_model_args(args.model_arg))
    try:
        model = recipes.build_model(model_name, kwargs)
    except TypeError as exc:
        raise CommandError(f"model {model_name} does not take these arguments {kwargs}: {exc}") from None
    optimizer = recipes.build_optimizer(args.optimizer, model.parameters(), args)
    scheduler, step = recipes.build_scheduler(args.scheduler, optimizer, args.epochs, len(train_loader), args.lr)
    info = {
        "model": model_name, "model_kwargs": kwargs, "dataset": spec.name, "task": args.task,
        "input_shape": list(spec.shape), "classes": classes, "mean": list(spec.mean), "std": list(spec.std),
        "normalize": not denoise, "args": {k: v for k, v in vars(args).items() if k != "func"},
    }
    trainer = Trainer(model, optimizer, F.mse_loss if denoise else F.cross_entropy, device=device,
                      scheduler=scheduler, scheduler_step=step, metrics=("psnr",) if denoise else ("accuracy",),
                      grad_clip=args.grad_clip, output_dir=output_dir, early_stopping=args.early_stopping,
                      checkpoint_info=info, progress=args.progress)
    n_params = sum(int(p.data.size) for p in model.parameters())
    val_text = f" / {len(val_set):,} validation" if val_set is not None else ""
    print(f"minicnn train: {model_name} ({n_params:,} parameters) on {spec.name}, task {args.task}: "
          f"{len(train_set):,} train{val_text} images, {len(test_set):,} held-out test images")
    momentum = f" momentum {args.momentum}" if args.optimizer in ("sgd", "rmsprop") else ""
    print(f"  {args.epochs} epoch{'' if args.epochs == 1 else 's'}, batch {args.batch_size}, "
          f"{args.optimizer} lr {args.lr}{momentum}, "
          f"{args.scheduler} schedule, augmentation {'on' if args.augment else 'off'}, seed {args.seed}, "
          f"device {device}; output {output_dir}" + (f"; resuming from {resume}" if resume else ""))

    with _blas_threads(args.threads):
        return _fit_and_test(args, trainer, train_loader, val_loader, test_loader, test_set, eval_tf, start)


def _blas_threads(n):
    """Limit the BLAS threads (0: leave the library's default).

    The GEMMs of a small CNN (LeNet-5's largest is 64 x 400 x 120) are too
    small to gain from splitting across threads, and on a shared machine a
    second thread that waits for a busy core makes each one several times
    slower; one thread is the default of ``minicnn train`` for that reason.
    """
    import contextlib

    if not n:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def _fit_and_test(args, trainer, train_loader, val_loader, test_loader, test_set, eval_tf, start):
    """The second half of ``train``: fit, then test the best model once on the held-out split."""
    import minicnn as mc

    model, output_dir, denoise = trainer.model, args.output_dir, args.task == "denoise"
    fit_start = time.perf_counter()
    trainer.fit(train_loader, val_loader, epochs=args.epochs, resume=args.resume)
    fit_time = time.perf_counter() - fit_start
    if trainer.stop_reason in ("interrupted", "nonfinite"):
        print(trainer.message, file=sys.stderr)
        return 130 if trainer.stop_reason == "interrupted" else 1
    if trainer.message:
        print(trainer.message)

    # ---- the held-out test set, with the best model (by validation loss) when there was validation
    best = trainer.path("best.pth")
    chosen = "last epoch"
    if val_loader is not None and os.path.exists(best):
        model.load_state_dict(mc.load(best)["model"])
        chosen = f"best epoch {trainer.best_epoch} by validation loss"
    stats = trainer.evaluate(test_loader)
    elapsed = time.perf_counter() - start
    results = {"test": stats, "model_from": chosen, "wall_time_s": elapsed, "fit_time_s": fit_time,
               "epochs": trainer.epoch, "seed": args.seed}
    with open(os.path.join(output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    if denoise:
        png = os.path.join(output_dir, "denoising.png")
        _denoise_figure(trainer, test_set, eval_tf, png, args.seed)
        print(f"held-out test ({len(test_set):,} images, {chosen}): MSE {stats['loss']:.5f}, "
              f"PSNR {stats['psnr']:.2f} dB; noisy/denoised/clean rows in {png}")
    else:
        print(f"held-out test accuracy: {100 * stats['accuracy']:.2f}% ({len(test_set):,} images, "
              f"loss {stats['loss']:.4f}, {chosen})")
    print(f"wall time {elapsed:.1f} s since the command started; checkpoints, history.{{json,csv,png}} and results.json in {output_dir}")
    return 0


def _denoise_figure(trainer, pairs, noise, path, seed, count=8):
    """A PNG with three rows: noisy inputs, the model's outputs, the clean images."""
    import numpy as np

    from minicnn.data._common import use_rng

    clean = np.stack([pairs[i][1] for i in range(min(count, len(pairs)))])
    with use_rng(np.random.default_rng(seed)):
        noisy = noise(clean.copy())
    denoised = trainer.predict(noisy).numpy()
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print('denoising figure skipped: matplotlib is not installed (pip install "minicnn[viz]")', file=sys.stderr)
        return
    fig = Figure(figsize=(1.2 * len(clean), 3.9), layout="constrained")
    axes = fig.subplots(3, len(clean), squeeze=False)
    for row, (label, images) in enumerate((("noisy", noisy), ("denoised", denoised), ("clean", clean))):
        for col, image in enumerate(images):
            ax = axes[row, col]
            ax.imshow(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label)
    fig.savefig(path, dpi=100)


# ====================================================================== eval
def cmd_eval(args):
    import minicnn.nn.functional as F
    from minicnn import data
    from minicnn.train import Trainer, metrics, recipes

    ckpt = _read_checkpoint(args.checkpoint)
    model, name, info = _model_from_checkpoint(ckpt, args.checkpoint, args.model, _parse_model_args(args.model_arg))
    dataset_name = args.dataset or info.get("dataset")
    if dataset_name is None:
        raise CommandError(f"{args.checkpoint} does not record its dataset; pass --dataset NAME")
    spec = recipes.get_dataset_spec(dataset_name)
    saved = info.get("args", {})
    dataset = _limit(spec.load(args.split == "train", args.data_dir or saved.get("data_dir"), args.download),
                     args.limit)
    denoise = info.get("task") == "denoise"
    b = data.transforms.batch
    if denoise:
        dataset = recipes.NoisyPairs(dataset)
        tf = b.GaussianNoise(std=saved.get("noise_std", 0.3), clip=(0.0, 1.0))
    else:
        mean, std = info.get("mean", spec.mean), info.get("std", spec.std)
        tf = b.Normalize(mean, std) if info.get("normalize", True) else None
    device = _device(args.device)
    loader = data.DataLoader(dataset, batch_size=args.batch_size, seed=0, batch_transform=tf, device=device)
    trainer = Trainer(model, _NoOptimizer(), F.mse_loss if denoise else F.cross_entropy, device=device,
                      metrics=("psnr",) if denoise else ("accuracy", "top5_accuracy"), progress="none")
    stats, outputs, targets = trainer.evaluate(loader, return_outputs=True)
    print(f"{args.checkpoint}: {name} on {spec.name} ({args.split} split, {len(dataset):,} images)")
    if args.json:
        out = dict(stats)
        if not denoise:
            m = metrics.confusion_matrix(targets, outputs)
            p, r, f1 = metrics.precision_recall_f1(targets, outputs, len(m))
            out.update(precision=p.tolist(), recall=r.tolist(), f1=f1.tolist(), confusion_matrix=m.tolist())
        print(json.dumps(out, indent=2))
        return 0
    if denoise:
        print(f"loss (MSE) {stats['loss']:.5f}   PSNR {stats['psnr']:.2f} dB")
        return 0
    print(f"loss {stats['loss']:.4f}   accuracy {100 * stats['accuracy']:.2f}%   "
          f"top-5 accuracy {100 * stats['top5_accuracy']:.2f}%\n")
    classes = info.get("classes") or spec.classes or None
    m = metrics.confusion_matrix(targets, outputs)
    names = classes if classes and len(classes) == len(m) else None
    print(metrics.classification_report(targets, outputs, names, len(m)))
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(metrics.format_confusion_matrix(m, names))
    return 0


class _NoOptimizer:
    """Evaluation needs no optimizer; the Trainer only calls it in fit."""

    param_groups = [{"lr": 0.0}]


# ====================================================================== predict
def cmd_predict(args):
    import numpy as np

    from minicnn.train import Trainer

    ckpt = _read_checkpoint(args.checkpoint)
    model, name, info = _model_from_checkpoint(ckpt, args.checkpoint, args.model, _parse_model_args(args.model_arg))
    if info.get("task") == "denoise":
        raise CommandError(f"{args.checkpoint} is a denoising autoencoder; predict shows class probabilities")
    shape = tuple(info.get("input_shape") or ())
    if args.input_shape:
        shape = _parse_shape(args.input_shape)
    if len(shape) != 3:
        raise CommandError(f"{args.checkpoint} does not record its input shape; pass --input-shape C,H,W")
    from minicnn.data.images import load_image

    images = np.stack([load_image(p, shape, args.invert) for p in args.images])
    if info.get("normalize", True) and info.get("mean"):
        mean = np.asarray(info["mean"], np.float32).reshape(-1, 1, 1)
        std = np.asarray(info["std"], np.float32).reshape(-1, 1, 1)
        images = (images - mean) / std
    trainer = Trainer(model, _NoOptimizer(), None, device=_device(args.device), metrics=(), progress="none")
    logits = trainer.predict(images).numpy().astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    classes = info.get("classes") or [str(i) for i in range(probs.shape[1])]
    k = min(args.top_k, probs.shape[1])
    result = {}
    for path, p in zip(args.images, probs):
        top = np.argsort(-p, kind="stable")[:k]
        result[path] = [{"class": classes[i] if i < len(classes) else str(i), "index": int(i),
                         "probability": float(p[i])} for i in top]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for path, top in result.items():
        print(f"{path}:")
        for rank, entry in enumerate(top, 1):
            print(f"  {rank}. {entry['class']:<12} {100 * entry['probability']:6.2f}%")
    return 0


# ====================================================================== summary
def cmd_summary(args):
    import minicnn as mc
    from minicnn.train import recipes

    name = recipes.canonical_model_name(args.model)
    shape = _parse_shape(args.input_shape)
    kwargs = recipes.default_model_kwargs(name, recipes.DatasetSpec("input", shape, 0, (), ()))
    kwargs.update(_parse_model_args(args.model_arg))
    try:
        model = recipes.build_model(name, kwargs)
    except TypeError as exc:
        raise CommandError(f"model {name} does not take these arguments {kwargs}: {exc}") from None
    mc.summary(model, shape)
    return 0


# ====================================================================== gradcheck
def cmd_gradcheck(args):
    from minicnn.train import gradcheck_suite

    cases = [c for c in gradcheck_suite.cases() if not args.op or any(o in c.op for o in args.op)]
    if not cases:
        raise CommandError(f"no gradient check matches --op {' '.join(args.op)}")
    device = _device(args.device)
    width = max(len(c.op) for c in cases)
    conf_width = max(len(c.config) for c in cases)
    print(f"{'op':<{width}}  {'configuration':<{conf_width}}  {'max abs err':>11}  {'max rel err':>11}  pass")
    print("-" * (width + conf_width + 36))
    failed = 0
    for case in cases:
        try:
            result = gradcheck_suite.run_case(case, device)
            passed, abs_err, rel_err = result.passed, f"{result.max_abs_error:.2e}", f"{result.max_rel_error:.2e}"
        except Exception as exc:  # an op that raises is a failure of the check, reported in the table
            passed, abs_err, rel_err = False, "error", type(exc).__name__
            result = exc
        failed += not passed
        print(f"{case.op:<{width}}  {case.config:<{conf_width}}  {abs_err:>11}  {rel_err:>11}  "
              f"{'ok' if passed else 'FAIL'}")
        if not passed and args.verbose:
            print(f"    {result.describe() if hasattr(result, 'describe') else result}")
    print(f"\n{len(cases) - failed}/{len(cases)} gradient checks passed (float64, central differences, eps 1e-6, "
          f"atol 1e-5, rtol 1e-3) on {device}")
    return 1 if failed else 0


# ====================================================================== parser
def _add_train(commands):
    from minicnn.train import recipes

    p = commands.add_parser(
        "train", help="train a model (no arguments: LeNet-5 on the built-in MNIST sample)",
        description="Train a model on a dataset, validate every epoch, keep the best model by validation loss, "
                    "and report the held-out test accuracy. With no arguments: LeNet-5 on the built-in MNIST "
                    "sample (4,000 train / 1,000 test digits) on the CPU.")
    p.add_argument("--model", default="lenet5", help="model name, e.g. lenet5, resnet20, conv-autoencoder "
                                                       "(default: %(default)s)")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE",
                   help="extra model argument, repeatable (e.g. activation=tanh)")
    p.add_argument("--dataset", default="mnist-sample",
                   help=f"one of: {', '.join(recipes.DATASETS)} (default: %(default)s)")
    p.add_argument("--data-dir", help="folder with the dataset files (mnist, fashion-mnist, cifar10, imagefolder)")
    p.add_argument("--download", action="store_true", help="download missing dataset files (checksums verified)")
    p.add_argument("--task", default="classify", choices=["classify", "denoise"],
                   help="classify (cross-entropy) or denoise (autoencoder, MSE on Gaussian-noise inputs) "
                        "(default: %(default)s)")
    p.add_argument("--epochs", type=int, default=TRAIN_DEFAULTS["epochs"], help="(default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=TRAIN_DEFAULTS["batch_size"], help="(default: %(default)s)")
    p.add_argument("--optimizer", help=f"one of: {', '.join(recipes.OPTIMIZERS)} (default: sgd; adam for denoise)")
    p.add_argument("--lr", type=float, help="learning rate, peak lr for onecycle (default: 0.05 for sgd, 0.001 for "
                                              "adam, adamw and rmsprop)")
    p.add_argument("--momentum", type=float, default=0.9, help="sgd and rmsprop (default: %(default)s)")
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=False,
                   help="Nesterov momentum for sgd (default: off)")
    p.add_argument("--weight-decay", type=float, help="(default: 5e-4; 0 for denoise)")
    p.add_argument("--scheduler", default="cosine",
                   help=f"one of: {', '.join(recipes.SCHEDULERS)}; cosine and onecycle step every batch "
                        "(default: %(default)s)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="the dataset's default augmentation, e.g. MNIST: rotation up to 10 degrees and shift up to "
                        "10%% (default: on; off for denoise)")
    p.add_argument("--noise-std", type=float, default=0.3,
                   help="denoise task: std of the Gaussian input noise (default: %(default)s)")
    p.add_argument("--val-split", type=float, default=0.1,
                   help="fraction of the training images held out for validation and best-model selection "
                        "(default: %(default)s)")
    p.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss (default: off)")
    p.add_argument("--grad-clip", type=float, metavar="MAX_NORM", help="clip the gradient norm (default: off)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="initialisation, validation carve, data order, augmentation (default: %(default)s)")
    p.add_argument("--output-dir", help="where checkpoints and history go (default: runs/MODEL-DATASET)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue a run from its last.pth or interrupted.pth, with the run's own settings")
    p.add_argument("--limit-train", type=int, metavar="N", help="use only the first N training images (quick runs)")
    p.add_argument("--limit-test", type=int, metavar="N", help="use only the first N test images")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="BLAS threads, 0 for the BLAS default; one is fastest for small CNNs, see docs/training.md "
                        "(default: %(default)s)")
    p.add_argument("--prefetch", type=int, default=0, metavar="K",
                   help="batches prepared ahead in a background thread (default: %(default)s)")
    p.add_argument("--progress", default="auto", choices=["auto", "bar", "plain", "none"],
                   help="tqdm bars, or one line per epoch; auto: bars when stderr is a terminal (default: %(default)s)")
    p.set_defaults(func=cmd_train)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minicnn", description="minicnn: a readable, fast CNN framework (NumPy/Numba on CPU, CuPy on GPU)."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(commands)

    p = commands.add_parser("eval", help="evaluate a checkpoint: loss, accuracy, precision/recall, confusion matrix",
                            description="Evaluate a checkpoint written by `minicnn train` on a dataset split: loss, "
                                        "accuracy, top-5 accuracy, per-class precision/recall/F1, confusion matrix.")
    p.add_argument("checkpoint", help="best.pth or last.pth of a run")
    p.add_argument("--dataset", help="dataset name (default: the one it was trained on)")
    p.add_argument("--split", default="test", choices=["test", "train"], help="(default: %(default)s)")
    p.add_argument("--data-dir", help="dataset folder (default: the training run's)")
    p.add_argument("--download", action="store_true", help="download missing dataset files")
    p.add_argument("--model", help="rebuild as this model instead of the recorded one")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="model argument, repeatable")
    p.add_argument("--batch-size", type=int, default=500, help="(default: %(default)s)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images")
    p.add_argument("--device", default="cpu", help="(default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=cmd_eval)

    p = commands.add_parser("predict", help="classify image files with a checkpoint (top-5 with probabilities)",
                            description="Classify image files (PNG, JPEG, ...; read with Pillow, converted to the "
                                        "model's channels and size, normalised as in training) with a checkpoint "
                                        "written by `minicnn train`.")
    p.add_argument("checkpoint", help="best.pth or last.pth of a run")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--top-k", type=int, default=5, help="(default: %(default)s)")
    p.add_argument("--invert", default="auto", choices=["auto", "yes", "no"],
                   help="grey images: invert to light-on-dark as MNIST is (auto: when the image is mostly light)")
    p.add_argument("--input-shape", metavar="C,H,W", help="override the recorded input shape")
    p.add_argument("--model", help="rebuild as this model instead of the recorded one")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="model argument, repeatable")
    p.add_argument("--device", default="cpu", help="(default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_predict)

    p = commands.add_parser("summary", help="layer table of a model: output shapes and parameter counts",
                            description="Print the Keras-style summary of a model from the zoo.")
    p.add_argument("model", help="model name, e.g. lenet5, resnet20, vgg16, conv-autoencoder")
    p.add_argument("--input-shape", required=True, metavar="C,H,W", help="one input without the batch axis")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="extra model argument, repeatable")
    p.set_defaults(func=cmd_summary)

    p = commands.add_parser("gradcheck", help="check every differentiable op's backward in float64",
                            description="Compare the analytic gradient of every differentiable op (a curated list "
                                        "of configurations) with central finite differences in float64, and print "
                                        "the worst absolute and relative error of each. Exit status 1 if any fails.")
    p.add_argument("--op", nargs="+", help="only ops whose name contains one of these")
    p.add_argument("--device", default="cpu")
    p.add_argument("--verbose", "-v", action="store_true", help="describe the worst element of a failing check")
    p.set_defaults(func=cmd_gradcheck)

    _add_delegated(commands)

    info = commands.add_parser("info", help="versions, backends, kernel implementations, GPU")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(func=cmd_info)
    return parser


# Commands whose arguments and work live with the feature they drive; each
# module offers an ``add_*arguments(parser)`` / ``run*(args)`` pair.
_DELEGATED = [
    ("bench", "minicnn.bench", "add_arguments", "run",
     "benchmarks: kernels per implementation, training steps and start-up, with a PyTorch column"),
    ("style", "minicnn.style.cli", "add_style_arguments", "run_style",
     "neural style transfer (Gatys et al.) through a frozen VGG-19"),
    ("dream", "minicnn.style.cli", "add_dream_arguments", "run_dream",
     "DeepDream: amplify a VGG-19 layer's activations in an image"),
    ("viz", "minicnn.viz.cli", "add_viz_arguments", "run_viz",
     "look inside a trained network: features, filters, saliency, Grad-CAM, occlusion, filter-max"),
]


def _add_delegated(commands):
    import importlib

    for name, module_name, add_arguments, run, help_text in _DELEGATED:
        module = importlib.import_module(module_name)
        p = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        getattr(module, add_arguments)(p)
        p.set_defaults(func=getattr(module, run))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:  # outside training (which handles Ctrl-C itself): nothing to save
        print(f"minicnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, OSError) as exc:
        if os.environ.get("MINICNN_DEBUG"):
            raise
        print(f"minicnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
