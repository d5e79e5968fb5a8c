"""Timing on a shared, noisy machine: interleaved rounds, medians, ratios from the same round.

A slow episode of the machine (another process, a throttled VM) hits whatever
runs at that moment.  So the things being compared run in turns, round after
round (A, B, A, B, ...), with a sleep between them, and every comparison is
the median of the per-round ratios.  The sleep must outlast the threads that
spin after a call: OpenBLAS's keep polling for new work for 2^28 cycles
(its default THREAD_TIMEOUT, about 0.1 s here) and steal a core from whatever
runs next.  With a 0.05 s pause PyTorch's LeNet-5 inference right after
minicnn's took 55-65 ms instead of 10-20 in one round out of two; with
0.15 s, never (``PAUSE``).

GPU work is asynchronous: a call returns once its kernels are queued, not when
they have run.  Every reading of the clock is therefore preceded by a call of
the function's ``sync`` (``minicnn.cuda.synchronize``, ``torch.cuda.synchronize``;
nothing on the CPU), so that a timing starts on an idle device and covers all
the work it queued::

    sync(); start = clock(); func() x calls; sync(); stop = clock()

``seconds`` is the only place that reads the clock.
"""
from __future__ import annotations

import statistics
import time

# the clock every timing reads (a module attribute so that tests can replace it)
clock = time.perf_counter


def no_sync():
    """The ``sync`` of CPU work: nothing is queued, so there is nothing to wait for."""


def seconds(func, calls=1, sync=no_sync):
    """Wall time of ``calls`` calls of ``func``, per call; ``sync()`` runs before each clock read."""
    sync()
    start = clock()
    for _ in range(calls):
        func()
    sync()
    return (clock() - start) / calls


def calls_for(func, target=0.1, sync=no_sync):
    """How many calls make one timing last about ``target`` seconds: tiny steps are noisy,
    and the first call after the pause wakes the threads up (0.1 s, not 0.02: LeNet-5's
    4-10 ms steps then take 10-25 calls per timing, and the wake-up is shared by all)."""
    once = seconds(func, sync=sync)
    return max(1, min(50, int(target / max(once, 1e-6))))


def _per_name(value, names, default):
    """``value`` as a dict name -> value: a dict is completed with ``default``, anything else is shared."""
    if isinstance(value, dict):
        return {name: value.get(name, default) for name in names}
    return dict.fromkeys(names, default if value is None else value)


PAUSE = 0.15  # seconds between two timed calls: longer than OpenBLAS's spinning threads


def interleaved(funcs, rounds, warmup=2, pause=PAUSE, sync=None):
    """Time every function of ``funcs`` (a dict name -> callable) once per round, in turns.

    ``rounds`` is a number, or a dict name -> number for functions that take
    part in fewer rounds (the first ones: a slow CPU beside a GPU; names left
    out take part in all); the run lasts the largest.  ``sync`` is a callable for all, or a dict name ->
    callable (missing names: ``no_sync``).  Each function first runs
    ``warmup`` times untimed (JIT compilation, CuPy's kernel cache, cuDNN's
    algorithm search).  Returns ``{name: [seconds per round]}``.
    """
    rounds = _per_name(rounds, funcs, max(rounds.values()) if isinstance(rounds, dict) else rounds)
    syncs = _per_name(sync, funcs, no_sync)
    for name, func in funcs.items():
        if rounds[name] > 0:
            for _ in range(warmup):
                func()
    calls = {name: calls_for(func, sync=syncs[name]) for name, func in funcs.items() if rounds[name] > 0}
    times = {name: [] for name in funcs}
    for i in range(max(rounds.values(), default=0)):
        for name, func in funcs.items():
            if i < rounds[name]:
                times[name].append(seconds(func, calls[name], syncs[name]))
                time.sleep(pause)
    return times


def median(values):
    return statistics.median(values)


def median_ratio(numerator, denominator):
    """The median over rounds of numerator[i] / denominator[i] (rounds both took part in)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))
