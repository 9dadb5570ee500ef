"""Stratified bootstrap confidence intervals, performance profiles and sample-efficiency curves.

The functions mirror rliable's ``rliable/library.py`` (names, arguments, shapes): users port by
changing an import. Differences:

- ``random_state`` (an int or a ``numpy.random.Generator``) is honoured: the same seed gives the
  same intervals. rliable ignores it and draws from NumPy's global generator.
- The built-in metrics of ``turborl.eval.metrics`` (alone or in a list) are bootstrapped in C++
  with the GIL released, on ``num_threads`` threads (results do not depend on the number).
  Any other function still works, on a slower NumPy path.
- Bad input (empty, ragged or non-finite scores, ...) raises ValueError or TypeError.

Intervals are computed from the bootstrap replicates exactly as arch's ``IIDBootstrap.conf_int``
(which rliable calls) computes them: percentile, basic, bc and bca.
"""

from __future__ import annotations

import os
import zlib
from statistics import NormalDist
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from turborl import _checks, _core
from turborl.eval import metrics as metrics_module

__all__ = ["create_performance_profile", "get_interval_estimates", "sample_efficiency_curves"]

_METHODS = ("percentile", "basic", "bc", "bca")
_NORMAL = NormalDist()


# ---- argument checks ---------------------------------------------------------------------------

def _scores(name: str, value: Any, ndims: tuple[int, ...] = (2, 3)) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be a numeric array of shape (runs, tasks[, frames]); "
                         f"it could not be read as one ({error})") from None
    if array.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions (runs, tasks[, frames]), "
                         f"got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite scores at {np.argwhere(~np.isfinite(array))[0].tolist()}")
    return array


