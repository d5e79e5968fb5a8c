"""Saliency, Grad-CAM and occlusion against answers known by construction."""
import numpy as np
import pytest
from PIL import Image

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import nn, viz
from minicnn.viz import plotting

from ._models import assert_untouched, in_top_right, quadrant_image, quadrant_model, small_cnn, snapshot


@pytest.mark.parametrize("target", [0, 2])
def test_saliency_of_a_linear_model_is_the_largest_weight_magnitude_over_channels(target):
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 5 * 6, 4))
    image = np.random.default_rng(1).uniform(size=(3, 5, 6)).astype(np.float32)
    saliency = viz.saliency_map(model, image, target=target)
    weights = model[1].weight.numpy()[target].reshape(3, 5, 6)
    np.testing.assert_allclose(saliency, np.abs(weights).max(axis=0), rtol=1e-6)


def test_saliency_defaults_to_the_predicted_class():
    model = small_cnn()
    image = np.random.default_rng(2).uniform(size=(1, 12, 12)).astype(np.float32)
    with mc.no_grad():
        predicted = int(model(mc.tensor(image[None])).numpy().argmax())
    np.testing.assert_array_equal(viz.saliency_map(model, image), viz.saliency_map(model, image, target=predicted))


def test_grad_cam_is_the_relu_of_the_gradient_weighted_channels():
    # conv -> ReLU -> global average -> fc: dy_c/dA_k[i, j] = W[c, k] / (h w), so
    # alpha_k is proportional to W[c, k] and the map to ReLU(sum_k W[c, k] A_k).
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(3, 4))
    image = np.random.default_rng(3).normal(size=(1, 10, 10)).astype(np.float32)
    feature_maps = viz.activations(model, image, "1")["1"][0]  # (3, 10, 10)
    for target in range(4):
        expected = np.maximum(np.tensordot(model[4].weight.numpy()[target], feature_maps, axes=1), 0)
        expected = expected / expected.max() if expected.max() > 0 else expected
        np.testing.assert_allclose(viz.grad_cam(model, image, target=target, layer="1"), expected,
                                   rtol=1e-5, atol=1e-6)


def test_grad_cam_upsamples_the_map_bilinearly_to_the_image():
    # PyTorch as an independent oracle: Grad-CAM at the 6x6 layer after the pooling, resized to 12x12
    torch = pytest.importorskip("torch")
    model = small_cnn()
    image = np.random.default_rng(4).uniform(size=(1, 12, 12)).astype(np.float32)
    layers = [torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
              torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(216, 4)]
    with torch.no_grad():
        for ours, theirs in zip(model, layers):
            for name, param in ours.named_parameters():
                getattr(theirs, name).copy_(torch.tensor(param.numpy()))
    nonzero = 0
    for target in range(4):
        a = torch.nn.Sequential(*layers[:5])(torch.tensor(image[None]))  # (1, 6, 6, 6)
        a.retain_grad()
        torch.nn.Sequential(*layers[5:])(a)[0, target].backward()
        small_cam = torch.relu((a.grad[0].mean(axis=(1, 2))[:, None, None] * a[0]).sum(0))
        expected = torch.nn.functional.interpolate(small_cam[None, None], size=(12, 12), mode="bilinear",
                                                   align_corners=False)[0, 0].detach().numpy()
        if expected.max() > 0:
            expected, nonzero = expected / expected.max(), nonzero + 1
        np.testing.assert_allclose(viz.grad_cam(model, image, target=target, layer="4"), expected,
                                   rtol=1e-4, atol=1e-5)
    assert nonzero >= 2


def test_grad_cam_and_occlusion_find_the_quadrant_the_class_depends_on():
    model, image = quadrant_model(), quadrant_image()
    assert viz.saliency_map(model, image, target=0)[: 8, 8:].min() > 0  # the quadrant matters ...
    assert viz.saliency_map(model, image, target=0)[8:, :8].max() == 0  # ... the distractor does not

    cam = viz.grad_cam(model, image, target=0, layer="2")
    assert in_top_right(*np.unravel_index(cam.argmax(), cam.shape))
    assert cam[8:, :8].max() == 0

    drop = viz.occlusion_sensitivity(model, image, target=0, size=4, stride=2)
    assert drop.shape == (7, 7)
    row, col = np.unravel_index(drop.argmax(), drop.shape)
    assert in_top_right(2 * row, 2 * col) and in_top_right(2 * row + 3, 2 * col)  # the whole square inside
    assert drop.max() > 0
    np.testing.assert_array_equal(drop[4:, :3], 0)  # squares over the distractor change nothing


