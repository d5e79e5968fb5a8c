"""Module: registration, traversal, state dicts, modes, devices, hooks, repr, containers."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn

# the state-dict keys PyTorch gives for LeNet below (checked against torch when it is installed)
LENET_KEYS = [
    "scale",  # a module's own parameters come before its children's
    "features.0.weight", "features.0.bias",
    "features.1.weight", "features.1.bias",
    "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
    "features.4.weight", "features.4.bias",
    "classifier.fc1.weight", "classifier.fc1.bias",
    "classifier.fc2.weight", "classifier.fc2.bias",
]


def lenet(nn=nn):
    """The same architecture with minicnn's nn or torch.nn (both spell it alike)."""

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            )
            self.classifier = nn.Sequential(OrderedDict([
                ("flatten", nn.Flatten()), ("fc1", nn.Linear(400, 120)), ("act", nn.ReLU()),
                ("fc2", nn.Linear(120, 10)),
            ]))
            self.scale = nn.Parameter(mc.ones(1) if nn.__name__.startswith("minicnn") else self._ones())

        @staticmethod
        def _ones():
            import torch

            return torch.ones(1)

        def forward(self, x):
            return self.classifier(self.features(x)) * self.scale

    return LeNet()


class Affine(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.w = nn.Parameter(mc.ones(n))
        self.b = nn.Parameter(mc.zeros(n))
        self.register_buffer("count", mc.zeros((), dtype=mc.int64))
        self.register_buffer("cache", mc.zeros(n), persistent=False)

    def forward(self, x):
        return x * self.w + self.b


# ------------------------------------------------------------------ registration
def test_attributes_register_parameters_buffers_and_children():
    m = Affine()
    m.child = nn.Linear(3, 2)
    m.plain = mc.zeros(2)  # a plain tensor attribute is not registered (as PyTorch)
    assert list(m._parameters) == ["w", "b"]
    assert list(m._buffers) == ["count", "cache"]
    assert list(m._modules) == ["child"]
    assert [n for n, _ in m.named_parameters()] == ["w", "b", "child.weight", "child.bias"]
    assert [n for n, _ in m.named_buffers()] == ["count", "cache"]
    assert m.w is m._parameters["w"] and m.child is m._modules["child"]
    assert "w" in dir(m) and "child" in dir(m)


def test_reassigning_and_deleting():
    m = Affine()
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = mc.ones(3)  # a plain tensor cannot replace a parameter
    m.w = None
    assert m.w is None and [n for n, _ in m.named_parameters()] == ["b"]
    with pytest.raises(TypeError, match="parameter 'b'"):
        m.b = nn.Linear(1, 1)  # only a Parameter or None may replace a parameter (as PyTorch)
    m.b = None
    m.c = nn.Linear(1, 1)
    m.c = nn.Parameter(mc.ones(1))  # a Parameter replaces the child of the same name
    assert "c" not in m._modules and m._parameters["c"] is m.c
    del m.b
    m.b = nn.Linear(1, 1)
    assert m._modules["b"] is m.b
    with pytest.raises(TypeError, match="buffer 'count'"):
        m.count = 3
    m.count = mc.ones(())
    assert m.count.item() == 1
    del m.b
    assert "b" not in m._modules
    with pytest.raises(AttributeError, match="'Affine' object has no attribute 'b'"):
        m.b


def test_registration_errors():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mc.ones(1))  # before super().__init__()

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    m = nn.Module()
    with pytest.raises(KeyError, match="'.'"):
        m.register_buffer("a.b", mc.zeros(1))
    with pytest.raises(TypeError, match="Tensor or None"):
        m.register_buffer("a", np.zeros(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("p", mc.zeros(1))
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("c", 3)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("training", mc.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("q", _non_leaf())
    with pytest.raises(NotImplementedError, match="forward"):
        m(mc.ones(1))


def _non_leaf():
    """A Parameter that claims to be the result of an op."""
    x = nn.Parameter(mc.ones(2))
    p = nn.Parameter(mc.ones(2))
    p.grad_fn = (x * 2).grad_fn
    return p


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2
    assert [n for n, _ in net.named_modules()] == ["", "0", "1"]
    # the state dict lists every path, as PyTorch does
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_traversal_order():
    net = lenet()
    assert [n for n, _ in net.named_children()] == ["features", "classifier"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "features", "features.0", "features.1"]
    assert [type(m).__name__ for m in net.modules()][-3:] == ["Linear", "ReLU", "Linear"]
    assert list(net.children())[0] is net.features
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert len(list(net.features.parameters())) == 6
    assert [n for n, _ in net.named_buffers()] == [
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"]


# ------------------------------------------------------------------ state dict
def test_state_dict_keys_match_pytorch():
    sd = lenet().state_dict()
    assert list(sd) == LENET_KEYS
    assert sd["features.0.weight"].shape == (6, 1, 5, 5)
    assert sd["features.1.num_batches_tracked"].dtype == np.int64
    assert sd["features.1.num_batches_tracked"].shape == ()
    torch = pytest.importorskip("torch")
    tsd = lenet(torch.nn).state_dict()
    assert list(tsd) == list(sd)
    assert all(tuple(tsd[k].shape) == sd[k].shape for k in sd)


def test_state_dict_values_are_detached_and_share_memory():
    m = Affine()
    sd = m.state_dict()
    assert list(sd) == ["w", "b", "count"]  # the non-persistent buffer is left out
    assert not isinstance(sd["w"], nn.Parameter) and sd["w"].grad_fn is None and not sd["w"].requires_grad
    assert sd["w"].data is m.w.data  # same memory, as PyTorch's state_dict
    assert m.state_dict(keep_vars=True)["w"] is m.w
    assert list(m.state_dict(prefix="model.")) == ["model.w", "model.b", "model.count"]


def test_load_state_dict_copies_in_place():
    src, dst = lenet(), lenet()
    params_before = list(dst.parameters())
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(dst.parameters()) == params_before  # same Parameter objects
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[k].numpy(), v.numpy())
        assert dst.state_dict()[k].data is not v.data  # copied, not aliased


def test_load_state_dict_accepts_arrays_and_casts_to_the_parameter_dtype():
    m = Affine()
    m.load_state_dict({"w": np.arange(3.0), "b": np.full(3, 2.0), "count": np.array(7)})
    assert m.w.dtype == np.float32 and m.count.dtype == np.int64
    np.testing.assert_array_equal(m.w.numpy(), [0, 1, 2])
    assert m.count.item() == 7


def test_load_state_dict_strict_errors_list_all_keys_and_leave_the_module_unchanged():
    m = Affine()
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    bad = {"w": np.full(3, 5.0), "extra": np.zeros(1), "other": np.zeros(1)}
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(bad)
    message = str(err.value)
    assert 'Missing key(s) in state_dict: "b", "count"' in message
    assert 'Unexpected key(s) in state_dict: "extra", "other"' in message
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])  # "w" was not copied either


def test_load_state_dict_shape_mismatch_is_an_error_even_when_not_strict():
    m = Affine()
    good_w = np.full(3, 9.0)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict({"w": good_w, "b": np.zeros(4)}, strict=False)
    assert "size mismatch for b" in str(err.value)
    assert "(4,)" in str(err.value) and "(3,)" in str(err.value)
    np.testing.assert_array_equal(m.w.numpy(), np.ones(3))  # nothing copied
    with pytest.raises(RuntimeError, match="value for w is a int"):
        m.load_state_dict({"w": 3, "b": np.zeros(3), "count": np.array(0)})
    with pytest.raises(TypeError, match="mapping"):
        m.load_state_dict([("w", good_w)])


def test_load_state_dict_not_strict_returns_the_incompatible_keys():
    m = Affine()
    result = m.load_state_dict({"w": np.full(3, 4.0), "junk": np.zeros(2)}, strict=False)
    missing, unexpected = result
    assert result.missing_keys == missing == ["b", "count"]
    assert unexpected == ["junk"]
    np.testing.assert_array_equal(m.w.numpy(), np.full(3, 4.0))
    assert repr(m.load_state_dict(m.state_dict())) == "<All keys matched successfully>"


def test_load_state_dict_from_pytorch():
    torch = pytest.importorskip("torch")
    tnet = lenet(torch.nn)
    with torch.no_grad():
        tnet.features[1].running_mean.uniform_()
        tnet.features[1].num_batches_tracked += 3
    net = lenet()
    net.load_state_dict(tnet.state_dict())  # torch tensors are accepted directly
    for k, v in tnet.state_dict().items():
        np.testing.assert_array_equal(net.state_dict()[k].numpy(), v.numpy())


# ------------------------------------------------------------------ modes, grads, apply
def test_train_and_eval_propagate():
    net = lenet()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.classifier.train()
    assert net.classifier.fc1.training and not net.features[0].training and not net.training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_requires_grad_and_zero_grad():
    m = Affine()
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    m(mc.ones(3)).sum().backward()
    assert m.w.grad is not None
    m.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(m.w.grad.numpy(), np.zeros(3))
    m.zero_grad()
    assert m.w.grad is None and m.b.grad is None


def test_frozen_parameters_get_no_gradient():
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    net[0].requires_grad_(False)
    net(mc.ones(2, 3)).sum().backward()
    assert net[0].weight.grad is None and net[1].weight.grad is not None


def test_apply_visits_children_first_and_returns_self():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ------------------------------------------------------------------ devices and dtypes
def test_to_dtype_keeps_parameter_identity():
    net = lenet()
    params = list(net.parameters())
    net(mc.randn(2, 1, 28, 28)).sum().backward()
    assert net.double() is net
    assert list(net.parameters()) == params
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net.features[1].running_mean.dtype == np.float64
    assert net.features[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    net.to(dtype=mc.float32)
    assert all(p.dtype == np.float32 for p in params)
    with pytest.raises(TypeError, match="floating point"):
        net.to(mc.int64)


def test_to_device_moves_everything_in_place(device):
    net = lenet()
    params = list(net.parameters())
    assert net.to(device) is net
    assert list(net.parameters()) == params
    assert all(t.device == device for t in net.state_dict().values())
    out = net(mc.randn(2, 1, 28, 28, device=device))
    assert out.device == device and out.shape == (2, 10)
    net.cpu()
    assert all(t.device == "cpu" for t in net.state_dict().values())


# ------------------------------------------------------------------ hooks and calls
def test_forward_hooks_fire_can_replace_output_and_are_removable():
    m = Affine()
    calls = []
    handle = m.register_forward_hook(lambda mod, args, out: calls.append((mod, args[0].shape, out.shape)))
    m(mc.ones(3))
    assert calls == [(m, (3,), (3,))]
    handle.remove()
    m(mc.ones(3))
    assert len(calls) == 1
    with m.register_forward_hook(lambda mod, args, out: out * 10):
        assert m(mc.ones(3)).numpy().tolist() == [10, 10, 10]
    assert m(mc.ones(3)).numpy().tolist() == [1, 1, 1]


def test_forward_pre_hook_can_replace_the_input():
    m = Affine()
    handle = m.register_forward_pre_hook(lambda mod, args: args[0] * 2)
    assert m(mc.ones(3)).numpy().tolist() == [2, 2, 2]
    handle.remove()
    assert m(mc.ones(3)).numpy().tolist() == [1, 1, 1]


# ------------------------------------------------------------------ repr
LENET_REPR = """LeNet(
  (features): Sequential(
    (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
    (1): BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (2): ReLU()
    (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    (4): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
    (5): ReLU()
    (6): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  )
  (classifier): Sequential(
    (flatten): Flatten(start_dim=1, end_dim=-1)
    (fc1): Linear(in_features=400, out_features=120, bias=True)
    (act): ReLU()
    (fc2): Linear(in_features=120, out_features=10, bias=True)
  )
)"""


def test_repr_is_nested_like_pytorch():
    assert repr(lenet()) == LENET_REPR
    assert repr(Affine()) == "Affine()"

    class Multi(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Multi()) == "Multi(\n  a=1\n  b=2\n)"
    torch = pytest.importorskip("torch")
    tnet = lenet(torch.nn)
    tnet.features[1] = torch.nn.Identity()  # torch >= 2.x adds a bias= field to BatchNorm's repr
    net = lenet()
    net.features[1] = nn.Identity()
    assert repr(net) == repr(tnet)


# ------------------------------------------------------------------ containers
def test_sequential_indexing_slicing_and_editing():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    net = nn.Sequential(*layers)
    assert len(net) == 3 and list(net) == layers
    assert net[0] is layers[0] and net[-1] is layers[2]
    head = net[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]  # names kept
    assert head[0] is layers[1]
    with pytest.raises(IndexError, match="out of range"):
        net[3]
    net.append(nn.Sigmoid())
    assert list(net._modules) == ["0", "1", "2", "3"]
    del net[1]
    assert list(net._modules) == ["0", "1", "2"] and net[1] is layers[2]
    net[0] = nn.Identity()
    assert isinstance(net[0], nn.Identity)
    out = nn.Sequential(*layers)(mc.ones(4, 2))
    assert out.shape == (4, 1)


def test_sequential_from_ordered_dict():
    net = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert list(net.state_dict()) == ["conv.weight", "conv.bias"]
    assert net.conv is net[0]


def test_module_list_registers_its_modules():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    tower = Tower()
    assert list(tower.state_dict())[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert len(list(tower.parameters())) == 6
    assert tower(mc.ones(1, 4)).shape == (1, 4)
    sub = tower.blocks[1:]
    assert isinstance(sub, nn.ModuleList) and list(sub._modules) == ["0", "1"]
    tower.blocks.insert(0, nn.ReLU())
    assert isinstance(tower.blocks[0], nn.ReLU) and len(tower.blocks) == 4
    tower.blocks += [nn.Tanh()]
    assert list(tower.blocks._modules) == ["0", "1", "2", "3", "4"]


def test_module_dict():
    heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
    heads["extra"] = nn.ReLU()
    assert list(heads) == ["cls", "box", "extra"] and "box" in heads and len(heads) == 3
    assert list(heads.state_dict()) == ["cls.weight", "cls.bias", "box.weight", "box.bias"]
    assert isinstance(heads.pop("extra"), nn.ReLU) and list(heads.keys()) == ["cls", "box"]
    del heads["box"]
    assert [k for k, _ in heads.items()] == ["cls"]


def test_deepcopy_gives_an_independent_module():
    net = lenet()
    clone = copy.deepcopy(net)
    assert list(clone.state_dict()) == LENET_KEYS
    with mc.no_grad():
        clone.features[0].weight.data[...] = 0
    assert not np.all(net.features[0].weight.numpy() == 0)


def test_an_optimizer_built_before_to_keeps_working():
    optim = pytest.importorskip("minicnn.optim")
    net = nn.Linear(3, 1)
    opt = optim.SGD(net.parameters(), lr=0.1)
    net.double()
    before = net.weight.numpy().copy()
    net(mc.ones(2, 3, dtype=mc.float64)).sum().backward()
    opt.step()
    assert net.weight.dtype == np.float64
    np.testing.assert_allclose(net.weight.numpy(), before - 0.1 * 2)
