"""Value iteration: turborl's C++ sweeps side by side with SciPy sparse and NumPy dense, in one run.

    python bench/bench_planning.py [--sizes 10000,1000000,10000000] [--quick] [--repeats 3]

Random sparse MDPs for S in {10^4, 10^6, 10^7}, A in {4, 18}, k next states per row in {1, 4}
(k = 1: the deterministic layout, next states int [S, A]; k = 4: CSR with S*A rows of exactly 4
entries), uniform random next states, rewards U[0, 1), gamma 0.99, no terminal states. Every
implementation runs the same Jacobi sweep from V = 0, a fixed number of times:
  - turborl: ``value_iteration(mdp, tol=1e-300, max_sweeps=K, num_threads=1 or 2)`` (the tol
    never stops it before K sweeps; ``.sweeps`` is checked). A call also allocates Q, starts
    its thread pool and runs one last backup that writes Q, so the time of a sweep is the
    marginal one, (t(K sweeps) - t(1 sweep)) / (K - 1), K >= 5 (kept between t(K) / (K + 4)
    and t(K) / K when noise from other processes pushes it outside).
  - SciPy: the effective-horizon repository's approach (``effective_horizon/mdp_utils.py``): a
    ``scipy.sparse.csr_matrix`` P of shape (S*A, S) and, per sweep,
    ``Q = R + gamma * (P @ V).reshape(S, A); V = Q.max(1)``, written with in-place ``*=``/``+=``
    (fewer temporaries; faster than the one-liner). float64, as turborl (mdp_utils uses float32).
  - NumPy dense: the same sweep with P as a dense [S*A, S] array (BLAS dgemv), only where P
    fits in --dense-gb (S = 10^4 with A = 4 by default).
K is chosen so each timing takes about --seconds; each figure is the best of --repeats.
With --local W the next states are drawn from s - W .. s + W (mod S) instead: V's gathers then
stay in cache, as in MDPs numbered breadth-first, and the sweep is bound by streaming bandwidth.

Effective bandwidth: the bytes a turborl sweep must read and write divided by its time. Per
row: next int32 (4) + reward float64 (8) for the deterministic layout; offset int64 (8) +
reward (8) for CSR; per entry: index int32 (4) + probability float64 (8) for CSR, and V[s']
(8) for either; per state: V written (8). Cache-line waste of the random gathers of V is not
counted, so a random MDP whose V exceeds the last-level cache is far from this bound. The
machine's bandwidth is measured in the same run: np.copyto of 1 GiB arrays (bytes read +
written / time) on one thread and on two threads (each copying one half).

"V check": turborl's V equals SciPy's (and the dense one's) after the same number of sweeps.
"others": CPUs that other processes used during the row (from /proc/stat); above ~0.1 the
row's two-thread figures in particular are not trustworthy on a 2-CPU machine.

Memory: each configuration's peak (arrays of both implementations plus the largest temporaries)
is estimated before anything is allocated; configurations above --max-gb, or above 70% of
MemAvailable, print "skipped (memory)".
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import os
import platform
import resource
import threading
import time
from typing import Callable

import numpy as np
import scipy
import scipy.sparse

import turborl
from turborl.planning import TabularMDP, value_iteration

GAMMA = 0.99
TOL = 1e-300          # > 0 as value_iteration requires; never reached in K <= MAX_SWEEPS sweeps
MAX_SWEEPS = 1000     # per call: 0.99**1000 keeps the residual far above rounding
GB = 1e9


def best_per_call(run: Callable[[], object], seconds: float, repeats: int) -> float:
    """Seconds per call: best over `repeats` rounds of back-to-back calls lasting >= `seconds`."""
    run()
    best = float("inf")
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            run()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = min(best, elapsed / calls)
    return best


# ---- the machine --------------------------------------------------------------------------------

def mem_available() -> float:
    """Bytes of MemAvailable (Linux), or infinity."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float("inf")


