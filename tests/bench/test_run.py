"""``minicnn bench`` / ``python -m minicnn.bench``: --device, the no-GPU exit, outputs; GPU runs where a GPU is."""
import argparse
import json
import subprocess
import sys

import pytest

import minicnn as mc
from minicnn import bench
from minicnn.bench import kernels as bench_kernels
from minicnn.bench import machine
from minicnn.bench.models import NETWORKS
from tests.bench.test_suites import KERNELS
from minicnn.cli import main

from .test_suites import TINY_BN, TINY_CONV, TINY_OPTIMIZER, TINY_POOL, fake_gpu

_CUDA_REASON = mc.cuda.unavailable_reason()
needs_gpu = pytest.mark.skipif(_CUDA_REASON is not None, reason=f"no GPU: {_CUDA_REASON}")


def parse(*argv):
    return bench.add_arguments(argparse.ArgumentParser()).parse_args(list(argv))


def test_device_defaults_to_cpu_and_accepts_cuda():
    args = parse()
    assert args.device == "cpu" and args.cpu_rounds is None
    args = parse("--device", "cuda", "--rounds", "5", "--cpu-rounds", "2")
    assert (args.device, args.rounds, args.cpu_rounds) == ("cuda", 5, 2)


def test_unknown_device_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse("--device", "gpu")
    assert exit_info.value.code == 2
    assert "invalid choice: 'gpu'" in capsys.readouterr().err


@pytest.mark.parametrize("reason", ["CuPy is not installed (ModuleNotFoundError: No module named 'cupy')",
                                    "CuPy is installed but sees no CUDA device"])
def test_cuda_without_a_gpu_exits_2_with_the_reason(monkeypatch, capsys, reason):
    monkeypatch.setattr(mc.cuda, "unavailable_reason", lambda: reason)
    assert main(["bench", "--device", "cuda"]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"minicnn bench: --device cuda: {reason}"
    assert "Traceback" not in out + err


def test_module_entry_point_exits_2_without_a_gpu():
    if _CUDA_REASON is None:
        pytest.skip("a GPU is here: the no-GPU exit cannot be seen")
    done = subprocess.run([sys.executable, "-m", "minicnn.bench", "--device", "cuda", "--suite", "kernels"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"minicnn bench: --device cuda: {_CUDA_REASON}"
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_startup_suite_is_refused_on_cuda(monkeypatch, capsys):
    monkeypatch.setattr(mc.cuda, "unavailable_reason", lambda: None)
    assert main(["bench", "--device", "cuda", "--suite", "startup"]) == 2
    assert "startup suite" in capsys.readouterr().err


def test_negative_cpu_rounds_are_refused(capsys):
    assert main(["bench", "--cpu-rounds", "-1"]) == 2
    assert "--cpu-rounds" in capsys.readouterr().err


def test_gpu_description_without_a_gpu_has_no_name(monkeypatch):
    if _CUDA_REASON is None:
        pytest.skip("a GPU is here")
    monkeypatch.setitem(sys.modules, "torch", None)  # (importing PyTorch would only cost time here)
    description = machine.gpu_description()
    assert description["name"] is None and description["count"] == 0


def test_cuda_kernel_run_writes_json_markdown_with_the_gpu_name(monkeypatch, tmp_path, capsys):
    """The whole ``--device cuda`` path with a fake GPU (host arrays, no cupy implementation)."""
    monkeypatch.setattr(mc.cuda, "unavailable_reason", lambda: None)
    monkeypatch.setitem(sys.modules, "torch", None)  # --no-torch; and its version is not needed
    monkeypatch.setattr(machine, "gpu_description", lambda index=0: {"name": "Fake GPU", "index": 0, "count": 1,
                                                                     "cupy": "14.0"})
    monkeypatch.setattr(bench_kernels, "CONV_CASES", TINY_CONV)
    monkeypatch.setattr(bench_kernels, "POOL_CASES", TINY_POOL)
    monkeypatch.setattr(bench_kernels, "BN_CASES", TINY_BN)
    monkeypatch.setattr(bench_kernels, "OPTIMIZER_CASES", TINY_OPTIMIZER)
    monkeypatch.setattr("minicnn.bench.timing.time.sleep", lambda seconds: None)
    fake_gpu(monkeypatch, cupy=None)
    out_json, out_md = tmp_path / "gpu.json", tmp_path / "gpu.md"
    assert main(["bench", "--device", "cuda", "--suite", "kernels", "--rounds", "1", "--no-torch",
                 "--json", str(out_json), "--markdown", str(out_md)]) == 0
    results = json.loads(out_json.read_text())
    assert results["device"] == "cuda" and results["machine"]["gpu"]["name"] == "Fake GPU"
    assert results["cpu_rounds"] == 1 and len(results["kernels"]) == len(KERNELS)
    assert results["kernels"][0]["cupy_ms"] is None
    table = out_md.read_text()
    assert "GPU: Fake GPU (CuPy 14.0)" in table and "| im2col | tiny conv | — |" in table
    assert "im2col" in capsys.readouterr().out


# ------------------------------------------------------------------ on a GPU
@pytest.fixture
def tiny_networks(monkeypatch):
    monkeypatch.setitem(NETWORKS, "lenet5", (NETWORKS["lenet5"][0], (1, 28, 28), (8,)))
    monkeypatch.setattr("minicnn.bench.timing.time.sleep", lambda seconds: None)


@pytest.mark.usefixtures("tiny_networks")
@pytest.mark.gpu
@needs_gpu
def test_tiny_gpu_benchmark_on_cuda(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_kernels, "CONV_CASES", TINY_CONV)
    monkeypatch.setattr(bench_kernels, "POOL_CASES", TINY_POOL)
    monkeypatch.setattr(bench_kernels, "BN_CASES", TINY_BN)
    monkeypatch.setattr(bench_kernels, "OPTIMIZER_CASES", TINY_OPTIMIZER)
    out = tmp_path / "gpu.json"
    assert main(["bench", "--device", "cuda", "--models", "lenet5", "--rounds", "1", "--cpu-rounds", "1",
                 "--json", str(out), "--markdown", str(tmp_path / "gpu.md")]) == 0
    results = json.loads(out.read_text())
    gpu = results["machine"]["gpu"]
    assert isinstance(gpu["name"], str) and gpu["name"] and gpu["count"] >= 1
    for row in results["kernels"]:
        assert row["reference_gpu_ms"] > 0 and row["cpu_ms"] > 0, row
        assert not any(key.endswith("_error") for key in row), row
    assert [(r["batch"], r["mode"]) for r in results["training"]] == [(8, "train step"), (8, "inference")]
    for row in results["training"]:
        assert row["device"] == "cuda" and row["minicnn_ms"] > 0 and row["gpu_speedup"] > 0
        assert ("ratio" in row) == ("torch_note" not in results)


@pytest.mark.gpu
@needs_gpu
def test_cuda_device_name_is_the_drivers():
    from minicnn import backend

    name = backend.cuda_device_name(0)
    assert isinstance(name, str) and name.strip() == name and name
