"""Argument checks shared by turborl's Python API.

Every failed check raises TypeError (wrong kind of value) or ValueError (right kind, bad value)
with a message that names the argument, what was expected and what was received.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

UINT64_LIMIT = 1 << 64


def integer(name: str, value: Any) -> int:
    """`value` as a Python int; bools and floats are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got a bool ({value!r})")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} ({value!r})") from None


def int_at_least(name: str, value: Any, minimum: int) -> int:
    result = integer(name, value)
    if result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {result}")
    return result


def int_in_range(name: str, value: Any, low: int, high: int) -> int:
    """An integer in the closed range [low, high]."""
    result = integer(name, value)
    if not low <= result <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {result}")
    return result


MAX_THREADS = 256  # the C++ thread pool's limit (core/thread_pool.hpp)


def num_threads(value: Any) -> int:
    """A ``num_threads`` argument: an integer in [1, MAX_THREADS]."""
    return int_in_range("num_threads", value, 1, MAX_THREADS)


def seed(name: str, value: Any) -> int:
    """A seed: an integer in [0, 2**64)."""
    result = integer(name, value)
    if not 0 <= result < UINT64_LIMIT:
        raise ValueError(f"{name} must be in [0, 2**64), got {result}")
    return result


def random_seed() -> int:
    """A 64-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


def finite_array(name: str, value: Any, dtype: Any) -> np.ndarray:
    """`value` converted to a contiguous array of `dtype`, refusing non-numbers and NaN/inf."""
    try:
        array = np.asarray(value)
    except Exception as error:  # an object NumPy cannot convert
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from error
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    # np.ascontiguousarray would turn a scalar into shape (1,); keep 0-d values 0-d.
    array = np.asarray(array, dtype=dtype) if array.ndim == 0 else np.ascontiguousarray(array, dtype=dtype)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = np.flatnonzero(~np.isfinite(array.ravel()))[0]
        raise ValueError(f"{name} must be finite, got {array.ravel()[bad]} at flat index {bad}")
    return array


def finite_float(name: str, value: Any) -> float:
    """A finite real number as a Python float; bools, strings and arrays are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    result = float(value)
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    return result


def is_torch(value: Any) -> bool:
    """Whether ``value`` is a torch object (checked by module, so torch is never imported here)."""
    return type(value).__module__.split(".")[0] == "torch"


def from_torch(value: Any) -> Any:
    """A torch tensor as a NumPy array (detached; a view for CPU tensors, a copy from other
    devices); anything else unchanged. Models and networks may return tensors."""
    return value.detach().cpu().numpy() if is_torch(value) else value
