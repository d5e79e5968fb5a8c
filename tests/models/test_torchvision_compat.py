"""minicnn's AlexNet, VGG, ResNet-18/34/50 and GoogLeNet against torchvision's architecture.

torchvision itself is not installed: ``torchvision_reference`` transcribes its
model code in plain torch.nn.  Keys and shapes are compared on torch's "meta"
device (no memory, no init), outputs after loading torch's random weights
(with randomised batch-norm statistics) into minicnn through ``load_weights``.
"""
import numpy as np
import pytest

import minicnn as mc
from minicnn import models

from . import torchvision_reference

torch = pytest.importorskip("torch")
REFERENCE = torchvision_reference.build(torch)


def torch_shapes(net):
    return [(key, tuple(value.shape)) for key, value in net.state_dict().items()]


def minicnn_shapes(net):
    return [(key, tuple(value.shape)) for key, value in net.state_dict().items()]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_state_dict_keys_and_shapes_match_torchvision(name, no_init):
    with torch.device("meta"):
        reference = REFERENCE[name]()
    assert minicnn_shapes(models.get_model(name)) == torch_shapes(reference)  # same keys, shapes and order


def test_googlenet_without_aux_heads_matches_torchvision(no_init):
    with torch.device("meta"):
        reference = REFERENCE["googlenet"](aux_logits=False)
    assert minicnn_shapes(models.googlenet(aux_logits=False)) == torch_shapes(reference)


def randomise_batch_norm(net, seed=0):
    """Non-trivial running statistics, so that loading them is exercised by the comparison."""
    generator = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator) * 0.1)


def same_outputs(name, input_shape, num_classes=7, **kwargs):
    """Build both, copy torch's weights into minicnn, compare eval-mode logits."""
    torch.manual_seed(0)
    reference = REFERENCE[name](num_classes=num_classes, **kwargs)
    randomise_batch_norm(reference)
    reference.eval()
    net = models.get_model(name, num_classes=num_classes, **kwargs)
    result = models.load_weights(net, reference.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    net.eval()
    x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        got = net(mc.tensor(x)).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * scale)


def test_resnet18_outputs_match_torch_with_its_weights(no_init):
    same_outputs("resnet18", (2, 3, 64, 64))


def test_googlenet_outputs_match_torch_with_its_weights(no_init):
    # 64x64 exercises the ceil_mode poolings (odd sizes) and the aux heads' weights are loaded too
    same_outputs("googlenet", (1, 3, 64, 64))


@pytest.mark.slow
def test_resnet50_outputs_match_torch_with_its_weights(no_init):
    same_outputs("resnet50", (1, 3, 64, 64))


@pytest.mark.slow
@pytest.mark.parametrize("name, size", [("alexnet", 63), ("vgg11_bn", 32)])
def test_alexnet_vgg_outputs_match_torch_with_their_weights(name, size, no_init):
    same_outputs(name, (2, 3, size, size))
