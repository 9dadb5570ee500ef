"""``NativeVectorEnv``: Gymnasium's VectorEnv API over turborl's C++ vector-env engine."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from turborl import _checks
from turborl.envs.registry import NativeEnvSpec, core_class

__all__ = ["NativeVectorEnv"]

_AUTORESET_MODES = {
    "next_step": AutoresetMode.NEXT_STEP,
    "same_step": AutoresetMode.SAME_STEP,
    "disabled": AutoresetMode.DISABLED,
}
# The engine's enum values (core/episode.hpp).
_CORE_MODE = {AutoresetMode.NEXT_STEP: 0, AutoresetMode.SAME_STEP: 1, AutoresetMode.DISABLED: 2}

_BOOKKEEPING_FIELDS = {
    # get_state key: (engine buffer, dtype)
    "elapsed_steps": ("elapsed_steps", np.int64),
    "needs_reset": ("needs_reset", np.bool_),
    "episode_return": ("episode_return", np.float64),
    "episode_length": ("episode_length", np.int64),
    "env_seed": ("env_seeds", np.uint64),
    "episode_index": ("episode_index", np.uint64),
}


def _autoreset_mode(value: Any) -> AutoresetMode:
    if isinstance(value, AutoresetMode):
        return value
    if isinstance(value, str):
        key = value.lower().replace("-", "_")
        key = {"nextstep": "next_step", "samestep": "same_step"}.get(key, key)
        if key in _AUTORESET_MODES:
            return _AUTORESET_MODES[key]
    raise ValueError(
        f"autoreset_mode must be one of {sorted(_AUTORESET_MODES)} or a gymnasium AutoresetMode, got {value!r}"
    )


def _precision(value: Any) -> str:
    try:
        name = np.dtype(value).name
    except TypeError:
        name = None
    if name not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {value!r}")
    return name


class NativeVectorEnv(VectorEnv):
    """A batch of native environments stepped in C++, with Gymnasium's VectorEnv API.

    Create it with ``turborl.envs.make_vec``. Shapes, for ``N = num_envs``:

    - ``reset(seed=None, options=None) -> (obs, info)``; ``obs``: float32 ``[N, obs_dim]``.
    - ``step(actions) -> (obs, rewards, terminated, truncated, info)``; ``actions``: int64 ``[N]``
      for Discrete spaces (any integer dtype is accepted) or float32 ``[N, action_dim]`` for Box
      spaces (other real dtypes are cast to float32, the action space's dtype); ``rewards``:
      float64 ``[N]``; ``terminated``, ``truncated``: bool ``[N]``.

    Autoreset follows Gymnasium 1.x (``metadata["autoreset_mode"]``):

    - ``next_step``: the step after an episode ends resets that env and returns its first
      observation with reward 0 and both flags False; the action for that env is ignored.
    - ``same_step``: the ending step resets at once; ``info["final_obs"]`` (float32
      ``[N, obs_dim]``, zero rows elsewhere) holds the last observation where
      ``info["_final_obs"]`` is True, with ``info["final_info"]``/``info["_final_info"]``.
    - ``disabled``: reset finished envs with ``reset(options={"reset_mask": mask})``; stepping
      an env whose episode has ended raises RuntimeError.

    Envs with a privileged observation for asymmetric critics (``native_spec.critic_obs_dim > 0``,
    e.g. Quadrotor-L2F-v0) add ``info["critic_obs"]`` (float32 ``[N, critic_obs_dim]``, the
    noise-free counterpart of ``obs``) to every reset and step, and ``info["final_critic_obs"]``
    where ``info["final_obs"]`` is set; ``critic_observation_space`` describes it.

    Whenever episodes end, ``info["episode"] = {"r": returns, "l": lengths}`` (zero where
    ``info["_episode"]`` is False), as ``gymnasium.wrappers.vector.RecordEpisodeStatistics``.

    Precision: ``dtype="float64"`` computes exactly what Gymnasium computes, in the same order,
    so observations, rewards and flags match Gymnasium bit for bit (on glibc, which Gymnasium's
    NumPy also uses). ``dtype="float32"`` simulates in float32 with vectorised sin/cos: one
    step from the same state agrees with float64 within ``1e-5 * (1 + |x|)`` for observations,
    rewards and state (measured <= 2e-6; tests/envs/test_precision.py). Errors compound over
    steps, so trajectories drift apart, fastest in chaotic systems (Acrobot).

    Buffers: with ``copy=False`` the returned arrays are views of preallocated buffers that the
    next ``step`` or ``reset`` overwrites; copy what you keep. ``copy=True`` (default) returns
    fresh arrays.

    Randomness: env ``i`` draws its initial states from a counter-based stream keyed by its
    seed and its episode count, so results are identical for any ``num_threads`` and env
    ``i`` behaves the same whatever ``num_envs`` is. ``reset(seed=s)`` gives env ``i`` the
    seed ``s + i`` (modulo 2**64); a list gives each env its own (``None`` entries draw one).
    """

    def __init__(
        self,
        spec: NativeEnvSpec,
        num_envs: Any,
        *,
        seed: Any = None,
        autoreset_mode: Any = "next_step",
        dtype: Any = "float64",
        num_threads: Any = 1,
        max_episode_steps: Any = None,
        copy: bool = True,
        env_params: dict[str, Any] | None = None,
    ) -> None:
        self.native_spec = spec
        self.num_envs = _checks.int_at_least("num_envs", num_envs, 1)
        self._num_threads = _checks.num_threads(num_threads)
        self._dtype = _precision(dtype)
        mode = _autoreset_mode(autoreset_mode)
        if max_episode_steps is None:
            max_episode_steps = spec.max_episode_steps
        self.max_episode_steps = _checks.int_at_least("max_episode_steps", max_episode_steps, 1)
        self.copy = bool(copy)

        self.metadata = {"autoreset_mode": mode, "render_modes": []}
        self.render_mode = None
        self.single_observation_space = spaces.Box(
            np.array(spec.obs_low, dtype=np.float32), np.array(spec.obs_high, dtype=np.float32), dtype=np.float32
        )
        if spec.action_kind == "discrete":
            self.single_action_space = spaces.Discrete(spec.num_actions)
            self._action_dtype = np.dtype(np.int64)
            self._action_shape = (self.num_envs,)
        else:
            self.single_action_space = spaces.Box(
                np.array(spec.action_low, dtype=np.float32),
                np.array(spec.action_high, dtype=np.float32),
                dtype=np.float32,
            )
            self._action_dtype = np.dtype(np.float32)
            self._action_shape = (self.num_envs, spec.action_dim)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.critic_observation_space = (
            spaces.Box(-np.inf, np.inf, (spec.critic_obs_dim,), dtype=np.float32) if spec.critic_obs_dim else None
        )
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        self._core = core_class(spec.id, self._dtype)(
            self.num_envs, self._num_threads, self.max_episode_steps, _CORE_MODE[mode]
        )
        self._bind_buffers()
        self._has_reset = False
        base_seed = _checks.random_seed() if seed is None else _checks.seed("seed", seed)
        self._write_seeds(self._seeds_from_base(base_seed), np.ones(self.num_envs, dtype=bool))
        if env_params:
            self.set_params(**env_params)

    # ---- Gymnasium API --------------------------------------------------------------------------

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Resets all envs, or those in ``options["reset_mask"]`` (bool ``[N]``).

        ``seed``: ``None`` continues each env's stream with a new episode; an int ``s`` gives env
        ``i`` the seed ``s + i``; a list gives env ``i`` the seed ``seed[i]`` (``None`` draws one).
        """
        core = self._live_core()
        mask = self._reset_mask(options)
        selected = np.ones(self.num_envs, dtype=bool) if mask is None else mask
        if seed is not None:
            self._write_seeds(self._seeds_from_argument(seed), selected)
        core.reset(mask)
        self._has_reset = True
        return self._output(self._obs), self._critic_info({})

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        core = self._core
        if core is None or not self._has_reset:
            self._live_core()
            raise RuntimeError("step() was called before reset(): call reset() first")
        if (
            type(actions) is not np.ndarray
            or actions.dtype != self._action_dtype
            or actions.shape != self._action_shape
            or not actions.flags.c_contiguous
        ):
            actions = self._coerce_actions(actions)
        episodes_ended = core.step(actions)
        info = self._episode_info() if episodes_ended else {}
        if self.critic_observation_space is not None:
            self._critic_info(info)
        if self.copy:
            return self._obs.copy(), self._rewards.copy(), self._terminated.copy(), self._truncated.copy(), info
        return self._obs, self._rewards, self._terminated, self._truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        self._core = None
        for name in self._buffer_names():
            setattr(self, name, None)

    def __repr__(self) -> str:
        return (
            f"NativeVectorEnv({self.native_spec.id}, num_envs={self.num_envs}, dtype={self._dtype}, "
            f"autoreset_mode={self.metadata['autoreset_mode'].name.lower()}, num_threads={self._num_threads})"
        )

    # ---- turborl extensions ---------------------------------------------------------------------

    @property
    def dtype(self) -> str:
        """Simulation precision, ``"float64"`` or ``"float32"``."""
        return self._dtype

    @property
    def num_threads(self) -> int:
        return self._num_threads

    @property
    def observations(self) -> np.ndarray:
        """A copy of the current observations ``[N, obs_dim]``: what the last ``reset``/``step``
        returned, or what stepping ``native_core()`` from C++ left."""
        self._live_core()
        return self._obs.copy()

    def native_core(self) -> Any:
        """The C++ engine behind these envs, for turborl's loops that step it without Python (the
        native TD3 and SAC learners' ``collect``). Stepping it skips ``step()``'s argument checks and
        info dicts; read ``observations`` and ``critic_obs`` afterwards."""
        core = self._live_core()
        if not self._has_reset:
            raise RuntimeError("native_core() was called before reset(): call reset() first")
        return core

    @property
    def critic_obs(self) -> np.ndarray | None:
        """A copy of the current critic observations ``[N, critic_obs_dim]`` (``None`` for envs
        without one): what the last ``reset``/``step`` put in ``info["critic_obs"]``, also after
        ``set_state``, which recomputes them."""
        if self.critic_observation_space is None:
            return None
        self._live_core()
        return self._critic_obs.copy()

    @property
    def state_names(self) -> tuple[str, ...]:
        """Column names of ``get_state()["state"]``."""
        return self.native_spec.state_names

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.native_spec.param_names

    def get_state(self, env_ids: Any = None) -> dict[str, np.ndarray]:
        """A copy of everything that determines the envs' future, for ``env_ids`` (default all).

        Returns a dict of arrays with leading dimension ``n = len(env_ids)``:

        - ``state``: ``[n, len(state_names)]`` in the simulation dtype (Gymnasium's ``env.state``);
        - ``elapsed_steps`` (int64), ``needs_reset`` (bool: the episode has ended and the env is
          not yet reset), ``episode_return`` (float64), ``episode_length`` (int64);
        - ``env_seed``, ``episode_index`` (uint64): the env's random stream and its position.

        ``set_state`` with this dict, then ``step``, reproduces what these envs would have done.
        """
        self._live_core()
        ids = self._env_ids(env_ids)
        state = {"state": np.ascontiguousarray(self._state_columns[:, ids].T)}
        for key, (buffer, _) in _BOOKKEEPING_FIELDS.items():
            state[key] = getattr(self, "_" + buffer)[ids].copy()
        return state

    def set_state(self, state: Any, env_ids: Any = None) -> None:
        """Writes a state from ``get_state`` (or any subset of its keys) into ``env_ids``.

        A bare array is taken as ``{"state": array}``. The observations of those envs are
        recomputed from the new state; nothing else changes.
        """
        core = self._live_core()
        ids = self._env_ids(env_ids)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("env_ids must not repeat an env in set_state")
        if isinstance(state, np.ndarray) or not isinstance(state, dict):
            state = {"state": state}
        unknown = set(state) - {"state", *_BOOKKEEPING_FIELDS}
        if unknown:
            raise ValueError(
                f"set_state got unknown keys {sorted(unknown)}; known keys: {['state', *_BOOKKEEPING_FIELDS]}"
            )
        updates = []
        if "state" in state:
            values = _checks.finite_array("state['state']", state["state"], self._state_columns.dtype)
            expected = (len(ids), len(self.state_names))
            if values.shape != expected:
                raise ValueError(f"state['state'] must have shape {expected}, got {values.shape}")
            updates.append((self._state_columns, values.T, True))
        for key, (buffer, dtype) in _BOOKKEEPING_FIELDS.items():
            if key not in state:
                continue
            values = np.asarray(state[key])
            if values.shape != (len(ids),):
                raise ValueError(f"state[{key!r}] must have shape ({len(ids)},), got {values.shape}")
            values = self._bookkeeping_values(key, values, dtype)
            updates.append((getattr(self, "_" + buffer), values, False))
        for target, values, is_columns in updates:  # all checked: now write
            if is_columns:
                target[:, ids] = values
            else:
                target[ids] = values
        core.refresh_observations(ids)

    def get_params(self) -> dict[str, np.ndarray]:
        """A copy of each physical parameter, shape ``[N]``."""
        self._live_core()
        return {name: self._param_columns[k].copy() for k, name in enumerate(self.param_names)}

    def set_params(self, env_ids: Any = None, **params: Any) -> None:
        """Sets physical parameters, each a scalar or an array of shape ``[len(env_ids)]``.

        They take effect from the next step (or reset) of those envs. Names and defaults:
        ``native_spec.params``. Example: ``envs.set_params(length=np.full(envs.num_envs, 0.75))``.
        """
        core = self._live_core()
        ids = self._env_ids(env_ids)
        known = {p.name: (k, p) for k, p in enumerate(self.native_spec.params)}
        writes = []
        for name, value in params.items():
            if name not in known:
                raise TypeError(
                    f"{self.native_spec.id} has no parameter {name!r}; its parameters are: {', '.join(known)}"
                )
            row, param = known[name]
            values = _checks.finite_array(name, value, np.float64)
            if values.ndim == 0:
                values = np.full(len(ids), float(values))
            if values.shape != (len(ids),):
                raise ValueError(f"{name} must be a scalar or have shape ({len(ids)},), got shape {values.shape}")
            if param.constraint == "positive" and not np.all(values > 0):
                raise ValueError(f"{name} must be positive, got {values[~(values > 0)][0]}")
            if param.constraint == "nonnegative" and not np.all(values >= 0):
                raise ValueError(f"{name} must be >= 0, got {values[~(values >= 0)][0]}")
            writes.append((row, values))
        for row, values in writes:
            self._param_columns[row, ids] = values
        core.params_changed()

    # ---- internals -------------------------------------------------------------------------------

    @staticmethod
    def _buffer_names() -> tuple[str, ...]:
        return (
            "_obs", "_final_obs", "_critic_obs", "_final_critic_obs", "_rewards", "_terminated", "_truncated", "_episode_ended", "_final_return",
            "_final_length", "_state_columns", "_param_columns", "_needs_reset", "_elapsed_steps",
            "_episode_return", "_episode_length", "_env_seeds", "_episode_index",
        )  # fmt: skip

    def _bind_buffers(self) -> None:
        # Views of the engine's preallocated storage; they keep the engine alive.
        for name in self._buffer_names():
            setattr(self, name, getattr(self._core, name[1:]))

    def _live_core(self):
        if self._core is None:
            raise RuntimeError(f"{self!r} is closed")
        return self._core

    def _output(self, array: np.ndarray) -> np.ndarray:
        return array.copy() if self.copy else array

    def _env_ids(self, env_ids: Any) -> np.ndarray:
        if env_ids is None:
            return np.arange(self.num_envs, dtype=np.int64)
        ids = np.asarray(env_ids)
        if ids.ndim == 0:
            ids = ids.reshape(1)
        if ids.dtype.kind not in "iu" or ids.ndim != 1:
            raise TypeError(f"env_ids must be a 1-D array of integers, got dtype {ids.dtype} and shape {ids.shape}")
        ids = ids.astype(np.int64)
        bad = (ids < 0) | (ids >= self.num_envs)
        if np.any(bad):
            raise IndexError(f"env_ids must be in [0, {self.num_envs}), got {ids[bad][0]}")
        return np.ascontiguousarray(ids)

    def _seeds_from_base(self, base: int) -> np.ndarray:
        return np.array([(base + i) % _checks.UINT64_LIMIT for i in range(self.num_envs)], dtype=np.uint64)

    def _seeds_from_argument(self, seed: Any) -> np.ndarray:
        if isinstance(seed, (list, tuple, np.ndarray)):
            if len(seed) != self.num_envs:
                raise ValueError(
                    f"seed as a list must have one entry per env (num_envs={self.num_envs}), got {len(seed)}"
                )
            return np.array(
                [_checks.random_seed() if s is None else _checks.seed(f"seed[{i}]", s) for i, s in enumerate(seed)],
                dtype=np.uint64,
            )
        return self._seeds_from_base(_checks.seed("seed", seed))

    def _write_seeds(self, seeds: np.ndarray, selected: np.ndarray) -> None:
        self._env_seeds[selected] = seeds[selected]
        self._episode_index[selected] = 0

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray | None:
        if options is None:
            return None
        if not isinstance(options, dict):
            raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
        unknown = set(options) - {"reset_mask"}
        if unknown:
            raise ValueError(f"reset options {sorted(unknown)} are not supported; supported: ['reset_mask']")
        if "reset_mask" not in options:
            return None
        mask = options["reset_mask"]
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"options['reset_mask'] must be a numpy array, got {type(mask).__name__}")
        if mask.shape != (self.num_envs,):
            raise ValueError(f"options['reset_mask'] must have shape ({self.num_envs},), got {mask.shape}")
        if mask.dtype != np.bool_:
            raise TypeError(f"options['reset_mask'] must have dtype bool, got {mask.dtype}")
        if not mask.any():
            raise ValueError("options['reset_mask'] must select at least one env, got all False")
        return np.ascontiguousarray(mask)

    def _coerce_actions(self, actions: Any) -> np.ndarray:
        try:
            array = np.asarray(actions)
        except Exception as error:  # an object NumPy cannot convert
            raise TypeError(f"actions must be array-like, got {type(actions).__name__}") from error
        space = self.single_action_space
        if isinstance(space, spaces.Discrete):
            if array.dtype.kind not in "iu":
                raise TypeError(
                    f"actions must be integers for the action space {space}, got dtype {array.dtype}"
                )
            if array.shape != self._action_shape:
                raise ValueError(f"actions must have shape {self._action_shape}, got {array.shape}")
            if array.dtype.kind == "u" and array.size and array.max() >= space.n:
                index = int(np.argmax(array >= space.n))
                raise ValueError(
                    f"actions[{index}] = {array[index]} is outside the action space {space}: "
                    f"valid actions are 0..{space.n - 1}"
                )
            return np.ascontiguousarray(array, dtype=np.int64)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"actions must be real numbers for the action space {space}, got dtype {array.dtype}")
        if array.shape != self._action_shape:
            raise ValueError(f"actions must have shape {self._action_shape}, got {array.shape}")
        with np.errstate(over="ignore"):  # values beyond float32 become inf and are reported below
            as_float32 = np.ascontiguousarray(array, dtype=np.float32)
        if not np.all(np.isfinite(as_float32)):
            index = np.unravel_index(int(np.argmax(~np.isfinite(as_float32))), array.shape)
            raise ValueError(
                f"actions[{', '.join(map(str, index))}] = {array[index]} is not finite: "
                "continuous actions must be finite float32 numbers"
            )
        return as_float32

    def _episode_info(self) -> dict[str, Any]:
        ended = self._episode_ended.copy()
        info: dict[str, Any] = {
            "episode": {
                "r": np.where(ended, self._final_return, 0.0),
                "l": np.where(ended, self._final_length, 0),
            },
            "_episode": ended,
        }
        if self.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP:
            final_obs = np.zeros_like(self._obs)
            final_obs[ended] = self._final_obs[ended]
            info["final_obs"] = final_obs
            info["_final_obs"] = ended.copy()
            if self.critic_observation_space is not None:
                final_critic_obs = np.zeros_like(self._critic_obs)
                final_critic_obs[ended] = self._final_critic_obs[ended]
                info["final_critic_obs"] = final_critic_obs
            info["final_info"] = {}
            info["_final_info"] = ended.copy()
        return info

    def _critic_info(self, info: dict[str, Any]) -> dict[str, Any]:
        if self.critic_observation_space is not None:
            info["critic_obs"] = self._critic_obs.copy()
        return info

    def _bookkeeping_values(self, key: str, values: np.ndarray, dtype: Any) -> np.ndarray:
        if dtype is np.bool_:
            if values.dtype != np.bool_:
                raise TypeError(f"state[{key!r}] must have dtype bool, got {values.dtype}")
            return values
        if dtype is np.float64:
            return _checks.finite_array(f"state[{key!r}]", values, np.float64)
        if values.dtype.kind not in "iu":
            raise TypeError(f"state[{key!r}] must hold integers, got dtype {values.dtype}")
        if np.any(values < 0):
            raise ValueError(f"state[{key!r}] must be >= 0, got {values[values < 0][0]}")
        return values.astype(dtype)
