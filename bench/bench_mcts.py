"""Batched MCTS: turborl.mcts side by side with mctx (and LightZero's ctree when installable), in one run.

    python bench/bench_mcts.py [--batch 256] [--simulations 64] [--actions 16] [--embedding-dim 16]

Every library searches with the same model, a fixed random linear map over a float32 embedding
of `--embedding-dim`:

    next_embedding = tanh(W[action] @ embedding + c[action])
    prior_logits = U @ next_embedding, value = v . next_embedding, reward = r . next_embedding,
    discount = 0.997

written in NumPy for turborl and LightZero, and in jax.numpy for mctx (whose whole policy call is
under jax.jit; it is compiled by a first call, which is not timed). The rate is simulations per
second, batch x num_simulations / wall-clock of one policy call, best of `--repeats` calls; the
turborl and mctx calls are interleaved (one call of each in turn, `--repeats` rounds) so that they
see the same load on a shared machine.

"model" is the time spent in the model: for turborl and LightZero the recurrent function is
wrapped and its wall time summed over the call; for mctx, which runs the search as one XLA
program, it is the time of a separately jitted loop of num_simulations model calls on the same
batch (lax.fori_loop, each call's embedding fed to the next, outputs summed so nothing is
dropped). "search only" is simulations / (total time - model time).

Threads: NumPy/OpenBLAS and XLA are held to one thread unless the environment already sets
them (XLA_FLAGS, OPENBLAS_NUM_THREADS, ...), so that every library's model runs single-threaded
and turborl's num_threads is the only parallelism; the settings are printed.

LightZero's ctree (mz_tree / gmz_tree Cython extensions of the `lightzero` wheel) runs in a
separate interpreter, `--lightzero-python` (default /tmp/lzvenv/bin/python, a venv with
`pip install --no-deps lightzero "numpy<2"`), loading the two extension modules directly (the
lzero package itself imports torch); its search loop is LightZero 0.2.0's
MuZeroMCTSCtree.search / GumbelMuZeroMCTSCtree.search with the torch calls removed. The row is
skipped when that interpreter is missing.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

DISCOUNT = 0.997
GOALS = {"MuZero": 10.0, "Gumbel MuZero": 3.0}  # turborl / mctx


def make_params(num_actions: int, dim: int, batch_size: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    params = {
        "W": (rng.normal(size=(num_actions, dim, dim)) / np.sqrt(dim)).astype(np.float32),
        "c": (0.5 * rng.normal(size=(num_actions, dim))).astype(np.float32),
        "U": (rng.normal(size=(dim, num_actions)) / np.sqrt(dim)).astype(np.float32),
        "v": (rng.normal(size=dim) / np.sqrt(dim)).astype(np.float32),
        "r": (0.5 * rng.normal(size=dim) / np.sqrt(dim)).astype(np.float32),
    }
    root_embedding = rng.normal(size=(batch_size, dim)).astype(np.float32)
    params["root_embedding"] = root_embedding
    params["root_logits"] = (root_embedding @ params["U"]).astype(np.float32)
    params["root_value"] = (root_embedding @ params["v"]).astype(np.float32)
    return params


def numpy_model(p: dict):
    """(action [B], embedding [B, D]) -> (reward, discount, prior_logits, value, next_embedding)."""
    W, c, U, v, r = p["W"], p["c"], p["U"], p["v"], p["r"]
    batch_size = p["root_embedding"].shape[0]
    discount = np.full(batch_size, DISCOUNT, np.float32)

    def step(action, embedding):
        nxt = np.tanh(np.matmul(W[action], embedding[:, :, None])[..., 0] + c[action])
        return nxt @ r, discount, nxt @ U, nxt @ v, nxt

    return step


# ---- turborl --------------------------------------------------------------------------------------

def bench_turborl(args, p: dict) -> list:
    import turborl.mcts as tmctx

    step = numpy_model(p)
    model_time = [0.0]

    def recurrent_fn(params, rng, action, embedding):
        start = time.perf_counter()
        reward, discount, logits, value, nxt = step(action, embedding)
        out = tmctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=logits, value=value)
        model_time[0] += time.perf_counter() - start
        return out, nxt

    root = tmctx.RootFnOutput(prior_logits=p["root_logits"], value=p["root_value"], embedding=p["root_embedding"])
    policies = {
        "MuZero": lambda seed, threads: tmctx.muzero_policy(
            None, seed, root, recurrent_fn, args.simulations, num_threads=threads),
        "Gumbel MuZero": lambda seed, threads: tmctx.gumbel_muzero_policy(
            None, seed, root, recurrent_fn, args.simulations, max_num_considered_actions=args.considered,
            num_threads=threads),
    }
    runners = []
    for policy, run in policies.items():
        for threads in args.threads:
            def timed(seed, run=run, threads=threads):
                model_time[0] = 0.0
                start = time.perf_counter()
                out = run(seed, threads)
                elapsed = time.perf_counter() - start
                assert out.action.shape == (args.batch,)
                return elapsed, model_time[0]

            run(0, threads)  # warm up
            runners.append(({"library": f"turborl, num_threads={threads}", "policy": policy, "threads": threads,
                             "model_how": "wrapped recurrent_fn"}, timed))
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for seed in range(3):
                run(seed, 1)
            profile.disable()
            print(f"\n# cProfile of 3 turborl {policy} calls, num_threads=1 (top 15 by tottime)")
            pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    return runners


# ---- mctx -----------------------------------------------------------------------------------------

def bench_mctx(args, p: dict) -> tuple:
    import jax
    import jax.numpy as jnp
    import mctx

    W, c, U, v, r = (jnp.asarray(p[k]) for k in ("W", "c", "U", "v", "r"))
    batch_size = args.batch

    def recurrent_fn(params, rng_key, action, embedding):
        nxt = jnp.tanh(jnp.einsum("bij,bj->bi", W[action], embedding) + c[action])
        out = mctx.RecurrentFnOutput(reward=nxt @ r, discount=jnp.full((batch_size,), DISCOUNT, jnp.float32),
                                     prior_logits=nxt @ U, value=nxt @ v)
        return out, nxt

    root = mctx.RootFnOutput(prior_logits=jnp.asarray(p["root_logits"]), value=jnp.asarray(p["root_value"]),
                             embedding=jnp.asarray(p["root_embedding"]))

    @jax.jit
    def muzero(key, root):
        return mctx.muzero_policy(None, key, root, recurrent_fn, num_simulations=args.simulations)

    @jax.jit
    def gumbel(key, root):
        return mctx.gumbel_muzero_policy(None, key, root, recurrent_fn, num_simulations=args.simulations,
                                         max_num_considered_actions=args.considered)

    @jax.jit
    def model_loop(key, embedding):
        def body(i, carry):
            emb, acc = carry
            action = (i + jnp.arange(batch_size)) % args.actions
            out, nxt = recurrent_fn(None, key, action, emb)
            return nxt, acc + out.reward + out.value + out.discount + jnp.sum(out.prior_logits, axis=-1)
        return jax.lax.fori_loop(0, args.simulations, body, (embedding, jnp.zeros(batch_size, jnp.float32)))

    def runner(fn, *inputs):
        jax.block_until_ready(fn(jax.random.PRNGKey(0), *inputs))  # compile

        def timed(seed):
            key = jax.random.PRNGKey(seed)
            start = time.perf_counter()
            jax.block_until_ready(fn(key, *inputs))
            return time.perf_counter() - start, 0.0
        return timed

    runners = [({"library": "mctx model loop", "policy": "-", "threads": None}, runner(model_loop, root.embedding))]
    for policy, fn in (("MuZero", muzero), ("Gumbel MuZero", gumbel)):
        runners.append(({"library": "mctx (jax.jit)", "policy": policy, "threads": None,
                         "model_how": "jitted fori_loop of the model"}, runner(fn, root)))
    info = (f"jax {jax.__version__}, mctx {getattr(mctx, '__version__', '?')}, devices {jax.devices()}, "
            f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    return runners, info


def run_interleaved(runners: list, repeats: int) -> list:
    """Times one call of each runner in turn, `repeats` rounds, so that every row sees the same
    machine load; keeps each runner's fastest call (and its model time)."""
    best = [None] * len(runners)
    for seed in range(1, repeats + 1):
        for i, (_, timed) in enumerate(runners):
            elapsed, model = timed(seed)
            if best[i] is None or elapsed < best[i][0]:
                best[i] = (elapsed, model)
    return [dict(meta, total=b[0], model=b[1]) for (meta, _), b in zip(runners, best)]


