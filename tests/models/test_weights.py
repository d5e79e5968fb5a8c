"""load_weights from dicts, .npz files, minicnn checkpoints and (with PyTorch) torch state dicts and
.pth files; the convert script; and the errors for weights that do not fit."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import minicnn as mc
from minicnn import models
from minicnn.models.weights import WeightsError

from . import torchvision_reference


def arrays(model, seed=1):
    """A state dict of fresh random arrays for ``model`` (so loading visibly changes it)."""
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(v.shape).astype(v.numpy().dtype) for k, v in model.state_dict().items()}


def assert_loaded(model, state):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), np.asarray(state[key]), err_msg=key)


def test_from_a_dict_of_arrays_and_of_tensors():
    model = models.resnet20()
    state = arrays(model)
    assert models.load_weights(model, state) == ([], [])
    assert_loaded(model, state)
    other = models.resnet20()
    models.load_weights(other, model.state_dict())  # minicnn Tensors
    assert_loaded(other, state)


def test_from_npz_and_from_a_minicnn_checkpoint(tmp_path):
    model = models.lenet5()
    state = arrays(model)
    np.savez(tmp_path / "plain.npz", **state)
    models.load_weights(model, tmp_path / "plain.npz")
    assert_loaded(model, state)
    state2 = arrays(model, seed=2)
    mc.save({"state_dict": state2, "epoch": 3}, tmp_path / "ckpt.pth")  # wrapped, .pth suffix, no torch needed
    models.load_weights(model, str(tmp_path / "ckpt.pth"))
    assert_loaded(model, state2)


def test_data_parallel_prefix_is_stripped():
    model = models.lenet5()
    state = arrays(model)
    models.load_weights(model, {"module." + k: v for k, v in state.items()})
    assert_loaded(model, state)


def test_weights_of_another_architecture_fail_with_the_keys_that_do_not_match():
    model = models.resnet20()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(WeightsError) as info:
        models.load_weights(model, arrays(models.lenet5()))
    message = str(info.value)
    assert "0 of 116 model keys found" in message and "another architecture" in message
    assert "'conv1.weight'" in message and "'features.0.weight'" in message and "more" in message
    assert all(np.array_equal(v, model.state_dict()[k].numpy()) for k, v in before.items())  # unchanged


def test_shape_mismatch_names_the_key_and_both_shapes():
    with pytest.raises(WeightsError, match=r"(?s)replace_head.*fc.weight: weights \(10, 64\), model \(5, 64\)"):
        models.load_weights(models.resnet20(num_classes=5), arrays(models.resnet20()))


def test_non_strict_loads_the_common_keys_and_reports_the_rest():
    model = models.lenet5()
    state = arrays(model)
    del state["classifier.4.weight"]
    state["extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(WeightsError, match=r"missing from the weights: 'classifier.4.weight'(.|\n)*'extra.weight'"):
        models.load_weights(model, state)
    result = models.load_weights(model, state, strict=False)
    assert result.missing_keys == ["classifier.4.weight"] and result.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(model.features[0].weight.numpy(), state["features.0.weight"])


def test_unreadable_sources(tmp_path):
    with pytest.raises(WeightsError, match="no such file"):
        models.load_weights(models.lenet5(), tmp_path / "missing.npz")
    mc.save([1, 2, 3], tmp_path / "list.ckpt")
    with pytest.raises(WeightsError, match="holds a list, not a state dict"):
        models.load_weights(models.lenet5(), tmp_path / "list.ckpt")
    with pytest.raises(WeightsError, match="value of 'a' is a str"):
        models.load_weights(models.lenet5(), {"a": "text"})


class _Exploit:
    """Unpickling this would create a file: the proof that a loader unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_never_unpickled_without_torch(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    path = tmp_path / "weights.pth"
    path.write_bytes(pickle.dumps({"fc.weight": _Exploit(str(marker))}))
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now fails
    with pytest.raises(WeightsError, match="needs PyTorch.*python -m minicnn.models.convert"):
        models.load_weights(models.lenet5(), path)
    assert not marker.exists()


# ----------------------------------------------------------------------------- with PyTorch
def torch_resnet18(torch, num_classes=5):
    torch.manual_seed(0)
    return torchvision_reference.build(torch)["resnet18"](num_classes=num_classes)


def test_from_a_torch_state_dict_and_a_pth_file(tmp_path, no_init):
    torch = pytest.importorskip("torch")
    reference = torch_resnet18(torch)
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    model = models.resnet18(num_classes=5)
    models.load_weights(model, reference.state_dict())
    assert_loaded(model, state)
    torch.save({"model": reference.state_dict()}, tmp_path / "r18.pth")
    fresh = models.resnet18(num_classes=5)
    models.load_weights(fresh, tmp_path / "r18.pth")
    assert_loaded(fresh, state)


def test_a_torch_file_for_another_architecture_fails(tmp_path, no_init):
    torch = pytest.importorskip("torch")
    torch.save(torch_resnet18(torch).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(WeightsError, match="weights do not fit GoogLeNet.*another architecture"):
        models.load_weights(models.googlenet(num_classes=5), tmp_path / "r18.pth")


def test_convert_script_round_trip(tmp_path, no_init):
    torch = pytest.importorskip("torch")
    reference = torch_resnet18(torch)
    torch.save(reference.state_dict(), tmp_path / "r18.pth")
    out, plain = tmp_path / "r18.npz", tmp_path / "r18-plain.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for args in ([str(tmp_path / "r18.pth"), str(out)], [str(tmp_path / "r18.pth"), str(plain), "--plain"]):
        done = subprocess.run([sys.executable, "-m", "minicnn.models.convert", *args],
                              capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert "wrote 122 arrays" in done.stdout
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    loaded = mc.load(out)  # no torch involved from here on
    assert list(loaded) == list(state)
    with np.load(out, allow_pickle=False) as archive:  # a zip of .npy arrays numpy reads safely
        assert len([f for f in archive.files if f.startswith("arrays/")]) == 122
    with np.load(plain, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["layer1.0.conv1.weight"], state["layer1.0.conv1.weight"])
    for path in (out, plain):
        model = models.resnet18(num_classes=5)
        models.load_weights(model, path)
        assert_loaded(model, state)


def test_convert_script_reports_unreadable_input(tmp_path, capsys):
    from minicnn.models.convert import main
    assert main([str(tmp_path / "nothing.pth"), str(tmp_path / "out.npz")]) == 1
    assert "no such file" in capsys.readouterr().err
