"""The registry of native (C++) environments and ``make_vec``.

Each environment is described by its C++ header (``cpp/include/turborl/envs/<name>.hpp``); the
extension module exports those descriptions and this module turns them into frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turborl import _core

__all__ = ["NativeEnvSpec", "ParamSpec", "env_spec", "make_vec", "registered_ids"]


@dataclass(frozen=True)
class ParamSpec:
    """A physical parameter that may differ between envs of one vector env.

    Attributes:
        name: keyword accepted by ``make_vec`` and ``set_params`` (Gymnasium's attribute name).
        default: the value Gymnasium uses.
        constraint: ``"finite"``, ``"positive"`` or ``"nonnegative"``.
        doc: what it is, with units.
    """

    name: str
    default: float
    constraint: str
    doc: str


@dataclass(frozen=True)
class NativeEnvSpec:
    """What turborl knows about one native environment.

    Attributes:
        id: the Gymnasium id, e.g. ``"CartPole-v1"``.
        max_episode_steps: Gymnasium's default time limit.
        obs_low, obs_high: bounds of the observation space, shape ``(obs_dim,)``.
        action_kind: ``"discrete"`` or ``"box"``.
        num_actions: number of discrete actions (``None`` for box actions).
        action_low, action_high: bounds of box actions, shape ``(action_dim,)`` (``None`` if discrete).
        state_names: names of the state fields, in the column order of ``get_state()["state"]``.
        params: the physical parameters.
        critic_obs_dim: size of the privileged, noise-free observation for asymmetric critics
            (``info["critic_obs"]``), 0 for envs without one.
    """

    id: str
    max_episode_steps: int
    obs_low: tuple[float, ...]
    obs_high: tuple[float, ...]
    action_kind: str
    num_actions: int | None
    action_low: tuple[float, ...] | None
    action_high: tuple[float, ...] | None
    state_names: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    critic_obs_dim: int = 0

    @property
    def obs_dim(self) -> int:
        return len(self.obs_low)

    @property
    def action_dim(self) -> int:
        return 1 if self.action_low is None else len(self.action_low)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


def _spec_from_core(raw: dict[str, Any]) -> NativeEnvSpec:
    discrete = raw["action_kind"] == "discrete"
    return NativeEnvSpec(
        id=raw["id"],
        max_episode_steps=int(raw["max_episode_steps"]),
        obs_low=tuple(raw["obs_low"]),
        obs_high=tuple(raw["obs_high"]),
        action_kind=raw["action_kind"],
        num_actions=int(raw["num_actions"]) if discrete else None,
        action_low=None if discrete else tuple(raw["action_low"]),
        action_high=None if discrete else tuple(raw["action_high"]),
        state_names=tuple(raw["state_names"]),
        params=tuple(ParamSpec(*entry) for entry in raw["params"]),
        critic_obs_dim=int(raw["critic_obs_dim"]),
    )


_SPECS: dict[str, NativeEnvSpec] = {
    env_id: _spec_from_core(entry["spec"]) for env_id, entry in _core.env_registry.items()
}


def registered_ids() -> tuple[str, ...]:
    """The ids ``make_vec`` accepts."""
    return tuple(_SPECS)


def env_spec(env_id: str) -> NativeEnvSpec:
    """The description of a native environment; raises ValueError for unknown ids."""
    try:
        return _SPECS[env_id]
    except (KeyError, TypeError):
        raise ValueError(
            f"env_id {env_id!r} is not a native turborl environment; known ids: {', '.join(_SPECS)}"
        ) from None


def core_class(env_id: str, dtype: str) -> type:
    """The compiled engine class for an environment and a simulation precision."""
    return _core.env_registry[env_spec(env_id).id][dtype]


def make_vec(
    env_id: str,
    num_envs: int,
    *,
    seed: int | None = None,
    autoreset_mode: Any = "next_step",
    dtype: Any = "float64",
    num_threads: int = 1,
    max_episode_steps: int | None = None,
    copy: bool = True,
    **env_params: Any,
):
    """Creates ``num_envs`` copies of a native environment behind Gymnasium's VectorEnv API.

    Args:
        env_id: one of ``registered_ids()``: ``"CartPole-v1"``, ``"Acrobot-v1"``,
            ``"MountainCar-v0"``, ``"MountainCarContinuous-v0"``, ``"Pendulum-v1"``,
            ``"Quadrotor-L2F-v0"`` (turborl.envs.quadrotor).
        num_envs: number of environments, >= 1.
        seed: seed of the first ``reset()``; env ``i`` gets ``seed + i`` (Gymnasium's convention).
            ``None`` draws one from the operating system.
        autoreset_mode: ``"next_step"`` (default), ``"same_step"`` or ``"disabled"``, or a
            ``gymnasium.vector.AutoresetMode``.
        dtype: simulation precision. ``"float64"`` matches Gymnasium bit for bit; ``"float32"``
            is the fast mode (see ``NativeVectorEnv``). Observations are float32 either way.
        num_threads: threads that step contiguous chunks of envs; results do not depend on it.
        max_episode_steps: time limit; ``None`` uses Gymnasium's (e.g. 500 for CartPole-v1).
        copy: return copies of the observation, reward and flag arrays (Gymnasium's default).
            With ``copy=False`` the arrays are views of preallocated buffers that the next
            ``step`` or ``reset`` overwrites.
        **env_params: physical parameters (``env_spec(env_id).params``), each a scalar or an
            array of shape ``(num_envs,)``, e.g. ``gravity=9.81`` or ``length=np.linspace(...)``.

    Returns:
        A ``NativeVectorEnv`` (a ``gymnasium.vector.VectorEnv``).

    Example:
        >>> import numpy as np, turborl
        >>> envs = turborl.envs.make_vec("CartPole-v1", num_envs=4, seed=0)
        >>> obs, info = envs.reset()
        >>> obs.shape
        (4, 4)
        >>> obs, rewards, terminated, truncated, info = envs.step(np.ones(4, dtype=np.int64))
    """
    from turborl.envs.vector_env import NativeVectorEnv

    return NativeVectorEnv(
        env_spec(env_id),
        num_envs,
        seed=seed,
        autoreset_mode=autoreset_mode,
        dtype=dtype,
        num_threads=num_threads,
        max_episode_steps=max_episode_steps,
        copy=copy,
        env_params=env_params,
    )
