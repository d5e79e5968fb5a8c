"""Batch normalisation: ``BatchNorm1d`` and ``BatchNorm2d``.

For each channel c, over the batch (and the spatial positions):

    y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c

While training, mean and var are those of the current batch, and the running
estimates used at evaluation time are updated as

    running = (1 - momentum) * running + momentum * batch_statistic

(the running variance uses the unbiased batch variance).  With
``momentum=None`` the running estimates are the plain cumulative average of
all batches seen: momentum = 1 / num_batches_tracked.
"""
from __future__ import annotations

from ... import backend, factories
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


class _BatchNorm(Module):
    """State and bookkeeping shared by the batch norms; subclasses name the input ranks.

    Parameters (``affine=True``): weight (C,) = 1, bias (C,) = 0.
    Buffers (``track_running_stats=True``): running_mean (C,) = 0,
    running_var (C,) = 1, num_batches_tracked () int64 = 0.
    """

    _input_ranks = ()  # accepted input ndims, set by each subclass
    _layout = ""  # the input layout, for error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(factories.empty(num_features, device=device, dtype=dtype))
            self.bias = Parameter(factories.empty(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", factories.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", factories.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", factories.zeros((), device=device, dtype=backend.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self._input_ranks:
            ranks = " or ".join(f"{r}-D" for r in self._input_ranks)
            raise ValueError(
                f"{name}: expected a {ranks} input {self._layout}, got a {x.ndim}-D input of shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected input with {self.num_features} channels (num_features), "
                f"got {x.shape[1]} channels (input shape {tuple(x.shape)})"
            )

    def forward(self, x):
        self._check_input(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats
        if counting and self.momentum is None:  # cumulative moving average
            momentum = 1.0 / (int(self.num_batches_tracked) + 1)
        # batch statistics while training, or when there are no running ones to use
        use_batch_stats = self.training or self.running_mean is None
        keep_running = not self.training or self.track_running_stats
        out = F.batch_norm(
            x,
            self.running_mean if keep_running else None,
            self.running_var if keep_running else None,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=momentum,
            eps=self.eps,
        )
        if counting:  # only once F.batch_norm has accepted the batch
            self.num_batches_tracked += 1
        return out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs, one mean and variance per channel C."""

    _input_ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs, one mean and variance per channel C."""

    _input_ranks = (4,)
    _layout = "(N, C, H, W)"
