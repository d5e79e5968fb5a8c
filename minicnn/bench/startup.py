"""JIT start-up: what the first training step costs when Numba must compile or load its cache.

Each measurement is a fresh Python process that imports minicnn, then times its first LeNet-5 training step (in
which every kernel the step needs compiles or loads from the on-disk cache)
and a later, warm step.  It runs twice with the same ``NUMBA_CACHE_DIR``:

* cold: the cache directory is new and empty, so every kernel compiles;
* warm: the cache was filled by the cold run, so kernels only load.

"extra" is first step - warm step: the one-off cost a user pays per process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


# the fresh process: time the import, then hand over to ``child``
_CHILD = (
    "import time; start = time.perf_counter(); import minicnn; imported = time.perf_counter() - start; "
    "from minicnn.bench.startup import child; child(imported)"
)


def child(imported, batch=64):
    """Run in the fresh process: print import, first-step and warm-step times as JSON."""
    from .timing import seconds
    from .training import _minicnn_step

    step, _, _ = _minicnn_step("lenet5", batch, train=True)
    first = seconds(step)
    warm = min(seconds(step) for _ in range(5))
    print(json.dumps({"import_s": imported, "first_step_s": first, "warm_step_s": warm}))


def run_startup(log=print):
    """Cold and warm start-up, each in a new process; returns a list of two rows."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="minicnn-numba-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty cache)", "warm (cache filled)"):
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-c", _CHILD], env=env,
                                    capture_output=True, text=True, check=True)
            row = json.loads(result.stdout.strip().splitlines()[-1])
            row.update(start=label, process_s=time.perf_counter() - start,
                       extra_s=row["first_step_s"] - row["warm_step_s"])
            log(f"start-up {label:<20} import {row['import_s']:.2f} s  first step {row['first_step_s']:.2f} s  "
                f"warm step {1e3 * row['warm_step_s']:.1f} ms  extra {row['extra_s']:.2f} s  "
                f"whole process {row['process_s']:.2f} s")
            rows.append(row)
    return rows

