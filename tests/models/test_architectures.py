"""The zoo's architectures: published parameter counts, torchvision names and shapes, forward
shapes at each model's canonical input, GoogLeNet's auxiliary heads, and bad inputs."""
import numpy as np
import pytest

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import nn, models
from minicnn.models.resnet import PadShortcut


def count(model):
    return sum(p.numel() for p in model.parameters())


# counts published in the papers / torchvision's model tables (1000 classes for the ImageNet ones)
PUBLISHED = {
    ("lenet5", ()): 61_706,
    ("alexnet", ()): 61_100_840,
    ("vgg11", ()): 132_863_336,
    ("vgg13", ()): 133_047_848,
    ("vgg16", ()): 138_357_544,
    ("vgg19", ()): 143_667_240,
    ("vgg16_bn", ()): 138_365_992,
    ("resnet18", ()): 11_689_512,
    ("resnet34", ()): 21_797_672,
    ("resnet50", ()): 25_557_032,
    ("googlenet", (("aux_logits", False),)): 6_624_904,
    ("googlenet", ()): 13_004_888,
}


@pytest.mark.parametrize("name, kwargs", sorted(PUBLISHED), ids=lambda v: str(v) if v else "")
def test_parameter_count_equals_published(name, kwargs, no_init):
    assert count(models.get_model(name, **dict(kwargs))) == PUBLISHED[name, kwargs]


def test_cifar_resnet_parameter_counts_match_the_paper():
    # He et al. 2015, Table 6: 0.27 M, 0.46 M, 0.85 M (option A shortcuts have no parameters)
    assert count(models.resnet20()) == 269_722
    assert round(count(models.resnet32()) / 1e6, 2) == 0.46
    assert round(count(models.resnet56()) / 1e6, 2) == 0.85


def test_lenet5_layer_by_layer():
    net = models.lenet5()
    per_layer = [count(m) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert per_layer == [156, 2_416, 48_120, 10_164, 850]  # C1, C3, F5, F6, F7


def test_registry_lists_every_family_and_rejects_unknown_names():
    names = models.list_models()
    for expected in ["lenet5", "alexnet", "vgg11", "vgg19_bn", "resnet18", "resnet50", "resnet20", "resnet56",
                     "googlenet", "conv_autoencoder", "upsample_autoencoder", "sequence_cnn"]:
        assert expected in names
    assert names == sorted(names)
    assert isinstance(models.get_model("ResNet20"), models.ResNet)
    with pytest.raises(ValueError, match="unknown model 'resnet21'.*resnet20.*vgg19_bn"):
        models.get_model("resnet21")


# (key, shape) samples from torchvision's state dicts, and their lengths: a torch-free check of names
TORCHVISION_SAMPLES = {
    "alexnet": (16, {"features.0.weight": (64, 3, 11, 11), "features.10.weight": (256, 256, 3, 3),
                     "classifier.1.weight": (4096, 9216), "classifier.6.bias": (1000,)}),
    "vgg16": (32, {"features.28.weight": (512, 512, 3, 3), "classifier.0.weight": (4096, 25088),
                   "classifier.3.weight": (4096, 4096), "classifier.6.weight": (1000, 4096)}),
    "vgg16_bn": (97, {"features.1.running_var": (64,), "features.40.weight": (512, 512, 3, 3),
                      "features.41.running_var": (512,)}),
    "resnet18": (122, {"conv1.weight": (64, 3, 7, 7), "bn1.num_batches_tracked": (),
                       "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer2.0.downsample.1.running_mean": (128,),
                       "layer4.1.conv2.weight": (512, 512, 3, 3), "fc.weight": (1000, 512)}),
    "resnet50": (320, {"layer1.0.conv3.weight": (256, 64, 1, 1), "layer1.0.downsample.0.weight": (256, 64, 1, 1),
                       "layer3.5.conv2.weight": (256, 256, 3, 3), "fc.weight": (1000, 2048)}),
    "googlenet": (364, {"conv1.conv.weight": (64, 3, 7, 7), "conv1.bn.running_var": (64,),
                        "inception3a.branch1.conv.weight": (64, 192, 1, 1),
                        "inception3a.branch2.1.conv.weight": (128, 96, 3, 3),
                        "inception4e.branch3.1.conv.weight": (128, 32, 3, 3),
                        "inception5b.branch4.1.conv.weight": (128, 832, 1, 1),
                        "aux1.conv.conv.weight": (128, 512, 1, 1), "aux2.fc1.weight": (1024, 2048),
                        "aux2.fc2.weight": (1000, 1024), "fc.weight": (1000, 1024)}),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_SAMPLES))
