"""Saved policies: ``policy.pt`` files and ``turborl.load_policy``.

A policy file is a torch file holding plain data only (loaded with ``weights_only=True``): a
format tag and version, the algorithm, its config, the spaces, the network's weights, the
observation normaliser and, for policies trained with stream-x's time feature, the episode length
it counts against. ``load_policy`` rebuilds the network through the algorithm's class.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from turborl import _atomic
from turborl.algos.checkpoint import from_plain, load_plain_file, module_state, to_plain
from turborl.algos.environments import add_time_feature, describe_space, space_from_description

__all__ = ["Policy", "load_policy", "save_policy"]

POLICY_FORMAT, POLICY_VERSION = "turborl-policy", 1


class Policy:
    """Acts on a batch of observations: ``act(obs, deterministic=True) -> actions``.

    A policy trained with a time feature (``time_limit`` set: stream-x) also needs each
    observation's step within its episode: ``act(obs, episode_step=t)`` (``turborl.eval.evaluate``
    passes it)."""

    def __init__(self, algorithm: str, network: torch.nn.Module, action_function: Callable[..., torch.Tensor],
                 observation_space: Any, action_space: Any, obs_normalizer: Any = None,
                 time_limit: int | None = None) -> None:
        self.algorithm, self.network, self._action_function = algorithm, network, action_function
        self.observation_space, self.action_space, self.obs_normalizer = observation_space, action_space, obs_normalizer
        self.time_limit = time_limit
        self._obs_shape = tuple(observation_space.shape)

    def act(self, obs: np.ndarray, deterministic: bool = True, episode_step: Any = None) -> np.ndarray:
        obs = np.asarray(obs)
        if obs.shape[1:] != self._obs_shape:
            raise ValueError(f"obs must be a batch of shape [N, {', '.join(map(str, self._obs_shape))}], "
                             f"got {obs.shape}")
        if self.obs_normalizer is not None:
            obs = self.obs_normalizer(obs)
        if self.time_limit is not None:
            if episode_step is None:
                raise ValueError(f"this {self.algorithm} policy was trained with a time feature: pass episode_step "
                                 f"(each observation's step within its episode of at most {self.time_limit})")
            obs = add_time_feature(obs, episode_step, self.time_limit)
        with torch.no_grad():
            actions = self._action_function(self.network, torch.as_tensor(obs, dtype=torch.float32), deterministic)
        actions = actions.numpy()
        if hasattr(self.action_space, "n"):
            return actions.astype(np.int64)
        return np.clip(actions, self.action_space.low, self.action_space.high).astype(self.action_space.dtype)

    __call__ = act


NORMALIZER_KINDS = ("running", "stream")  # ObservationNormalizer, StreamObservationNormalizer


def save_policy(path: str | Path, algorithm: str, config: dict[str, Any], network: torch.nn.Module,
                observation_space: Any, action_space: Any, obs_normalizer: Any = None,
                time_limit: int | None = None) -> None:
    from turborl.nn import StreamObservationNormalizer

    kind = "stream" if isinstance(obs_normalizer, StreamObservationNormalizer) else "running"
    data = {"format": POLICY_FORMAT, "version": POLICY_VERSION, "algorithm": algorithm, "config": config,
            "observation_space": describe_space(observation_space), "action_space": describe_space(action_space),
            "network": module_state(network),
            "obs_normalizer": None if obs_normalizer is None else to_plain(obs_normalizer.state_dict()),
            "obs_normalizer_kind": kind, "time_limit": time_limit}
    buffer = io.BytesIO()
    torch.save(data, buffer)
    _atomic.write_file(path, buffer.getvalue())


def load_policy(path: str | Path) -> Policy:
    """The policy saved at ``path`` (a ``policy.pt``, or a run directory holding one)."""
    from turborl.algos.registry import algorithm_class
    from turborl.nn import ObservationNormalizer, StreamObservationNormalizer

    path = Path(path)
    if path.is_dir():
        path = path / "policy.pt"
    try:
        data = load_plain_file(path, POLICY_FORMAT, POLICY_VERSION, f"the policy {str(path)!r}")
    except FileNotFoundError:
        raise FileNotFoundError(f"no policy at {str(path)!r}") from None
    cls = algorithm_class(data["algorithm"])
    config = cls.Config(**{k: v for k, v in data["config"].items() if k != "algorithm"})
    observation_space = space_from_description(data["observation_space"])
    action_space = space_from_description(data["action_space"])
    network = cls.policy_network(config, observation_space, action_space)
    network.load_state_dict(data["network"])
    network.eval()
    normalizer = None
    if data["obs_normalizer"] is not None:
        kind = data.get("obs_normalizer_kind", "running")  # files from before stream-x have no kind
        if kind not in NORMALIZER_KINDS:
            raise ValueError(f"the policy {str(path)!r} has an unknown observation normaliser {kind!r}")
        normalizer_class = StreamObservationNormalizer if kind == "stream" else ObservationNormalizer
        normalizer = normalizer_class(tuple(observation_space.shape))
        normalizer.load_state_dict(from_plain(data["obs_normalizer"]))
    return Policy(cls.Config.algorithm, network, cls.policy_action, observation_space, action_space, normalizer,
                  data.get("time_limit"))
