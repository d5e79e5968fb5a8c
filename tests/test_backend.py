"""Devices, CuPy being optional, and the dtype helpers."""
import numpy as np
import pytest

import minicnn as mc
from minicnn import backend


def test_device_strings():
    assert str(mc.device("cpu")) == "cpu"
    assert mc.device("cuda") == "cuda:0"
    assert mc.device("cuda:2").index == 2
    assert mc.device("CUDA:1") == mc.device("cuda", 1)
    assert mc.device(mc.device("cuda:3")) == "cuda:3"
    assert repr(mc.device("cpu")) == "device('cpu')"
    assert {mc.device("cpu"), mc.device("cpu")} == {mc.device("cpu")}


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cpu:1", "tpu:0"])
def test_bad_device_strings(spec):
    with pytest.raises(mc.DeviceError, match="unknown device"):
        mc.device(spec)


def test_get_array_module_and_device_of_on_cpu():
    a = np.zeros(3)
    assert backend.get_array_module(a) is np
    assert backend.device_of(a) == "cpu"
    assert mc.tensor(a).device == "cpu"


def test_cuda_requests_fail_with_the_reason_when_unavailable():
    if mc.cuda.is_available():
        pytest.skip("a GPU is available here")
    reason = mc.cuda.unavailable_reason()
    assert "CuPy" in reason
    assert mc.cuda.device_count() == 0
    with pytest.raises(mc.DeviceError, match="cannot use device 'cuda:0': CuPy"):
        mc.zeros(2, device="cuda")
    with pytest.raises(mc.DeviceError, match="CuPy"):
        mc.ones(2).cuda()


def test_missing_cupy_message_names_the_extra(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_import_error", "ModuleNotFoundError: No module named 'cupy'")
    reason = backend.cuda_unavailable_reason()
    assert 'pip install "minicnn[gpu]"' in reason
    assert "cupy-cuda12x" in reason and "cupy-cuda13x" in reason
    assert not mc.cuda.is_available()


def test_cuda_tensor_round_trip(device):
    x = mc.tensor([1.0, 2.0], device=device)
    assert x.device == device
    assert x.cpu().device == "cpu"
    assert x.to(device).numpy().tolist() == [1.0, 2.0]


def test_as_dtype():
    assert backend.as_dtype(float) == mc.float32
    assert backend.as_dtype(int) == mc.int64
    assert backend.as_dtype("float64") == mc.float64
    assert backend.as_dtype(None) is None


def test_manual_seed_validates():
    with pytest.raises(ValueError, match="non-negative integer"):
        mc.manual_seed(-1)
