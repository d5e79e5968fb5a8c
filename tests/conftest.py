"""Shared fixtures: the ``device`` parameter and hypothesis settings.

Every test that takes ``device`` runs on ``cpu`` and, where CuPy sees a GPU,
again on ``cuda``; without a GPU the cuda case is reported as skipped.
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
