"""mc.summary: the table of layers, output shapes and parameter counts."""
import numpy as np

import minicnn as mc
from minicnn import nn


def small_lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 10),
    )


def rows(text):
    """The layer rows of a summary table as lists of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Layer")) + 2
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("="))
    return [line.split("  ") for line in lines[start:end]]


def test_course_notes_example_10_filters_of_3x3x3_have_280_parameters():
    net = nn.Sequential(nn.Conv2d(3, 10, 3), nn.ReLU())
    text = mc.summary(net, (3, 32, 32), print_fn=None)
    assert "0 (Conv2d)" in text and "(None, 10, 30, 30)" in text
    assert text.splitlines()[4].rstrip().endswith("280")
    assert "Total params: 280" in text and "Trainable params: 280" in text


def test_lenet_table(capsys):
    net = small_lenet()
    text = mc.summary(net, (1, 28, 28))
    assert capsys.readouterr().out.strip() == text.strip()  # printed and returned
    table = [[c.strip() for c in row if c.strip()] for row in rows(text)]
    assert table == [
        ["0 (Conv2d)", "(None, 6, 24, 24)", "156"],
        ["1 (BatchNorm2d)", "(None, 6, 24, 24)", "12"],
        ["2 (ReLU)", "(None, 6, 24, 24)", "0"],
        ["3 (MaxPool2d)", "(None, 6, 12, 12)", "0"],
        ["4 (Conv2d)", "(None, 16, 8, 8)", "2,416"],
        ["5 (ReLU)", "(None, 16, 8, 8)", "0"],
        ["6 (MaxPool2d)", "(None, 16, 4, 4)", "0"],
        ["7 (Flatten)", "(None, 256)", "0"],
        ["8 (Linear)", "(None, 120)", "30,840"],
        ["9 (ReLU)", "(None, 120)", "0"],
        ["10 (Linear)", "(None, 10)", "1,210"],
    ]
    total = 156 + 12 + 2416 + 30840 + 1210
    assert total == sum(p.numel() for p in net.parameters())
    assert f"Total params: {total:,}" in text and "Non-trainable params: 0" in text
    assert text.startswith('Model: "Sequential"')


def test_frozen_layers_are_non_trainable_and_batch_size_is_shown():
    net = small_lenet()
    net[0].requires_grad_(False)
    text = mc.summary(net, (1, 28, 28), batch_size=4, print_fn=None)
    assert "(4, 6, 24, 24)" in text
    assert "Non-trainable params: 156" in text and "Trainable params: 34,478" in text


def test_summary_leaves_the_model_and_the_random_state_alone():
    net = small_lenet()
    net[1].train()
    net[8].eval()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    mc.manual_seed(7)
    mc.summary(net, (1, 28, 28), print_fn=None)
    after_summary = mc.randn(3).numpy()
    mc.manual_seed(7)
    np.testing.assert_array_equal(mc.randn(3).numpy(), after_summary)
    assert net[1].training and not net[8].training and net.training
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert all(not m._forward_hooks for m in net.modules())


def test_nested_modules_show_their_leaves_and_shared_layers_count_once():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.gate = nn.Parameter(mc.ones(1))

        def forward(self, x):
            return self.conv(x) * self.gate

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.shared = nn.Linear(8, 8)

        def forward(self, a, b):
            return self.shared(self.block(a).flatten(1)) + self.shared(b)

    text = mc.summary(Net(), [(2, 2, 2), (8,)], print_fn=None)
    table = [[c.strip() for c in row if c.strip()] for row in rows(text)]
    assert table == [
        ["block.conv (Conv2d)", "(None, 2, 2, 2)", "38"],
        ["block (Block)", "(None, 2, 2, 2)", "1"],
        ["shared (Linear)", "(None, 8)", "72"],
        ["shared (Linear)", "(None, 8)", "0"],
    ]
    assert "Total params: 111" in text
