"""deep_dream: the objective grows, the network is untouched, octaves, bad input."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.style import VGGFeatures, deep_dream, dream_objective, image_to_tensor, vgg19_features
from minicnn.style.dream import octave_sizes


def make_extractor(layers, seed=0):
    mc.manual_seed(seed)
    features, _ = vgg19_features()
    return VGGFeatures(layers, features=features)


def objective_of(extractor, image, objective, device):
    with mc.no_grad():
        return dream_objective(extractor(image_to_tensor(image, device)), objective).item()


def test_objective_doubles_network_untouched(device, content_image):
    extractor = make_extractor(["conv3_1"])
    before = {k: v.numpy().copy() for k, v in extractor.state_dict().items()}
    lines = []
    result = deep_dream(content_image, layers=["conv3_1"], octaves=2, steps=10, lr=0.02, objective="l2",
                        seed=0, extractor=extractor, device=device, log=lines.append)
    start = objective_of(extractor, content_image, "l2", device)      # measured without jitter
    end = objective_of(extractor, result.image, "l2", device)
    assert end >= 2 * start, (start, end)
    assert result.image.shape == content_image.shape and result.image.dtype == np.uint8
    assert len(result.history) == 2 * 10
    assert [h["size"] for h in result.history[::10]] == [(46, 46), (64, 64)]
    after = {k: v.numpy() for k, v in extractor.state_dict().items()}
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in extractor.parameters())
    assert not result.pretrained and any("RANDOM" in line for line in lines)


def test_mean_objective_rises_and_seed_reproduces(content_image):
    extractor = make_extractor(["conv2_1", "conv3_1"])
    content_image = content_image[:40, :40]
    runs = [deep_dream(content_image, layers="conv2_1,conv3_1", octaves=1, steps=6, lr=0.03, jitter=4, seed=3,
                       extractor=extractor, log=None) for _ in range(2)]
    assert np.array_equal(runs[0].image, runs[1].image)
    start = objective_of(extractor, content_image, "mean", "cpu")
    assert objective_of(extractor, runs[0].image, "mean", "cpu") > 1.2 * start


def test_octave_sizes():
    assert octave_sizes(100, 140, 3, 2.0) == [(25, 35), (50, 70), (100, 140)]
    assert octave_sizes(10, 10, 1, 1.4) == [(10, 10)]


def test_bad_arguments(content_image):
    extractor = make_extractor(["conv1_1"])
    kwargs = dict(extractor=extractor, log=None)
    for octaves in (0, -1):
        with pytest.raises(ValueError, match="octaves must be a positive integer"):
            deep_dream(content_image, layers="conv1_1", octaves=octaves, **kwargs)
    for steps in (0, -5):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            deep_dream(content_image, layers="conv1_1", steps=steps, **kwargs)
    with pytest.raises(ValueError, match="octave_scale must be > 1"):
        deep_dream(content_image, layers="conv1_1", octave_scale=1.0, **kwargs)
    with pytest.raises(ValueError, match="objective must be 'mean' or 'l2'"):
        deep_dream(content_image, layers="conv1_1", objective="max", **kwargs)
    with pytest.raises(ValueError, match="valid names: conv1_1"):
        deep_dream(content_image, layers="conv4_2,fc7", log=None)


def test_smallest_octave_too_small_gives_the_minimum(content_image):
    # 64 / 1.4^4 = 16.7 -> 17 pixels is fine for conv5_1 (16), 64 / 1.4^5 = 11.9 is not
    with pytest.raises(ValueError, match="minimum of 16 pixels"):
        deep_dream(content_image, layers="conv5_1", octaves=6, steps=1, log=None)