def test_torchvision_key_samples(name, no_init):
    length, samples = TORCHVISION_SAMPLES[name]
    state = models.get_model(name).state_dict()
    assert len(state) == length
    for key, shape in samples.items():
        assert tuple(state[key].shape) == shape, key


def test_googlenet_bn_eps_and_paper_kernels(no_init):
    net = models.googlenet()
    assert all(m.eps == 0.001 for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    paper = models.googlenet(paper_5x5=True)
    assert paper.inception3a.branch3[1].conv.weight.shape == (32, 16, 5, 5)


def filled(model, value=0.01):
    """A model built under ``no_init`` with every parameter set to ``value``: enough for shape tests."""
    for param in model.parameters():
        param.data.fill(value)
    return model


def forward_shape(model, shape, device="cpu"):
    model.to(device).eval()
    with mc.no_grad():
        out = model(mc.randn(*shape, device=device))
    return tuple(out.shape)


@pytest.mark.parametrize("name, kwargs, shape, expected", [
    ("lenet5", {}, (2, 1, 32, 32), (2, 10)),
    ("lenet5", {"padding": 2}, (2, 1, 28, 28), (2, 10)),
    ("lenet5", {"in_channels": 3, "num_classes": 5, "activation": "relu", "pooling": "max"}, (2, 3, 32, 32), (2, 5)),
    ("resnet20", {}, (2, 3, 32, 32), (2, 10)),
    ("resnet32", {"num_classes": 100}, (1, 3, 32, 32), (1, 100)),
    ("sequence_cnn", {}, (3, 4, 101), (3, 2)),
    ("sequence_cnn", {"in_channels": 1, "num_classes": 5}, (3, 1, 40), (3, 5)),
])
def test_forward_shapes_small_models(name, kwargs, shape, expected, device):
    assert forward_shape(models.get_model(name, **kwargs), shape, device) == expected


@pytest.mark.parametrize("name", ["resnet18", "alexnet"])
def test_forward_shape_at_224(name, no_init):
    assert forward_shape(filled(models.get_model(name)), (1, 3, 224, 224)) == (1, 1000)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet34", "resnet50", "googlenet", "vgg11", "vgg16", "vgg19_bn"])
def test_forward_shape_at_224_big(name):
    assert forward_shape(models.get_model(name), (1, 3, 224, 224)) == (1, 1000)


@pytest.mark.parametrize("cls", [models.ConvAutoencoder, models.UpsampleAutoencoder])
def test_autoencoders_reconstruct_the_input_shape(cls, device):
    net = cls(in_channels=3, widths=(8, 16, 32)).to(device)
    x = mc.rand(2, 3, 32, 24, device=device)
    code = net.encode(x)
    assert code.shape == (2, 32, 4, 3)
    out = net(x)
    assert out.shape == x.shape
    assert 0.0 <= out.numpy().min() and out.numpy().max() <= 1.0  # sigmoid output


def test_decoders_differ_only_in_the_upsampling_step():
    transposed = models.ConvAutoencoder()
    upsampled = models.UpsampleAutoencoder(mode="bilinear")
    assert any(isinstance(m, nn.ConvTranspose2d) for m in transposed.decoder.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in upsampled.decoder.modules())
    assert [m.mode for m in upsampled.decoder.modules() if isinstance(m, nn.Upsample)] == ["bilinear"] * 2
    assert repr(transposed.encoder) == repr(upsampled.encoder)


def test_googlenet_outputs_in_training_and_evaluation():
    net = models.googlenet(num_classes=4)
    x = mc.randn(2, 3, 64, 64)
    out = net(x)
    assert isinstance(out, models.GoogLeNetOutputs)
    assert out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert [o.shape for o in out] == [(2, 4)] * 3
    net.eval()
    with mc.no_grad():
        assert net(x).shape == (2, 4)
    no_aux = models.googlenet(num_classes=4, aux_logits=False)
    assert no_aux.aux1 is None and no_aux(x).shape == (2, 4)


def test_googlenet_loss_weights_the_auxiliary_losses_by_0_3():
    rng = np.random.default_rng(0)
    logits, aux2, aux1 = (mc.tensor(rng.standard_normal((5, 3)).astype(np.float32)) for _ in range(3))
    target = mc.tensor([0, 1, 2, 1, 0])
    out = models.GoogLeNetOutputs(logits, aux2, aux1)
    expected = (F.cross_entropy(logits, target).item()
                + 0.3 * (F.cross_entropy(aux1, target).item() + F.cross_entropy(aux2, target).item()))
    assert models.googlenet_loss(out, target).item() == pytest.approx(expected, rel=1e-6)
    assert models.googlenet_loss(logits, target).item() == pytest.approx(F.cross_entropy(logits, target).item())


def test_option_a_shortcut_subsamples_and_pads_channels_with_zeros():
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5)).astype(np.float32)
    out = PadShortcut(stride=2, extra_channels=4)(mc.tensor(x)).numpy()
    expected = np.zeros((2, 8, 3, 3), np.float32)
    expected[:, 2:6] = x[:, :, ::2, ::2]
    np.testing.assert_array_equal(out, expected)
    net = models.resnet20()
    assert [type(m.downsample).__name__ for m in net.modules() if isinstance(m, models.BasicBlock)
            and m.downsample is not None] == ["PadShortcut", "PadShortcut"]
    projection = models.resnet20(shortcut="projection")
    assert "layer2.0.downsample.0.weight" in projection.state_dict()


