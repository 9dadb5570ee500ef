"""Twin Delayed DDPG (Fujimoto, van Hoof & Meger, 2018: "Addressing Function Approximation Error in
Actor-Critic Methods"), as Stable-Baselines3's TD3 and CleanRL's td3_continuous_action.py: a
deterministic tanh actor explored with Gaussian noise (``exploration_noise``, in units of half the
action range), twin critics regressing ``r + discount * min_k Q'_k(s', a')`` with target-policy
smoothing ``a' = clip(mu'(s') + clip(N(0, target_policy_noise), +-target_noise_clip), -1, 1)``, and
every ``policy_delay``-th update an actor step along ``Q1(s, mu(s))`` followed by Polyak updates of
the three target networks.

``backend="native"`` (what "auto" picks, except with prioritized replay) runs each whole update in
turborl's C++ engine (``turborl._core.nn.Td3Engine32``) on the same torch modules; the smoothing
noise comes from the run's generator on both backends, so they take the same steps
(tests/algos/test_continuous.py). See turborl.algos.sac for where the time of a torch step goes.

For "Learning to Fly in Seconds" (Eschmann, Albani & Loianno, RA-L 2024) TD3 adds what the paper
uses: an asymmetric critic on the env's privileged observation (``asymmetric_critic``, on by
default where the env has one), a later start for the actor (``actor_learning_starts``; until then
every critic update also moves the critic targets, as L2F's separate target cadence does) and the
L2F reward curriculum (``reward_curriculum="l2f"``, turborl.algos.reward_curriculum). Training
on ``Quadrotor-L2F-v0`` starts from the paper's settings (``TD3Config.env_defaults``).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from turborl import _core
from turborl.algos.off_policy import ContinuousOffPolicy, OffPolicyConfig
from turborl.algos.reward_curriculum import CURRICULA, make_reward_curriculum
from turborl.nn.actors import TanhActor, TwinQ
from turborl.nn.native import FlatAdam, flatten_parameters, linear_parameters, mlp_layout, resolve_backend
from turborl.replay import ReplayBatch

__all__ = ["TD3", "TD3Config"]


@dataclasses.dataclass
class TD3Config(OffPolicyConfig):
    algorithm: ClassVar[str] = "td3"
    learning_rate: float = 1e-3
    hidden_sizes: tuple[int, ...] = (400, 300)
    activation: str = "relu"
    policy_delay: int = 2
    exploration_noise: float = 0.1
    target_policy_noise: float = 0.2
    target_noise_clip: float = 0.5
    asymmetric_critic: bool = True
    actor_learning_starts: int = 0
    # Uniform random actions for this many steps; -1: until learning_starts (SB3).
    uniform_warmup_steps: int = -1
    # False: the critic targets move with the actor's delayed updates (SB3, CleanRL); True: after
    # every critic update (L2F's separate target cadence).
    critic_targets_every_update: bool = False
    weight_decay: float = 0.0  # both optimisers: L2 as torch.optim.Adam's, or AdamW's with decoupled_weight_decay
    decoupled_weight_decay: bool = False
    decay_biases: bool = True  # False: weight decay leaves biases alone (RLtools)
    # True: each critic and the actor train on a batch of their own (RLtools' TD3 loop); native backend
    separate_batches: bool = False
    reward_curriculum: str = "none"

    # The paper's TD3 for the L2F hover task (learning-to-fly src/config/config.h): one env, 300k
    # steps, replay holding all, batch 256, a critic update every 10 steps and an actor update
    # every 20 with targets on the same cadences, warm-up 15k (critic) / 30k (actor) with the initial actor
    # plus noise collecting (no uniform random actions), 64-64 tanh networks, Adam 1e-3. RLtools decays
    # weights by WD/2 = 5e-5 of their value after every Adam step; AdamW with lr 1e-3 and weight_decay
    # 0.05 shrinks them by the same factor; the biases are not decayed.
    env_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "Quadrotor-L2F-v0": dict(total_timesteps=300_000, buffer_size=300_000, batch_size=256, gamma=0.99,
                                 tau=0.005, train_frequency=10, gradient_steps=1, policy_delay=2,
                                 learning_starts=15_000, actor_learning_starts=30_000, uniform_warmup_steps=0,
                                 critic_targets_every_update=True, weight_decay=0.05, decoupled_weight_decay=True,
                                 decay_biases=False, separate_batches=True,
                                 hidden_sizes=(64, 64),
                                 activation="tanh", learning_rate=1e-3, exploration_noise=0.1,
                                 target_policy_noise=0.2, target_noise_clip=0.5, reward_curriculum="l2f",
                                 eval_interval=50_000, eval_episodes=100),
    }

    def validate(self) -> None:
        super().validate()
        if self.separate_batches and (self.backend == "torch" or self.prioritized):
            raise ValueError("separate_batches runs in the native engine: it needs backend 'auto' or 'native' and "
                             "uniform replay (prioritized replay trains on torch)")
        if self.uniform_warmup_steps < -1:
            raise ValueError(f"uniform_warmup_steps must be >= -1 (-1: learning_starts), got {self.uniform_warmup_steps}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.actor_learning_starts < 0:
            raise ValueError(f"actor_learning_starts must be >= 0, got {self.actor_learning_starts}")
        if self.reward_curriculum not in CURRICULA:
            raise ValueError(f"reward_curriculum must be one of {sorted(CURRICULA)}, got {self.reward_curriculum!r}")
        if self.policy_delay < 1:
            raise ValueError(f"policy_delay must be >= 1, got {self.policy_delay}")
        for name in ("exploration_noise", "target_policy_noise", "target_noise_clip"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {self.activation!r}")


class TD3(ContinuousOffPolicy):
    Config = TD3Config
    checkpoint_modules = ("actor", "critics", "target_actor", "target_critics")
    metric_names = ("critic_loss", "q1_mean", "actor_loss")

    def _build_learner(self) -> None:
        config: TD3Config = self.config
        critic_obs_dim = self.critic_obs_dim or self.observation_space.shape[0]
        self.actor = self.policy_network(config, self.observation_space, self.action_space)
        self.critics = TwinQ(critic_obs_dim, self.action_dim, config.hidden_sizes, config.activation)
        self.reward_curriculum = make_reward_curriculum(config.reward_curriculum, self.envs)
        self.target_actor, self.target_critics = copy.deepcopy(self.actor), copy.deepcopy(self.critics)
        self.target_actor.requires_grad_(False)
        self.target_critics.requires_grad_(False)
        unsupported = "prioritized replay (weighted losses)" if config.prioritized else None
        self.backend = resolve_backend(config.backend, unsupported)
        learner = NativeTd3Learner if self.backend == "native" else TorchTd3Learner
        self.learner = learner(self.actor, self.critics, self.target_actor, self.target_critics, config)

    @classmethod
    def policy_network(cls, config: TD3Config, observation_space: Any, action_space: Any) -> TanhActor:
        return TanhActor(observation_space.shape[0], action_space.low, action_space.high, config.hidden_sizes,
                         config.activation)

    @staticmethod
    def policy_action(network: TanhActor, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return network(obs)  # TD3's policy is deterministic; exploration noise is a training device

    def _policy_parts(self) -> tuple[nn.Module, Any]:
        return self.actor, None

    def _exploration_noise(self, steps: int) -> np.ndarray:
        return self.rng.normal(0.0, self.config.exploration_noise, (steps, self.config.num_envs, self.action_dim))

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        actions = self.learner.act(obs)  # float32; the noisy sum is computed in float64, then rounded
        actions += self._exploration_noise(1)[0]
        # np.clip's wrapper costs more than the two ufuncs at one env (this runs every env step)
        return np.minimum(np.maximum(actions, -1.0, out=actions), 1.0, out=actions)

    _native_explore = _explore  # what the native learner's collect() does (ContinuousOffPolicy._native_collection)

    def _iteration(self) -> dict[str, float]:
        metrics = super()._iteration()
        # No stage after the last step: no update would see it (RLtools' curriculum stops there too).
        if self.reward_curriculum is not None and self.global_step < self.config.total_timesteps:
            critic_part = slice(self.observation_space.shape[0], None) if self.critic_obs_dim else slice(None)
            self.reward_curriculum.maybe_advance(self.global_step, self.envs, self.replay, critic_part)
        return metrics

    def _train(self, gradient_steps: int) -> dict[str, float]:
        """Native backend: all ``gradient_steps`` updates in one engine call that samples the replay
        in C++ (the same draws, noise and schedule as the per-update path below)."""
        layout = self._engine_replay_layout()
        if layout is None:
            if self.config.separate_batches:
                raise ValueError("separate_batches needs the native backend and float32 observations and actions "
                                 f"(backend here: {self.backend})")
            return super()._train(gradient_steps)
        config: TD3Config = self.config
        actor_started = self.global_step >= config.actor_learning_starts
        counts = self.gradient_updates + 1 + np.arange(gradient_steps)
        update_actor = np.ascontiguousarray(actor_started & (counts % config.policy_delay == 0))
        critic_targets = np.ascontiguousarray(~update_actor & (config.critic_targets_every_update or not actor_started))
        shape = (gradient_steps, 2) if config.separate_batches else (gradient_steps,)
        noise = self.rng.standard_normal((*shape, config.batch_size, self.action_dim), dtype=np.float32)
        metrics = self.learner.train_from_replay(layout, noise, update_actor, critic_targets, self.critic_obs_dim)
        self.gradient_updates += gradient_steps
        return metrics

    def _update(self, batch: ReplayBatch, critic_obs: np.ndarray | None = None,
                next_critic_obs: np.ndarray | None = None) -> tuple[dict[str, float], np.ndarray]:
        config: TD3Config = self.config
        noise = self.rng.standard_normal((batch.obs.shape[0], self.action_dim), dtype=np.float32)
        actor_started = self.global_step >= config.actor_learning_starts
        update_actor = actor_started and (self.gradient_updates + 1) % config.policy_delay == 0  # SB3: updates 2, 4
        result = self.learner.update(batch, noise, update_actor, critic_obs, next_critic_obs)
        if not update_actor and (config.critic_targets_every_update or not actor_started):
            self.learner.update_critic_targets()  # an actor step moves them otherwise; none may come yet
        return result

    def _uniform_warmup_steps(self) -> int:
        steps = self.config.uniform_warmup_steps
        return self.config.learning_starts if steps < 0 else steps

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        if self.reward_curriculum is not None:
            state["reward_curriculum"] = self.reward_curriculum.state_dict()
        return state

    def _load_state(self, state: dict[str, Any], directory: Any) -> None:
        super()._load_state(state, directory)
        if self.reward_curriculum is not None:
            self.reward_curriculum.load_state_dict(state["reward_curriculum"], self.envs)


class TorchTd3Learner:
    """CleanRL's TD3 update in torch (also the path for prioritized replay)."""

    def __init__(self, actor: TanhActor, critics: TwinQ, target_actor: TanhActor, target_critics: TwinQ,
                 config: TD3Config) -> None:
        self.actor, self.critics, self.target_actor, self.target_critics = actor, critics, target_actor, target_critics
        self.config = config
        adam = torch.optim.AdamW if config.decoupled_weight_decay else torch.optim.Adam
        # Sparing the biases: the optimisers decay nothing and _step decays the weights by hand, in
        # the place AdamW (before the step) or Adam's L2 (into the gradient) would.
        optimizer_decay = config.weight_decay if config.decay_biases else 0.0
        self.optimizers = [adam(actor.parameters(), lr=config.learning_rate, weight_decay=optimizer_decay),
                           adam(critics.parameters(), lr=config.learning_rate, weight_decay=optimizer_decay)]

    def act(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.actor.unit_action(torch.from_numpy(obs)).numpy()

    def _step(self, optimizer: torch.optim.Optimizer, module: nn.Module) -> None:
        config = self.config
        if config.weight_decay and not config.decay_biases:
            with torch.no_grad():
                for layer in module.modules():
                    if isinstance(layer, nn.Linear):
                        if config.decoupled_weight_decay:
                            layer.weight.mul_(1.0 - optimizer.param_groups[0]["lr"] * config.weight_decay)
                        else:
                            layer.weight.grad.add_(layer.weight, alpha=config.weight_decay)
        optimizer.step()

    def update_critic_targets(self) -> None:
        with torch.no_grad():
            for target_p, online_p in zip(self.target_critics.parameters(), self.critics.parameters()):
                target_p.lerp_(online_p, self.config.tau)

    def update(self, batch: ReplayBatch, noise: np.ndarray, update_actor: bool, critic_obs: np.ndarray | None = None,
               next_critic_obs: np.ndarray | None = None) -> tuple[dict[str, float], np.ndarray]:
        config = self.config
        actor_optimizer, critic_optimizer = self.optimizers
        obs, actions, next_obs, rewards, discounts = (
            torch.as_tensor(np.asarray(x), dtype=torch.float32)
            for x in (batch.obs, batch.action, batch.next_obs, batch.reward, batch.discount))
        # The critics' inputs: the privileged observation when there is one (asymmetric actor-critic).
        critic_in, next_critic_in = obs, next_obs
        if critic_obs is not None:
            critic_in, next_critic_in = torch.from_numpy(critic_obs), torch.from_numpy(next_critic_obs)
        with torch.no_grad():
            smoothing = (torch.from_numpy(noise) * config.target_policy_noise).clamp(-config.target_noise_clip,
                                                                                     config.target_noise_clip)
            next_actions = (self.target_actor.unit_action(next_obs) + smoothing).clamp(-1.0, 1.0)
            targets = rewards + discounts * torch.min(*self.target_critics(next_critic_in, next_actions))
        q1, q2 = self.critics(critic_in, actions)
        squared1, squared2 = (q1 - targets).pow(2), (q2 - targets).pow(2)
        if batch.weights is not None:
            weights = torch.as_tensor(np.asarray(batch.weights), dtype=torch.float32)
            squared1, squared2 = squared1 * weights, squared2 * weights
        critic_loss = squared1.mean() + squared2.mean()
        critic_optimizer.zero_grad()
        critic_loss.backward()
        self._step(critic_optimizer, self.critics)
        metrics = {"critic_loss": critic_loss.item(), "q1_mean": q1.mean().item()}
        if update_actor:
            actor_loss = -self.critics.q1(torch.cat([critic_in, self.actor.unit_action(obs)], -1)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            self._step(actor_optimizer, self.actor)
            metrics["actor_loss"] = actor_loss.item()
            with torch.no_grad():
                for target, online in [(self.target_actor.body, self.actor.body), (self.target_critics, self.critics)]:
                    for target_p, online_p in zip(target.parameters(), online.parameters()):
                        target_p.lerp_(online_p, config.tau)
        td_errors = 0.5 * ((q1 - targets).abs() + (q2 - targets).abs())
        return metrics, td_errors.detach().numpy()


class NativeTd3Learner:
    """The engine's TD3 update on the same modules (actor, critics and both targets in flat
    buffers; one :class:`FlatAdam` for the actor and one for the critics, as CleanRL)."""

    def __init__(self, actor: TanhActor, critics: TwinQ, target_actor: TanhActor, target_critics: TwinQ,
                 config: TD3Config) -> None:
        actor_sizes, activation, _ = mlp_layout(actor.body)
        critic_sizes = mlp_layout(critics.q1).sizes
        self.config, self.action_dim = config, actor_sizes[-1]
        self.actor_flat = flatten_parameters(linear_parameters(actor.body))
        self.critic_flat = flatten_parameters(linear_parameters(critics.q1, critics.q2))
        self._actor, self._critic = self.actor_flat.numpy(), self.critic_flat.numpy()
        self._target_actor = flatten_parameters(linear_parameters(target_actor.body)).numpy()
        self._target_critic = flatten_parameters(linear_parameters(target_critics.q1, target_critics.q2)).numpy()
        decay = dict(weight_decay=config.weight_decay, decoupled_weight_decay=config.decoupled_weight_decay)
        self.optimizers = [FlatAdam(self.actor_flat, actor.parameters(), config.learning_rate, **decay),
                           FlatAdam(self.critic_flat, critics.parameters(), config.learning_rate, **decay)]
        # torch_threads: the threads the learner's math may use; the engine runs the twin critics on two
        self.core = _core.nn.Td3Engine32(actor_sizes, critic_sizes, activation, num_threads=config.torch_threads)

    def act(self, obs: np.ndarray) -> np.ndarray:
        actions = np.empty((obs.shape[0], self.action_dim), np.float32)
        self.core.act(self._actor, obs, actions)
        return actions

    def collect(self, env_core: Any, layout: dict[str, Any], critic_obs_dim: int, steps: int,
                uniform_actions: np.ndarray, noise: np.ndarray, action_scale: np.ndarray,
                action_bias: np.ndarray) -> np.ndarray:
        """``steps`` vector steps of exploration into the replay in C++ (nn/collect.hpp); returns
        the returns of the episodes that ended."""
        return self.core.collect(env_core, layout["core"], layout["obs_field"], layout["action_field"], critic_obs_dim,
                                 self._actor, steps, uniform_actions, noise, action_scale, action_bias)

    def update_critic_targets(self) -> None:
        self._target_critic += self.config.tau * (self._critic - self._target_critic)

    def train_from_replay(self, layout: dict[str, Any], noise: np.ndarray, update_actor: np.ndarray,
                          critic_targets: np.ndarray, critic_obs_dim: int) -> dict[str, float]:
        """``len(update_actor)`` updates sampling the replay inside the engine (float32 fields)."""
        config = self.config
        actor_opt, critic_opt = self.optimizers
        with layout["lock"]:
            stats = self.core.train_from_replay(
                layout["core"], layout["obs_field"], layout["action_field"], layout["reward_is_float64"],
                critic_obs_dim, self._actor, self._critic, self._target_actor, self._target_critic, actor_opt.grads,
                critic_opt.grads, actor_opt.exp_avg, actor_opt.exp_avg_sq, critic_opt.exp_avg, critic_opt.exp_avg_sq,
                actor_opt.step, critic_opt.step, config.batch_size, config.n_step, config.gamma, noise, update_actor,
                critic_targets, actor_opt.lr, critic_opt.lr, config.target_policy_noise, config.target_noise_clip,
                config.tau, config.weight_decay, config.decoupled_weight_decay, config.decay_biases,
                config.separate_batches)
        actor_opt.step, critic_opt.step = stats["actor_step"], stats["critic_step"]
        metrics = {"critic_loss": stats["critic_loss"], "q1_mean": stats["q1_mean"]}
        if update_actor.any():
            metrics["actor_loss"] = stats["actor_loss"]
        return metrics

    def update(self, batch: ReplayBatch, noise: np.ndarray, update_actor: bool, critic_obs: np.ndarray | None = None,
               next_critic_obs: np.ndarray | None = None) -> tuple[dict[str, float], np.ndarray]:
        config = self.config
        actor_opt, critic_opt = self.optimizers
        f32 = lambda x: np.ascontiguousarray(x, dtype=np.float32)  # noqa: E731
        stats = self.core.update(
            self._actor, self._critic, self._target_actor, self._target_critic, actor_opt.grads, critic_opt.grads,
            actor_opt.exp_avg, actor_opt.exp_avg_sq, critic_opt.exp_avg, critic_opt.exp_avg_sq, actor_opt.step,
            critic_opt.step, f32(batch.obs), f32(batch.action), f32(batch.reward), f32(batch.discount),
            f32(batch.next_obs), noise, update_actor, actor_opt.lr, critic_opt.lr, config.target_policy_noise,
            config.target_noise_clip, config.tau, critic_obs, next_critic_obs, config.weight_decay,
            config.decoupled_weight_decay, config.decay_biases)
        actor_opt.step, critic_opt.step = stats["actor_step"], stats["critic_step"]
        metrics = {"critic_loss": stats["critic_loss"], "q1_mean": stats["q1_mean"]}
        if update_actor:
            metrics["actor_loss"] = stats["actor_loss"]
        return metrics, np.zeros(0, np.float32)  # no prioritized replay on this path
