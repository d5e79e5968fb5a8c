"""Timing on a shared, noisy machine: interleaved rounds, medians, ratios from the same round.

A slow episode of the machine (another process, a throttled VM) hits whatever
runs at that moment.  So the things being compared run in turns, round after
round (A, B, A, B, ...), with a short sleep between them (BLAS and OpenMP
threads spin for a while after a call and would steal the next one's cores),
and every comparison is the median of the per-round ratios.
"""
from __future__ import annotations

import statistics
import time


def seconds(func, calls=1):
    """Wall time of ``calls`` calls of ``func``, per call."""
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls


def calls_for(func, target=0.02):
    """How many calls make one timing last about ``target`` seconds (tiny steps are noisy)."""
    once = seconds(func)
    return max(1, min(50, int(target / max(once, 1e-6))))


def interleaved(funcs, rounds, warmup=2, pause=0.05):
    """Time every function of ``funcs`` (a dict name -> callable) once per round, in turns.

    Returns ``{name: [seconds per round]}``.
    """
    for func in funcs.values():
        for _ in range(warmup):
            func()
    calls = {name: calls_for(func) for name, func in funcs.items()}
    times = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            times[name].append(seconds(func, calls[name]))
            time.sleep(pause)
    return times


def median(values):
    return statistics.median(values)


def median_ratio(numerator, denominator):
    """The median over rounds of numerator[i] / denominator[i]."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))
