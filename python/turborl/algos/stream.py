"""Streaming deep RL: Stream AC(lambda), Stream Q(lambda), Stream SARSA(lambda) and Stream TD(lambda)
("Streaming Deep Reinforcement Learning Finally Works", Elsayed, Vasan & Mahmood, 2024; the
authors' code is mohmdelsayed/streaming-drl).

Batch size one, no replay buffer, no target networks: every env step is one update with
eligibility traces and the ObGD optimiser, whose step size ``lr / max(lr * kappa * max(|delta|, 1)
* ||e||_1, 1)`` bounds how far one sample can move the prediction. The paper's recipe, all here and
on by default: sparse initialisation (90% of each unit's inputs zero), a parameter-free LayerNorm
before every LeakyReLU, observations normalised by Welford's running statistics (updated before
normalising), rewards scaled by the standard deviation of the discounted return trace, and a
time feature ``-0.5 + t / max_episode_steps`` appended to the observation.

Per step the work is two or three forward passes, one or two backward passes and the ObGD updates
on networks of 32-128 units: torch spends ~0.3-0.5 ms on its per-operator overhead where the
arithmetic takes microseconds, so the update runs in turborl's C++ engine (one call per step,
``turborl._core.nn.StreamAcEngine32`` / ``StreamQEngine32`` / ``StreamTdEngine32``) on torch
modules whose parameters are views of its flat buffers (saved policies are ordinary torch weights).

Deviations from the authors' scripts, both deliberate: a truncated episode bootstraps from its final
observation (theirs treats truncation as termination), and the time feature counts the steps taken
(theirs shows -0.5 for the first two observations of an episode). Episodes keep the env's own time
limit (theirs lengthens CartPole's to 10,000 steps for Stream Q).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from turborl import _core
from turborl.algos.base import Algorithm
from turborl.algos.checkpoint import module_state
from turborl.algos.config import Config
from turborl.algos.environments import add_time_feature, episode_limit
from turborl.algos.schedules import linear
from turborl.nn import StreamMLP, StreamObservationNormalizer, StreamRewardScaler
from turborl.nn.native import flatten_parameters, linear_parameters, mlp_layout

__all__ = ["StreamAC", "StreamACConfig", "StreamQ", "StreamQConfig", "StreamSARSA", "StreamSARSAConfig", "StreamTD"]


@dataclasses.dataclass
class StreamConfig(Config):
    """Fields the stream-x agents share (the authors' defaults)."""

    num_envs: int = 1
    hidden_sizes: tuple[int, ...] = (128, 128)
    learning_rate: float = 1.0
    gamma: float = 0.99
    lamda: float = 0.8  # the authors' spelling: lambda is a Python keyword
    sparsity: float = 0.9
    normalize_obs: bool = True
    scale_reward: bool = True
    time_feature: bool = True
    log_interval: int = 1_000  # env steps between metrics rows

    def validate(self) -> None:
        super().validate()
        if self.num_envs != 1:
            raise ValueError(f"stream-x learns from one env, one sample at a time: num_envs must be 1, got "
                             f"{self.num_envs}")
        if self.backend == "torch":
            raise ValueError("backend='torch' is not available for stream-x: its per-step updates run in the native "
                             "engine (use 'auto' or 'native')")
        for name in ("gamma", "lamda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"sparsity must be in [0, 1), got {self.sparsity}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.log_interval < 1:
            raise ValueError(f"log_interval must be >= 1, got {self.log_interval}")


@dataclasses.dataclass
class StreamACConfig(StreamConfig):
    algorithm: ClassVar[str] = "stream_ac"
    kappa_policy: float = 3.0
    kappa_value: float = 2.0
    entropy_coef: float = 0.01

    def validate(self) -> None:
        super().validate()
        if self.kappa_policy <= 0 or self.kappa_value <= 0 or self.entropy_coef < 0:
            raise ValueError(f"kappa_policy and kappa_value must be > 0 and entropy_coef >= 0, got "
                             f"{self.kappa_policy}, {self.kappa_value}, {self.entropy_coef}")


@dataclasses.dataclass
class StreamQConfig(StreamConfig):
    algorithm: ClassVar[str] = "stream_q"
    hidden_sizes: tuple[int, ...] = (32, 32)
    kappa: float = 2.0
    adaptive: bool = False  # AdaptiveObGD: traces normalised by a second-moment estimate
    exploration_fraction: float = 0.05
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.01

    def validate(self) -> None:
        super().validate()
        if self.kappa <= 0:
            raise ValueError(f"kappa must be > 0, got {self.kappa}")
        for name in ("exploration_fraction", "exploration_initial_eps", "exploration_final_eps"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclasses.dataclass
class StreamSARSAConfig(StreamQConfig):
    algorithm: ClassVar[str] = "stream_sarsa"


class StreamAlgorithm(Algorithm):
    """The stream-x loop: observe (normalise, time feature), act, step, scale the reward, learn from
    that one transition. Subclasses build their networks and engine (``_build_learner``), choose
    actions (``_act``) and learn (``_learn``)."""

    autoreset_mode: ClassVar[str] = "same_step"  # the final observation of a truncated episode bootstraps

    def _build(self) -> None:
        config: StreamConfig = self.config
        if len(self.observation_space.shape) != 1:
            raise ValueError(f"stream-x here takes flat (1-D) observations, got shape {self.observation_space.shape}")
        self.obs_normalizer = StreamObservationNormalizer(self.observation_space.shape) if config.normalize_obs else None
        self.reward_scaler = StreamRewardScaler(config.gamma) if config.scale_reward else None
        self.time_limit = None
        if config.time_feature:
            self.time_limit = episode_limit(self.envs)
            if self.time_limit is None:
                raise ValueError(f"time_feature needs episodes with a time limit; {config.env_id} has none "
                                 "(pass --time-feature false)")
        self.input_dim = self.network_inputs(config, self.observation_space)
        self.episode_step = 0
        self._build_learner()
        self.state = self._observe(self.obs[0])

    @classmethod
    def network_inputs(cls, config: StreamConfig, observation_space: Any) -> int:
        return int(observation_space.shape[0]) + (1 if config.time_feature else 0)

    def _observe(self, raw_obs: np.ndarray) -> np.ndarray:
        """The network's input for one new observation (which joins the normaliser's statistics)."""
        obs = np.asarray(raw_obs, np.float32)[None]
        if self.obs_normalizer is not None:
            obs = self.obs_normalizer(obs[0], update=True)[None]
        if self.time_limit is not None:
            obs = add_time_feature(obs, self.episode_step, self.time_limit)
        return np.ascontiguousarray(obs[0], np.float32)

    def _time_limit(self) -> int | None:
        return self.time_limit

    def _policy_parts(self) -> tuple[nn.Module, Any]:
        return self.policy_module, self.obs_normalizer

    def _iteration(self) -> dict[str, float]:
        config: StreamConfig = self.config
        steps = min(config.log_interval - self.global_step % config.log_interval,
                    config.total_timesteps - self.global_step)
        total_error = 0.0
        for _ in range(steps):
            total_error += abs(self._env_step())
        return {"abs_td_error": total_error / steps, **self._metrics()}

    def _env_step(self) -> float:
        env_action, action = self._act(self.state)
        next_obs, reward, terminated, truncated, info = self.envs.step(env_action)
        done = bool(terminated[0] or truncated[0])
        self.episode_step += 1
        next_state = self._observe(info["final_obs"][0] if done else next_obs[0])
        r = float(reward[0])
        if self.reward_scaler is not None:
            r = self.reward_scaler(r, done)
        delta = self._learn(self.state, action, r, next_state, bool(terminated[0]), done)
        if done:
            self.episode_step = 0
            next_state = self._observe(next_obs[0])  # the reset observation, as the authors' wrapper sees it
        self.state, self.obs = next_state, next_obs
        self.global_step += 1
        self.log.episodes(info)
        return delta

    def _metrics(self) -> dict[str, float]:
        return {}

    # ---- what subclasses implement -------------------------------------------------------------

    def _build_learner(self) -> None:
        raise NotImplementedError

    def _act(self, state: np.ndarray) -> tuple[np.ndarray, Any]:
        """(the vector env's action [1, ...], the action the update needs)."""
        raise NotImplementedError

    def _learn(self, state: np.ndarray, action: Any, reward: float, next_state: np.ndarray, terminated: bool,
               done: bool) -> float:
        """One update on one transition; returns the TD error."""
        raise NotImplementedError

    # ---- checkpoints ---------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {"modules": [module_state(m) for m in self._modules()], "arrays": [a.copy() for a in self._arrays()],
                "obs_normalizer": None if self.obs_normalizer is None else self.obs_normalizer.state_dict(),
                "reward_scaler": None if self.reward_scaler is None else self.reward_scaler.state_dict(),
                "episode_step": self.episode_step, "state": self.state.copy(), **self._extra_state()}

    def _load_state(self, state: dict[str, Any], directory) -> None:
        for module, saved in zip(self._modules(), state["modules"]):
            module.load_state_dict(saved)
        for array, saved in zip(self._arrays(), state["arrays"]):
            array[...] = saved
        if self.obs_normalizer is not None:
            self.obs_normalizer.load_state_dict(state["obs_normalizer"])
        if self.reward_scaler is not None:
            self.reward_scaler.load_state_dict(state["reward_scaler"])
        self.episode_step, self.state = int(state["episode_step"]), np.asarray(state["state"], np.float32)
        self._load_extra_state(state)

    def _modules(self) -> list[nn.Module]:
        raise NotImplementedError

    def _arrays(self) -> list[np.ndarray]:
        """The learner's NumPy state (traces, second moments), restored in place."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        pass


def _flat_view(module: nn.Module) -> np.ndarray:
    """The module's parameters moved into one engine-layout buffer; its NumPy view."""
    return flatten_parameters(linear_parameters(module)).numpy()


class StreamAC(StreamAlgorithm):
    """Stream AC(lambda): a policy (categorical logits, or ``[mean, pre_std]`` with ``std =
    softplus(pre_std)`` for continuous actions, which the env sees clipped to its bounds) and a state
    value, each with its own ObGD (kappa 3 and 2); the actor follows ``grad log pi(a|s) + c *
    sign(delta) * grad H`` (entropy coefficient c = 0.01)."""

    Config = StreamACConfig

    def _build_learner(self) -> None:
        config: StreamACConfig = self.config
        self.discrete = hasattr(self.action_space, "n")
        self.policy_module = self.policy_network(config, self.observation_space, self.action_space)
        self.value_module = StreamMLP(self.input_dim, 1, config.hidden_sizes, config.sparsity)
        policy_layout, value_layout = mlp_layout(self.policy_module), mlp_layout(self.value_module)
        self.core = _core.nn.StreamAcEngine32(policy_layout.sizes, value_layout.sizes, self.discrete,
                                              policy_layout.activation, policy_layout.layer_norm)
        self.policy_params, self.value_params = _flat_view(self.policy_module), _flat_view(self.value_module)
        self.policy_traces, self.value_traces = np.zeros_like(self.policy_params), np.zeros_like(self.value_params)
        self._action = np.zeros(1 if self.discrete else self.action_space.shape[0], np.float32)

    @classmethod
    def policy_network(cls, config: StreamACConfig, observation_space: Any, action_space: Any) -> "StreamPolicy":
        return StreamPolicy(cls.network_inputs(config, observation_space), action_space, config.hidden_sizes,
                            config.sparsity)

    @staticmethod
    def policy_action(network: "StreamPolicy", obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        out = network(obs)
        if network.discrete:
            return out.argmax(-1) if deterministic else torch.distributions.Categorical(logits=out).sample()
        dim = out.shape[-1] // 2
        mean, std = out[:, :dim], nn.functional.softplus(out[:, dim:])
        return mean if deterministic else mean + std * torch.randn_like(mean)

    def _act(self, state: np.ndarray) -> tuple[np.ndarray, Any]:
        self.core.act(self.policy_params, state, self.config.seed, self.global_step, self._action)
        if self.discrete:
            return np.array([int(self._action[0])]), self._action.copy()
        env_action = np.clip(self._action, self.action_space.low, self.action_space.high)  # the authors' ClipAction
        return env_action[None].astype(self.action_space.dtype), self._action.copy()

    def _learn(self, state, action, reward, next_state, terminated, done) -> float:
        config: StreamACConfig = self.config
        return self.core.step(self.policy_params, self.value_params, self.policy_traces, self.value_traces, state,
                              action, reward, next_state, terminated, done, config.gamma, config.lamda,
                              config.learning_rate, config.entropy_coef, config.kappa_policy, config.kappa_value)

    def _modules(self) -> list[nn.Module]:
        return [self.policy_module, self.value_module]

    def _arrays(self) -> list[np.ndarray]:
        return [self.policy_traces, self.value_traces]


class StreamPolicy(StreamMLP):
    """Stream AC's policy network: logits for a Discrete space, ``[mean, pre_std]`` per dimension for
    a Box (two heads of the authors' code, stacked into one output layer)."""

    def __init__(self, inputs: int, action_space: Any, hidden_sizes: Sequence[int], sparsity: float) -> None:
        discrete = hasattr(action_space, "n")
        super().__init__(inputs, int(action_space.n) if discrete else 2 * action_space.shape[0], hidden_sizes,
                         sparsity)
        self.discrete = discrete


class StreamQ(StreamAlgorithm):
    """Stream Q(lambda): epsilon-greedy (1 -> 0.01 over 5% of training), one ObGD on
    ``grad Q(s, a)`` towards ``r + gamma max_a' Q(s', a')``; Watkins's traces reset after a
    non-greedy action (after its update, as the authors' code) and at an episode's end."""

    Config = StreamQConfig
    bootstrap_greedy: ClassVar[bool] = True  # Q-learning's max; SARSA bootstraps from the action it takes next

    def _build_learner(self) -> None:
        config: StreamQConfig = self.config
        if not hasattr(self.action_space, "n"):
            raise ValueError(f"{config.algorithm} needs a Discrete action space; {config.env_id} has "
                             f"{self.action_space} (use stream_ac for continuous actions)")
        self.policy_module = self.policy_network(config, self.observation_space, self.action_space)
        layout = mlp_layout(self.policy_module)
        self.core = _core.nn.StreamQEngine32(layout.sizes, layout.activation, layout.layer_norm)
        self.params = _flat_view(self.policy_module)
        self.traces = np.zeros_like(self.params)
        self.second_moment = np.zeros_like(self.params) if config.adaptive else None
        self.updates = 0
        self._q = np.zeros(self.action_space.n, np.float32)
        self.next_action: tuple[int, bool] | None = None  # SARSA: the action already chosen for this state

    @classmethod
    def policy_network(cls, config: StreamQConfig, observation_space: Any, action_space: Any) -> StreamMLP:
        return StreamMLP(cls.network_inputs(config, observation_space), int(action_space.n), config.hidden_sizes,
                         config.sparsity)

    @staticmethod
    def policy_action(network: StreamMLP, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return network(obs).argmax(-1)

    def epsilon(self) -> float:
        config: StreamQConfig = self.config
        return linear(config.exploration_initial_eps, config.exploration_final_eps, config.exploration_fraction,
                      self.progress())

    def _metrics(self) -> dict[str, float]:
        return {"epsilon": self.epsilon()}

    def _choose(self, state: np.ndarray) -> tuple[int, bool]:
        """(epsilon-greedy action, whether it differs from the greedy one)."""
        self.core.q_values(self.params, state, self._q)
        greedy = int(self._q.argmax())
        if self.rng.random() < self.epsilon():
            action = int(self.rng.integers(self.action_space.n))
            return action, action != greedy
        return greedy, False

    def _act(self, state: np.ndarray) -> tuple[np.ndarray, Any]:
        choice = self.next_action if self.next_action is not None else self._choose(state)
        self.next_action = None
        return np.array([choice[0]]), choice

    def _learn(self, state, action, reward, next_state, terminated, done) -> float:
        config: StreamQConfig = self.config
        taken, non_greedy = action
        next_action, reset = -1, done
        if self.bootstrap_greedy:
            reset = done or non_greedy  # Watkins's Q(lambda)
        else:
            next_action = self._choose(next_state)[0]
            if not done:
                self.next_action = (next_action, False)
        self.updates += 1
        return self.core.step(self.params, self.traces, self.second_moment, self.updates, state, taken, reward,
                              next_state, next_action, terminated, reset, config.gamma, config.learning_rate,
                              config.lamda, config.kappa, config.adaptive)

    def _modules(self) -> list[nn.Module]:
        return [self.policy_module]

    def _arrays(self) -> list[np.ndarray]:
        return [self.traces] + ([self.second_moment] if self.second_moment is not None else [])

    def _extra_state(self) -> dict[str, Any]:
        return {"updates": self.updates, "next_action": self.next_action}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.next_action = None if state["next_action"] is None else tuple(state["next_action"])


class StreamSARSA(StreamQ):
    """Stream SARSA(lambda): as Stream Q(lambda), bootstrapping from ``Q(s', a')`` for the
    epsilon-greedy action ``a'`` the agent then takes; traces reset only at an episode's end."""

    Config = StreamSARSAConfig
    bootstrap_greedy = False


class StreamTD:
    """Stream TD(lambda) value prediction for one stream of transitions (the paper's prediction
    agent): ``V(s)`` by a :class:`~turborl.nn.StreamMLP` trained with ObGD (or AdaptiveObGD) on
    ``delta = r + gamma V(s') (1 - terminated) - V(s)``, traces reset at each episode's end.
    Observations go in as given: compose with :class:`~turborl.nn.StreamObservationNormalizer`
    and :class:`~turborl.nn.StreamRewardScaler` as needed.

        td = StreamTD(obs_dim=4, seed=0)
        delta = td.update(obs, reward, next_obs, terminated, episode_end)
        values = td.value(batch_of_obs)
    """

    def __init__(self, obs_dim: int, hidden_sizes: Sequence[int] = (128, 128), *, gamma: float = 0.99,
                 lamda: float = 0.8, learning_rate: float = 1.0, kappa: float = 2.0, adaptive: bool = False,
                 sparsity: float = 0.9, layer_norm: bool = True, seed: int = 0) -> None:
        if obs_dim < 1:
            raise ValueError(f"obs_dim must be >= 1, got {obs_dim}")
        torch_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # the sparse initialisation's draws, without disturbing the caller's stream
        try:
            self.network = StreamMLP(obs_dim, 1, hidden_sizes, sparsity, layer_norm)
        finally:
            torch.random.set_rng_state(torch_state)
        layout = mlp_layout(self.network)
        self.core = _core.nn.StreamTdEngine32(layout.sizes, layout.activation, layout.layer_norm)
        self.params = _flat_view(self.network)
        self.traces = np.zeros_like(self.params)
        self.second_moment = np.zeros_like(self.params) if adaptive else None
        self.gamma, self.lamda, self.learning_rate, self.kappa, self.adaptive = gamma, lamda, learning_rate, kappa, adaptive
        self.updates = 0

    def value(self, obs: np.ndarray) -> np.ndarray:
        """V for a batch of observations [N, obs_dim] -> [N]."""
        with torch.no_grad():
            return self.network(torch.as_tensor(np.asarray(obs, np.float32))).squeeze(-1).numpy()

    def update(self, obs: np.ndarray, reward: float, next_obs: np.ndarray, terminated: bool,
               episode_end: bool) -> float:
        """One Stream TD(lambda) step on one transition; returns the TD error."""
        self.updates += 1
        return self.core.step(self.params, self.traces, self.second_moment, self.updates,
                              np.ascontiguousarray(obs, np.float32), float(reward),
                              np.ascontiguousarray(next_obs, np.float32), bool(terminated), bool(episode_end),
                              self.gamma, self.learning_rate, self.lamda, self.kappa, self.adaptive)
