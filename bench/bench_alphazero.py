"""AlphaZero (turborl.algos.alphazero) on tic-tac-toe and Connect Four.

    python bench/bench_alphazero.py [--ttt-seeds 3] [--c4-steps 200000] [--c4-games 50]
    python bench/bench_alphazero.py --ttt-seeds 4 --c4-steps 0 --set random_opening_moves=0   # a variant

Tic-tac-toe: each seed trains with the defaults (200k self-play positions, Gumbel MuZero search
with 32 simulations, up to 4 random opening moves per self-play game) and then plays 200 games
against the perfect solver (turborl.games' negamax, a uniformly random choice among its optimal
moves), 100 with each side, and every line of perfect play (each optimal reply followed, both
sides: turborl.games.results_against_every_perfect_line); the goal is no loss. Connect Four: one run of ``--c4-steps`` positions, then ``--c4-games`` games against
plain rollout MCTS with 200 simulations (uniform priors, one random playout per leaf), half with
each side, and against a uniformly random player. Wall-clocks include the evaluations.
``--set KEY=VALUE`` (repeatable; VALUE in JSON) changes a field of the tic-tac-toe config.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from turborl.algos.alphazero import AlphaZero, AlphaZeroConfig
from turborl.games import perfect_player, play_match, results_against_every_perfect_line



def results_against(run: AlphaZero, opponent, games: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    me = run.network_player()
    half = games // 2
    return np.concatenate([play_match(run.game, me, opponent, games - half, rng),
                           1.0 - play_match(run.game, opponent, me, half, rng)])


def summary(results: np.ndarray) -> str:
    return f"{int(np.sum(results == 1.0))} / {int(np.sum(results == 0.5))} / {int(np.sum(results == 0.0))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ttt-seeds", type=int, default=3)
    parser.add_argument("--c4-steps", type=int, default=200_000)
    parser.add_argument("--c4-simulations", type=int, default=32)
    parser.add_argument("--c4-games", type=int, default=50)
    parser.add_argument("--ttt-first-seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a tic-tac-toe config field, VALUE in JSON (e.g. random_opening_moves=0)")
    args = parser.parse_args()
    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    torch.set_num_threads(1)

    print("| game | seed | positions | train + eval wall-clock | opponent | games | wins / draws / losses |")
    print("|---|---|---|---|---|---|---|")
    for seed in range(args.ttt_first_seed, args.ttt_first_seed + args.ttt_seeds):
        start = time.perf_counter()
        run = AlphaZero(AlphaZeroConfig(game="tictactoe", seed=seed, progress=False, **overrides)).learn()
        results = results_against(run, perfect_player, 200, seed + 100)
        lines = results_against_every_perfect_line(run.network_player(), np.random.default_rng(seed))
        print(f"| tic-tac-toe | {seed} | {run.global_step:,} | {time.perf_counter() - start:.0f} s | perfect solver | "
              f"200 | {summary(results)} |", flush=True)
        print(f"| tic-tac-toe | {seed} | | | every perfect line | {lines['games']} | "
              f"{lines['wins']} / {lines['draws']} / {lines['losses']} |", flush=True)
    if args.c4_steps:
        start = time.perf_counter()
        config = AlphaZeroConfig(game="connect4", total_timesteps=args.c4_steps, num_simulations=args.c4_simulations,
                                 hidden_sizes=(256, 256), eval_interval=args.c4_steps, eval_episodes=10,
                                 progress=False)
        run = AlphaZero(config).learn()
        trained = time.perf_counter() - start
        vs_mcts = results_against(run, run.rollout_mcts_player(200, seed=7), args.c4_games, 200)
        vs_random = results_against(run, run.random_player, args.c4_games, 300)
        print(f"| Connect Four | 0 | {run.global_step:,} | {trained:.0f} s | rollout MCTS, 200 simulations | "
              f"{args.c4_games} | {summary(vs_mcts)} |")
        print(f"| Connect Four | 0 | {run.global_step:,} | | uniformly random | {args.c4_games} | {summary(vs_random)} |")


if __name__ == "__main__":
    main()