# ---- LightZero ------------------------------------------------------------------------------------

LIGHTZERO_SCRIPT = r'''
import importlib.util, json, os, site, sys, time
import numpy as np

args = json.loads(sys.argv[1])
p = dict(np.load(args["params"]))
B, S, A = args["batch"], args["simulations"], args["actions"]

def load(name, rel):
    for base in site.getsitepackages():
        path = os.path.join(base, rel)
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise ImportError(rel)

suffix = ".cpython-%d%d-x86_64-linux-gnu.so" % sys.version_info[:2]
mz = load("lzero.mcts.ctree.ctree_muzero.mz_tree", "lzero/mcts/ctree/ctree_muzero/mz_tree" + suffix)
gmz = load("lzero.mcts.ctree.ctree_gumbel_muzero.gmz_tree",
           "lzero/mcts/ctree/ctree_gumbel_muzero/gmz_tree" + suffix)

W, c, U, v, r = p["W"], p["c"], p["U"], p["v"], p["r"]
model_time = [0.0]

def recurrent_inference(latent_states, actions):
    start = time.perf_counter()
    nxt = np.tanh(np.matmul(W[actions], latent_states[:, :, None])[..., 0] + c[actions])
    out = (nxt, nxt @ r, nxt @ v, nxt @ U)
    model_time[0] += time.perf_counter() - start
    return out

DISCOUNT, PB_C_BASE, PB_C_INIT, VALUE_DELTA_MAX, NOISE_WEIGHT, ALPHA = 0.997, 19652, 1.25, 0.01, 0.25, 0.3

def search(gumbel):
    # LightZero 0.2.0: policy/{muzero,gumbel_muzero}.py _forward_collect (root preparation) and
    # mcts/tree_search/mcts_ctree.py {MuZero,GumbelMuZero}MCTSCtree.search, torch calls removed.
    tree = gmz if gumbel else mz
    legal_actions = [list(range(A)) for _ in range(B)]
    to_play = [-1] * B
    noises = [np.random.dirichlet([ALPHA] * A).astype(np.float32).tolist() for _ in range(B)]
    policy_logits = p["root_logits"].tolist()
    roots = tree.Roots(B, legal_actions)
    if gumbel:
        roots.prepare(NOISE_WEIGHT, noises, [0.0] * B, list(p["root_value"]), policy_logits, to_play)
    else:
        roots.prepare(NOISE_WEIGHT, noises, [0.0] * B, policy_logits, to_play)
    latent_state_batch_in_search_path = [p["root_embedding"]]
    min_max_stats_lst = tree.MinMaxStatsList(B)
    min_max_stats_lst.set_delta(VALUE_DELTA_MAX)
    for simulation_index in range(S):
        latent_states = []
        results = tree.ResultsWrapper(num=B)
        if gumbel:
            ix_lst, iy_lst, last_actions, virtual_to_play = tree.batch_traverse(
                roots, S, A, DISCOUNT, results, to_play)
        else:
            ix_lst, iy_lst, last_actions, virtual_to_play = tree.batch_traverse(
                roots, PB_C_BASE, PB_C_INIT, DISCOUNT, min_max_stats_lst, results, to_play)
        for ix, iy in zip(ix_lst, iy_lst):
            latent_states.append(latent_state_batch_in_search_path[ix][iy])
        latent_states = np.asarray(latent_states)
        last_actions = np.asarray(last_actions).astype(np.int64)
        nxt, reward, value, logits = recurrent_inference(latent_states, last_actions)
        latent_state_batch_in_search_path.append(nxt)
        reward_batch = reward.reshape(-1).tolist()
        value_batch = value.reshape(-1).tolist()
        policy_logits_batch = logits.tolist()
        backup = tree.batch_back_propagate if gumbel else tree.batch_backpropagate
        backup(simulation_index + 1, DISCOUNT, reward_batch, value_batch, policy_logits_batch, min_max_stats_lst,
               results, virtual_to_play)
    if gumbel:
        return roots.get_policies(DISCOUNT, A)
    return roots.get_distributions()

rows = []
for gumbel in (False, True):
    search(gumbel)
    best = None
    for _ in range(args["repeats"]):
        model_time[0] = 0.0
        start = time.perf_counter()
        out = search(gumbel)
        elapsed = time.perf_counter() - start
        assert len(out) == B
        if best is None or elapsed < best[0]:
            best = (elapsed, model_time[0])
    rows.append({"policy": "Gumbel MuZero" if gumbel else "MuZero", "total": best[0], "model": best[1]})
print(json.dumps({"rows": rows, "numpy": np.__version__, "python": sys.version.split()[0]}))
'''


