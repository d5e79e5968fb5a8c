"""VGGFeatures: layer names, truncation, freezing, size checks, and the weights path (.npz, torch .pth)."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.style import LAYER_NAMES, VGGFeatures, WeightsError, vgg19_features
from minicnn.style.features import CONV_INDEX, IMAGENET_MEAN, IMAGENET_STD, min_input_size

# torchvision's vgg19().features indices of the convs (written out, not derived)
TORCHVISION_CONVS = {"conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_4": 16,
                     "conv4_1": 19, "conv4_2": 21, "conv4_4": 25, "conv5_1": 28, "conv5_4": 34}


@pytest.fixture(scope="module")
def features():
    mc.manual_seed(123)
    features, pretrained = vgg19_features()
    assert not pretrained
    return features


def test_layer_names_follow_torchvision_indices():
    assert len(LAYER_NAMES) == 16
    for name, index in TORCHVISION_CONVS.items():
        assert CONV_INDEX[name] == index


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError) as info:
        VGGFeatures(["conv1_1", "conv6_1"])
    message = str(info.value)
    assert "'conv6_1'" in message
    for name in LAYER_NAMES:
        assert name in message


def test_truncated_after_last_needed_layer(features):
    extractor = VGGFeatures(["conv1_1", "conv4_2"], features=features)
    assert len(extractor.features) == 23          # up to features.22, the ReLU after conv4_2
    assert sorted({k.split(".")[1] for k in extractor.state_dict() if k.startswith("features.")},
                  key=int)[-1] == "21"            # the last conv kept is features.21 = conv4_2
    assert len(VGGFeatures(["conv1_1"], features=features).features) == 2


def test_frozen_eval_and_returns_post_relu_activations_by_name(device, features):
    extractor = VGGFeatures(["conv2_1", "conv1_1"], features=features).to(device)
    assert all(not p.requires_grad for p in extractor.parameters())
    assert not extractor.training
    x = mc.rand(1, 3, 20, 22, device=device, requires_grad=True)
    acts = extractor(x)
    assert list(acts) == ["conv2_1", "conv1_1"]
    assert acts["conv1_1"].shape == (1, 64, 20, 22)
    assert acts["conv2_1"].shape == (1, 128, 10, 11)
    assert float(acts["conv1_1"].min().item()) >= 0.0      # after the ReLU
    # conv1_1 by hand: ReLU(conv(normalised x))
    w, b = features[0].weight, features[0].bias
    mean = np.array(IMAGENET_MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD, dtype=np.float32).reshape(1, 3, 1, 1)
    normalised = mc.tensor((x.numpy() - mean) / std, device=device)
    expected = mc.nn.functional.conv2d(normalised, w.to(device), b.to(device), padding=1).relu()
    np.testing.assert_allclose(acts["conv1_1"].numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    (acts["conv2_1"].mean() + acts["conv1_1"].mean()).backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert all(p.grad is None for p in extractor.parameters())


def test_too_small_input_names_the_minimum(features):
    assert min_input_size(["conv1_1"]) == 1
    assert min_input_size(["conv3_1", "conv5_1"]) == 16
    extractor = VGGFeatures(["conv5_1"], features=features)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        extractor(mc.rand(1, 3, 15, 40))
    extractor(mc.rand(1, 3, 16, 16))  # the minimum itself works
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        extractor(mc.rand(1, 1, 32, 32))


# ---------------------------------------------------------------- weights files
def _vgg19_state(seed):
    """Random VGG-19 weights with torchvision's keys: {'features.N.weight': ..., 'classifier...': ...}."""
    rng = np.random.default_rng(seed)
    state, channels = {}, 3
    for name, index in CONV_INDEX.items():
        out = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(name[4])]
        state[f"features.{index}.weight"] = (rng.standard_normal((out, channels, 3, 3)) * np.sqrt(2 / (9 * out))).astype(np.float32)
        state[f"features.{index}.bias"] = (rng.standard_normal(out) * 0.01).astype(np.float32)
        channels = out
    state["classifier.6.bias"] = np.zeros(10, np.float32)   # ignored: only the convs are used
    return state


@pytest.mark.parametrize("writer", ["minicnn", "plain_npz"])
def test_loads_converted_npz_weights(tmp_path, writer):
    state = _vgg19_state(0)
    path = tmp_path / "vgg19.npz"
    if writer == "minicnn":
        mc.save(state, path)               # the format of python -m minicnn.models.convert
    else:
        np.savez(path, **state)
    extractor = VGGFeatures(["conv1_1", "conv5_1"], weights=path)
    assert extractor.pretrained
    got = extractor.state_dict()
    for key in ("features.0.weight", "features.28.weight", "features.28.bias"):
        assert np.array_equal(got[key].numpy(), state[key])


def test_non_vgg19_weights_fail_with_mismatching_keys(tmp_path):
    state = _vgg19_state(1)
    vgg16_like = {k: v for k, v in state.items() if k not in ("features.34.weight", "features.34.bias")}
    path = tmp_path / "vgg16.npz"
    np.savez(path, **vgg16_like)
    with pytest.raises(WeightsError, match="not a VGG-19 weights file") as info:
        VGGFeatures(["conv1_1"], weights=path)
    assert "features.34.weight" in str(info.value)

    resnet_like = {"conv1.weight": np.zeros((64, 3, 7, 7), np.float32), "fc.weight": np.zeros((10, 512), np.float32)}
    np.savez(path, **resnet_like)
    with pytest.raises(WeightsError) as info:
        VGGFeatures(["conv1_1"], weights=path)
    assert "conv1.weight" in str(info.value) and "features.0.weight" in str(info.value)

    state["features.0.weight"] = state["features.0.weight"][:32]
    np.savez(path, **state)
    with pytest.raises(WeightsError, match=r"features\.0\.weight: weights \(32, 3, 3, 3\)"):
        VGGFeatures(["conv1_1"], weights=path)


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        VGGFeatures(["conv1_1"], weights=tmp_path / "nowhere.npz")


def test_torch_pth_weights_give_torchs_activations(tmp_path):
    """A torch.nn VGG-19 (torchvision's layout, built here) saved as .pth: same activations as PyTorch."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    modules, channels = [], 3
    for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"):
        if item == "M":
            modules.append(tnn.MaxPool2d(2, 2))
        else:
            modules += [tnn.Conv2d(channels, item, 3, padding=1), tnn.ReLU(inplace=True)]
            channels = item
    net = tnn.Module()
    net.features = tnn.Sequential(*modules)
    net.classifier = tnn.Sequential(tnn.Linear(8, 4))
    path = tmp_path / "vgg19.pth"
    torch.save(net.state_dict(), path)

    layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]
    extractor = VGGFeatures(layers, weights=path)
    assert extractor.pretrained
    image = np.random.default_rng(0).uniform(size=(1, 3, 32, 40)).astype(np.float32)
    acts = extractor(mc.tensor(image))

    mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    x = (torch.from_numpy(image) - mean) / std
    expected = {}
    with torch.no_grad():
        for index, module in enumerate(net.features[:30]):
            x = module(x)
            for name in layers:
                if index == CONV_INDEX[name] + 1:
                    expected[name] = x.clone()
    for name in layers:
        scale = float(expected[name].abs().max())
        np.testing.assert_allclose(acts[name].numpy(), expected[name].numpy(), rtol=1e-3, atol=1e-4 * scale)
