"""Convolutional autoencoders: compress an image to a small code and rebuild it.

    encoder: (N, C, H, W) --stride-2 convs--> code (N, widths[-1], H / 2^k, W / 2^k)
    decoder: code --k upsampling steps--> (N, C, H, W), trained with MSE against the input

The encoder is an ordinary CNN.  The decoder reverses the downsampling, and
the two classes here differ only in how one decoder step doubles the size:

* ``ConvAutoencoder``: a **transposed convolution** (stride 2) learns the
  upsampling.  Where its kernel size is not a multiple of its stride, output
  pixels receive unequal numbers of contributions and the image shows a
  checkerboard pattern; we use kernel 4, stride 2, padding 1 (each output
  pixel gets exactly two taps per axis, and 2n - 2 + 4 - 2 = 2n doubles the
  size exactly), which reduces but does not rule out the artefact.
* ``UpsampleAutoencoder``: fixed **nearest or bilinear upsampling** followed
  by an ordinary 3x3 convolution.  Every output pixel is computed the same
  way, so this variant is free of checkerboard artefacts (Odena, Dumoulin
  and Olah, "Deconvolution and Checkerboard Artifacts", 2016).

Both end with a sigmoid by default, for images scaled to [0, 1].  Adding
noise to the input and training against the clean image gives a denoising
autoencoder with the same networks.
"""
from __future__ import annotations

from .. import nn
from ._checks import check_image_batch


class _Autoencoder(nn.Module):
    """Encoder of stride-2 3x3 convolutions with ReLU; decoder of ``up_step``s mirroring it.

    widths: channels after each encoder step, e.g. (16, 32): 28x28 -> 14x14 -> 7x7 code.
    ``H`` and ``W`` must be multiples of 2 ** len(widths) so the decoder
    returns the input's size.
    """

    def __init__(self, in_channels=1, widths=(16, 32), sigmoid=True):
        super().__init__()
        self.in_channels = in_channels
        self.factor = 2 ** len(widths)
        channels = [in_channels, *widths]
        encoder = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            encoder += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        decoder = []
        for c_in, c_out in zip(channels[:0:-1], channels[-2::-1]):
            decoder += [self.up_step(c_in, c_out), nn.ReLU()]
        decoder[-1] = nn.Sigmoid() if sigmoid else nn.Identity()  # no ReLU on the reconstruction
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    def up_step(self, in_channels, out_channels):
        """A module that doubles H and W and maps ``in_channels`` to ``out_channels``."""
        raise NotImplementedError

    def encode(self, x):
        """x: (N, C, H, W) -> code (N, widths[-1], H / 2^k, W / 2^k)."""
        name = type(self).__name__
        check_image_batch(name, x, self.in_channels)
        if x.shape[-2] % self.factor or x.shape[-1] % self.factor:
            raise ValueError(
                f"{name}: input is {x.shape[-2]}x{x.shape[-1]}, but H and W must be multiples of "
                f"{self.factor} (one halving per encoder step) for the reconstruction to have the input's size"
            )
        return self.encoder(x)

    def decode(self, code):
        return self.decoder(code)

    def forward(self, x):
        return self.decode(self.encode(x))


class ConvAutoencoder(_Autoencoder):
    """Autoencoder whose decoder upsamples with transposed convolutions (kernel 4, stride 2, padding 1)."""

    def up_step(self, in_channels, out_channels):
        return nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)


class UpsampleAutoencoder(_Autoencoder):
    """Autoencoder whose decoder upsamples by ``mode`` ("nearest" or "bilinear") then applies a 3x3 conv."""

    def __init__(self, in_channels=1, widths=(16, 32), sigmoid=True, mode="nearest"):
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"UpsampleAutoencoder: mode must be 'nearest' or 'bilinear', got {mode!r}")
        self.mode = mode  # a plain attribute, needed by up_step during super().__init__
        super().__init__(in_channels, widths, sigmoid)

    def up_step(self, in_channels, out_channels):
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=self.mode),
                             nn.Conv2d(in_channels, out_channels, 3, padding=1))
