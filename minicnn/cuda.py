"""``minicnn.cuda``: is there a GPU here?  (PyTorch's ``torch.cuda`` spellings.)"""
from . import backend
from .backend import OutOfMemoryError  # noqa: F401  (torch.cuda.OutOfMemoryError's spelling)


def is_available():
    """True when CuPy is installed and sees at least one CUDA GPU."""
    return backend.cuda_is_available()


def device_count():
    """Number of CUDA GPUs CuPy sees (0 without CuPy)."""
    return backend.cuda_device_count()


def unavailable_reason():
    """Why ``cuda`` cannot be used here (None when it can)."""
    return backend.cuda_unavailable_reason()


def manual_seed(seed):
    """Seed every device's generator (as ``minicnn.manual_seed``)."""
    backend.manual_seed(seed)


def synchronize():
    """Wait for the current GPU to finish its queued work (no-op without a GPU)."""
    if backend.cuda_is_available():
        backend.array_module(backend.Device("cuda")).cuda.Device().synchronize()
