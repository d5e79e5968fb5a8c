"""Fixtures of the model tests: building the big ImageNet models without paying for their initialisation."""
import pytest

import minicnn.nn.init as init

_INIT_FUNCTIONS = ("kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                   "normal_", "uniform_", "zeros_", "ones_", "constant_")


@pytest.fixture
def no_init(monkeypatch):
    """Make every ``nn.init`` function a no-op while the test runs.

    Parameters are then left as ``empty`` allocations (pages never touched),
    so VGG-16's 138 M parameters are "built" in milliseconds: right for tests
    of names, shapes and counts, or of models that are loaded with weights
    straight away.  The values are garbage: never train or compare outputs
    of such a model without loading weights first.
    """
    for name in _INIT_FUNCTIONS:
        monkeypatch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)
