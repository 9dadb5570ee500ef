"""Replay buffers with a C++ core: uniform, prioritized, and n-step targets computed at sample time."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from turborl import _atomic, _checks, _core
from turborl.replay.spec import FieldSpec, normalize_spec

__all__ = ["PrioritizedReplayBuffer", "ReplayBatch", "ReplayBuffer"]

FORMAT = "turborl.replay"
FORMAT_VERSION = 1
_AUTORESET_MODES = ("next_step", "same_step")


@dataclass(frozen=True)
class ReplayBatch:
    """A sampled batch of ``B`` transitions (NumPy arrays, or torch tensors with ``as_torch``).

    Attributes:
        obs: ``[B, *obs_shape]`` observations the transitions start from.
        action: ``[B, *action_shape]``.
        reward: ``[B]`` n-step discounted return ``sum_{j<k} gamma^j r_{t+j}`` (reward dtype).
        next_obs: ``[B, *obs_shape]`` the observation k steps later: after the n-th step, or the
            episode's final observation where it terminated or was truncated within n steps, or
            the newest stored one.
        discount: ``[B]`` ``gamma^k`` for bootstrapping, 0 where the episode terminated.
        indices: ``[B]`` int64 slots, for ``update_priorities``.
        weights: ``[B]`` importance-sampling weights (prioritized buffers; ``None`` otherwise).
        extras: the other stored fields at the first step, by name.
    """

    obs: Any
    action: Any
    reward: Any
    next_obs: Any
    discount: Any
    indices: Any
    weights: Any = None
    extras: Mapping[str, Any] | None = None


def _as_array(name: str, value: Any) -> np.ndarray:
    """NumPy view of an array-like, without copying NumPy arrays or CPU torch tensors."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "__dlpack__"):
        try:
            return np.from_dlpack(value)  # torch (CPU, no grad), jax, cupy-on-host...: no copy
        except (TypeError, RuntimeError, BufferError) as error:
            raise TypeError(f"{name} could not be read through DLPack ({error}); pass a CPU array "
                            "(detach torch tensors that require grad)") from error
    try:
        return np.asarray(value)
    except Exception as error:  # an object NumPy cannot convert
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from error


