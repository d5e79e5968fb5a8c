"""Differentiable tensor operations, one file per family.

Each op is a ``Function`` subclass (forward and backward on raw arrays, math
in the docstring) followed by the lowercase function users call.
"""
from .arithmetic import add, sub, mul, div, pow, neg, matmul, sum_to_shape
from .conversion import cast, clone, to_device
from .elementwise import abs, clamp, clip, exp, log, maximum, minimum, relu, sqrt, where
from .reduction import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from .shape import (
    cat,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