def bench_lightzero(args, p: dict) -> tuple:
    if not os.path.exists(args.lightzero_python):
        return [], f"LightZero: not installable / not installed ({args.lightzero_python} missing); row skipped"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "params.npz")
        np.savez(path, **p)
        config = {"params": path, "batch": args.batch, "simulations": args.simulations, "actions": args.actions,
                  "repeats": args.repeats}
        try:
            done = subprocess.run([args.lightzero_python, "-c", LIGHTZERO_SCRIPT, json.dumps(config)],
                                  capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return [], "LightZero: timed out; row skipped"
    if done.returncode != 0:
        return [], f"LightZero: failed ({done.stderr.strip().splitlines()[-1:]}); row skipped"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = [{"library": "LightZero ctree 0.2.0", "policy": row["policy"], "threads": None, "total": row["total"],
             "model": row["model"], "model_how": "wrapped recurrent_inference"} for row in result["rows"]]
    return rows, (f"LightZero ctree (lightzero 0.2.0 wheel, Python {result['python']}, NumPy {result['numpy']}, "
                  f"via {args.lightzero_python})")


# ---- report ---------------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--simulations", type=int, default=64)
    parser.add_argument("--actions", type=int, default=16)
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--considered", type=int, default=16, help="Gumbel max_num_considered_actions")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="turborl num_threads values")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per row (best is kept)")
    parser.add_argument("--lightzero-python", default="/tmp/lzvenv/bin/python")
    parser.add_argument("--no-lightzero", action="store_true")
    parser.add_argument("--no-mctx", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile turborl's calls (num_threads=1)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    load_before = os.getloadavg()
    start = time.perf_counter()
    p = make_params(args.actions, args.embedding_dim, args.batch)
    runners = bench_turborl(args, p)
    notes = []
    if not args.no_mctx:
        mctx_runners, info = bench_mctx(args, p)
        runners += mctx_runners
        notes.append(info)
    rows = run_interleaved(runners, args.repeats)
    loop = [row for row in rows if row["library"] == "mctx model loop"]
    rows = [row for row in rows if row["library"] != "mctx model loop"]
    for row in rows:
        if row["library"].startswith("mctx"):
            row["model"] = loop[0]["total"]
    if not args.no_lightzero:
        lz_rows, info = bench_lightzero(args, p)
        rows += lz_rows
        notes.append(info)
    load_after = os.getloadavg()

    sims = args.batch * args.simulations
    print(f"# MCTS: batch {args.batch} x {args.simulations} simulations, {args.actions} actions, linear model over "
          f"float32[{args.embedding_dim}]; best of {args.repeats} calls, interleaved")
    print(f"machine: {cpu_model()}, {platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
          f"NumPy {np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    for note in notes:
        print(note)
    print(f"load average (1/5/15 min): before {'/'.join(f'{x:.2f}' for x in load_before)}, after "
          f"{'/'.join(f'{x:.2f}' for x in load_after)}; run took {time.perf_counter() - start:.0f} s")

    reference = {row["policy"]: row for row in rows if row["library"].startswith("mctx")}
    print("\n| library | policy | total (k sims/s) | ms / call | model (ms) | search only (k sims/s) | "
          "turborl ÷ mctx (total / search only) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        search = row["total"] - row["model"]
        ref = reference.get(row["policy"])
        ratio = "-"
        if ref is not None and row["library"].startswith("turborl"):
            ref_search = ref["total"] - ref["model"]
            ratio = f"{ref['total'] / row['total']:.1f}x / " + (
                f"{ref_search / search:.1f}x" if ref_search > 0 and search > 0 else "n/a")
        print(f"| {row['library']} | {row['policy']} | {sims / row['total'] / 1e3:,.0f} | {1e3 * row['total']:.1f} | "
              f"{1e3 * row['model']:.1f} | {sims / search / 1e3:,.0f} | {ratio} |")
    print("\nmodel time: turborl and LightZero, the wrapped model's wall time within the timed call; mctx, a "
          "separately jitted loop of num_simulations model calls on the same batch (subtracted from the total).")

    if reference:
        print("\ngoals (turborl total rate ÷ mctx total rate):")
        for policy, goal in GOALS.items():
            ref = reference.get(policy)
            if ref is None:
                continue
            for row in rows:
                if row["library"].startswith("turborl") and row["policy"] == policy:
                    ratio = ref["total"] / row["total"]
                    print(f"  {policy} >= {goal:.0f}x mctx: {row['library']}: {ratio:.1f}x -> "
                          f"{'met' if ratio >= goal else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
