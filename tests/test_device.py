"""Device semantics: errors that name devices, moves that keep the graph, RNG per
device, loaders, checkpoints and out-of-memory errors.

Most tests run without a GPU: a fake CuPy (``_FakeCupy``) stands in for the
real one to check the messages about missing GPUs, and a NumPy subclass that
the patched backend places on ``cuda:0`` (``fake_gpu``) checks that mixing
devices is refused.  Tests marked ``gpu`` need a real GPU and are skipped
without one (``pytest --device cuda`` fails instead of skipping them).
"""
import collections
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import backend, data, nn, optim
from minicnn.autograd.function import Function


# ------------------------------------------------------------ asking for a GPU
def _fake_cupy(count=None, error=None):
    """A stand-in for the ``cupy`` module whose runtime reports ``count`` GPUs
    (or raises ``error``, as CuPy does on a machine without a driver)."""

    def get_device_count():
        if error is not None:
            raise error
        return count

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime), ndarray=type(None))


def test_a_gpu_index_beyond_the_count_names_the_count(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", _fake_cupy(count=2))
    with pytest.raises(mc.DeviceError, match=r"cannot use device 'cuda:7': CuPy sees 2 GPUs here \(cuda:0 to cuda:1\)"):
        mc.zeros(3, device="cuda:7")
    with pytest.raises(mc.DeviceError, match="sees 2 GPUs"):
        nn.Linear(2, 2).to("cuda:2")
    assert backend.as_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(backend, "_cupy", _fake_cupy(count=1))
    with pytest.raises(mc.DeviceError, match=r"CuPy sees 1 GPU here \(cuda:0\)"):
        mc.ones(2).to("cuda:1")


def test_without_cupy_the_error_says_cupy_is_missing(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_import_error", "ModuleNotFoundError: No module named 'cupy'")
    with pytest.raises(mc.DeviceError, match="cannot use device 'cuda:0': CuPy is not installed") as info:
        mc.tensor([1.0]).cuda()
    assert "No module named 'cupy'" in str(info.value) and "pip install" in str(info.value)
    assert mc.cuda.device_count() == 0 and not mc.cuda.is_available()


@pytest.mark.parametrize(
    "fake, detail",
    [
        (_fake_cupy(error=RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")), "cudaErrorNoDevice"),
        (_fake_cupy(count=0), ""),
    ],
    ids=["no-driver", "zero-devices"],
)
def test_with_cupy_but_no_gpu_the_error_says_so(monkeypatch, fake, detail):
    monkeypatch.setattr(backend, "_cupy", fake)
    with pytest.raises(mc.DeviceError, match="CuPy is installed but sees no CUDA device") as info:
        mc.zeros(2, device="cuda")
    assert detail in str(info.value) and "not installed" not in str(info.value)
    assert mc.cuda.device_count() == 0 and not mc.cuda.is_available()


# ------------------------------------------------------------ mixing devices
class _FakeGpuArray(np.ndarray):
    """A NumPy array that the patched backend says lives on cuda:0."""


@pytest.fixture
def fake_gpu(monkeypatch):
    """``fake_gpu(array)``: a tensor that claims to live on cuda:0 (the data stays in NumPy)."""
    real_device_of, real_is_gpu = backend.device_of, backend.is_gpu_array
    monkeypatch.setattr(
        backend, "device_of", lambda a: backend.Device("cuda:0") if isinstance(a, _FakeGpuArray) else real_device_of(a)
    )
    monkeypatch.setattr(backend, "is_gpu_array", lambda a: isinstance(a, _FakeGpuArray) or real_is_gpu(a))
    return lambda array: mc.Tensor._wrap(np.asarray(array, dtype=np.float32).view(_FakeGpuArray), None, 0)


def test_mixing_devices_in_an_op_names_both(fake_gpu):
    a, b = mc.ones(2, 3), fake_gpu(np.ones((3, 4)))
    with pytest.raises(mc.DeviceError, match=r"MatMul: .*\(2, 3\) on cpu, \(3, 4\) on cuda:0"):
        a @ b
    with pytest.raises(mc.DeviceError, match="on cpu.*on cuda:0"):
        mc.cat([mc.ones(3), fake_gpu(np.ones(3))])


def test_mixing_devices_outside_the_graph_names_both(fake_gpu):
    a, b = mc.ones(3), fake_gpu(np.ones(3))
    with pytest.raises(mc.DeviceError, match=r"-=: .*\(3,\) on cpu and \(3,\) on cuda:0"):
        with mc.no_grad():
            a -= b
    with pytest.raises(mc.DeviceError, match="comparison lt: .*on cpu .*on cuda:0"):
        a < b
    with pytest.raises(mc.DeviceError, match="where: condition .* is on cuda:0 but the values are on cpu"):
        mc.where(fake_gpu(np.ones(3)) > 0, a, a)


def test_mixing_devices_in_losses_and_indexing(fake_gpu):
    logits, target = mc.zeros(4, 3), mc.tensor([0, 1, 2, 0])
    with pytest.raises(mc.DeviceError, match="cross_entropy: input is on cpu but weight is on cuda:0"):
        F.cross_entropy(logits, target, weight=fake_gpu(np.ones(3)))
    with pytest.raises(mc.DeviceError, match="index: the index array is on cuda:0 but the indexed tensor"):
        mc.ones(5)[np.asarray([0, 2]).view(_FakeGpuArray)]


def test_plain_arrays_and_numpy_integers_follow_the_tensor():
    t = mc.zeros(4)
    with mc.no_grad():
        t += np.arange(4, dtype=np.float32)
    t[np.int64(1)] = 10.0
    t[[2, 3]] = [20.0, 30.0]
    assert t.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert (t > np.float32(5)).tolist() == [False, True, True, True]


# ------------------------------------------------------------ moves keep the graph
def test_moving_away_and_back_is_differentiable(device):
    """The gradient of a device move is a move back: x.grad lives where x does."""
    x = mc.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    y = (x.cpu() * mc.tensor([1.0, 2.0, 3.0])).sum() + (x.to(device) ** 2).sum()
    y.backward()
    assert x.grad.device == device
    np.testing.assert_allclose(x.grad.numpy(), [1.0 + 2.0, 2.0 - 4.0, 3.0 + 6.0])


@pytest.mark.gpu
def test_cpu_to_cuda_and_back_keeps_the_graph():
    x = mc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    on_gpu = x.cuda()
    assert on_gpu.device == "cuda:0" and on_gpu.grad_fn is not None
    loss = (on_gpu * on_gpu).sum().cpu() + x.to("cuda:0").mean().to("cpu")
    loss.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 0.25, rtol=1e-6)
    net = nn.Linear(2, 2).cuda()
    assert all(p.device == "cuda:0" for p in net.parameters())
    assert net(x.cuda()).device == "cuda:0"


# ------------------------------------------------------------ randomness per device
def test_each_device_has_its_own_reproducible_stream(device):
    mc.manual_seed(5)
    first = mc.randn(6, device=device).numpy(), mc.randperm(7, device=device).numpy()
    mc.manual_seed(5)
    again = mc.randn(6, device=device).numpy(), mc.randperm(7, device=device).numpy()
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert sorted(first[1].tolist()) == list(range(7))
    mc.manual_seed(5)
    cpu_alone = mc.rand(4).numpy()
    mc.manual_seed(5)
    if device != "cpu":
        mc.rand(100, device=device)  # draws on another device leave the CPU stream alone
    np.testing.assert_array_equal(mc.rand(4).numpy(), cpu_alone)


@pytest.mark.gpu
def test_dropout_on_the_gpu_uses_the_gpu_generator():
    x = mc.ones(1000, device="cuda")
    mc.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    mc.manual_seed(3)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert 300 < (a == 0).sum() < 700


# ------------------------------------------------------------ loaders
Pair = collections.namedtuple("Pair", "images labels")


def _samples(n=10):
    return [(np.full((1, 2, 2), i, dtype=np.float64), i) for i in range(n)]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_puts_batches_on_the_device(device, num_workers):
    loader = data.DataLoader(_samples(), batch_size=4, device=device, num_workers=num_workers)
    batches = list(loader)
    assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 2, 2), (4, 1, 2, 2), (2, 1, 2, 2)]
    for x, y in batches:
        assert x.device == device and y.device == device
        assert x.dtype == mc.float32 and y.dtype == mc.int64
    np.testing.assert_array_equal(batches[2][1].numpy(), [8, 9])


def test_loader_moves_what_a_custom_collate_returns(device):
    def collate(samples):
        images = mc.tensor(np.stack([s[0] for s in samples]))
        return Pair(images, {"labels": mc.tensor([s[1] for s in samples])})

    batch = next(iter(data.DataLoader(_samples(), batch_size=3, collate_fn=collate, device=device)))
    assert isinstance(batch, Pair)
    assert batch.images.device == device and batch.labels["labels"].device == device


# ------------------------------------------------------------ checkpoints
def _trained(device):
    mc.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3)).to(device)
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x, y = mc.randn(4, 1, 4, 4).to(device), mc.tensor([0, 1, 2, 0], device=device)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return net, opt, x


