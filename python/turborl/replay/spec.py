"""What a replay buffer stores: named fields, each a shape and a dtype per env and step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

__all__ = ["FieldSpec", "REQUIRED_FIELDS", "normalize_spec", "spec_from_env"]

# Fields every buffer has; others (log-probs, masks, ...) are stored and returned as extras.
REQUIRED_FIELDS = ("obs", "action", "reward", "terminated", "truncated")


@dataclass(frozen=True)
class FieldSpec:
    """One stored field: ``shape`` and ``dtype`` of one env's value at one step."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def item_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _field(name: str, value: Any) -> FieldSpec:
    if isinstance(value, Mapping):  # cpprb's form: {"shape": ..., "dtype": ...}
        shape, dtype = value.get("shape", ()), value.get("dtype", np.float32)
    else:
        try:
            shape, dtype = value
        except (TypeError, ValueError):
            raise TypeError(f"spec[{name!r}] must be (shape, dtype) or {{'shape': ..., 'dtype': ...}}, "
                            f"got {value!r}") from None
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"spec[{name!r}] shape must be a tuple of ints, got {shape!r}") from None
    if any(d < 1 for d in shape):
        raise ValueError(f"spec[{name!r}] shape must have positive dimensions, got {shape}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"spec[{name!r}] dtype {dtype!r} is not a NumPy dtype") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"spec[{name!r}] dtype must be bool, integer or floating, got {dtype}")
    return FieldSpec(name, shape, dtype)


def normalize_spec(spec: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    """Checks a user's spec and returns its fields in order."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a mapping of field names to (shape, dtype), got {type(spec).__name__}")
    fields = tuple(_field(str(name), value) for name, value in spec.items())
    by_name = {f.name: f for f in fields}
    missing = [name for name in REQUIRED_FIELDS if name not in by_name]
    if missing:
        raise ValueError(f"spec must define {list(REQUIRED_FIELDS)}; missing {missing}")
    reward = by_name["reward"]
    if reward.shape != () or reward.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"spec['reward'] must be a float32 or float64 scalar, got shape {reward.shape} {reward.dtype}")
    for name in ("terminated", "truncated"):
        if by_name[name].shape != () or by_name[name].dtype != np.dtype(bool):
            raise ValueError(f"spec[{name!r}] must be a bool scalar, got shape {by_name[name].shape} "
                             f"{by_name[name].dtype}")
    if "next_obs" in by_name and (by_name["next_obs"].shape, by_name["next_obs"].dtype) != (
            by_name["obs"].shape, by_name["obs"].dtype):
        raise ValueError("spec['next_obs'] must have the shape and dtype of spec['obs']")
    return fields


def spec_from_env(envs: Any, *, reward_dtype: Any = np.float32, next_obs: bool = False,
                  **extras: Any) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """A spec for a Gymnasium vector env's steps: obs and action from its single spaces.

    ``next_obs=True`` adds a stored next-observation field (needed for same_step autoreset).
    Extra fields are given as ``name=(shape, dtype)``.
    """
    observation, action = envs.single_observation_space, envs.single_action_space
    spec = {
        "obs": (tuple(observation.shape), observation.dtype),
        "action": (tuple(action.shape), action.dtype),
        "reward": ((), np.dtype(reward_dtype)),
        "terminated": ((), np.dtype(bool)),
        "truncated": ((), np.dtype(bool)),
    }
    if next_obs:
        spec["next_obs"] = spec["obs"]
    spec.update(extras)
    return spec
