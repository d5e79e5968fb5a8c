"""The kernel and training suites' rows and tables, on the CPU.

The GPU suites' structure is checked here without a GPU: the "GPU" arrays
stay NumPy arrays and the "cupy" implementation is the reference (or missing,
or failing), which is all the row-building code can tell apart.
"""
import json
import types
import warnings

import numpy as np
import pytest

from minicnn import kernels
from minicnn.bench import kernels as bench_kernels
from minicnn.bench import report, training
from minicnn.bench.models import NETWORKS

TINY_CONV = [("tiny conv", (2, 1, 6, 6), (3, 3), (1, 1), (1, 1))]
TINY_POOL = [("tiny pool", (2, 2, 4, 4), (2, 2), (2, 2), (0, 0))]
TINY_BN = [("tiny bn", (2, 3, 4, 4))]
TINY_OPTIMIZER = [("tiny weight", (4, 3, 3, 3))]
KERNELS = ["im2col", "col2im", "im2strips", "max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
           "batch_norm_statistics", "batch_norm_affine", "batch_norm_backward", "relu_forward", "relu_backward",
           "sgd_update", "adam_update"]


@pytest.fixture
def tiny_cases(monkeypatch):
    monkeypatch.setattr(bench_kernels, "CONV_CASES", TINY_CONV)
    monkeypatch.setattr(bench_kernels, "POOL_CASES", TINY_POOL)
    monkeypatch.setattr(bench_kernels, "BN_CASES", TINY_BN)
    monkeypatch.setattr(bench_kernels, "OPTIMIZER_CASES", TINY_OPTIMIZER)
    monkeypatch.setattr("minicnn.bench.timing.time.sleep", lambda seconds: None)


def fake_gpu(monkeypatch, cupy=None):
    """Run the GPU suite on host arrays; ``cupy(name)`` gives the fake cupy implementation (None: missing)."""
    monkeypatch.setattr(bench_kernels, "_to_gpu", lambda args: args)

    def available(name):
        return [i for i in kernels.available(name) if i != "cupy"] + ([] if cupy is None else ["cupy"])

    def implementation(name, which):
        return cupy(name) if which == "cupy" else kernels.implementation(name, which)

    monkeypatch.setattr(bench_kernels, "kernels", types.SimpleNamespace(available=available,
                                                                         implementation=implementation))


def markdown(rows, device="cuda"):
    machine = {"cpu": "test cpu", "cores": 2, "threads": 2, "python": "3", "numpy": "2", "blas": "b",
               "numba": None, "torch": None, "gpu": {"name": "Fake GPU", "cupy": "14"}}
    return report.markdown({"machine": machine, "device": device, "kernels_setting": "auto", "rounds": 1,
                            "cpu_rounds": 1, **rows})


def test_cpu_suite_rows_have_reference_and_no_cupy(tiny_cases):
    rows = bench_kernels.run_kernels(1, log=lambda line: None)
    # im2col and col2im twice: chunk by chunk into a reused out, then whole-batch
    assert [r["kernel"] for r in rows] == KERNELS[:2] + KERNELS
    assert [r["case"] for r in rows[:4]] == ["tiny conv, 1 chunk of 2"] * 2 + ["tiny conv, whole batch"] * 2
    assert [r["chunks"] for r in rows[:4]] == ["1 chunk of 2"] * 2 + ["whole batch"] * 2
    for r in rows:
        assert r["reference_ms"] > 0 and "cupy_ms" not in r
        if "numba" in kernels.available(r["kernel"]):
            assert r["numba_speedup"] > 0
    table = markdown({"kernels": rows}, device="cpu")
    assert "| im2col | tiny conv, 1 chunk of 2 |" in table and "| col2im | tiny conv, whole batch |" in table
    assert '"whole batch" is one call' in table