def test_checkpoint_arrays_come_to_the_host_and_load_onto_the_device_asked(tmp_path, device):
    net, opt, x = _trained(device)
    mc.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.pth")
    with np.load(tmp_path / "ckpt.pth", allow_pickle=False) as npz:  # plain NumPy members
        assert all(isinstance(npz[name], np.ndarray) for name in npz.files if name.startswith("arrays/"))
    for where in ("cpu", device):
        ckpt = mc.load(tmp_path / "ckpt.pth", map_location=where)
        assert all(t.device == where for t in ckpt["model"].values())
        twin = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3)).to(where)
        twin.load_state_dict(ckpt["model"])
        twin_opt = optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
        twin_opt.load_state_dict(ckpt["optimizer"])
        buffers = [s["momentum_buffer"] for s in twin_opt.state.values()]
        assert buffers and all(backend.device_of(b) == where for b in buffers)
        net.eval()
        twin.eval()
        np.testing.assert_allclose(twin(x.to(where)).numpy(), net(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_a_checkpoint_saved_on_cuda_loads_on_cpu_and_back_onto_cuda(tmp_path):
    net, opt, x = _trained("cuda")
    mc.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "gpu.pth")
    on_cpu = mc.load(tmp_path / "gpu.pth")  # default: the CPU
    assert all(t.device == "cpu" for t in on_cpu["model"].values())
    mc.save(on_cpu, tmp_path / "cpu.pth")
    back = mc.load(tmp_path / "cpu.pth", map_location="cuda")
    for key, value in net.state_dict().items():
        assert back["model"][key].device == "cuda:0"
        np.testing.assert_array_equal(back["model"][key].numpy(), value.numpy())


# ------------------------------------------------------------ out of memory
_PETABYTES = 2**24  # a (1, 1, 2^24, 2^24) image: its output plane alone is 2^48 float32 = 1 PiB


def _huge_image(xp=np):
    """An image of 2^48 pixels that takes no memory (every pixel is one stored zero)."""
    return mc.Tensor._wrap(xp.broadcast_to(xp.zeros((), dtype=np.float32), (1, 1, _PETABYTES, _PETABYTES)), None, 0)


def test_out_of_memory_in_forward_names_the_op_and_size_and_changes_nothing():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad()
    F.cross_entropy(net(mc.randn(4, 1, 4, 4)), mc.tensor([0, 1, 2, 0])).backward()
    opt.step()  # a real step first, so that there is optimizer state to keep
    params = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    state = [s["momentum_buffer"].copy() for s in opt.state.values()]

    opt.zero_grad()
    with pytest.raises(mc.OutOfMemoryError) as info:
        net(_huge_image())
    message = str(info.value)
    assert "ConvNd.forward on cpu ran out of host memory" in message
    assert "2.00 PiB" in message and f"(1, 1, {_PETABYTES}, {_PETABYTES}) float32" in message
    assert info.value.requested_bytes >= 2**50 and info.value.op == "ConvNd.forward"
    assert isinstance(info.value, MemoryError) and isinstance(info.value.__cause__, MemoryError)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), params[key])
    for before, after in zip(state, (s["momentum_buffer"] for s in opt.state.values())):
        np.testing.assert_array_equal(after, before)


