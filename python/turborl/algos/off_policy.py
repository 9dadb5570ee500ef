"""What the off-policy algorithms share: replay options and buffers (DQN, SAC, TD3), and for
continuous actions (SAC, TD3) collection with uniform warm-up actions and the update schedule.

SB3's schedule and names: ``train_frequency`` env steps, then ``gradient_steps`` updates of
``batch_size`` transitions (the update-to-data ratio is their quotient); nothing is learned until
``learning_starts`` steps were collected, and those are uniform random actions. Replay is
``turborl.replay``'s: uniform or prioritized (Schaul et al., 2016; beta annealed to 1), with
optional n-step returns. The envs run in ``next_step`` autoreset mode, which the buffer stores
natively: a truncated episode bootstraps from its true final observation, a terminated one does not.

Asymmetric actor-critic (Pinto et al., 2018; "Learning to Fly in Seconds" uses it): when an
algorithm's config has ``asymmetric_critic`` set and the env offers a privileged observation
(``info["critic_obs"]``, e.g. Quadrotor-L2F-v0), the buffer stores ``[obs, critic_obs]`` side by
side in its obs field, so next-observations and n-step returns come for free; the actor sees the
first part, the critics the second.

Collection runs in C++ when it can: with the native backend on turborl's envs, the learner's
``collect`` (cpp/include/turborl/nn/collect.hpp) acts, adds the exploration noise, steps the envs and
stores each step in the replay, all of an iteration's vector steps (``train_frequency / num_envs``,
rounded up) in one call, from noise drawn here in the order the Python loop (``_collect_step``, the
fallback) draws it: both give the same run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from turborl.algos.base import Algorithm
from turborl.algos.checkpoint import module_state
from turborl.algos.config import Config
from turborl.algos.schedules import linear
from turborl.replay import PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer, spec_from_env

__all__ = ["ContinuousOffPolicy", "OffPolicyConfig", "make_replay", "sample_replay"]


@dataclasses.dataclass
class OffPolicyConfig(Config):
    """Replay and update-schedule fields (SB3's defaults for SAC and TD3)."""

    num_envs: int = 1
    learning_rate: float = 3e-4
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    train_frequency: int = 1
    gradient_steps: int = 1
    n_step: int = 1
    prioritized: bool = False
    per_alpha: float = 0.6
    per_beta: float = 0.4
    per_eps: float = 1e-6

    def validate(self) -> None:
        super().validate()
        for name in ("buffer_size", "batch_size", "train_frequency", "n_step"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_starts", "gradient_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("gamma", "tau", "per_beta"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.buffer_size < self.num_envs:
            raise ValueError(f"buffer_size ({self.buffer_size}) must hold at least one step of {self.num_envs} envs")


def make_replay(config: OffPolicyConfig, envs: Any, **spec_options: Any) -> ReplayBuffer:
    """The run's buffer: ``buffer_size`` rounded down to whole vector steps, prioritized or uniform."""
    capacity = max(config.num_envs, config.buffer_size // config.num_envs * config.num_envs)
    spec = spec_from_env(envs, **spec_options)
    if config.prioritized:
        return PrioritizedReplayBuffer(capacity, spec, num_envs=config.num_envs, seed=config.seed,
                                       alpha=config.per_alpha, beta=config.per_beta, eps=config.per_eps)
    return ReplayBuffer(capacity, spec, num_envs=config.num_envs, seed=config.seed)


def per_beta(config: OffPolicyConfig, progress: float) -> float:
    """Prioritized replay's importance exponent, annealed to 1 over training (Schaul et al.)."""
    return linear(config.per_beta, 1.0, 1.0, progress)


def sample_replay(replay: ReplayBuffer, config: OffPolicyConfig, progress: float, as_torch: bool,
                  copy: bool = True) -> ReplayBatch:
    """A batch with the run's n-step and prioritization settings; ``copy=False`` for a learner
    that consumes it before the next sample (views of the buffer's output memory)."""
    if config.prioritized:
        return replay.sample(config.batch_size, n_step=config.n_step, gamma=config.gamma,
                             beta=per_beta(config, progress), as_torch=as_torch, copy=copy)
    return replay.sample(config.batch_size, n_step=config.n_step, gamma=config.gamma, as_torch=as_torch, copy=copy)


class ContinuousOffPolicy(Algorithm):
    """The loop of SAC and TD3. Subclasses build their learner in ``_build_learner``, explore with
    ``_explore(obs) -> actions in [-1, 1]`` and learn with ``_update(batch) -> (metrics, |TD
    errors|)``; actions are stored in the buffer in [-1, 1] and scaled to the env's bounds to step."""

    autoreset_mode: ClassVar[str] = "next_step"
    metric_names: ClassVar[tuple[str, ...]] = ()  # every iteration logs these (NaN until measured)
    checkpoint_modules: ClassVar[tuple[str, ...]] = ()  # attributes whose state_dicts a checkpoint keeps

    def _build(self) -> None:
        config: OffPolicyConfig = self.config
        space = self.action_space
        if not hasattr(space, "low") or len(space.shape) != 1:
            raise ValueError(f"{config.algorithm.upper()} needs a 1-D Box action space; {config.env_id} has {space}")
        if len(self.observation_space.shape) != 1:
            raise ValueError(f"{config.algorithm.upper()} here takes flat (1-D) observations, got shape "
                             f"{self.observation_space.shape}")
        low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError(f"{config.algorithm.upper()} needs bounded actions; {config.env_id} has {space}")
        self.action_dim = space.shape[0]
        self._action_scale, self._action_bias = (high - low) / 2.0, (high + low) / 2.0
        critic_space = getattr(self.envs, "critic_observation_space", None)
        use_critic_obs = critic_space is not None and getattr(config, "asymmetric_critic", False)
        self.critic_obs_dim = critic_space.shape[0] if use_critic_obs else 0
        stored = {}
        if self.critic_obs_dim:
            stored["obs"] = ((self.observation_space.shape[0] + self.critic_obs_dim,), np.dtype(np.float32))
        self._critic_obs = self.envs.critic_obs if self.critic_obs_dim else None
        self.replay = make_replay(config, self.envs, **stored)
        # Rewards enter the buffer in its dtype, so that add() takes its no-check fast path.
        self._reward_dtype = self.replay.spec["reward"][1]
        self._unit_bounds = bool(np.all(self._action_scale == 1.0) and np.all(self._action_bias == 0.0))
        self.gradient_updates = 0
        self._build_learner()

    def _build_learner(self) -> None:
        raise NotImplementedError

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _update(self, batch: ReplayBatch) -> tuple[dict[str, float], np.ndarray]:
        """One update from ``batch``; algorithms with ``asymmetric_critic`` also take
        ``(critic_obs, next_critic_obs)`` for their critics (``batch.obs`` is then the actor's part)."""
        raise NotImplementedError

    def _engine_replay_layout(self) -> dict[str, Any] | None:
        """The replay's layout for an engine that samples it inside C++ (the native backend's
        ``train_from_replay``: float32 observations and actions), or None for the per-update path."""
        layout = self.replay.native_layout() if self.backend == "native" else None  # set by _build_learner
        if layout is None or layout["obs_dtype"] != np.float32 or layout["action_dtype"] != np.float32:
            return None
        return layout

    def to_env_actions(self, unit_actions: np.ndarray) -> np.ndarray:
        """[-1, 1] -> the env's bounds, in the action space's dtype."""
        if self._unit_bounds and unit_actions.dtype == self.action_space.dtype:
            return unit_actions
        return (unit_actions * self._action_scale + self._action_bias).astype(self.action_space.dtype)

    def _iteration(self) -> dict[str, float]:
        config: OffPolicyConfig = self.config
        per_iteration = max(1, -(-config.train_frequency // config.num_envs))
        to_finish = -(-(config.total_timesteps - self.global_step) // config.num_envs)
        self._collect(max(1, min(per_iteration, to_finish)))
        metrics = dict.fromkeys(self.metric_names, float("nan"))
        if (self.global_step > config.learning_starts and config.gradient_steps > 0
                and self.replay.num_sampleable >= config.batch_size):
            metrics.update(self._train(config.gradient_steps))
        return metrics

    def _uniform_warmup_steps(self) -> int:
        """Steps of uniform random actions before the policy explores (SB3: ``learning_starts``)."""
        return self.config.learning_starts

    def _collect(self, steps: int) -> None:
        """``steps`` vector steps into the replay: in one call of the learner's C++ loop when it has
        one (native backend, turborl's envs, float32 replay), else one Python step at a time. Both
        draw the same random numbers in the same order and store the same rows."""
        native = self._native_collection()
        if native is None:
            for _ in range(steps):
                self._collect_step()
            return
        envs, layout = native
        config: OffPolicyConfig = self.config
        n = config.num_envs
        uniform = min(steps, max(0, -(-(self._uniform_warmup_steps() - self.global_step) // n)))
        uniform_actions = self.rng.uniform(-1.0, 1.0, (uniform, n, self.action_dim)).astype(np.float32)
        noise = self._exploration_noise(steps - uniform)
        env_core, rows_before = envs.native_core(), layout["core"].rows_written
        try:
            returns = self.learner.collect(env_core, layout, self.critic_obs_dim, steps, uniform_actions, noise,
                                           self._action_scale, self._action_bias)
        finally:
            # A step that fails (a non-finite action) changes nothing; the steps before it are done.
            self.obs = envs.observations
            if self.critic_obs_dim:
                self._critic_obs = envs.critic_obs
            self.global_step += (layout["core"].rows_written - rows_before) * n
        self.log.episode_returns(returns)

    def _native_collection(self) -> tuple[Any, dict[str, Any]] | None:
        """(envs, replay layout) when the learner collects in C++, else None. The learner's loop
        explores as the ``_explore`` that the algorithm names in ``_native_explore`` (TD3's, SAC's):
        a subclass that changes ``_explore`` collects in Python."""
        layout = self._engine_replay_layout()
        if layout is None or not hasattr(self.learner, "collect") or not hasattr(self.envs, "native_core"):
            return None
        if type(self)._explore is not getattr(type(self), "_native_explore", None):
            return None
        if self.envs.metadata["autoreset_mode"].name != "NEXT_STEP" or len(self.replay.spec) != 5:
            return None
        return self.envs, layout

    def _exploration_noise(self, steps: int) -> np.ndarray:
        """The exploration noise of ``steps`` vector steps, ``[steps, num_envs, action_dim]``, drawn
        as ``steps`` calls of ``_explore`` draw it (the learner's ``collect`` takes it)."""
        raise NotImplementedError

    def _collect_step(self) -> None:
        config: OffPolicyConfig = self.config
        if self.global_step < self._uniform_warmup_steps():
            actions = self.rng.uniform(-1.0, 1.0, (config.num_envs, self.action_dim)).astype(np.float32)
        else:
            actions = self._explore(np.ascontiguousarray(self.obs, dtype=np.float32))
        stored_obs = self.obs if not self.critic_obs_dim else np.concatenate([self.obs, self._critic_obs], axis=1)
        next_obs, reward, terminated, truncated, info = self.envs.step(self.to_env_actions(actions))
        self.replay.add(obs=stored_obs, action=actions, reward=reward.astype(self._reward_dtype, copy=False),
                        terminated=terminated, truncated=truncated)
        self.obs = next_obs
        if self.critic_obs_dim:
            self._critic_obs = info["critic_obs"]
        self.global_step += config.num_envs
        self.log.episodes(info)

    def _train(self, gradient_steps: int) -> dict[str, float]:
        config: OffPolicyConfig = self.config
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}  # TD3 reports its actor loss only on the updates that step the actor
        for _ in range(gradient_steps):
            # The learner consumes the batch (and priorities are updated) before the next sample.
            batch = sample_replay(self.replay, config, self.progress(), as_torch=False, copy=False)
            if self.critic_obs_dim:
                actor_dim = self.observation_space.shape[0]
                split = lambda x: (np.ascontiguousarray(x[:, :actor_dim]), np.ascontiguousarray(x[:, actor_dim:]))  # noqa: E731
                (obs, critic_obs), (next_obs, next_critic_obs) = split(batch.obs), split(batch.next_obs)
                batch = dataclasses.replace(batch, obs=obs, next_obs=next_obs)
                metrics, td_errors = self._update(batch, critic_obs, next_critic_obs)
            else:
                metrics, td_errors = self._update(batch)
            if config.prioritized:
                self.replay.update_priorities(batch.indices, td_errors)
            self.gradient_updates += 1
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1
        return {key: value / counts[key] for key, value in totals.items()}

    # ---- checkpoints: the named modules, the learner's optimisers and the replay buffer ----------

    def _state(self) -> dict[str, Any]:
        return {"modules": {name: module_state(getattr(self, name)) for name in self.checkpoint_modules},
                "optimizers": [opt.state_dict() for opt in self.learner.optimizers],
                "gradient_updates": self.gradient_updates}

    def _write_extra(self, directory: Path) -> None:
        self.replay.save(directory / "replay")

    def _load_state(self, state: dict[str, Any], directory: Path) -> None:
        for name in self.checkpoint_modules:
            getattr(self, name).load_state_dict(state["modules"][name])
        for optimizer, saved in zip(self.learner.optimizers, state["optimizers"]):
            optimizer.load_state_dict(saved)
        self.gradient_updates = int(state["gradient_updates"])
        self.replay = type(self.replay).load(directory / "replay")
        if self.critic_obs_dim:  # the envs' state was restored first; their critic obs with it
            self._critic_obs = self.envs.critic_obs
