"""Shared by the scripts in benchmarks/: the machine report lives in the package
(``minicnn.bench.machine``, also used by ``minicnn bench``), so it is written once."""
import json

from minicnn.bench.machine import blas_description, cpu_model, machine_description  # noqa: F401


def write_json(path, results, indent=2):
    """Write a script's results to ``path`` (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=indent)