@pytest.mark.parametrize("name", ["im2col", "col2im"])
@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_conv_kernels_are_timed_chunk_by_chunk_into_reused_buffers(monkeypatch, name, impl):
    """The chunked call splits the batch as ops/conv.py does and passes every chunk an ``out``."""
    if impl not in kernels.available(name):
        pytest.skip(f"no {impl} {name}")
    monkeypatch.setattr(kernels.workspace, "_block", 4 * 9 * 16 * 4)  # 4 samples' columns per block
    x = np.random.default_rng(0).standard_normal((10, 1, 4, 4), dtype=np.float32)
    geometry = ((3, 3), (1, 1), (1, 1), (1, 1))
    cols = kernels.implementation("im2col", "reference")(x, *geometry)
    args = (x, *geometry) if name == "im2col" else (cols, x.shape, *geometry)
    seen = []

    def kernel(*call_args):
        seen.append((call_args[0].shape[0], call_args[-1]))
        return kernels.implementation(name, impl)(*call_args)

    call, described = bench_kernels._conv_call(name, kernel, args)
    call()
    call()
    chunks = kernels.batch_chunks(10, 9 * 16 * 4, x)
    assert len(chunks) > 1 and described == f"{len(chunks)} chunks of 2-3"
    assert [n for n, _ in seen] == [c.stop - c.start for c in chunks] * 2
    outs = [out for _, out in seen]
    assert all(out is not None for out in outs)
    if name == "im2col":  # the same scratch memory every time
        assert len({out.__array_interface__["data"][0] for out in outs}) == 1
    else:  # each chunk's slice of one result, from one chunk's columns (kept warm, as the product leaves them)
        assert all(out.base is outs[0].base for out in outs)
        for (n, out) in seen:
            expected = kernels.implementation("col2im", "reference")(cols[:n], (n, *x.shape[1:]), *geometry)
            np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_gpu_suite_rows_without_a_cupy_implementation(tiny_cases, monkeypatch):
    fake_gpu(monkeypatch, cupy=None)
    lines = []
    rows = bench_kernels.run_kernels(2, log=lines.append, device="cuda")
    assert [r["kernel"] for r in rows] == KERNELS and len(lines) == len(rows)
    for r in rows:
        assert set(r) >= {"kernel", "case", "cupy_ms", "reference_gpu_ms", "cpu_ms", "cpu_impl",
                          "cupy_speedup", "gpu_impl", "gpu_vs_cpu"}
        assert r["cupy_ms"] is None and r["cupy_speedup"] is None
        assert r["reference_gpu_ms"] > 0 and r["cpu_ms"] > 0
        assert r["gpu_impl"] == "reference" and r["gpu_vs_cpu"] > 0
        assert r["cpu_impl"] == ("numba" if "numba" in kernels.available(r["kernel"]) else "reference")
    json.dumps(rows)  # None and floats only: the JSON output takes the rows as they are
    table = markdown({"kernels": rows})
    assert "| cupy ms | reference on GPU ms |" in table
    assert "| im2col | tiny conv | — |" in table


def test_gpu_suite_rows_with_a_cupy_implementation(tiny_cases, monkeypatch):
    fake_gpu(monkeypatch, cupy=lambda name: kernels.implementation(name, "reference"))
    rows = bench_kernels.run_kernels(2, log=lambda line: None, device="cuda")
    for r in rows:
        assert r["cupy_ms"] > 0 and r["cupy_speedup"] > 0 and r["gpu_impl"] == "cupy"
        assert not any(key.endswith("_error") for key in r)
    assert "—" not in markdown({"kernels": rows}).split("|---|")[-1]


def test_a_failing_cupy_kernel_is_reported_and_the_suite_goes_on(tiny_cases, monkeypatch):
    def broken(name):
        def call(*args):
            raise RuntimeError(f"{name} is broken")

        return call

    fake_gpu(monkeypatch, cupy=broken)
    lines = []
    rows = bench_kernels.run_kernels(1, log=lines.append, device="cuda")
    assert len(rows) == len(KERNELS)
    assert rows[0]["cupy_error"] == "RuntimeError: im2col is broken" and rows[0]["cupy_ms"] is None
    assert rows[0]["gpu_impl"] == "reference" and rows[0]["reference_gpu_ms"] > 0
    assert "cupy failed: RuntimeError: im2col is broken" in lines[0]
    assert "cupy failed: RuntimeError: im2col is broken" in markdown({"kernels": rows})


def test_a_cupy_kernel_that_fell_back_to_the_reference_is_not_timed_as_cupy(tiny_cases, monkeypatch):
    class FallingBack:
        """A lazy kernel (kernels/lazy.py) whose first call fails to compile and swaps in the reference."""

        def __init__(self, name):
            self.name, self.compiled = name, None

        @property
        def reference(self):
            return kernels.implementation(self.name, "reference")

        def __call__(self, *args):
            if self.compiled is None:
                warnings.warn(f"minicnn: the CUDA kernel {self.name!r} failed to compile (NVRTC); using the "
                              "reference implementation instead", UserWarning)
                self.compiled = self.reference
            return self.compiled(*args)

    fake_gpu(monkeypatch, cupy=FallingBack)
    rows = bench_kernels.run_kernels(1, log=lambda line: None, device="cuda")
    assert all(r["cupy_ms"] is None and r["gpu_impl"] == "reference" for r in rows)
    assert rows[0]["cupy_error"].startswith("fell back to the reference (minicnn: the CUDA kernel 'im2col' failed")


