"""A 1-d CNN for sequences: one-hot DNA, signals, any (N, C, L) input.

A 1-d convolution slides a filter along the sequence: on one-hot DNA
(channels A, C, G, T) a filter of width 9 is a learned position weight
matrix, so its output is a "motif score" at every position (the DeepBind
idea, Alipanahi et al. 2015).  Taking the maximum over all positions
(global max pooling) asks "does the motif occur anywhere?" and makes the
classifier independent of where it occurs and of the sequence length.

    x (N, 4, L) -> [conv1d k=9 (same padding) -> BN -> ReLU] x 2
                -> global max over L -> (N, channels) -> dropout -> fc -> (N, num_classes)
"""
from __future__ import annotations

from .. import nn, ops


class SequenceCNN(nn.Module):
    """Conv1d classifier.  x: (N, in_channels, L) -> logits (N, num_classes), any L >= 1.

    in_channels: 4 for one-hot DNA (A, C, G, T), 1 for a scalar signal.
    """

    def __init__(self, num_classes=2, in_channels=4, channels=32, kernel_size=9, num_layers=2, dropout=0.25):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"SequenceCNN: kernel_size must be odd (same padding), got {kernel_size}")
        self.in_channels = in_channels
        layers = []
        for i in range(num_layers):
            layers += [nn.Conv1d(in_channels if i == 0 else channels, channels, kernel_size, padding=kernel_size // 2),
                       nn.BatchNorm1d(channels), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SequenceCNN: expected input of shape (N, {self.in_channels}, L) "
                f"(one-hot sequences are (N, 4, L)), got {tuple(x.shape)}"
            )
        x = ops.amax(self.features(x), axis=2)  # global max pooling over positions
        return self.fc(self.dropout(x))


def conv1d_classifier(num_classes=2, in_channels=4, **kwargs):
    """A ``SequenceCNN``: two 1-d conv layers, global max pooling, one fc (DNA-like one-hot input)."""
    return SequenceCNN(num_classes, in_channels, **kwargs)
