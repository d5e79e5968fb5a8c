"""Shared by the scripts in benchmarks/: the machine report lives in the package
(``minicnn.bench.machine``, also used by ``minicnn bench``), so it is written once."""
from minicnn.bench.machine import blas_description, cpu_model, machine_description  # noqa: F401