class _GreedyBackward(Function):
    """Identity whose backward asks for an exabyte."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return np.empty((2**60,), dtype=np.uint8)


def test_out_of_memory_in_backward_names_the_op():
    x = mc.ones(3, requires_grad=True)
    loss = (_GreedyBackward.apply(x) * 2).sum()
    with pytest.raises(mc.OutOfMemoryError, match="_GreedyBackward.backward on cpu ran out of host memory "
                                                  r"allocating 1.00 EiB \(1,152,921,504,606,846,976 bytes\)"):
        loss.backward()
    assert x.grad is None


def test_batch_norm_keeps_its_running_statistics_when_memory_runs_out(monkeypatch):
    from minicnn import kernels

    real_get = kernels.get

    def failing_get(name, array):
        if name == "batch_norm_affine":
            def fail(*args):
                raise MemoryError("Unable to allocate 8.00 GiB")
            return fail
        return real_get(name, array)

    bn = nn.BatchNorm2d(3)
    monkeypatch.setattr(kernels, "get", failing_get)
    with pytest.raises(mc.OutOfMemoryError, match="BatchNorm.forward .* an unknown size .*8.00 GiB"):
        bn(mc.randn(2, 3, 4, 4))
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3


@pytest.mark.gpu
def test_out_of_memory_on_the_gpu_names_the_op_and_size():
    import cupy

    net = nn.Conv2d(1, 2, 3).cuda()
    before = net.weight.numpy().copy()
    with pytest.raises(mc.OutOfMemoryError) as info:
        net(_huge_image(cupy))
    assert "ConvNd.forward on cuda:0 ran out of GPU memory" in str(info.value)
    assert info.value.requested_bytes is not None and info.value.requested_bytes >= 2**50
    np.testing.assert_array_equal(net.weight.numpy(), before)


# ------------------------------------------------------------ the same training on both devices
@pytest.mark.gpu
def test_lenet_trains_to_the_same_loss_on_cpu_and_cuda():
    from minicnn.models import lenet5

    mc.manual_seed(0)
    cpu_net = lenet5()
    gpu_net = lenet5().cuda()
    gpu_net.load_state_dict(cpu_net.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    losses = {}
    for net, device in ((cpu_net, "cpu"), (gpu_net, "cuda")):
        opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        xs, ys = mc.tensor(x, device=device), mc.tensor(y, device=device)
        history = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(net(xs), ys)
            loss.backward()
            opt.step()
            history.append(loss.item())
        losses[device] = history
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4, atol=1e-5)
    assert losses["cpu"][-1] < losses["cpu"][0]
    for (name, p), q in zip(cpu_net.named_parameters(), gpu_net.parameters()):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)


# ------------------------------------------------------------ the GPU-only test run
def test_a_gpu_only_run_fails_without_a_gpu(tmp_path):
    if mc.cuda.is_available():
        pytest.skip("a GPU is available here: the GPU-only run would not fail")
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_probe(device):\n    pass\n")
    (tmp_path / "conftest.py").write_text(pathlib.Path(__file__).with_name("conftest.py").read_text())
    for args, env in ((["--device", "cuda"], {}), ([], {"MINICNN_TEST_DEVICE": "cuda"})):
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe), *args],
            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **env},
        )
        assert run.returncode != 0 and run.returncode != 5, run.stdout + run.stderr
        assert "no usable GPU here" in run.stdout + run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe), "--device", "cpu"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert run.returncode == 0 and "1 passed" in run.stdout and "skipped" not in run.stdout, run.stdout