def _bootstrap_options(method: Any, reps: Any, confidence_interval_size: Any, random_state: Any,
                       num_threads: Any) -> tuple[int, float, int, int]:
    """The checked options every public function shares: (reps, size, seed, threads)."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    return (_checks.int_at_least("reps", reps, 1), _confidence(confidence_interval_size), _seed(random_state),
            _threads(num_threads))


def _confidence(value: Any) -> float:
    size = float(value)
    if not 0.0 < size < 1.0:
        raise ValueError(f"confidence_interval_size must be strictly between 0 and 1, got {value}")
    return size


def _seed(random_state: Any) -> int:
    if random_state is None:
        return _checks.random_seed()
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    return _checks.seed("random_state", random_state)


def _key_seed(seed: int, key: Any) -> int:
    """Each key gets its own stream, the same whatever other keys the dict holds."""
    return (seed ^ (zlib.crc32(str(key).encode()) * 0x9E3779B97F4A7C15)) % (1 << 64)


def _threads(num_threads: Any) -> int:
    if num_threads is None:
        return max(1, min(os.cpu_count() or 1, 256))
    return _checks.num_threads(num_threads)


# ---- intervals from replicates, as arch computes them --------------------------------------------

def _interval(base: np.ndarray, replicates: np.ndarray, method: str, size: float,
              jackknife: Callable[[], np.ndarray] | None) -> np.ndarray:
    """(2, params) interval from replicates [params, reps] (reordered in place)."""
    alpha = (1.0 - size) / 2
    num_params = replicates.shape[0]
    percentiles = np.array([[alpha, 1.0 - alpha]] * num_params)
    if method in ("bc", "bca"):
        below = (replicates < base[:, None]).mean(axis=1)
        if below.min() <= 0.0 or below.max() >= 1.0:
            raise RuntimeError("The empirical probability used in the bias correction is 0 or 1, so the bias "
                               "cannot be corrected (an extremum statistic?); use method='percentile'")
        bias = np.array([_NORMAL.inv_cdf(p) for p in below])[:, None]
        acceleration = _acceleration(jackknife()) if method == "bca" else 0.0
        z = np.array([[_NORMAL.inv_cdf(p) for p in row] for row in percentiles])
        corrected = bias + (bias + z) / (1.0 - acceleration * (bias + z))
        percentiles = np.vectorize(_NORMAL.cdf)(corrected) * 100
    else:
        percentiles = percentiles * 100
    lower, upper = _row_percentiles(replicates, percentiles).T
    if method == "basic":
        lower, upper = 2.0 * base - upper, 2.0 * base - lower
    return np.vstack((lower, upper))


def _row_percentiles(rows: np.ndarray, percentiles: np.ndarray) -> np.ndarray:
    """``np.percentile(rows[i], percentiles[i])`` for every row i (method "linear"), bit for bit:
    the same order statistics, from one in-place partition of each contiguous row (``rows`` is
    reordered), and NumPy's virtual index and interpolation (numpy/lib/_function_base_impl.py:
    _quantile, _get_indexes, _lerp). np.percentile itself moves the axis, partitions strided lanes
    and copies, several times slower here (fresh pages are expensive on a virtual machine)."""
    num_rows, n = rows.shape
    virtual = (n - 1) * np.true_divide(np.asarray(percentiles, dtype=np.float64), 100)
    previous = np.floor(virtual)
    following = previous + 1
    # Beyond either end NumPy takes the extreme value (previous = next, so gamma does not matter).
    previous[virtual >= n - 1] = following[virtual >= n - 1] = n - 1
    previous[virtual < 0] = following[virtual < 0] = 0
    gamma = virtual - previous
    rows.partition(np.unique(np.concatenate([previous.ravel(), following.ravel(), [n - 1]])).astype(np.intp),
                   axis=1)
    ordered = rows
    row_index = np.arange(num_rows)[:, None]
    a, b = ordered[row_index, previous.astype(np.intp)], ordered[row_index, following.astype(np.intp)]
    difference = b - a
    result = np.where(gamma >= 0.5, b - difference * (1 - gamma), a + difference * gamma)
    result[np.isnan(ordered[:, -1])] = np.nan  # NumPy's answer for a row holding NaN
    return result


def _acceleration(jackknife_estimates: np.ndarray) -> np.ndarray:
    """BCa acceleration from leave-one-run-out estimates (arch's _get_acceleration)."""
    u = jackknife_estimates.mean() - jackknife_estimates
    numerator = np.sum(u**3, 0)
    denominator = 6 * (np.sum(u**2, 0) ** 1.5)
    if np.any(denominator < np.abs(numerator) * np.finfo(np.float64).eps):
        raise RuntimeError(f"the jackknife variance ({denominator}) is too small to use BCa")
    return np.atleast_1d(numerator / denominator)[:, None]


# ---- replicates ----------------------------------------------------------------------------------

def _builtin_specs(func: Any) -> list[tuple[int, float, list[float]]] | None:
    """The C++ metric list for `func` (a built-in metric or a list of them), else None."""
    functions = func if isinstance(func, (list, tuple)) else [func]
    specs = []
    for function in functions:
        kind = metrics_module.builtin_kind(function)
        if kind is None:
            return None
        specs.append((kind[0], kind[1], []))
    return specs


def _point(func: Any, *scores: np.ndarray) -> np.ndarray:
    if isinstance(func, (list, tuple)):
        return np.array([f(*scores) for f in func])
    return func(*scores)


def _as_params(value: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def _numpy_replicates(func: Any, scores: np.ndarray, reps: int, seed: int, task_bootstrap: bool) -> np.ndarray:
    """Any function: resample with NumPy (seeded), call `func` on each replicate; [params, reps]."""
    rng = np.random.default_rng(seed)
    runs, tasks = scores.shape[:2]
    strata = np.ogrid[tuple(slice(x) for x in (0, *scores.shape[1:]))][1:]
    out = None
    for rep in range(reps):
        run_indices = rng.integers(0, runs, scores.shape)
        task_indices = rng.integers(0, tasks, strata[0].shape) if task_bootstrap else strata[0]
        value = _as_params(_point(func, scores[(run_indices, task_indices, *strata[1:])]))
        if out is None:
            out = np.empty((value.size, reps))
        out[:, rep] = value
    return out


def _jackknife(func: Any, *scores: np.ndarray) -> Callable[[], np.ndarray]:
    """Leave-one-run-out estimates, as arch's _loo_jackknife (runs are the first axis)."""
    def estimates() -> np.ndarray:
        runs = scores[0].shape[0]
        if any(s.shape[0] != runs for s in scores):
            raise ValueError("BCa cannot be applied to score arrays with different numbers of runs")
        return np.array([_as_params(_point(func, *(s[np.r_[0:i, i + 1:runs]] for s in scores)))
                         for i in range(runs)])
    return estimates


def _estimate(func: Any, scores: Any, method: str, task_bootstrap: bool, reps: int, size: float, seed: int,
              threads: int, name: str) -> tuple[Any, np.ndarray]:
    if isinstance(scores, tuple):  # independent samples (rliable's convention), e.g. improvement's (x, y)
        arrays = [_scores(f"{name}[{i}]", s, ndims=(2,)) for i, s in enumerate(scores)]
        if len({a.shape[1] for a in arrays}) != 1:
            raise ValueError(f"{name}: every array must have the same number of tasks, got "
                             f"{[a.shape[1] for a in arrays]}")
        point = _point(func, *arrays)
        if getattr(func, "_turborl_pair_metric", False) and len(arrays) == 2:
            replicates = _core.improvement_replicates(np.ascontiguousarray(arrays[0]), np.ascontiguousarray(arrays[1]),
                                                      reps, seed, threads)[None, :]
        else:
            replicates = _independent_numpy_replicates(func, arrays, reps, seed)
        return point, _interval(_as_params(point), replicates, method, size, _jackknife(func, *arrays))
    array = _scores(name, scores)
    point = _point(func, array)
    specs = _builtin_specs(func) if array.ndim == 2 else None
    if specs is not None:
        replicates = _core.bootstrap_replicates(np.ascontiguousarray(array[:, :, None]), specs, task_bootstrap, reps,
                                                seed, threads)
    else:
        replicates = _numpy_replicates(func, array, reps, seed, task_bootstrap)
    return point, _interval(_as_params(point), replicates, method, size, _jackknife(func, array))


def _independent_numpy_replicates(func: Any, arrays: list[np.ndarray], reps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = None
    for rep in range(reps):
        resampled = []
        for array in arrays:
            strata = np.ogrid[tuple(slice(x) for x in (0, *array.shape[1:]))][1:]
            resampled.append(array[(rng.integers(0, array.shape[0], array.shape), *strata)])
        value = _as_params(_point(func, *resampled))
        if out is None:
            out = np.empty((value.size, reps))
        out[:, rep] = value
    return out


# ---- public API --------------------------------------------------------------------------------

def get_interval_estimates(
    score_dict: Mapping[str, Any],
    func: Any,
    method: str = "percentile",
    task_bootstrap: bool = False,
    reps: int = 50000,
    confidence_interval_size: float = 0.95,
    random_state: Any = None,
    *,
    num_threads: int | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Point estimates and stratified-bootstrap confidence intervals, as rliable's function.

    Args:
        score_dict: name -> scores ``(num_runs, num_tasks)`` (or ``(num_runs, num_tasks,
            frames)``), or -> a tuple of such arrays for metrics of several independent samples
            (``probability_of_improvement``), each resampled independently.
        func: a metric of ``turborl.eval.metrics``, a list of them, or any function of the
            scores returning a number or a 1-D array.
        method: ``"percentile"``, ``"basic"``, ``"bc"`` or ``"bca"`` (arch's definitions).
        task_bootstrap: resample tasks too, not only runs within each task.
        reps: bootstrap replicates.
        confidence_interval_size: coverage of the intervals, in (0, 1).
        random_state: int seed or numpy Generator; None draws a seed.
        num_threads: threads for the built-in metrics (default: all cores).

    Returns:
        ``(point_estimates, interval_estimates)``: dicts keyed like ``score_dict``; intervals
        have shape ``(2, num_params)`` (lower row, upper row).
    """
    if not isinstance(score_dict, Mapping) or not score_dict:
        raise ValueError("score_dict must be a non-empty mapping of names to score arrays")
    if not callable(func) and not (isinstance(func, (list, tuple)) and func and all(map(callable, func))):
        raise TypeError(f"func must be a function or a list of functions, got {func!r}")
    reps, size, seed, threads = _bootstrap_options(method, reps, confidence_interval_size, random_state, num_threads)
    points, intervals = {}, {}
    for key, scores in score_dict.items():
        points[key], intervals[key] = _estimate(func, scores, method, bool(task_bootstrap), reps, size,
                                                _key_seed(seed, key), threads, f"score_dict[{key!r}]")
    return points, intervals


def create_performance_profile(
    score_dict: Mapping[str, Any],
    tau_list: Sequence[float],
    use_score_distribution: bool = True,
    custom_profile_func: Callable[..., np.ndarray] | None = None,
    method: str = "percentile",
    task_bootstrap: bool = False,
    reps: int = 2000,
    confidence_interval_size: float = 0.95,
    random_state: Any = None,
    *,
    num_threads: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Performance profiles (score distributions) with bootstrap intervals, as rliable's function.

    ``use_score_distribution=True``: the fraction of all runs' scores above each tau;
    otherwise the fraction of tasks whose mean score is above each tau. ``tau_list`` must be
    increasing. Returns ``(profiles, profile_cis)``: each profile has one value per tau and its
    intervals shape ``(2, len(tau_list))``.
    """
    taus = np.asarray(tau_list, dtype=np.float64)
    if taus.ndim != 1 or taus.size == 0 or not np.all(np.isfinite(taus)):
        raise ValueError(f"tau_list must be a non-empty 1-D list of finite thresholds, got {tau_list!r}")
    if np.any(np.diff(taus) <= 0):
        index = int(np.argmax(np.diff(taus) <= 0))
        raise ValueError(f"tau_list must be increasing; tau_list[{index + 1}] = {taus[index + 1]} follows "
                         f"tau_list[{index}] = {taus[index]}")
    reps, size, seed, threads = _bootstrap_options(method, reps, confidence_interval_size, random_state, num_threads)

    if custom_profile_func is not None:
        def profile(scores):
            return custom_profile_func(scores, taus)
    else:
        # rliable's [np.mean(values > tau) for tau in tau_list], by one sort: np.mean of booleans
        # is their integer count divided by their number, so the two agree bit for bit.
        def profile(scores):
            values = np.sort((scores if use_score_distribution else np.mean(scores, axis=0)).ravel())
            return (values.size - np.searchsorted(values, taus, side="right")) / values.size

    profiles, intervals = {}, {}
    for key, scores in score_dict.items():
        array = _scores(f"score_dict[{key!r}]", scores, ndims=(2,))
        profiles[key] = profile(array)
        if custom_profile_func is None:
            kind = metrics_module.SCORE_DISTRIBUTION if use_score_distribution else \
                metrics_module.AVERAGE_SCORE_DISTRIBUTION
            replicates = _core.bootstrap_replicates(np.ascontiguousarray(array[:, :, None]),
                                                    [(kind, 1.0, taus.tolist())], bool(task_bootstrap), reps,
                                                    _key_seed(seed, key), threads)
        else:
            replicates = _numpy_replicates(profile, array, reps, _key_seed(seed, key), bool(task_bootstrap))
        intervals[key] = _interval(profiles[key], replicates, method, size, _jackknife(profile, array))
    return profiles, intervals


def sample_efficiency_curves(
    score_dict: Mapping[str, Any],
    metric: Callable[[np.ndarray], float] = metrics_module.aggregate_iqm,
    method: str = "percentile",
    task_bootstrap: bool = False,
    reps: int = 50000,
    confidence_interval_size: float = 0.95,
    random_state: Any = None,
    *,
    num_threads: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A metric at every evaluation point, with intervals: rliable's sample-efficiency curves.

    ``score_dict``: name -> scores ``(num_runs, num_tasks, num_frames)``. Equivalent to
    ``get_interval_estimates(score_dict, lambda x: np.array([metric(x[..., f]) for f in
    range(x.shape[-1])]), ...)``, the pattern of rliable's examples, with runs resampled
    independently per task and frame. Returns ``(curves, cis)``: each curve has one value per
    frame and its intervals shape ``(2, num_frames)``.
    """
    reps, size, seed, threads = _bootstrap_options(method, reps, confidence_interval_size, random_state, num_threads)

    def per_frame(scores):
        return np.array([metric(scores[..., frame]) for frame in range(scores.shape[-1])])

    kind = metrics_module.builtin_kind(metric)
    curves, intervals = {}, {}
    for key, scores in score_dict.items():
        array = _scores(f"score_dict[{key!r}]", scores, ndims=(3,))
        curves[key] = per_frame(array)
        if kind is not None:
            replicates = _core.bootstrap_replicates(np.ascontiguousarray(array), [(kind[0], kind[1], [])],
                                                    bool(task_bootstrap), reps, _key_seed(seed, key), threads)
        else:
            replicates = _numpy_replicates(per_frame, array, reps, _key_seed(seed, key), bool(task_bootstrap))
        intervals[key] = _interval(curves[key], replicates, method, size, _jackknife(per_frame, array))
    return curves, intervals
