"""Neural-network building blocks (filled by the layers issue)."""
from . import functional
from .parameter import Parameter
