"""``turborl train``: the command line of the training algorithms.

    turborl train ALGO --env ID [--total-timesteps N] [--seed S] [--out DIR] [--config FILE] [--FLAG VALUE ...]
    turborl train --resume DIR [--total-timesteps N] [--progress false]

Every field of the algorithm's config is a flag (``learning_rate`` -> ``--learning-rate``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Sequence

__all__ = ["train_command"]


def _flag_values(config_class: type, flags: Sequence[str]) -> dict[str, str]:
    """``--name value`` pairs of the config's fields -> {field: value}; clear errors otherwise."""
    fields = {field.name for field in dataclasses.fields(config_class)}
    parser = argparse.ArgumentParser(prog=f"turborl train {config_class.algorithm}", add_help=False)
    for name in sorted(fields):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None)
    known, unknown = parser.parse_known_args(list(flags))
    if unknown:
        options = ", ".join("--" + n.replace("_", "-") for n in sorted(fields))
        raise ValueError(f"{config_class.algorithm} has no option {' '.join(unknown)}; its options: {options}")
    return {name: value for name, value in vars(known).items() if value is not None}


def train_command(algorithm: str | None, env: str | None, out: str | None, config_file: str | None,
                  resume: str | None, flags: Sequence[str]) -> str:
    from turborl.algos.config import config_from_flags, load_config
    from turborl.algos.registry import algorithm_class

    start = time.perf_counter()
    if resume is not None:
        if algorithm is not None or env is not None or config_file is not None:
            raise ValueError("--resume DIR continues a run with its own config; give only options such as "
                             "--total-timesteps")
        from turborl.algos.base import Algorithm
        from turborl.algos.checkpoint import read_checkpoint

        name = read_checkpoint(Path(resume))[0]
        overrides = _flag_values(algorithm_class(name).Config, flags)
        run = Algorithm.resume(resume, **overrides)
        out_dir = Path(resume)
    else:
        if algorithm is None:
            raise ValueError("name an algorithm (turborl train ppo ...) or give --resume DIR")
        cls = algorithm_class(algorithm)
        values = {}
        if config_file is not None:
            values = load_config(config_file, cls.Config).to_dict()
            values.pop("algorithm")
        values.update(_flag_values(cls.Config, flags))
        if env is not None:
            values["env_id"] = env
        # The env's defaults (e.g. the L2F paper's TD3 settings) sit under the file and the flags.
        values = {**cls.Config.env_defaults.get(values.get("env_id", cls.Config.env_id), {}), **values}
        config = config_from_flags(cls.Config, values)
        out_dir = Path(out) if out is not None else Path("runs") / f"{algorithm}-{config.env_id}-seed{config.seed}"
        run = cls(config, out_dir)
    run.learn()
    seconds = time.perf_counter() - start
    final = run.log.scores[-1][1] if run.log.scores else float("nan")
    summary = (f"{run.Config.algorithm} on {run.config.env_id}: {run.global_step} steps in {seconds:.1f} s, "
               f"final evaluation return {final:.1f}\nrun directory: {out_dir} (policy.pt, scores.csv, "
               f"learning_curve.png, config.yaml)")
    from turborl.envs import quadrotor

    if run.config.env_id == quadrotor.ENV_ID and run.global_step >= run.config.total_timesteps:
        report = quadrotor.write_hover_report(run.policy(), out_dir)
        summary += (f"\nhover ({report.episodes} episodes from random starts): mean length {report.episode_length:.0f}, "
                    f"{report.settled_fraction:.0%} settled within {report.settle_radius} m, final position error "
                    f"{report.final_position_error:.3f} m: {'hovers' if report.success else 'does not hover'} "
                    f"(hover.json, hover_trajectory.png)")
    return summary