def test_zero_init_residual_makes_each_block_start_as_the_identity():
    net = models.resnet20(zero_init_residual=True).eval()
    block = net.layer1[1]
    x = mc.rand(1, 16, 8, 8)  # non-negative, so relu(0 + x) == x
    with mc.no_grad():
        np.testing.assert_allclose(block(x).numpy(), x.numpy(), rtol=0, atol=0)


# ----------------------------------------------------------------------------- bad inputs
def test_lenet5_says_which_input_size_it_expects():
    with pytest.raises(ValueError, match=r"expects 32x32 inputs.*got 28x28.*28x28 ones with padding=2"):
        models.lenet5()(mc.randn(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"expects 28x28 inputs \(padding=2.*got 32x32"):
        models.lenet5(padding=2)(mc.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 1, H, W\), got \(1, 3, 32, 32\)"):
        models.lenet5()(mc.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="activation must be one of"):
        models.lenet5(activation="sigmoid")


def test_alexnet_says_its_minimum_input_size(no_init):
    net = filled(models.alexnet(num_classes=2))
    with pytest.raises(ValueError, match=r"AlexNet: input is 62x62, but this model needs at least 63x63"):
        net(mc.randn(1, 3, 62, 62))
    net.eval()
    with mc.no_grad():
        assert net(mc.randn(1, 3, 63, 63)).shape == (1, 2)  # the bound is tight


def test_vgg_minimum_input_size(no_init):
    net = models.vgg11()
    with pytest.raises(ValueError, match=r"VGG: input is 31x64, but this model needs at least 32x32"):
        net(mc.randn(1, 3, 31, 64))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\)"):
        net(mc.randn(3, 32, 32))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="depth must be 6n \\+ 2"):
        models.cifar_resnet(21)
    with pytest.raises(ValueError, match="stem must be"):
        models.ResNet(models.BasicBlock, (1, 1), widths=(8, 16), stem="tiny")
    with pytest.raises(ValueError, match="vgg: depth must be one of"):
        models.vgg.vgg(12)
    with pytest.raises(ValueError, match="mode must be 'nearest' or 'bilinear'"):
        models.UpsampleAutoencoder(mode="bicubic")


def test_autoencoder_and_sequence_shape_errors():
    with pytest.raises(ValueError, match="multiples of 4"):
        models.ConvAutoencoder()(mc.rand(1, 1, 30, 28))
    with pytest.raises(ValueError, match=r"SequenceCNN: expected input of shape \(N, 4, L\)"):
        models.conv1d_classifier()(mc.rand(2, 100, 4))
