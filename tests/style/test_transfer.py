"""style_transfer: the style loss falls, the content stays, the network is untouched, bad input is refused."""
import time

import numpy as np
import pytest

import minicnn as mc
from minicnn.style import VGGFeatures, style_transfer, vgg19_features
from minicnn.style.features import min_input_size

# A truncated network keeps the test fast: style at conv1_1..conv3_1, content at conv3_2.
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1")
CONTENT_LAYER = "conv3_2"


def make_extractor(seed=0):
    mc.manual_seed(seed)
    features, pretrained = vgg19_features()
    return VGGFeatures(STYLE_LAYERS + (CONTENT_LAYER,), features=features, pretrained=pretrained)


def snapshot(module):
    return {key: value.numpy().copy() for key, value in module.state_dict().items()}


@pytest.mark.parametrize("optimizer, steps, lr", [
    ("lbfgs", 12, None),
    pytest.param("adam", 20, 0.05, marks=pytest.mark.slow),   # ~2x the L-BFGS case's time
])
def test_style_loss_falls_10x_content_stays_bounded_network_untouched(device, content_image, style_image,
                                                                        optimizer, steps, lr):
    extractor = make_extractor()
    before = snapshot(extractor)
    lines = []
    start = time.perf_counter()
    result = style_transfer(content_image, style_image, size=None, steps=steps, optimizer=optimizer, lr=lr,
                            seed=0, extractor=extractor, content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS,
                            device=device, log=lines.append)
    elapsed = time.perf_counter() - start
    first, last = result.history[0], result.history[-1]
    assert len(result.history) == steps
    assert last["style"] < first["style"] / 10, (first, last)
    # content: started at 0 (init="content"); it must stay well below the content loss of the
    # style image itself, i.e. the result is still far closer to the content than the style is
    with mc.no_grad():
        content_act = extractor(mc.tensor(content_image.transpose(2, 0, 1)[None] / 255.0, dtype=mc.float32,
                                          device=device))[CONTENT_LAYER]
        style_act = extractor(mc.tensor(style_image.transpose(2, 0, 1)[None] / 255.0, dtype=mc.float32,
                                        device=device))[CONTENT_LAYER]
    content_of_style = float(((style_act - content_act) ** 2).mean().item())
    assert first["content"] == 0.0
    assert last["content"] < 0.5 * content_of_style, (last["content"], content_of_style)
    # the result is a picture of the content's size
    assert result.image.shape == content_image.shape and result.image.dtype == np.uint8
    assert not np.array_equal(result.image, content_image)
    # the network: bit-identical parameters, no gradients
    after = snapshot(extractor)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(p.grad is None and not p.requires_grad for p in extractor.parameters())
    # it says which weights it used
    assert result.pretrained is False
    assert any("RANDOM" in line for line in lines)
    print(f"{optimizer}: {steps} steps in {elapsed:.1f} s, style {first['style']:.3g} -> {last['style']:.3g}")


def test_noise_init_is_reproducible_with_a_seed(content_image, style_image):
    runs = [style_transfer(content_image, style_image, size=32, steps=3, optimizer="adam", init="noise", seed=5,
                           content_layer="conv2_1", style_layers=("conv1_1", "conv2_1"), log=None) for _ in range(2)]
    assert np.array_equal(runs[0].image, runs[1].image)
    assert runs[0].history == runs[1].history
    assert runs[0].history[0]["content"] > 0   # noise is not the content


def test_callback_and_save_every(tmp_path, content_image, style_image):
    from PIL import Image

    seen = []
    result = style_transfer(content_image, style_image, size=40, steps=4, optimizer="adam", seed=0,
                            content_layer="conv2_1", style_layers=("conv1_1",), tv_weight=1.0,
                            callback=lambda step, losses, target: seen.append((step, target.shape)),
                            save_every=2, save_path=tmp_path / "out.png", log=None)
    assert seen == [(1, (1, 3, 40, 40)), (2, (1, 3, 40, 40)), (3, (1, 3, 40, 40)), (4, (1, 3, 40, 40))]
    assert [p.split("/")[-1] for p in result.saved] == ["out_step0002.png", "out_step0004.png"]
    with Image.open(result.saved[-1]) as img:
        assert img.size == (40, 40)
    assert result.history[0]["tv"] > 0


def test_size_resizes_longer_side(content_image, style_image):
    wide = np.concatenate([content_image, content_image], axis=1)   # 64 x 128
    result = style_transfer(wide, style_image, size=48, steps=1, optimizer="adam",
                            content_layer="conv1_1", style_layers=("conv1_1",), log=None)
    assert result.image.shape == (24, 48, 3)


def test_bad_arguments(content_image, style_image):
    kwargs = dict(content_layer="conv2_1", style_layers=("conv1_1",), log=None)
    for steps in (0, -3, 2.5):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            style_transfer(content_image, style_image, steps=steps, **kwargs)
    with pytest.raises(ValueError, match="optimizer must be 'lbfgs' or 'adam'"):
        style_transfer(content_image, style_image, optimizer="sgd", **kwargs)
    with pytest.raises(ValueError, match="init must be"):
        style_transfer(content_image, style_image, init="zeros", **kwargs)
    with pytest.raises(ValueError, match="valid names: conv1_1, conv1_2"):
        style_transfer(content_image, style_image, content_layer="relu4_2", style_layers=("conv1_1",), log=None)
    with pytest.raises(ValueError, match="save_every needs save_path"):
        style_transfer(content_image, style_image, save_every=2, **kwargs)


def test_too_small_size_gives_the_minimum(content_image, style_image):
    assert min_input_size(("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1")) == 16
    with pytest.raises(ValueError, match="at least 16 pixels"):
        style_transfer(content_image, style_image, size=12, steps=1, log=None)