class ReplayBuffer:
    """Uniform experience replay fed straight from a vector env, with n-step targets.

    Args:
        capacity: transitions kept (rounded down to a multiple of ``num_envs``); the oldest
            steps are overwritten first.
        spec: field name -> ``(shape, dtype)`` of one env's value at one step, e.g.
            ``{"obs": ((8,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
            "terminated": ((), bool), "truncated": ((), bool)}`` (see ``spec_from_env``).
            Those five fields are required; others are stored and returned in ``extras``.
        num_envs: envs per step; each ``add`` row holds one step of all of them.
        seed: seed of the sampling stream; ``None`` draws one. Same seed, same adds: same samples.
        autoreset_mode: how the env resets, as in Gymnasium. ``"next_step"`` (default): add what
            each ``step`` returns, including the autoreset steps; the step after an episode's end
            is recognised as a reset (never sampled) and holds the episode's final observation,
            so next observations are not stored twice. ``"same_step"``: the spec needs a
            ``next_obs`` field (pass ``info["final_obs"]`` where an episode ended).

    Storage is struct-of-arrays ``[capacity // num_envs, num_envs, *shape]`` per field, allocated
    and touched at construction. Every method is thread-safe (one lock; the GIL is released in
    C++), and concurrent calls act as some serial order of them. Rows from different threads
    interleave in the env lanes, so several actors adding at once should add self-contained
    transitions: ``autoreset_mode="same_step"`` with a ``next_obs`` field (envs made with
    ``autoreset_mode="same_step"``; ``next_obs`` is ``info["final_obs"]`` where an episode ended),
    sampled with ``n_step=1`` (compute n-step returns in the actors).

    Example:
        >>> envs = turborl.envs.make_vec("CartPole-v1", 8, seed=0)
        >>> buffer = ReplayBuffer(100_000, spec_from_env(envs), num_envs=8, seed=0)
        >>> obs, _ = envs.reset()
        >>> for _ in range(100):
        ...     action = envs.action_space.sample()
        ...     next_obs, reward, terminated, truncated, _ = envs.step(action)
        ...     buffer.add(obs=obs, action=action, reward=reward, terminated=terminated, truncated=truncated)
        ...     obs = next_obs
        >>> batch = buffer.sample(256, n_step=3, gamma=0.99)
    """

    _prioritized = False

    def __init__(self, capacity: int, spec: Mapping[str, Any], *, num_envs: int = 1, seed: int | None = None,
                 autoreset_mode: str = "next_step") -> None:
        self._setup(capacity, spec, num_envs=num_envs, seed=seed, autoreset_mode=autoreset_mode,
                    alpha=0.0, beta=0.0, eps=0.0)

    def _setup(self, capacity, spec, *, num_envs, seed, autoreset_mode, alpha, beta, eps) -> None:
        self._fields: tuple[FieldSpec, ...] = normalize_spec(spec)
        self._by_name = {f.name: f for f in self._fields}
        self._names = frozenset(self._by_name)
        self.num_envs = _checks.int_at_least("num_envs", num_envs, 1)
        # add()'s fast path: (name, dtype, shape of one step) per field, in storage order.
        self._one_step = tuple((f.name, f.dtype, (self.num_envs, *f.shape)) for f in self._fields)
        capacity = _checks.int_at_least("capacity", capacity, 1)
        if capacity < self.num_envs:
            raise ValueError(f"capacity must be >= num_envs ({self.num_envs}), got {capacity}")
        if autoreset_mode not in _AUTORESET_MODES:
            raise ValueError(f"autoreset_mode must be one of {list(_AUTORESET_MODES)}, got {autoreset_mode!r}")
        self.autoreset_mode = autoreset_mode
        self.beta = float(beta)
        self._alpha, self._eps = float(alpha), float(eps)
        names = [f.name for f in self._fields]
        roles = (names.index("obs"), names.index("reward"), names.index("terminated"), names.index("truncated"),
                 names.index("next_obs") if "next_obs" in names else -1,
                 self._by_name["reward"].dtype == np.dtype(np.float64))
        self._seed = _checks.random_seed() if seed is None else _checks.seed("seed", seed)
        self._core = _core.ReplayCore(capacity // self.num_envs, self.num_envs, [f.item_bytes for f in self._fields],
                                      roles, autoreset_mode == "same_step", self._seed, self._prioritized,
                                      self._alpha, self._eps)
        self._outputs: dict[int, dict[str, Any]] = {}
        self._torch_outputs: dict[int, dict[str, Any]] = {}
        # Sampling writes into output buffers shared by all callers: one sampler at a time, until
        # NumPy results are copied out. Adds do not touch them and run concurrently.
        self._sample_lock = threading.Lock()

    # ---- facts ----------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Transitions kept: ``(capacity // num_envs) * num_envs``."""
        return self._core.num_slots

    @property
    def spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        return {f.name: (f.shape, f.dtype) for f in self._fields}

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def num_sampleable(self) -> int:
        """Transitions that can be sampled now (stored steps that are neither resets nor the newest
        step, whose next observation is not stored yet)."""
        return self._core.num_sampleable

    def __len__(self) -> int:
        """Stored steps of all envs (``stored rows * num_envs``)."""
        return self._core.stored_rows * self.num_envs

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(capacity={self.capacity}, num_envs={self.num_envs}, stored={len(self)}, "
                f"fields={[f.name for f in self._fields]})")

    # ---- adding ---------------------------------------------------------------------------------

    def add(self, **fields: Any) -> None:
        """Adds one step of every env (each value ``[num_envs, *shape]``) or several steps
        (``[steps, num_envs, *shape]``; with ``num_envs=1`` also ``[steps, *shape]``).

        NumPy arrays and CPU torch tensors of the field's dtype are read without copying; other
        dtypes are cast when NumPy's ``same_kind`` rule allows it (float64 rewards into a float32
        field), else TypeError.
        """
        if fields.keys() != self._names:
            given, expected = set(fields), set(self._names)
            missing, extra = sorted(expected - given), sorted(given - expected)
            raise ValueError(f"add() needs exactly the spec's fields {sorted(expected)}; "
                             f"missing {missing}, unexpected {extra}")
        # Fast path: one step of every field as a C-contiguous array of the field's dtype.
        arrays = []
        for name, dtype, shape in self._one_step:
            array = fields[name]
            if type(array) is not np.ndarray or array.dtype != dtype or array.shape != shape or \
                    not array.flags.c_contiguous:
                break
            arrays.append(array)
        else:
            self._core.add(arrays, 1)
            return
        arrays, steps = [], None
        for field in self._fields:
            array = self._checked(field, _as_array(field.name, fields[field.name]))
            rows = array.shape[0] if array.ndim == len(field.shape) + 2 else (
                array.shape[0] if self.num_envs == 1 and array.ndim == len(field.shape) + 1 else 1)
            if steps is None:
                steps = rows
            elif rows != steps:
                raise ValueError(f"all fields must hold the same number of steps; {field.name} holds {rows}, "
                                 f"{self._fields[0].name} holds {steps}")
            arrays.append(array)
        self._core.add(arrays, steps)

    def _checked(self, field: FieldSpec, array: np.ndarray) -> np.ndarray:
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{field.name} must be an array of numbers of dtype {field.dtype}, got dtype {array.dtype}")
        n, shape = self.num_envs, field.shape
        ok = array.shape[array.ndim - len(shape):] == shape if len(shape) else True
        leading = array.shape[: array.ndim - len(shape)]
        ok = ok and (leading == (n,) or (len(leading) == 2 and leading[1] == n and leading[0] >= 1)
                     or (n == 1 and len(leading) == 1 and leading[0] >= 1))
        if not ok:
            raise ValueError(f"{field.name} must have shape ({n}, *{shape}) for one step or (steps, {n}, *{shape}), "
                             f"got {array.shape}")
        if array.dtype != field.dtype:
            if field.dtype == np.dtype(bool) or array.dtype == np.dtype(bool) or not np.can_cast(
                    array.dtype, field.dtype, casting="same_kind"):
                raise TypeError(f"{field.name} must have dtype {field.dtype} (or one that casts to it within its "
                                f"kind), got {array.dtype}")
            array = array.astype(field.dtype)
        return np.ascontiguousarray(array)

    # ---- sampling -------------------------------------------------------------------------------

    # Element types the native engine converts (cpp/include/turborl/nn/replay_batch.hpp).
    _NATIVE_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.int64): 2, np.dtype(np.int32): 3,
                     np.dtype(np.uint8): 4, np.dtype(np.int8): 5, np.dtype(np.bool_): 6}

    def native_layout(self) -> Optional[dict[str, Any]]:
        """For trainers that sample this buffer inside C++ (turborl's native DQN): the core, the
        obs and action fields' positions and element types, and the reward's precision; None when
        a field's dtype is one the engine does not convert. The engine's draws are the ones
        ``sample`` would make: both call the same core."""
        obs, action = self._by_name["obs"], self._by_name["action"]
        if obs.dtype not in self._NATIVE_TYPES or action.dtype not in self._NATIVE_TYPES:
            return None
        names = [f.name for f in self._fields]
        return {"core": self._core, "lock": self._sample_lock, "obs_field": names.index("obs"),
                "action_field": names.index("action"), "obs_type": self._NATIVE_TYPES[obs.dtype],
                "action_type": self._NATIVE_TYPES[action.dtype], "action_shape": action.shape,
                "obs_dtype": obs.dtype, "action_dtype": action.dtype,
                "reward_is_float64": self._by_name["reward"].dtype == np.float64}

    def sample(self, batch_size: int, *, n_step: int = 1, gamma: float = 0.99, as_torch: bool = False,
               copy: bool = True) -> ReplayBatch:
        """Samples ``batch_size`` transitions uniformly (with replacement) with n-step targets.

        NumPy results are fresh arrays. With ``as_torch=True`` they are torch tensors, and with
        ``copy=False`` NumPy arrays, sharing memory with buffers that the next ``sample`` of the
        same ``batch_size`` overwrites (from any thread: with several sampling threads, copy):
        for a learner that consumes the batch at once.
        """
        return self._sample(batch_size, n_step, gamma, 0.0, as_torch, copy)

    def _sample(self, batch_size, n_step, gamma, beta, as_torch, copy=True) -> ReplayBatch:
        batch_size = _checks.int_at_least("batch_size", batch_size, 1)
        n_step = _checks.int_at_least("n_step", n_step, 1)
        gamma = float(gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        with self._sample_lock:
            views = self._outputs.get(batch_size) or self._output_views(batch_size)
            self._core.sample(batch_size, n_step, gamma, float(beta))
            if as_torch:
                views = self._torch_outputs.get(batch_size) or self._torch_views(batch_size)
                return ReplayBatch(views["obs"], views["action"], views["reward"], views["next_obs"], views["discount"],
                                   views["indices"], views["weights"] if self._prioritized else None, views["extras"])
            extras = views["extras"]
            if not copy:
                return ReplayBatch(views["obs"], views["action"], views["reward"], views["next_obs"], views["discount"],
                                   views["indices"], views["weights"] if self._prioritized else None, dict(extras))
            return ReplayBatch(
                views["obs"].copy(), views["action"].copy(), views["reward"].copy(), views["next_obs"].copy(),
                views["discount"].copy(), views["indices"].copy(),
                views["weights"].copy() if self._prioritized else None,
                {name: value.copy() for name, value in extras.items()} if extras else {})

    def _output_views(self, batch_size: int) -> dict[str, Any]:
        fields, next_obs, reward, discount, weights, indices = self._core.output_views(batch_size)
        reward_dtype = self._by_name["reward"].dtype
        obs = self._by_name["obs"]
        typed = {f.name: view.view(f.dtype).reshape((batch_size, *f.shape)) for f, view in zip(self._fields, fields)}
        outputs = {
            "obs": typed["obs"],
            "action": typed["action"],
            "reward": reward.view(reward_dtype),
            "next_obs": next_obs.view(obs.dtype).reshape((batch_size, *obs.shape)),
            "discount": discount.view(reward_dtype),
            "indices": indices,
            "weights": weights.view(reward_dtype),
            "extras": {name: typed[name] for name in typed
                       if name not in ("obs", "action", "reward", "terminated", "truncated", "next_obs")},
        }
        self._outputs[batch_size] = outputs
        return outputs

    def _torch_views(self, batch_size: int) -> dict[str, Any]:
        try:
            import torch
        except ImportError as error:
            raise ImportError("as_torch=True needs torch: pip install torch") from error
        views = self._outputs[batch_size]
        tensors = {name: torch.from_numpy(value) if name != "extras" else
                   {k: torch.from_numpy(v) for k, v in value.items()} for name, value in views.items()}
        self._torch_outputs[batch_size] = tensors
        return tensors

    def field(self, name: str) -> np.ndarray:
        """A writable view of stored field ``name``, shape ``[capacity // num_envs, num_envs, *shape]``
        (time-major ring; rows never written hold zeros and are never sampled).

        For rewriting stored data in place, e.g. recomputing rewards when a reward curriculum
        changes the reward function (Eschmann et al., 2024): samples drawn afterwards see the
        new values. Do not hold the view across ``load``.
        """
        if name not in self._by_name:
            raise KeyError(f"no field {name!r}; fields: {', '.join(self._by_name)}")
        k = [f.name for f in self._fields].index(name)
        f = self._by_name[name]
        core = self._core
        return core.field_view(k).view(f.dtype).reshape((core.time_capacity, self.num_envs, *f.shape))

    # ---- persistence ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Saves everything, including the sampling stream's position, atomically to directory
        ``path``: raw ``.npy`` arrays (memory-mappable, no pickle) and a JSON header. If the
        process dies during the save, the previous save at ``path`` stays intact and loadable.
        """
        self._core.lock()
        try:
            _atomic.write_directory(path, self._write_files, kind="replay buffer")
        finally:
            self._core.unlock()

    def _header(self) -> dict[str, Any]:
        core = self._core
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": type(self).__name__ if self._prioritized else "ReplayBuffer",
            "prioritized": self._prioritized,
            "spec": [[f.name, list(f.shape), f.dtype.str] for f in self._fields],
            "num_envs": self.num_envs,
            "time_capacity": core.time_capacity,
            "autoreset_mode": self.autoreset_mode,
            "seed": str(self._seed),
            "alpha": self._alpha,
            "beta": self.beta,
            "eps": self._eps,
            "rows_written": str(core.rows_written),
            "sample_calls": str(core.sample_calls),
            "last_sample_rows": str(core.last_sample_rows),
            "max_priority": core.max_priority,
        }

    def _arrays(self) -> dict[str, tuple[np.ndarray, tuple[int, ...], np.dtype]]:
        """name -> (view of the core's memory, shape, dtype) for every saved array."""
        core, t, n = self._core, self._core.time_capacity, self.num_envs
        arrays = {}
        for k, f in enumerate(self._fields):
            arrays[f"field_{f.name}"] = (core.field_view(k).view(f.dtype).reshape((t, n, *f.shape)), (t, n, *f.shape),
                                         f.dtype)
        arrays["autoreset"] = (core.autoreset_flags.reshape(t, n), (t, n), np.dtype(np.uint8))
        arrays["sampleable"] = (core.sampleable_flags.reshape(t, n), (t, n), np.dtype(np.uint8))
        arrays["last_done"] = (core.last_done, (n,), np.dtype(np.uint8))
        return arrays

    def _write_files(self, directory: Path) -> None:
        for name, (view, _, _) in self._arrays().items():
            np.save(directory / f"{name}.npy", view, allow_pickle=False)
        if self._prioritized:  # the tree's leaves, p^alpha per slot
            np.save(directory / "priorities.npy", self._core.priority_leaves, allow_pickle=False)
        (directory / "header.json").write_text(json.dumps(self._header(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> "ReplayBuffer":
        """Loads a buffer saved with ``save``; checks the format, version, spec and every array's
        shape and dtype, and raises ValueError for a damaged or foreign directory."""
        directory = _atomic.read_directory(path, kind="replay buffer")
        try:
            header = json.loads((directory / "header.json").read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{str(path)!r} is a damaged replay buffer save: header.json unreadable ({error})")
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"{str(path)!r} is not a turborl replay buffer save")
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"{str(path)!r} has replay format version {header.get('version')}; this turborl reads "
                             f"version {FORMAT_VERSION}")
        kind = PrioritizedReplayBuffer if header.get("prioritized") else ReplayBuffer
        if cls is PrioritizedReplayBuffer and kind is not PrioritizedReplayBuffer:
            raise ValueError(f"{str(path)!r} holds a uniform ReplayBuffer, not a PrioritizedReplayBuffer")
        try:
            spec = {name: (tuple(shape), np.dtype(dtype)) for name, shape, dtype in header["spec"]}
            buffer = kind.__new__(kind)
            buffer._setup(int(header["time_capacity"]) * int(header["num_envs"]), spec,
                          num_envs=int(header["num_envs"]), seed=int(header["seed"]),
                          autoreset_mode=header["autoreset_mode"], alpha=float(header["alpha"]),
                          beta=float(header["beta"]), eps=float(header["eps"]))
            counters = [int(header[key]) for key in ("rows_written", "sample_calls", "last_sample_rows")]
            max_priority = float(header["max_priority"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{str(path)!r} is a damaged replay buffer save: bad header ({error})") from error
        buffer._read_files(directory, path, counters, max_priority)
        return buffer

    def _read_files(self, directory: Path, path, counters: list[int], max_priority: float) -> None:
        loaded = {}
        expected = {name: (shape, dtype) for name, (_, shape, dtype) in self._arrays().items()}
        if self._prioritized:
            expected["priorities"] = ((self.capacity,), np.dtype(np.float64))
        for name, (shape, dtype) in expected.items():
            file = directory / f"{name}.npy"
            try:
                array = np.load(file, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as error:
                raise ValueError(f"{str(path)!r} is a damaged replay buffer save: {file.name} ({error})") from error
            if array.shape != shape or array.dtype != dtype:
                raise ValueError(f"{str(path)!r} is a damaged replay buffer save: {file.name} has shape {array.shape} "
                                 f"{array.dtype}, expected {shape} {dtype}")
            loaded[name] = array
        for name in ("autoreset", "sampleable", "last_done"):
            if np.any(np.asarray(loaded[name]) > 1):
                raise ValueError(f"{str(path)!r} is a damaged replay buffer save: {name} holds values other than 0/1")
        if "priorities" in loaded:
            priorities = np.asarray(loaded["priorities"])
            if not np.all(np.isfinite(priorities) & (priorities >= 0)):
                raise ValueError(f"{str(path)!r} is a damaged replay buffer save: negative or non-finite priorities")
        rows_written, sample_calls, last_sample_rows = counters
        if min(counters) < 0 or last_sample_rows > rows_written or not np.isfinite(max_priority):
            raise ValueError(f"{str(path)!r} is a damaged replay buffer save: inconsistent counters")
        priorities = np.ascontiguousarray(loaded.get("priorities", np.zeros(self.capacity)), dtype=np.float64)
        self._core.lock()
        try:
            for name, (view, _, _) in self._arrays().items():
                view[...] = loaded[name]
            self._core.restore(rows_written, sample_calls, last_sample_rows, max_priority, priorities)
        finally:
            self._core.unlock()


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al., "Prioritized Experience Replay", ICLR 2016).

    Transition i is sampled with probability ``P(i) = p_i^alpha / sum_j p_j^alpha`` where
    ``p_i = priority_i + eps``; new transitions get the largest priority given so far (1.0 at
    first). ``sample`` draws one transition from each of ``batch_size`` equal segments of the
    total (stratified) and returns importance weights ``(N P(i))^-beta`` divided by their largest
    possible value (that of the least likely transition). Sum and min trees are float64.

    ``update_priorities(batch.indices, priorities)`` sets new priorities. Slots overwritten since
    the last ``sample`` keep theirs (cpprb's ``check_for_update``); when an index appears twice,
    the last priority wins.
    """

    _prioritized = True

    def __init__(self, capacity: int, spec: Mapping[str, Any], *, num_envs: int = 1, seed: int | None = None,
                 autoreset_mode: str = "next_step", alpha: float = 0.6, beta: float = 0.4,
                 eps: float = 1e-6) -> None:
        for name, value in (("alpha", alpha), ("beta", beta), ("eps", eps)):
            if not (isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        self._setup(capacity, spec, num_envs=num_envs, seed=seed, autoreset_mode=autoreset_mode, alpha=alpha,
                    beta=beta, eps=eps)

    def sample(self, batch_size: int, *, n_step: int = 1, gamma: float = 0.99, beta: float | None = None,
               as_torch: bool = False, copy: bool = True) -> ReplayBatch:
        """Samples by priority; ``beta`` defaults to the buffer's. See ``ReplayBuffer.sample``."""
        beta = self.beta if beta is None else beta
        if not (isinstance(beta, (int, float, np.floating, np.integer)) and np.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        return self._sample(batch_size, n_step, gamma, beta, as_torch, copy)

    def update_priorities(self, indices: Any, priorities: Any) -> None:
        """Sets the priorities of sampled transitions (``batch.indices``); arrays or tensors."""
        indices = _as_array("indices", indices.detach() if hasattr(indices, "detach") else indices)
        priorities = _as_array("priorities", priorities.detach() if hasattr(priorities, "detach") else priorities)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
        if priorities.dtype.kind not in "iuf":
            raise TypeError(f"priorities must be real numbers, got dtype {priorities.dtype}")
        if indices.ndim != 1 or priorities.shape != indices.shape:
            raise ValueError(f"indices and priorities must be 1-D of the same length, got {indices.shape} and "
                             f"{priorities.shape}")
        self._core.update_priorities(np.ascontiguousarray(indices, dtype=np.int64),
                                     np.ascontiguousarray(priorities, dtype=np.float64))
