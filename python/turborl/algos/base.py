"""The training loop every algorithm shares: iterations, evaluation, checkpoints, the run
directory, resume. Algorithms implement collection and updates (``_iteration``) and say how
to rebuild and run their policy network (``policy_network``, ``policy_action``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from turborl.algos.checkpoint import read_checkpoint, write_checkpoint
from turborl.algos.config import Config, save_config
from turborl.algos.environments import make_envs
from turborl.algos.policy import Policy, save_policy
from turborl.algos.run_log import RunLog
from turborl.algos.seeding import get_rng_states, seed_everything, set_rng_states

__all__ = ["Algorithm"]

EVAL_SEED_OFFSET = 1_000_000  # evaluation envs never share seeds with training envs


class Algorithm:
    """Base class. ``Algorithm(config, out_dir).learn()`` trains; ``Algorithm.resume(out_dir)``
    continues a checkpointed run exactly (same result as never stopping) on turborl's envs."""

    Config: ClassVar[type[Config]] = Config
    autoreset_mode: ClassVar[str] = "next_step"

    def __init__(self, config: Config, out_dir: str | Path | None = None) -> None:
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} takes a {self.Config.__name__}, got {type(config).__name__}")
        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, self.out_dir / "config.yaml")
        self.rng = seed_everything(config.seed, config.torch_threads)
        self._open_envs()
        self.global_step = 0
        self.iteration = 0
        self._next_eval = config.eval_interval
        self._next_checkpoint = config.checkpoint_interval or None
        self.log = RunLog(self.out_dir, self.Config.algorithm, config.env_id, config.seed, config.total_timesteps,
                          progress=config.progress, tensorboard=config.tensorboard)
        self._build()

    def _open_envs(self) -> None:
        """``self.envs`` (with ``get_state``/``set_state`` for exact resume), their spaces and the
        first observations ``self.obs``; algorithms on other kinds of worlds (board games) override it."""
        config = self.config
        self.envs = make_envs(config.env_id, config.num_envs, config.seed, backend=config.env_backend,
                              autoreset_mode=self.autoreset_mode)
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        self.obs, _ = self.envs.reset(seed=config.seed)

    # ---- what algorithms implement -----------------------------------------------------------

    def _build(self) -> None:
        """Networks, optimisers, buffers."""
        raise NotImplementedError

    def _iteration(self) -> dict[str, float]:
        """Collects and learns; advances ``self.global_step``; returns metrics to log."""
        raise NotImplementedError

    def _policy_parts(self) -> tuple[torch.nn.Module, Any]:
        """(policy network, observation normaliser or None) for acting and saving."""
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """Everything else a checkpoint needs (networks, optimisers, normalisers)."""
        raise NotImplementedError

    def _time_limit(self) -> int | None:
        """The episode length a time feature counts against (stream-x), None without one."""
        return None

    def _load_state(self, state: dict[str, Any], directory: Path) -> None:
        raise NotImplementedError

    def _write_extra(self, directory: Path) -> None:
        """Writes large state (a replay buffer) into the checkpoint directory."""

    @classmethod
    def policy_network(cls, config: Config, observation_space: Any, action_space: Any) -> torch.nn.Module:
        raise NotImplementedError

    @staticmethod
    def policy_action(network: torch.nn.Module, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        raise NotImplementedError

    # ---- the loop ----------------------------------------------------------------------------

    def policy(self) -> Policy:
        network, normalizer = self._policy_parts()
        return Policy(self.Config.algorithm, network, self.policy_action, self.observation_space, self.action_space,
                      normalizer, self._time_limit())

    def progress(self) -> float:
        """Fraction of training done, in [0, 1]."""
        return min(1.0, self.global_step / self.config.total_timesteps)

    def learn(self, stop_at: int | None = None) -> "Algorithm":
        """Trains to ``total_timesteps`` (or until ``stop_at`` steps, leaving a checkpoint there
        to resume from); writes the run directory's files at the end."""
        limit = self.config.total_timesteps if stop_at is None else min(stop_at, self.config.total_timesteps)
        while self.global_step < limit:
            metrics = self._iteration()
            self.iteration += 1
            self.log.step(self.global_step)
            self.log.metrics(self.global_step, {**metrics, "recent_return": self.log.mean_recent_return()})
            if self.global_step >= self._next_eval:
                self.evaluate()
                while self._next_eval <= self.global_step:
                    self._next_eval += self.config.eval_interval
            if self._next_checkpoint is not None and self.global_step >= self._next_checkpoint:
                self.save_checkpoint()
                while self._next_checkpoint <= self.global_step:
                    self._next_checkpoint += self.config.checkpoint_interval
        if self.global_step >= self.config.total_timesteps:
            if not self.log.scores or self.log.scores[-1][0] != self.global_step:
                self.evaluate()
            self._finish()
        elif self.out_dir is not None:
            self.save_checkpoint()
        return self

    def evaluate(self) -> float:
        """Mean return of ``eval_episodes`` deterministic episodes on a separate vector env."""
        from turborl.eval import evaluate

        returns = evaluate(self.policy(), self.config.env_id, self.config.eval_episodes,
                           seeds=(self.config.seed + EVAL_SEED_OFFSET,))
        score = float(returns.mean())
        self.log.score(self.global_step, score)
        return score

    def _finish(self) -> None:
        if self.out_dir is not None:
            self.save_policy(self.out_dir / "policy.pt")
            self.save_checkpoint()
        self.log.finish(plot=self.out_dir is not None)
        self.envs.close()

    def save_policy(self, path: str | Path) -> None:
        network, normalizer = self._policy_parts()
        save_policy(path, self.Config.algorithm, self.config.to_dict(), network, self.observation_space,
                    self.action_space, normalizer, self._time_limit())

    # ---- checkpoints ---------------------------------------------------------------------------

    def save_checkpoint(self) -> None:
        if self.out_dir is None:
            raise ValueError("save_checkpoint needs the run's out_dir")
        state = {"config": self.config.to_dict(), "global_step": self.global_step, "iteration": self.iteration,
                 "next_eval": self._next_eval, "next_checkpoint": self._next_checkpoint,
                 "rng": get_rng_states(self.rng), "log": self.log.state_dict(), "obs": np.asarray(self.obs),
                 "envs": self._env_state(), "algorithm": self._state()}
        write_checkpoint(self.out_dir, self.Config.algorithm, state, self._write_extra)

    def _env_state(self) -> dict[str, Any] | None:
        # turborl's envs snapshot exactly; Gymnasium envs in general cannot be, so a resumed run
        # on them restarts its episodes (documented).
        return self.envs.get_state() if hasattr(self.envs, "get_state") else None

    @classmethod
    def resume(cls, out_dir: str | Path, **overrides: Any) -> "Algorithm":
        """The run checkpointed in ``out_dir``, ready to ``learn()`` on from where it stopped.
        ``overrides`` may change options such as ``total_timesteps`` or ``progress``."""
        from turborl.algos.registry import algorithm_class

        out_dir = Path(out_dir)
        name, state, directory = read_checkpoint(out_dir, None if cls is Algorithm else cls.Config.algorithm)
        algorithm_type = algorithm_class(name) if cls is Algorithm else cls
        values = {k: v for k, v in state["config"].items() if k != "algorithm"}
        values.update(overrides)
        algorithm = algorithm_type(algorithm_type.Config(**values), out_dir)
        algorithm._restore(state, directory)
        return algorithm

    def _restore(self, state: dict[str, Any], directory: Path) -> None:
        self.global_step, self.iteration = int(state["global_step"]), int(state["iteration"])
        self._next_eval = int(state["next_eval"])
        self._next_checkpoint = None if state["next_checkpoint"] is None else int(state["next_checkpoint"])
        self.log.load_state_dict(state["log"])
        self.log.step(self.global_step)  # the progress bar starts where the run stopped
        if state["envs"] is not None and hasattr(self.envs, "set_state"):
            self.envs.set_state(state["envs"])
            self.obs = state["obs"]
        self._load_state(state["algorithm"], directory)
        set_rng_states(state["rng"], self.rng)
