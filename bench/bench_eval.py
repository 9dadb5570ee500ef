"""Evaluation statistics: turborl side by side with rliable, adastop and a vectorised NumPy
bootstrap, in one run.

    python bench/bench_eval.py [--repeats 3] [--skip-slow]

Data: 5 algorithms x 10 runs x 26 tasks (Atari-100k-sized), fixed seed. Rows:
  - IQM intervals, 2,000 and 50,000 bootstrap replicates (percentile, all 5 algorithms)
  - performance profile: score distributions at 81 tau, 2,000 replicates
  - probability of improvement: one pair, 2,000 replicates of both sides
  - AdaStop: 2 agents, n = 10 per interim, K = 5, B = 10,000, run until it decides
Every figure is the best of ``--repeats`` runs (the peers' slow rows run once). The ratio
columns are the peer's time divided by turborl's. The NumPy reference draws the same kind
of stratified resample (runs with replacement, per task) with array operations only; it is
what a careful user writes without rliable. ``--skip-slow`` leaves out rliable's two slowest
rows (about 35 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from typing import Callable

import numpy as np

from turborl.eval import MultipleAgentsComparator, create_performance_profile, get_interval_estimates, metrics

NUM_ALGORITHMS, NUM_RUNS, NUM_TASKS = 5, 10, 26
TAUS = np.linspace(0.0, 8.0, 81)


def seconds(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def score_dict() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2021)
    return {f"algo{a}": rng.gamma(2.0, 0.3 + 0.1 * a, (NUM_RUNS, NUM_TASKS)) for a in range(NUM_ALGORITHMS)}


def adastop_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    # Equal means: neither test can stop early, so both run all K = 5 interims (the same work).
    return {"ppo": rng.normal(0.0, 1.0, 50), "dqn": rng.normal(0.0, 1.0, 50)}


# ---- the vectorised NumPy reference ---------------------------------------------------------------

def numpy_resample(scores: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """[reps, runs, tasks]: runs drawn with replacement independently for every task."""
    runs, tasks = scores.shape
    rows = rng.integers(0, runs, (reps, runs, tasks))
    return scores[rows, np.arange(tasks)]


def numpy_iqm_intervals(scores: dict[str, np.ndarray], reps: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for name, array in scores.items():
        pooled = numpy_resample(array, reps, rng).reshape(reps, -1)
        cut = pooled.shape[1] // 4
        trimmed = np.partition(pooled, (cut, pooled.shape[1] - cut - 1), axis=1)[:, cut:pooled.shape[1] - cut]
        out[name] = np.percentile(trimmed.mean(axis=1), [2.5, 97.5])
    return out


def numpy_profile_intervals(scores: dict[str, np.ndarray], reps: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for name, array in scores.items():
        pooled = np.sort(numpy_resample(array, reps, rng).reshape(reps, -1), axis=1)
        above = pooled.shape[1] - np.stack([np.searchsorted(row, TAUS, side="right") for row in pooled])
        out[name] = np.percentile(above / pooled.shape[1], [2.5, 97.5], axis=0)
    return out


def numpy_improvement_interval(x: np.ndarray, y: np.ndarray, reps: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    bx, by = numpy_resample(x, reps, rng), numpy_resample(y, reps, rng)
    pairs = (bx[:, :, None, :] > by[:, None, :, :]) + 0.5 * (bx[:, :, None, :] == by[:, None, :, :])
    return np.percentile(pairs.mean(axis=(1, 2)).mean(axis=1), [2.5, 97.5])


# ---- the rows -------------------------------------------------------------------------------------

def run_adastop(cls, data: dict[str, np.ndarray]) -> tuple[dict[str, str], int]:
    comparator = cls(n=10, K=5, B=10000, alpha=0.05, seed=0)
    for k in range(5):
        comparator.partial_compare({name: values[: 10 * (k + 1)] for name, values in data.items()}, False)
        if comparator.is_finished:
            break
    return comparator.decisions, k + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-slow", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    scores = score_dict()
    pair = (scores["algo0"], scores["algo1"])
    iqm = metrics.aggregate_iqm

    try:
        from rliable import library as rly
        from rliable import metrics as rly_metrics
    except ImportError:
        rly = None
    try:
        import adastop
    except ImportError:
        adastop = None

    rows = []  # (name, turborl seconds, peer name, peer seconds, numpy seconds)

    def row(name, ours, peer=None, numpy=None, slow=False):
        ours_s = seconds(ours, args.repeats)
        peer_s = None
        if peer is not None and not (slow and args.skip_slow):
            peer_s = seconds(peer, 1 if slow else args.repeats)
        numpy_s = None if numpy is None else seconds(numpy, args.repeats)
        rows.append((name, ours_s, peer_s, numpy_s))
        print(f"  measured {name}", flush=True)

    rly_iqm = (lambda x: np.array([rly_metrics.aggregate_iqm(x)])) if rly else None
    row("IQM intervals, 2,000 reps",
        lambda: get_interval_estimates(scores, iqm, reps=2000, random_state=0),
        rly and (lambda: rly.get_interval_estimates(scores, rly_iqm, reps=2000)),
        lambda: numpy_iqm_intervals(scores, 2000))
    row("IQM intervals, 50,000 reps",
        lambda: get_interval_estimates(scores, iqm, reps=50000, random_state=0),
        rly and (lambda: rly.get_interval_estimates(scores, rly_iqm, reps=50000)),
        lambda: numpy_iqm_intervals(scores, 50000), slow=True)
    row("performance profile, 81 tau, 2,000 reps",
        lambda: create_performance_profile(scores, TAUS, reps=2000, random_state=0),
        rly and (lambda: rly.create_performance_profile(scores, TAUS, reps=2000)),
        lambda: numpy_profile_intervals(scores, 2000))
    row("probability of improvement, 1 pair, 2,000 reps",
        lambda: get_interval_estimates({"a,b": pair}, metrics.probability_of_improvement, reps=2000, random_state=0),
        rly and (lambda: rly.get_interval_estimates({"a,b": pair}, rly_metrics.probability_of_improvement,
                                                    reps=2000)),
        lambda: numpy_improvement_interval(*pair, 2000), slow=True)
    data = adastop_data()
    row("AdaStop, 2 agents, n = 10, B = 10,000",
        lambda: run_adastop(MultipleAgentsComparator, data),
        adastop and (lambda: run_adastop(adastop.MultipleAgentsComparator, data)))
    if adastop is not None:
        ours, theirs = run_adastop(MultipleAgentsComparator, data), run_adastop(adastop.MultipleAgentsComparator, data)
        print(f"  AdaStop (decisions, interims): turborl {ours}, adastop {theirs}")

    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{NUM_ALGORITHMS} algorithms x {NUM_RUNS} runs x {NUM_TASKS} tasks\n")
    print("| row | turborl | rliable / adastop | NumPy vectorised | vs peer | vs NumPy |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ours_s, peer_s, numpy_s in rows:
        def cell(s):
            return "n/a" if s is None else (f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s")

        def ratio(s):
            return "n/a" if s is None else f"{s / ours_s:,.0f}x" if s / ours_s >= 10 else f"{s / ours_s:.1f}x"
        print(f"| {name} | {cell(ours_s)} | {cell(peer_s)} | {cell(numpy_s)} | {ratio(peer_s)} | {ratio(numpy_s)} |")


if __name__ == "__main__":
    main()