def busy_seconds() -> float:
    """CPU seconds all processes have spent (user + nice + system), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
        return (int(fields[0]) + int(fields[1]) + int(fields[2])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def copy_bandwidth(repeats: int) -> tuple[float, float]:
    """(1 thread, 2 threads) np.copyto bandwidth of 1 GiB arrays, bytes read + written per second."""
    n = 2**27  # 1 GiB of float64
    src = np.ones(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages
    one = float("inf")
    for _ in range(max(repeats, 10)):
        start = time.perf_counter()
        np.copyto(dst, src)
        one = min(one, time.perf_counter() - start)
    halves = [(dst[: n // 2], src[: n // 2]), (dst[n // 2:], src[n // 2:])]
    two = float("inf")
    for _ in range(max(repeats, 10)):
        barrier = threading.Barrier(3)

        def copy(d, s):
            barrier.wait()
            np.copyto(d, s)

        threads = [threading.Thread(target=copy, args=half) for half in halves]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        two = min(two, time.perf_counter() - start)
    moved = 2 * src.nbytes
    del src, dst
    return moved / one, moved / two


# ---- random MDPs ----------------------------------------------------------------------------------

def sweep_bytes(S: int, A: int, k: int) -> int:
    """Bytes one turborl sweep must move (see the module docstring)."""
    rows, nnz = S * A, S * A * k
    if k == 1:
        return rows * (4 + 8) + nnz * 8 + S * 8
    return rows * (8 + 8) + nnz * (4 + 8 + 8) + S * 8


def memory_estimate(S: int, A: int, k: int, dense: bool) -> float:
    """Peak bytes of a configuration: arrays kept by both implementations plus the largest
    temporary of any phase (generation, turborl's checks, a turborl call, a SciPy sweep)."""
    rows, nnz = S * A, S * A * k
    kept = rows * 8                                  # rewards float64, shared
    if k == 1:
        kept += rows * 4                             # next int32 (turborl; SciPy's indices share it)
        kept += rows * 8 + (rows + 1) * 4            # SciPy's data (ones) and int32 indptr
    else:
        kept += nnz * (4 + 8) + (rows + 1) * 8       # indices, probabilities (shared) and int64 offsets
        kept += (rows + 1) * 4                       # SciPy's int32 indptr
    temporaries = max(
        nnz * 8 + rows * 8 if k > 1 else nnz * 4,    # generation: probabilities and row sums; --local
        nnz * 3,                                     # TabularMDP's range checks (bool arrays)
        rows * 8 + S * 24,                           # a turborl call: Q out, V, scratch
        rows * 8 + S * 24,                           # a SciPy sweep: P @ V, Q.max, V
    )
    dense_bytes = rows * S * 8 if dense else 0
    return kept + temporaries + dense_bytes


def random_mdp(S: int, A: int, k: int, rng: np.random.Generator, local: int = 0):
    """(next int32 [S*A*k], probabilities float64 [S*A*k] or None, rewards float64 [S, A]).
    Next states are uniform over all states, or with `local` > 0 uniform over s - local .. s + local
    (modulo S), the locality of an MDP numbered in breadth-first order."""
    rows = S * A
    if local > 0:
        next_states = rng.integers(-local, local + 1, size=rows * k, dtype=np.int32)
        next_states += np.repeat(np.arange(S, dtype=np.int32), A * k)
        next_states %= S
    else:
        next_states = rng.integers(0, S, size=rows * k, dtype=np.int32)
    rewards = rng.random((S, A))
    probs = None
    if k > 1:
        probs = rng.random(rows * k)
        probs += 0.05
        by_row = probs.reshape(rows, k)
        by_row /= by_row.sum(axis=1, keepdims=True)
    return next_states, probs, rewards


# ---- implementations ------------------------------------------------------------------------------

def scipy_matrix(S: int, A: int, k: int, next_states: np.ndarray, probs: np.ndarray | None):
    rows = S * A
    index_dtype = np.int32 if rows * k < 2**31 else np.int64
    data = np.ones(rows) if probs is None else probs
    indptr = np.arange(0, rows * k + 1, k, dtype=index_dtype)
    return scipy.sparse.csr_matrix((data, next_states.astype(index_dtype, copy=False), indptr), shape=(rows, S))


def matrix_sweeps(P, R: np.ndarray, sweeps: int) -> np.ndarray:
    """`sweeps` Jacobi sweeps from V = 0 with P (sparse or dense) of shape (S*A, S)."""
    S, A = R.shape
    # Not np.zeros: a large one is calloc'd, its untouched pages all map the one zero page, and
    # the first sweep's random reads of V would all hit the cache.
    V = np.empty(S)
    V.fill(0.0)
    for _ in range(sweeps):
        Q = (P @ V).reshape(S, A)
        Q *= GAMMA
        Q += R
        V = Q.max(axis=1)
    return V


def sweeps_for(seconds_per_sweep: float, seconds: float, low: int) -> int:
    return int(min(MAX_SWEEPS, max(low, round(seconds / max(seconds_per_sweep, 1e-9)))))


def time_turborl(mdp: TabularMDP, threads: int, args, device: str = "cpu") -> tuple[float, int]:
    """(seconds per sweep, K). On the GPU a call also copies the MDP over; the marginal sweep
    time leaves that out as it leaves out the CPU call's fixed cost."""
    solve = functools.partial(value_iteration, mdp, tol=TOL, num_threads=threads, device=device)
    start = time.perf_counter()
    solve(max_sweeps=1)
    one_call = time.perf_counter() - start           # about two sweeps: one, then the Q backup
    K = sweeps_for(one_call / 2, args.seconds, 5)
    result = solve(max_sweeps=K)
    if result.sweeps != K:  # the residual never reaches TOL in K <= MAX_SWEEPS sweeps
        raise RuntimeError(f"value_iteration ran {result.sweeps} sweeps, not {K}")
    del result
    t_k = best_per_call(lambda: solve(max_sweeps=K), args.seconds, args.repeats)
    t_1 = best_per_call(lambda: solve(max_sweeps=1), min(args.seconds, max(0.3 * args.seconds, 2 * one_call)),
                        args.repeats)
    # A call's fixed cost (allocating Q and the scratch V, the final Q backup) is measured as 0 to
    # 4 sweeps; noise from other processes can push the difference outside that, so it is clamped.
    marginal = (t_k - t_1) / (K - 1)
    return min(max(marginal, t_k / (K + 4)), t_k / K), K


def time_matrix(P, R: np.ndarray, args) -> tuple[float, int, np.ndarray]:
    """(seconds per sweep, K, V after K sweeps)."""
    start = time.perf_counter()
    matrix_sweeps(P, R, 1)
    K = sweeps_for(time.perf_counter() - start, args.seconds, 1)
    holder = {}

    def run():
        holder["v"] = matrix_sweeps(P, R, K)

    return best_per_call(run, args.seconds, args.repeats) / K, K, holder["v"]


# ---- one configuration ----------------------------------------------------------------------------

def bench_config(S: int, A: int, k: int, args, rng: np.random.Generator) -> dict:
    dense = S * A * S * 8 <= args.dense_gb * GB
    estimate = memory_estimate(S, A, k, dense)
    row = {"S": S, "A": A, "k": k, "estimate": estimate}
    cap = min(args.max_gb * GB, 0.7 * mem_available())
    if estimate > cap:
        row["skipped"] = f"skipped (memory: ~{estimate / GB:.1f} GB > {cap / GB:.1f} GB)"
        return row

    next_states, probs, rewards = random_mdp(S, A, k, rng, args.local)
    if k == 1:
        mdp = TabularMDP(next_states.reshape(S, A), rewards, gamma=GAMMA)
    else:
        offsets = np.arange(0, S * A * k + 1, k, dtype=np.int64)
        mdp = TabularMDP((offsets, next_states, probs), rewards, gamma=GAMMA)
        del offsets  # the MDP keeps its own reference
    gc.collect()

    for threads in (1, 2):
        seconds, K = time_turborl(mdp, threads, args)
        row[f"turborl{threads}"] = 1.0 / seconds
        row[f"K{threads}"] = K
        gc.collect()
    if args.cuda:
        seconds, K = time_turborl(mdp, 1, args, device="cuda")
        row["cuda"] = 1.0 / seconds

    P = scipy_matrix(S, A, k, next_states, probs)
    seconds, K_scipy, v_scipy = time_matrix(P, rewards, args)
    row["scipy"], row["K_scipy"] = 1.0 / seconds, K_scipy
    del P
    gc.collect()

    # The same number of sweeps on both sides: V_K must agree (to rounding: sums in one order).
    v_turborl = value_iteration(mdp, tol=TOL, max_sweeps=K_scipy, num_threads=2).v
    diff = float(np.max(np.abs(v_turborl - v_scipy)))
    row["check"] = "ok" if np.allclose(v_turborl, v_scipy, rtol=1e-10, atol=1e-10) else f"**DIFF {diff:.1e}**"
    row["max_diff"] = diff
    del v_turborl
    if args.cuda:
        v_gpu = value_iteration(mdp, tol=TOL, max_sweeps=K_scipy, device="cuda").v
        row["cuda_check"] = "ok" if np.allclose(v_gpu, v_scipy, rtol=1e-10, atol=1e-10) else "**DIFF**"
        del v_gpu

    if dense:
        P = np.empty((S * A, S))
        P.fill(0.0)  # touch every page (see matrix_sweeps): np.zeros would leave most on the zero page
        row_ids = np.repeat(np.arange(S * A), k)
        np.add.at(P, (row_ids, next_states), 1.0 if probs is None else probs)
        seconds, K_dense, v_dense = time_matrix(P, rewards, args)
        row["dense"] = 1.0 / seconds
        v_turborl = value_iteration(mdp, tol=TOL, max_sweeps=K_dense, num_threads=2).v
        if not np.allclose(v_dense, v_turborl, rtol=1e-10, atol=1e-10):
            row["check"] += " (dense **DIFF**)"
        del P, row_ids
    del mdp, next_states, probs, rewards
    gc.collect()
    return row


# ---- report ---------------------------------------------------------------------------------------

def rate(value) -> str:
    if not isinstance(value, float):
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000,10000000", help="comma list of S")
    parser.add_argument("--actions", default="4,18", help="comma list of A")
    parser.add_argument("--next", default="1,4", help="comma list of next states per row (1 = deterministic)")
    parser.add_argument("--quick", action="store_true", help="only S = 10^4 and 10^6")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timing")
    parser.add_argument("--max-gb", type=float, default=8.0, help="skip configurations estimated above this")
    parser.add_argument("--dense-gb", type=float, default=4.0, help="largest dense P for the NumPy row")
    parser.add_argument("--local", type=int, default=0,
                        help="next states within +-LOCAL of the state (default 0: uniform over all states)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cuda", action="store_true", help="also time the CUDA sweep (needs a GPU)")
    args = parser.parse_args()
    if args.cuda and not turborl.cuda_available():
        raise SystemExit("--cuda: turborl sees no CUDA GPU on this machine")
    sizes = [10**4, 10**6] if args.quick else [int(float(s)) for s in args.sizes.split(",")]
    actions = [int(a) for a in args.actions.split(",")]
    nexts = [int(n) for n in args.next.split(",")]

    load = os.getloadavg()
    run_start, run_busy, run_own = time.perf_counter(), busy_seconds(), own_seconds()
    copy_one, copy_two = copy_bandwidth(args.repeats)
    memory_bw = max(copy_one, copy_two)
    rng = np.random.default_rng(args.seed)
    rows = []
    for S in sizes:
        for A in actions:
            for k in nexts:
                started, busy, own = time.perf_counter(), busy_seconds(), own_seconds()
                rows.append(bench_config(S, A, k, args, rng))
                wall = time.perf_counter() - started
                others = (busy_seconds() - busy) - (own_seconds() - own)
                rows[-1]["others"] = others / wall
                print(f"# S={S:.0e} A={A} k={k}: {wall:.1f} s; other processes used {others / wall:.2f} "
                      "CPUs meanwhile", flush=True)
    load_after = os.getloadavg()
    others = ((busy_seconds() - run_busy) - (own_seconds() - run_own)) / (time.perf_counter() - run_start)

    where = f"next states within +-{args.local} of the state" if args.local else "uniform random next states"
    print(f"\n# Value iteration sweeps/s, gamma {GAMMA}, {where}; {platform.machine()}, "
          f"{os.cpu_count()} CPUs, turborl {turborl.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}; "
          f"best of {args.repeats} x ~{args.seconds} s; {datetime.date.today()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"# load average before {load[0]:.2f}, after {load_after[0]:.2f}; other processes used {others:.2f} "
          f"of the {os.cpu_count()} CPUs on average during the run (per row: 'others' column); "
          f"peak RSS {peak / GB:.1f} GB")
    print(f"# memory bandwidth (np.copyto, 1 GiB, read + write): {copy_one / GB:.1f} GB/s one thread, "
          f"{copy_two / GB:.1f} GB/s two threads; the % column uses {memory_bw / GB:.1f} GB/s")
    print("\n| S | A | next/row | est. GB | turborl 1 thr | turborl 2 thr | SciPy CSR | NumPy dense | "
          "turborl ÷ SciPy (1 / 2 thr) | MB/sweep | eff. GB/s (1 / 2 thr) | % of copy BW (2 thr) | V check | others |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---|---:|---|---:|")
    for r in rows:
        S, A, k = r["S"], r["A"], r["k"]
        layout = "1 (det.)" if k == 1 else f"{k} (CSR)"
        name = f"10^{len(str(S)) - 1}" if str(S).strip("0") == "1" else f"{S:,}"
        head = f"| {name} | {A} | {layout} | {r['estimate'] / GB:.1f} |"
        if "skipped" in r:
            print(f"{head} {r['skipped']} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | |")
            continue
        moved = sweep_bytes(S, A, k)
        bw1, bw2 = moved * r["turborl1"], moved * r["turborl2"]
        r["fraction"] = bw2 / memory_bw
        print(f"{head} {rate(r['turborl1'])} | {rate(r['turborl2'])} | {rate(r['scipy'])} | {rate(r.get('dense'))} | "
              f"{r['turborl1'] / r['scipy']:.1f}x / {r['turborl2'] / r['scipy']:.1f}x | {moved / 1e6:,.1f} | "
              f"{bw1 / GB:.1f} / {bw2 / GB:.1f} | {100 * r['fraction']:.0f}% | {r['check']} | {r['others']:.2f} |")

    measured = [r for r in rows if "skipped" not in r]
    if args.cuda:
        print(f"\n# CUDA sweep on {turborl.cuda.device_name()} (one thread per state; the MDP's copy to the GPU "
              "is not counted)\n")
        print("| S | A | next/row | turborl CUDA sweeps/s | eff. GB/s | ÷ turborl 2 thr | V check |")
        print("|---:|---:|---|---:|---:|---:|---|")
        for r in measured:
            gbs = sweep_bytes(r["S"], r["A"], r["k"]) * r["cuda"] / GB
            print(f"| {r['S']:.0e} | {r['A']} | {r['k']} | {rate(r['cuda'])} | {gbs:.0f} | "
                  f"{r['cuda'] / r['turborl2']:.1f}x | {r['cuda_check']} |")
    print("\nGoals (from the issue):")
    if measured:
        one = min(r["turborl1"] / r["scipy"] for r in measured)
        two = min(r["turborl2"] / r["scipy"] for r in measured)
        met_one = sum(r["turborl1"] / r["scipy"] >= 10 for r in measured)
        met_two = sum(r["turborl2"] / r["scipy"] >= 10 for r in measured)
        print(f"- >= 10x SciPy: 1 thread in {met_one}/{len(measured)} configurations (lowest {one:.1f}x), "
              f"2 threads in {met_two}/{len(measured)} (lowest {two:.1f}x): "
              f"{'met' if met_two == len(measured) else 'NOT met'}")
    big = [r for r in measured if r["S"] == 10**7]
    if big:
        cells = ", ".join(f"A={r['A']} k={r['k']}: {100 * r['fraction']:.0f}%" for r in big)
        met = sum(r["fraction"] >= 0.6 for r in big)
        print(f"- >= 60% of memory bandwidth at S = 10^7 with 2 threads: {cells}: "
              f"{'met' if met == len(big) else f'NOT met ({met}/{len(big)})'}")
    else:
        print("- >= 60% of memory bandwidth at S = 10^7 with 2 threads: not measured (no S = 10^7 in this run)")
    if any(r["check"] != "ok" for r in measured):
        print("- WARNING: turborl's V differs from SciPy's in some configuration (V check column)")


if __name__ == "__main__":
    main()
