"""The fused CUDA optimizer updates against the reference updates (``optim.sgd``/``optim.adam``),
emulated on the CPU and, where there is a GPU, on it."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import backend, kernels, optim  # noqa: F401 (optim registers the references)
from minicnn.kernels.cuda_emulator import compiler
from minicnn.kernels.cuda_support import LazyCudaKernel

TOLERANCE = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-14, atol=1e-15)}

_SKIP = {
    "cuda-emulated": None if compiler() else "no C++ compiler to emulate the CUDA kernels",
    "cupy": None if mc.cuda.is_available() else f"no GPU: {mc.cuda.unavailable_reason()}",
}


@pytest.fixture(params=[pytest.param(k, marks=pytest.mark.skipif(v is not None, reason=str(v))) for k, v in _SKIP.items()])
def where(request):
    """``(kernel, to_device, to_host)`` for the CUDA update under test."""
    if request.param == "cuda-emulated":
        return lambda name: LazyCudaKernel(name, "cuda_optim"), lambda a: a, lambda a: a
    gpu = backend.Device("cuda")
    return (lambda name: kernels.implementation(name, "cupy"),
            lambda a: None if a is None else backend.to_device(a, gpu), backend.to_numpy)


def _arrays(rng, shape, dtype, count):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), momentum=st.sampled_from([0.0, 0.9]),
       dampening=st.sampled_from([0.0, 0.3]), nesterov=st.booleans(), first=st.booleans(),
       lr=st.floats(1e-4, 1.0), seed=st.integers(0, 2**16))
def test_sgd_update_matches_the_reference(where, dtype, shape, momentum, dampening, nesterov, first, lr, seed):
    nesterov = nesterov and momentum > 0 and dampening == 0
    first = first and momentum > 0
    fused, to_device, to_host = where
    param, grad, buf = _arrays(np.random.default_rng(seed), shape, dtype, 3)
    buf = buf if momentum else None
    expected = [a.copy() for a in (param, buf) if a is not None]
    kernels.implementation("sgd_update", "reference")(expected[0], grad, expected[1] if buf is not None else None,
                                                      lr, momentum, dampening, nesterov, first)
    on_device = [to_device(a) for a in (param, grad, buf)]
    fused("sgd_update")(*on_device, lr, momentum, dampening, nesterov, first)
    got = [to_host(a) for a in (on_device[0], on_device[2]) if a is not None]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), amsgrad=st.booleans(),
       step=st.integers(1, 50), betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]), seed=st.integers(0, 2**16))
def test_adam_update_matches_the_reference(where, dtype, shape, amsgrad, step, betas, seed):
    fused, to_device, to_host = where
    rng = np.random.default_rng(seed)
    param, grad, m = _arrays(rng, shape, dtype, 3)
    v, vmax = (np.abs(a) for a in _arrays(rng, shape, dtype, 2))
    vmax = vmax if amsgrad else None
    args = (1e-3, *betas, 1e-8, step)
    expected = [a.copy() if a is not None else None for a in (param, m, v, vmax)]
    kernels.implementation("adam_update", "reference")(expected[0], grad, *expected[1:], *args)
    on_device = [to_device(a) for a in (param, grad, m, v, vmax)]
    fused("adam_update")(*on_device, *args)
    for got, e in zip([on_device[0], *on_device[2:]], expected):
        if e is not None:
            np.testing.assert_allclose(to_host(got), e, **TOLERANCE[dtype])


def test_an_optimizer_that_runs_out_of_memory_while_preparing_changes_nothing(monkeypatch):
    """The step allocates (state, the weight-decayed gradient) before it updates anything."""
    model = mc.nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    model(mc.randn(4, 3)).sum().backward()
    before = [p.data.copy() for p in model.parameters()]
    calls = []
    real = optim.SGD._gradient

    def failing(self, p, group):  # the second parameter's gradient does not fit
        calls.append(p)
        if len(calls) == 2:
            raise MemoryError("Unable to allocate 8 bytes")
        return real(self, p, group)

    monkeypatch.setattr(optim.SGD, "_gradient", failing)
    with pytest.raises(MemoryError):
        opt.step()
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))
    assert not any(opt.state.values()) and len(calls) == 2
    monkeypatch.undo()
    opt.step()  # and the optimizer still works afterwards
    assert all("momentum_buffer" in opt.state[p] for p in model.parameters())


def test_state_follows_a_parameter_moved_to_another_device(monkeypatch):
    """``model.to(device)`` after some steps: the optimizer's buffers follow the parameters."""
    model = mc.nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(mc.randn(4, 3)).sum().backward()
    opt.step()
    moved = []
    real_device_of = backend.device_of

    def device_of(array):  # pretend the state arrays were left on another device
        if any(array is v for s in opt.state.values() for v in s.values()) and not moved:
            return backend.Device("cuda", 3)
        return real_device_of(array)

    monkeypatch.setattr(backend, "device_of", device_of)
    monkeypatch.setattr(backend, "to_device", lambda a, d: moved.append(d) or a.copy())
    opt.step()
    assert moved and all(d == "cpu" for d in moved)
