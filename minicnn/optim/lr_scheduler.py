"""Learning-rate schedulers: change each parameter group's ``lr`` as training goes on.

The usual loop steps the optimizer every batch and the scheduler every epoch
(``OneCycleLR``: every batch)::

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(90):
        train_one_epoch(model, opt)
        sched.step()

Semantics are PyTorch's.  Building a scheduler records each group's starting
lr as ``group["initial_lr"]`` (the base lr, η₀, kept in ``base_lrs``) and
performs step 0, which sets the lr of epoch 0; every ``step()`` then
increments ``last_epoch`` (e) and sets ``group["lr"] = η(e)``.  Each schedule
is written as a closed form η(e) of the base lr, so ``get_lr()`` reads like
its formula.  (PyTorch computes most of them recursively from the current lr;
the numbers agree as long as nothing else changes the lr.)  ``ReduceLROnPlateau``
is the exception: it reacts to a metric instead of following the epoch.
"""
import bisect
import math

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the lrs of epoch ``last_epoch``.

    ``last_epoch=-1`` starts a schedule; a checkpoint's scheduler is restored
    with ``load_state_dict`` (or by passing the epoch reached, when the
    optimizer's groups already hold ``initial_lr``).
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a minicnn optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', needed to resume at "
                        f"last_epoch={last_epoch}; load the optimizer's state dict first, or use last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()  # step 0: the lr of the first epoch

    def get_lr(self):
        """The lr of each group at epoch ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr")

    def step(self, epoch=None):
        """Move to the next epoch (or to ``epoch``) and set every group's lr."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The lrs set by the last ``step()``, one per group."""
        return self._last_lr

    def state_dict(self):
        """The scheduler's variables (everything but the optimizer), plain values only."""
        return {key: value for key, value in self.__dict__.items() if key not in self._not_saved}

    def load_state_dict(self, state_dict):
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in self._not_saved})

    _not_saved = ("optimizer",)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every ``step_size`` epochs::

        η(e) = η₀ · γ^⌊e / step_size⌋
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not (isinstance(step_size, int) and step_size >= 1):
            raise ValueError(f"StepLR: step_size must be a positive integer, got step_size={step_size!r}")
        _check_gamma("StepLR", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` at each milestone epoch::

        η(e) = η₀ · γ^(number of milestones ≤ e)
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = sorted(int(m) for m in milestones)
        if milestones and milestones[0] < 0:
            raise ValueError(f"MultiStepLR: milestones must be >= 0, got milestones={milestones}")
        _check_gamma("MultiStepLR", gamma)
        self.milestones, self.gamma = milestones, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every epoch::

        η(e) = η₀ · γ^e
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check_gamma("ExponentialLR", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Follow half a cosine from η₀ down to ``eta_min`` over ``T_max`` epochs
    (Loshchilov & Hutter's SGDR, without restarts)::

        η(e) = η_min + (η₀ - η_min) · (1 + cos(π·e / T_max)) / 2

    Past T_max the cosine climbs back up (period 2·T_max), as in PyTorch.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got T_max={T_max!r}")
        if eta_min < 0:
            raise ValueError(f"CosineAnnealingLR: eta_min must be >= 0, got eta_min={eta_min!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    r"""The base lr times a factor that a function of the epoch returns::

        η(e) = η₀ · λ(e)

    ``lr_lambda`` is one function, or a list with one per parameter group.
    (The functions are not part of ``state_dict``.)
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: got {len(lr_lambda)} lr_lambdas for {groups} parameter group(s)")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the epoch (or a list of them)")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class LinearLR(LRScheduler):
    r"""Scale the lr by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs (a warm-up), then stays::

        η(e) = η₀ · (s + (f - s) · min(e, T) / T)      s, f = start, end factor; T = total_iters
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got start_factor={start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got end_factor={end_factor!r}")
        if not (isinstance(total_iters, int) and total_iters >= 1):
            raise ValueError(f"LinearLR: total_iters must be a positive integer, got total_iters={total_iters!r}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        progress = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base_lr * factor for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018), stepped after every batch.

    The lr warms up from η_max/``div_factor`` to η_max over the first
    ``pct_start`` of the ``total_steps`` steps, then anneals down to
    η_max/(div_factor·final_div_factor); momentum (SGD's ``momentum`` or
    Adam's β₁) moves the opposite way, between ``max_momentum`` and
    ``base_momentum``.  With P = pct_start·total_steps::

        step e in [0, P-1]:      η = anneal(η_initial, η_max, e / (P-1))
        step e in [P-1, T-1]:    η = anneal(η_max, η_min, (e - (P-1)) / (T-1 - (P-1)))

        anneal_cos(a, b, x)    = b + (a - b)·(1 + cos(π·x))/2
        anneal_linear(a, b, x) = a + (b - a)·x

    ``three_phase=True`` anneals back to η_initial over a second phase as long
    as the first (ending at step 2P-2) and only then down to η_min.
    ``total_steps`` may be given as ``epochs`` and ``steps_per_epoch``.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not (isinstance(value, int) and value >= 1):
                    raise ValueError(f"OneCycleLR: {name} must be a positive integer, got {name}={value!r}")
            total_steps = epochs * steps_per_epoch
        if not (isinstance(total_steps, int) and total_steps >= 1):
            raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got total_steps={total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got pct_start={pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.pct_start = total_steps, float(pct_start)
        self.anneal_strategy, self.three_phase = anneal_strategy, three_phase

        groups = optimizer.param_groups
        max_lrs = _per_group("OneCycleLR", "max_lr", max_lr, groups)
        if last_epoch == -1:
            for group, lr in zip(groups, max_lrs):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                                 f"got {type(optimizer).__name__}")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group("OneCycleLR", "max_momentum", max_momentum, groups)
            base_ms = _per_group("OneCycleLR", "base_momentum", base_momentum, groups)
            if last_epoch == -1:
                for group, m_max, m_base in zip(groups, max_ms, base_ms):
                    _set_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = m_max, m_base
        super().__init__(optimizer, last_epoch)

    def _phases(self):
        """(last step, lr from → to, momentum from → to) of each phase; the names are group keys."""
        p, t = self.pct_start * self.total_steps, self.total_steps
        if self.three_phase:
            return [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                    (2 * p - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                    (t - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        return [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (t - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}")
        phases = self._phases()
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr_from, lr_to, m_from, m_to) in enumerate(phases):
                if step <= end_step or i == len(phases) - 1:   # the phase that holds this step
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self._anneal(group[m_from], group[m_to], pct), self.use_beta1)
                    break
                start_step = end_step
        return lrs


class ReduceLROnPlateau(LRScheduler):
    r"""Divide the lr when a metric has stopped improving.

    ``step(metric)`` after each evaluation.  The metric improves when (mode
    "min", the opposite for "max")::

        metric < best·(1 - threshold)     threshold_mode "rel"
        metric < best - threshold         threshold_mode "abs"

    After more than ``patience`` epochs without improvement every group's lr
    becomes max(lr·factor, min_lr) (changes smaller than ``eps`` are skipped),
    and the count pauses for ``cooldown`` epochs.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected a minicnn optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got mode={mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got factor={factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown), ("threshold", threshold), ("eps", eps)):
            if value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be >= 0, got {name}={value!r}")
        self.optimizer = optimizer
        self.min_lrs = _per_group("ReduceLROnPlateau", "min_lr", min_lr, optimizer.param_groups)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, metric, best):
        if self.mode == "min":
            return metric < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return metric > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics):
        """Record this epoch's metric; reduce the lrs when it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:          # in cooldown: bad epochs do not count
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


# ---------------------------------------------------------------- helpers
def _check_gamma(owner, gamma):
    if not gamma > 0:
        raise ValueError(f"{owner}: gamma must be > 0, got gamma={gamma!r}")


def _per_group(owner, name, value, groups):
    """``value`` for each parameter group: a list/tuple of one per group, or one value for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"{owner}: got {len(value)} values of {name} for {len(groups)} parameter group(s)")
        return list(value)
    return [value] * len(groups)


def _set_momentum(group, momentum, use_beta1):
    """Set SGD/RMSprop's ``momentum`` or Adam's β₁."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum
