"""The ``turborl`` command line (also ``python -m turborl``).

    turborl compare FILE.csv [-K 5] [-N 5] [-B 10000] [--alpha 0.05] [--beta 0] [--seed S] [--compare-to-first]
    turborl compare --status PATH | --reset PATH | --plot OUT.png PATH
    turborl report SCORES.csv [...] --out DIR [--reps 2000] [--seed 0] [--normalize TASK=LOW:HIGH ...]
    turborl train ALGO --env ID [--total-timesteps N] [--seed S] [--out DIR] [--FLAG VALUE ...]
    turborl train --resume DIR

Each command's work lives in its topic's module; this file only parses arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="turborl", description="turborl: fast, trustworthy reinforcement learning")
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser("compare", help="AdaStop: one interim of a sequential comparison of agents",
                                  description="Run one AdaStop interim on FILE.csv (an index column, then one column "
                                              "of N evaluations per agent); state is kept next to the CSV.")
    compare.add_argument("path", help="the CSV of this interim (or, with --status/--reset/--plot, its directory)")
    compare.add_argument("-K", "--n-groups", type=int, default=5, help="number of interims at most (default 5)")
    compare.add_argument("-N", "--size-group", type=int, default=5, help="evaluations per agent and interim (default 5)")
    compare.add_argument("-B", "--n-permutations", type=int, default=10000, help="random permutations (default 10000)")
    compare.add_argument("--alpha", type=float, default=0.05, help="type I error (default 0.05)")
    compare.add_argument("--beta", type=float, default=0.0, help="early-accept power (default 0)")
    compare.add_argument("--seed", type=int, default=None, help="seed of the random permutations")
    compare.add_argument("--compare-to-first", action="store_true", help="compare every agent to the first one only")
    mode = compare.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="print the comparator's state")
    mode.add_argument("--reset", action="store_true", help="remove the comparator's state")
    mode.add_argument("--plot", metavar="OUT", help="save the results figure (.png or .pdf)")

    report = commands.add_parser("report", help="IQM tables with confidence intervals and plots from score CSVs",
                                 description="Score CSVs have the columns algorithm, task, run, step, score.")
    report.add_argument("scores", nargs="+", help="score CSV files")
    report.add_argument("--out", required=True, help="directory for report.md and the plots")
    report.add_argument("--reps", type=int, default=2000, help="bootstrap replicates (default 2000)")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    report.add_argument("--normalize", action="append", default=[], metavar="TASK=LOW:HIGH",
                        help="score range of a task; with a range for every task, scores are aggregated over tasks")
    report.add_argument("--no-plots", action="store_true", help="write report.md only")

    train = commands.add_parser("train", help="train an agent (needs torch): ppo, dqn",
                                usage="turborl train ALGO --env ID [--out DIR] [--FLAG VALUE ...] | --resume DIR",
                                description="Train ALGO on a turborl or Gymnasium env. Every field of the "
                                            "algorithm's config is also a flag: --learning-rate 3e-4, "
                                            "--hidden-sizes 64,64, --normalize-obs true ...")
    train.add_argument("--env", help="environment id, e.g. CartPole-v1")
    train.add_argument("--out", help="run directory (default runs/ALGO-ENV-seedS)")
    train.add_argument("--config", dest="config_file", help="a config.yaml (or .json) to start from")
    train.add_argument("--resume", metavar="DIR", help="continue the checkpointed run in DIR")
    return parser


def _normalize_ranges(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    ranges = {}
    for item in items:
        try:
            task, bounds = item.rsplit("=", 1)
            low, high = (float(x) for x in bounds.split(":"))
        except ValueError:
            raise ValueError(f"--normalize takes TASK=LOW:HIGH, got {item!r}") from None
        if not high > low:
            raise ValueError(f"--normalize {item!r}: HIGH must exceed LOW")
        ranges[task] = (low, high)
    return ranges


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # ``train ALGO``: the algorithm is taken here, since the algorithm's own flags (and their
    # values) follow and would otherwise be read as the positional argument.
    algorithm = None
    if len(argv) > 1 and argv[0] == "train" and not argv[1].startswith("-"):
        algorithm = argv.pop(1)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "compare":
            from turborl.eval import commands

            if args.status:
                print(commands.compare_status(args.path))
            elif args.reset:
                print(commands.compare_reset(args.path))
            elif args.plot:
                print(commands.compare_plot(args.path, args.plot))
            else:
                print(commands.compare_step(args.path, n_groups=args.n_groups, size_group=args.size_group,
                                            n_permutations=args.n_permutations, alpha=args.alpha, beta=args.beta,
                                            seed=args.seed, compare_to_first=args.compare_to_first))
        elif args.command == "report":
            from turborl.eval.report import build_report, read_scores

            print(build_report(read_scores(args.scores), args.out, reps=args.reps, seed=args.seed,
                               normalize=_normalize_ranges(args.normalize) or None, plots=not args.no_plots))
        elif args.command == "train":
            from turborl.algos.commands import train_command

            print(train_command(algorithm, args.env, args.out, args.config_file, args.resume, extra))
    except (ValueError, TypeError, RuntimeError, FileNotFoundError, ImportError) as error:
        print(f"turborl {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