def test_occlusion_matches_one_forward_per_position_and_batches_them():
    model = small_cnn(in_channels=3)
    image = np.random.default_rng(5).uniform(size=(3, 12, 12)).astype(np.float32)
    size, stride, fill, target = 5, 3, 0.5, 2
    calls = []
    handle = model.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    drop = viz.occlusion_sensitivity(model, image, target=target, size=size, stride=stride, fill=fill, batch_size=4)
    handle.remove()

    def probability(x):
        with mc.no_grad():
            return F.softmax(model.eval()(mc.tensor(x[None])), axis=1).numpy()[0, target]

    positions = range(0, 12 - size + 1, stride)
    expected = np.empty((len(positions), len(positions)))
    for i, top in enumerate(positions):
        for j, left in enumerate(positions):
            occluded = image.copy()
            occluded[:, top:top + size, left:left + size] = fill
            expected[i, j] = probability(image) - probability(occluded)
    np.testing.assert_allclose(drop, expected, rtol=1e-5, atol=1e-6)
    # 9 positions in 3 forward passes (after at most two on the clean image: the size check and p(image))
    assert drop.size == 9 and calls[-3:] == [4, 4, 1] and len(calls) <= 5


@pytest.mark.parametrize("run", [
    lambda m, x: viz.saliency_map(m, x),
    lambda m, x: viz.grad_cam(m, x, layer="3"),
    lambda m, x: viz.occlusion_sensitivity(m, x, size=4),
])
def test_the_model_is_left_exactly_as_it_was(run):
    model = small_cnn()
    model.train()
    model[0].bias.requires_grad = False
    before = snapshot(model)
    run(model, np.random.default_rng(6).uniform(size=(1, 12, 12)).astype(np.float32))
    assert_untouched(model, before)
    assert all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == [True, False] + [True] * 4


def test_the_input_tensor_is_not_changed():
    model = small_cnn()
    image = mc.rand(1, 12, 12)
    copy = image.numpy().copy()
    viz.saliency_map(model, image)
    assert not image.requires_grad and image.grad is None
    np.testing.assert_array_equal(image.numpy(), copy)


def test_pictures_are_pngs_of_three_tiles(tmp_path):
    model, image = quadrant_model(), quadrant_image()
    side = int(plotting.TILE * plotting.DPI)
    for name, run in [("saliency", viz.saliency_map), ("gradcam", viz.grad_cam),
                      ("occlusion", viz.occlusion_sensitivity)]:
        path = tmp_path / f"{name}.png"
        run(model, image, target=0, path=path)
        with Image.open(path) as png:
            assert png.format == "PNG" and png.size == (3 * side, side)


def test_bad_inputs_say_what_is_expected():
    model = small_cnn()
    good = np.zeros((1, 12, 12), dtype=np.float32)
    with pytest.raises(ValueError, match=r"class index 4 is out of range: the model has 4 classes \(0..3\)"):
        viz.saliency_map(model, good, target=4)
    with pytest.raises(ValueError, match="class index -1"):
        viz.occlusion_sensitivity(model, good, target=-1)
    with pytest.raises(ValueError, match=r"3 channel\(s\).*expects 1"):
        viz.grad_cam(model, np.zeros((3, 12, 12), dtype=np.float32))
    with pytest.raises(ValueError, match=r"image of shape \(1, 10, 10\); it expects images of shape \(1, 12, 12\)"):
        viz.saliency_map(model, np.zeros((1, 10, 10), dtype=np.float32))
    with pytest.raises(ValueError, match=r"no layer named 'conv9'; valid layer names: 0, 1, 2, 3, 4, 5, 6"):
        viz.grad_cam(model, good, layer="conv9")
    with pytest.raises(ValueError, match=r"layer '6' gives an output of shape \(1, 4\)"):
        viz.grad_cam(model, good, layer="6")
    with pytest.raises(ValueError, match="square must fit the image"):
        viz.occlusion_sensitivity(model, good, size=13)
    with pytest.raises(ValueError, match=r"expected one image"):
        viz.saliency_map(model, np.zeros((2, 1, 12, 12), dtype=np.float32))
