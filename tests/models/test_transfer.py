"""Transfer-learning helpers: freeze/unfreeze, replace_head, param_groups, extract_features;
and checkpoints of zoo models (save, reload, identical outputs)."""
import numpy as np
import pytest

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import nn, models, optim


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def sgd_steps(model, params, x, y, steps=3):
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_frozen_base_stays_bit_identical_while_the_head_moves():
    model = models.lenet5(num_classes=3)
    models.freeze(model.features)
    base, head = snapshot(model.features), snapshot(model.classifier)
    x, y = mc.randn(6, 1, 32, 32), mc.tensor([0, 1, 2, 0, 1, 2])
    sgd_steps(model, model.parameters(), x, y)  # weight decay and momentum too: frozen params must not move
    assert all(np.array_equal(v, snapshot(model.features)[k]) for k, v in base.items())
    assert all(p.grad is None and not p.requires_grad for p in model.features.parameters())
    assert not any(np.array_equal(v, snapshot(model.classifier)[k]) for k, v in head.items())
    models.unfreeze(model.features)
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_batch_norm_statistics_stay_fixed_in_eval_mode():
    model = models.resnet20(num_classes=3)
    models.freeze(model)
    models.replace_head(model, 3)  # new, trainable head
    before = snapshot(model)
    model.train()
    for name, child in model.named_children():
        if name != "fc":
            child.eval()  # the frozen base: batch norm uses and keeps its running statistics
    sgd_steps(model, [p for p in model.parameters() if p.requires_grad], mc.randn(4, 3, 8, 8), mc.tensor([0, 1, 2, 0]))
    after = snapshot(model)
    assert all(np.array_equal(before[k], after[k]) for k in before if not k.startswith("fc."))
    assert not np.array_equal(before["fc.weight"], after["fc.weight"])


@pytest.mark.parametrize("name, head", [
    ("lenet5", "classifier.4"), ("resnet20", "fc"), ("resnet18", "fc"), ("alexnet", "classifier.6"),
    ("vgg11", "classifier.6"), ("googlenet", "fc"), ("sequence_cnn", "fc"),
])
def test_replace_head_swaps_the_output_layer_in_place(name, head, no_init):
    model = models.get_model(name)
    models.freeze(model)
    keys = list(model.state_dict())
    models.replace_head(model, 7)
    state = model.state_dict()
    assert list(state) == keys  # same names, same order (the Sequential is still in order)
    assert state[head + ".weight"].shape[0] == 7
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    expected = {head + ".weight", head + ".bias"}
    if name == "googlenet":
        expected |= {"aux1.fc2.weight", "aux1.fc2.bias", "aux2.fc2.weight", "aux2.fc2.bias"}
    assert trainable == expected


def test_replaced_head_runs():
    model = models.lenet5()
    models.replace_head(model, 2)
    assert model(mc.randn(3, 1, 32, 32)).shape == (3, 2)


def test_replace_head_of_a_custom_model_needs_a_path():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with pytest.raises(TypeError, match="no known classifier head for Sequential.*head="):
        models.replace_head(model, 5)
    models.replace_head(model, 5, head="3")
    assert model(mc.randn(2, 2, 2)).shape == (2, 5)
    with pytest.raises(TypeError, match="'2' of Sequential is a ReLU, expected Linear"):
        models.replace_head(model, 5, head="2")


def test_param_groups_give_the_base_a_lower_learning_rate():
    model = models.resnet20()
    models.freeze(model.conv1)
    base, head = models.param_groups(model, base_lr=1e-3, head_lr=1e-2)
    assert (base["lr"], head["lr"]) == (1e-3, 1e-2)
    assert {id(p) for p in head["params"]} == {id(model.fc.weight), id(model.fc.bias)}
    assert id(model.conv1.weight) not in {id(p) for p in base["params"]}  # frozen: left out
    assert len(base["params"]) == len(list(model.parameters())) - 3
    optimizer = optim.SGD([base, head], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, 1e-2]


def test_extract_features_runs_the_base_once_without_gradients():
    model = models.lenet5(num_classes=3)
    model.train()
    x = mc.randn(10, 1, 32, 32)
    features = models.extract_features(model.features, x, batch_size=4)
    assert features.shape == (10, 16 * 5 * 5) and not features.requires_grad and features.grad_fn is None
    model.eval()
    with mc.no_grad():
        expected = model.features(x).flatten(1).numpy()
    np.testing.assert_allclose(features.numpy(), expected, rtol=1e-6)
    model.train()
    models.extract_features(model, x)
    assert all(m.training for m in model.modules())  # modes restored


def test_extract_features_from_a_loader_keeps_the_labels():
    base = models.resnet20().eval()
    batches = [(mc.randn(3, 3, 8, 8), mc.tensor([0, 1, 2])), (mc.randn(2, 3, 8, 8), mc.tensor([3, 4]))]
    features, labels = models.extract_features(nn.Sequential(base.conv1, base.bn1, base.relu), batches)
    assert features.shape == (5, 16 * 8 * 8)
    assert labels.numpy().tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name, kwargs, shape", [
    ("lenet5", {}, (2, 1, 32, 32)),
    ("resnet20", {}, (2, 3, 16, 16)),
    ("googlenet", {"num_classes": 3}, (2, 3, 32, 32)),
    ("sequence_cnn", {}, (2, 4, 20)),
    ("upsample_autoencoder", {}, (2, 1, 16, 16)),
])
def test_checkpoint_round_trip_gives_identical_outputs(name, kwargs, shape, tmp_path):
    model = models.get_model(name, **kwargs)
    x = mc.randn(*shape)
    model(x)  # a training-mode pass: batch-norm running statistics leave their defaults
    model.eval()
    with mc.no_grad():
        expected = model(x).numpy()
    path = tmp_path / "model.pth"
    mc.save(model.state_dict(), path)
    mc.manual_seed(123)
    fresh = models.get_model(name, **kwargs).eval()
    fresh.load_state_dict(mc.load(path))
    with mc.no_grad():
        np.testing.assert_array_equal(fresh(x).numpy(), expected)
