"""Shared fixtures: the ``device`` parameter, the GPU-only run and hypothesis settings.

Every test that takes ``device`` runs on ``cpu`` and, where CuPy sees a GPU,
again on ``cuda``; without a GPU the cuda case is reported as skipped.  Tests
marked ``gpu`` need a GPU and are skipped (with the reason) without one.

``pytest --device cuda`` (or ``MINICNN_TEST_DEVICE=cuda``) runs the cuda case
only: the cpu cases of device-parametrized tests are deselected, tests that do
not take ``device`` run as usual, and the run stops at once with an error when
there is no usable GPU, so that a GPU run can never pass by skipping
everything.  ``--device cpu`` runs the cpu cases only and deselects the
``gpu`` tests.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import minicnn as mc

settings.register_profile(
    "default",
    deadline=None,
    max_examples=int(os.environ.get("MINICNN_HYPOTHESIS_EXAMPLES", "20")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

_CUDA_REASON = mc.cuda.unavailable_reason()
_DEVICE_CHOICES = ("all", "cpu", "cuda")


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        choices=_DEVICE_CHOICES,
        default=os.environ.get("MINICNN_TEST_DEVICE", "all"),
        help="run the device-parametrized tests on this device only; 'cuda' fails at once without a GPU "
        "(default: all = cpu, and cuda where a GPU is available; env MINICNN_TEST_DEVICE)",
    )


def pytest_configure(config):
    chosen = config.getoption("--device")
    if chosen not in _DEVICE_CHOICES:  # from the environment variable
        raise pytest.UsageError(f"MINICNN_TEST_DEVICE={chosen!r}: expected one of {', '.join(_DEVICE_CHOICES)}")
    if chosen == "cuda" and _CUDA_REASON is not None:
        raise pytest.UsageError(f"--device cuda was asked for, but there is no usable GPU here: {_CUDA_REASON}")


def pytest_collection_modifyitems(config, items):
    """``--device cpu|cuda``: deselect the other device's cases; skip ``gpu`` tests without a GPU."""
    chosen = config.getoption("--device")
    keep, drop = [], []
    for item in items:
        param = getattr(item, "callspec", None) and item.callspec.params.get("device")
        if chosen != "all" and param is not None and param != chosen:
            drop.append(item)
        elif chosen == "cpu" and item.get_closest_marker("gpu"):
            drop.append(item)
        else:
            if _CUDA_REASON is not None and item.get_closest_marker("gpu"):
                item.add_marker(pytest.mark.skip(reason=f"no GPU: {_CUDA_REASON}"))
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(
    params=[
        "cpu",
        pytest.param("cuda", marks=pytest.mark.skipif(_CUDA_REASON is not None, reason=f"no GPU: {_CUDA_REASON}")),
    ]
)
def device(request):
    """The device a test runs on: 'cpu', and 'cuda' where a GPU is available."""
    return request.param


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    mc.manual_seed(0)
    np.random.seed(0)
    yield