@pytest.fixture
def host_as_gpu(monkeypatch):
    """The training suite's 'cuda' side built on the CPU, with a recording sync."""
    synced = []
    minicnn_step, torch_step = training._minicnn_step, training._torch_step
    monkeypatch.setattr(training, "_minicnn_step",
                        lambda name, batch, train, device="cpu": minicnn_step(name, batch, train, "cpu"))
    monkeypatch.setattr(training, "_torch_step",
                        lambda name, batch, train, device="cpu": torch_step(name, batch, train, "cpu"))
    monkeypatch.setattr(training, "_syncs", lambda device: {"minicnn": lambda: synced.append("minicnn"),
                                                            "torch": lambda: synced.append("torch")})
    monkeypatch.setattr("minicnn.bench.timing.time.sleep", lambda seconds: None)
    return synced


def test_gpu_training_row_has_the_cpu_speedup_and_syncs(host_as_gpu):
    row = training.bench_network("lenet5", 4, True, rounds=2, with_torch=False, device="cuda", cpu_rounds=1)
    assert row["device"] == "cuda" and row["mode"] == "train step"
    assert row["minicnn_ms"] > 0 and row["minicnn_cpu_ms"] > 0 and row["gpu_speedup"] > 0
    assert "torch_ms" not in row and "ratio" not in row
    assert host_as_gpu.count("minicnn") >= 2 * (1 + 2)  # calls_for and two rounds, two clock reads each
    table = markdown({"training": [row]})
    assert "| minicnn GPU ms |" in table and "| lenet5 | 4 | train step |" in table
    assert "—" in table  # no PyTorch column figures


def test_gpu_training_row_without_the_cpu_side(host_as_gpu):
    row = training.bench_network("lenet5", 4, False, rounds=1, with_torch=False, device="cuda", cpu_rounds=0)
    assert "minicnn_cpu_ms" not in row and "gpu_speedup" not in row


@pytest.fixture
def torch_settings():
    """PyTorch's backend flags, restored after the test (``configure_torch_gpu`` changes them)."""
    torch = pytest.importorskip("torch")
    flags = (torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    yield torch
    torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags


def test_gpu_training_row_with_torch(host_as_gpu, torch_settings):
    torch = torch_settings
    row = training.bench_network("lenet5", 4, True, rounds=1, with_torch=True, device="cuda", cpu_rounds=1)
    assert row["torch_ms"] > 0 and row["ratio"] > 0 and row["torch_parameters"] == row["parameters"]
    assert "torch" in host_as_gpu
    assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32
    table = markdown({"training": [row], "torch_gpu_settings": {"torch.backends.cudnn.allow_tf32": False}})
    assert "PyTorch on the GPU: `torch.backends.cudnn.allow_tf32 = False`" in table


def test_cpu_training_rows_are_unchanged(monkeypatch):
    monkeypatch.setattr("minicnn.bench.timing.time.sleep", lambda seconds: None)
    monkeypatch.setitem(NETWORKS, "lenet5", (NETWORKS["lenet5"][0], (1, 28, 28), (2,)))
    rows = training.run_training(["lenet5"], 1, with_torch=False, log=lambda line: None)
    assert [(r["batch"], r["mode"], r["device"]) for r in rows] == [(2, "train step", "cpu"), (2, "inference", "cpu")]
    assert all("gpu_speedup" not in r for r in rows)
    assert "| minicnn ms | minicnn img/s |" in markdown({"training": rows}, device="cpu")


def test_gpu_plot_has_three_series(tmp_path, host_as_gpu):
    pytest.importorskip("matplotlib")
    row = training.bench_network("lenet5", 4, True, rounds=1, with_torch=False, device="cuda", cpu_rounds=1)
    machine = {"threads": 2, "gpu": {"name": "Fake GPU"}}
    assert report.plot({"machine": machine, "device": "cuda", "training": [row]}, tmp_path / "gpu.png")
    assert (tmp_path / "gpu.png").stat().st_size > 0
