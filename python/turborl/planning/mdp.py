"""Tabular MDPs for the planning kernels: deterministic or stochastic transitions, rewards, an
optional horizon, the BRIDGE dataset's ``consolidated.npz`` format and the sticky-actions transform.

The layout follows "Bridging RL Theory and Practice with the Effective Horizon" (Laidlaw, Zhu,
Russell, Dragan; NeurIPS 2023), whose BRIDGE dataset stores each MDP as ``transitions`` (int64
``[S, A]``, the next state of each state-action pair, ``-1`` when the episode ends) and
``rewards`` (float32 ``[S, A]``), with state 0 the initial state.
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import numpy as np

from turborl import _atomic, _checks

__all__ = ["TabularMDP"]

# The most states the kernels index (next states are int32).
MAX_STATES = 2**31 - 1
PROBABILITY_TOLERANCE = 1e-6


def _is_sparse_matrix(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("indptr", "indices", "data", "shape"))


class TabularMDP:
    """A finite MDP with ``S`` states and ``A`` actions; rows of the transition table are the
    state-action pairs ``s * A + a``.

    Args:
        transitions: one of
            - int array ``[S, A]``: deterministic next states, ``-1`` = the episode ends (BRIDGE);
            - float array ``[S, A, S]``: dense probabilities ``P(s' | s, a)``;
            - CSR with ``S * A`` rows and ``S`` columns: a SciPy sparse matrix or a tuple
              ``(indptr, indices, data)``; each row is a distribution over next states.
        rewards: ``[S, A]`` expected reward of taking ``a`` in ``s``.
        horizon: ``T``, the number of steps of an episode (``None``: infinite, discounted).
        gamma: discount in ``[0, 1]``; 1 needs a horizon.
        terminal: bool ``[S]``, absorbing states worth 0 (with CSR/dense transitions, the way to
            end an episode); default none.
        initial_state: the state every episode starts in (0 in BRIDGE).

    Stochastic rows must sum to 1 within 1e-6 and hold no negative probability; next states
    must lie in ``[0, S)`` (``-1`` only in the deterministic form). Violations raise ValueError
    naming the state and action.
    """

    def __init__(self, transitions: Any, rewards: Any, *, horizon: int | None = None, gamma: float = 1.0,
                 terminal: Any = None, initial_state: int = 0) -> None:
        rewards = np.asarray(rewards)
        if rewards.ndim != 2 or rewards.dtype.kind not in "iuf":
            raise ValueError(f"rewards must be a real [S, A] array, got {rewards.dtype} with shape {rewards.shape}")
        num_states, num_actions = rewards.shape
        _check_size(num_states, num_actions)
        next_states, offsets, probs = _transition_arrays(transitions, num_states, num_actions)
        self._build(next_states, offsets, probs, rewards, horizon, gamma, terminal, initial_state)

    @classmethod
    def _from_arrays(cls, next_states: np.ndarray, offsets: np.ndarray | None, probs: np.ndarray | None,
                     rewards: np.ndarray, horizon: int | None, gamma: float, terminal: np.ndarray | None,
                     initial_state: int) -> TabularMDP:
        """An MDP from kernel-layout arrays that turborl made itself (CSR rows may hold -1, the
        probability of ending); the core still checks every index."""
        mdp = cls.__new__(cls)
        mdp._build(next_states, offsets, probs, rewards, horizon, gamma, terminal, initial_state)
        return mdp

    def _build(self, next_states, offsets, probs, rewards, horizon, gamma, terminal, initial_state) -> None:
        self._gamma = _checks.finite_float("gamma", gamma)
        if not 0.0 <= self._gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self._gamma}")
        self._horizon = None if horizon is None else _checks.int_at_least("horizon", horizon, 1)
        if self._horizon is None and self._gamma == 1.0:
            raise ValueError("gamma = 1 needs a horizon: an undiscounted infinite-horizon value may not exist; "
                             "pass horizon=T or gamma < 1")
        num_states, num_actions = rewards.shape
        self._next, self._offsets, self._probs = next_states, offsets, probs
        self._rewards = np.ascontiguousarray(rewards, dtype=np.float64)
        self._terminal = None
        if terminal is not None:
            mask = np.asarray(terminal)
            if mask.dtype != np.bool_ or mask.shape != (num_states,):
                raise ValueError(f"terminal must be a bool array of shape ({num_states},), got "
                                 f"{mask.dtype} {mask.shape}")
            self._terminal = np.ascontiguousarray(mask)
        self._initial_state = _checks.int_in_range("initial_state", initial_state, 0, num_states - 1)
        from turborl import _core

        self._core = _core.TabularMdpCore(
            num_states, num_actions, self._next, self._offsets, self._probs, self._rewards.reshape(-1),
            None if self._terminal is None else self._terminal.view(np.uint8), PROBABILITY_TOLERANCE)

    # ---- what it is ---------------------------------------------------------------------------

    @property
    def num_states(self) -> int:
        return self._core.num_states

    @property
    def num_actions(self) -> int:
        return self._core.num_actions

    @property
    def horizon(self) -> int | None:
        return self._horizon

    @property
    def gamma(self) -> float:
        return self._gamma

    @property
    def initial_state(self) -> int:
        return self._initial_state

    @property
    def terminal(self) -> np.ndarray | None:
        """bool ``[S]`` absorbing states, or None."""
        return None if self._terminal is None else self._terminal.copy()

    @property
    def rewards(self) -> np.ndarray:
        """float64 ``[S, A]`` (a read-only view)."""
        view = self._rewards.view()
        view.flags.writeable = False
        return view

    @property
    def is_deterministic(self) -> bool:
        return self._offsets is None

    @property
    def next_states(self) -> np.ndarray:
        """int ``[S, A]`` next states of a deterministic MDP (``-1`` ends the episode)."""
        if self._offsets is not None:
            raise ValueError("next_states exists only for deterministic MDPs; use transition_matrix()")
        return self._next.reshape(self.num_states, self.num_actions).astype(np.int64)

    def transition_csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr [S*A + 1], indices [nnz], data [nnz])`` of the transitions; an index of ``-1``
        is the probability that the episode ends."""
        if self._offsets is None:
            rows = len(self._next)
            return np.arange(rows + 1, dtype=np.int64), self._next.copy(), np.ones(rows)
        return self._offsets.copy(), self._next.copy(), self._probs.copy()

    def transition_matrix(self) -> np.ndarray:
        """Dense ``[S, A, S]`` probabilities (small MDPs only); the missing mass of a row is the
        probability that the episode ends there."""
        indptr, indices, data = self.transition_csr()
        dense = np.zeros((self.num_states * self.num_actions, self.num_states))
        rows = np.repeat(np.arange(self.num_states * self.num_actions), np.diff(indptr))
        keep = indices >= 0
        np.add.at(dense, (rows[keep], indices[keep]), data[keep])
        return dense.reshape(self.num_states, self.num_actions, self.num_states)

    def __repr__(self) -> str:
        kind = "deterministic" if self.is_deterministic else "stochastic"
        return (f"TabularMDP({kind}, num_states={self.num_states}, num_actions={self.num_actions}, "
                f"horizon={self.horizon}, gamma={self.gamma})")

    def replace(self, *, horizon: Any = "unchanged", gamma: Any = "unchanged") -> TabularMDP:
        """The same MDP with another horizon or discount (the arrays are shared, not copied)."""
        return TabularMDP._from_arrays(
            self._next, self._offsets, self._probs, self._rewards,
            self._horizon if horizon == "unchanged" else horizon, self._gamma if gamma == "unchanged" else gamma,
            self._terminal, self._initial_state)

    # ---- transforms ---------------------------------------------------------------------------

    def sticky_actions(self, repeat_probability: float = 0.25) -> TabularMDP:
        """The MDP in which, at every step after the first, the previous action is executed instead
        of the chosen one with probability ``repeat_probability`` (Machado et al.'s sticky actions,
        as the effective-horizon code applies them to BRIDGE's MDPs; 0.25 as in the ALE).

        States become pairs ``(s, previous action)`` numbered ``s * A + previous``, plus one start
        state ``S * A`` (the initial state before any action, from which the chosen action is
        always executed). Taking ``a`` in ``(s, p)`` executes ``p`` with probability
        ``repeat_probability`` and ``a`` otherwise, and moves to ``(s', executed)``; the reward is
        the expectation over which action was executed. Terminal states stay terminal.
        """
        p = _checks.finite_float("repeat_probability", repeat_probability)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"repeat_probability must be in [0, 1], got {p}")
        S, A = self.num_states, self.num_actions
        if S * A + 1 > MAX_STATES:
            raise ValueError(f"the sticky-actions MDP would have S * A + 1 = {S * A + 1} states, more than {MAX_STATES}")
        indptr, indices, data = self.transition_csr()
        counts = np.diff(indptr)

        def gather(rows: np.ndarray, executed: np.ndarray, weight: float) -> tuple[np.ndarray, ...]:
            """For each new row k, the entries of old row rows[k] with next state (n, executed[k])."""
            lengths = counts[rows]
            entry = np.repeat(indptr[rows], lengths) + (np.arange(lengths.sum()) -
                                                       np.repeat(np.cumsum(lengths) - lengths, lengths))
            next_state = indices[entry].astype(np.int64)
            new_next = np.where(next_state >= 0, next_state * A + np.repeat(executed, lengths), -1)
            return np.repeat(np.arange(len(rows)), lengths), new_next, data[entry] * weight

        # Rows ((s, prev), a) in order, then the start state's rows (s0, a): the entries of row
        # (s, prev) weighted p, then of row (s, a) weighted 1 - p; the start state executes a.
        state = np.repeat(np.arange(S), A * A)
        prev = np.tile(np.repeat(np.arange(A), A), S)
        act = np.tile(np.arange(A), S * A)
        start_rows = self._initial_state * A + np.arange(A)
        parts = [gather(state * A + prev, prev, p), gather(state * A + act, act, 1.0 - p)]
        owner, new_next, new_prob = gather(start_rows, np.arange(A), 1.0)
        parts.append((owner + S * A * A, new_next, new_prob))
        owner = np.concatenate([part[0] for part in parts])
        order = np.argsort(owner, kind="stable")
        new_indptr = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=(S * A + 1) * A))]).astype(np.int64)
        new_indices = np.concatenate([part[1] for part in parts])[order].astype(np.int32)
        new_data = np.concatenate([part[2] for part in parts])[order]
        rewards = self._rewards.reshape(-1)
        new_rewards = np.concatenate([p * rewards[state * A + prev] + (1.0 - p) * rewards[state * A + act],
                                      rewards[start_rows]]).reshape(S * A + 1, A)
        terminal = None if self._terminal is None else np.append(np.repeat(self._terminal, A),
                                                                  self._terminal[self._initial_state])
        return TabularMDP._from_arrays(new_indices, new_indptr, new_data, new_rewards, self._horizon, self._gamma,
                                       terminal, S * A)

    # ---- files --------------------------------------------------------------------------------

    @classmethod
    def load_npz(cls, path: str | os.PathLike, *, horizon: int | None = None, gamma: float = 1.0) -> TabularMDP:
        """Reads a BRIDGE ``consolidated.npz``: ``transitions`` (integer ``[S, A]``, ``-1`` ends the
        episode) and ``rewards`` (float ``[S, A]``). Files written by ``save_npz`` also restore
        their horizon, gamma and terminal states. A missing, foreign or damaged file raises
        ValueError naming the path and what is wrong."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(f"path {path!r} is not a file")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as error:
            raise ValueError(f"{path!r} is not a readable .npz file: {error}") from error
        missing = {"transitions", "rewards"} - set(arrays)
        if missing:
            raise ValueError(f"{path!r} is not a tabular MDP file: it lacks {sorted(missing)} "
                             f"(it holds {sorted(arrays)})")
        transitions, rewards = arrays["transitions"], arrays["rewards"]
        if transitions.dtype.kind not in "iu" or transitions.ndim != 2:
            raise ValueError(f"{path!r}: transitions must be an integer [S, A] array, got "
                             f"{transitions.dtype} {transitions.shape}")
        if rewards.shape != transitions.shape or rewards.dtype.kind != "f":
            raise ValueError(f"{path!r}: rewards must be a float array of shape {transitions.shape}, got "
                             f"{rewards.dtype} {rewards.shape}")
        if "horizon" in arrays and horizon is None:
            stored = int(arrays["horizon"])
            horizon = stored if stored > 0 else None
            gamma = float(arrays.get("gamma", gamma))
        terminal = arrays.get("terminal")
        try:
            return cls(transitions, rewards, horizon=horizon, gamma=gamma, terminal=terminal)
        except ValueError as error:
            raise ValueError(f"{path!r}: {error}") from error

    def save_npz(self, path: str | os.PathLike) -> None:
        """Writes the MDP atomically (temporary file, fsync, rename) in the BRIDGE layout:
        ``transitions`` int64 ``[S, A]``, ``rewards`` float32 ``[S, A]`` when they are exactly
        float32 (float64 otherwise), plus ``horizon`` (0: none), ``gamma`` and ``terminal`` when
        set. Only deterministic MDPs have this layout; stochastic ones raise ValueError."""
        if not self.is_deterministic:
            raise ValueError("save_npz writes the BRIDGE layout, which holds deterministic MDPs only")
        rewards = self._rewards
        as_float32 = rewards.astype(np.float32)
        arrays = {"transitions": self.next_states,
                  "rewards": as_float32 if np.array_equal(as_float32, rewards) else rewards,
                  "horizon": np.int64(self._horizon or 0), "gamma": np.float64(self._gamma)}
        if self._terminal is not None:
            arrays["terminal"] = self._terminal
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        _atomic.write_file(path, buffer.getvalue())


def _transition_arrays(transitions: Any, num_states: int, num_actions: int):
    """(next int32, offsets int64 | None, probs float64 | None) from any accepted form, checked
    against the S and A of the rewards."""
    if isinstance(transitions, tuple):
        if len(transitions) != 3:
            raise ValueError("transitions as a tuple must be CSR (indptr, indices, data), "
                             f"got a tuple of {len(transitions)}")
        return _csr_arrays(*transitions, num_states=num_states, num_actions=num_actions)
    if _is_sparse_matrix(transitions):
        expected = (num_states * num_actions, num_states)
        if tuple(transitions.shape) != expected:
            raise ValueError(f"sparse transitions must have shape (S * A, S) = {expected}, got {transitions.shape}")
        csr = transitions.tocsr() if hasattr(transitions, "tocsr") else transitions
        return _csr_arrays(csr.indptr, csr.indices, csr.data, num_states=num_states, num_actions=num_actions)
    array = np.asarray(transitions)
    if array.dtype.kind in "iu":
        if array.shape != (num_states, num_actions):
            raise ValueError(f"deterministic transitions must have the shape of rewards (S, A) = "
                             f"({num_states}, {num_actions}), got {array.shape}")
        bad = (array < -1) | (array >= num_states)
        if bad.any():
            s, a = np.argwhere(bad)[0]
            raise ValueError(f"transitions[{s}, {a}] = {array[s, a]} is outside [0, {num_states}) "
                             "(-1 ends the episode)")
        return np.ascontiguousarray(array.reshape(-1), dtype=np.int32), None, None
    if array.dtype.kind == "f":
        expected = (num_states, num_actions, num_states)
        if array.shape != expected:
            raise ValueError(f"dense transitions must have shape (S, A, S) = {expected}, got {array.shape}")
        flat = array.reshape(num_states * num_actions, num_states)
        nonzero = flat != 0  # NaN is nonzero: the core reports it with its state and action
        indptr = np.concatenate([[0], np.cumsum(nonzero.sum(axis=1))])
        rows, cols = np.nonzero(nonzero)
        return _csr_arrays(indptr, cols, flat[rows, cols], num_states=num_states, num_actions=num_actions)
    raise ValueError("transitions must be an int [S, A] array of next states, a float [S, A, S] array of "
                     f"probabilities, or CSR (indptr, indices, data); got {array.dtype} with shape {array.shape}")


def _csr_arrays(indptr: Any, indices: Any, data: Any, *, num_states: int, num_actions: int):
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    data = np.asarray(data)
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        raise ValueError(f"transitions: CSR indptr and indices must be integers, got {indptr.dtype} and {indices.dtype}")
    if data.dtype.kind not in "iuf":
        raise ValueError(f"transitions: CSR data must be probabilities, got {data.dtype}")
    if indptr.shape != (num_states * num_actions + 1,):
        raise ValueError(f"transitions: indptr must have S * A + 1 = {num_states * num_actions + 1} entries, "
                         f"got shape {indptr.shape}")
    if indices.shape != data.shape or indices.ndim != 1:
        raise ValueError(f"transitions: CSR indices and data must be 1-D of one length, got {indices.shape} "
                         f"and {data.shape}")
    bad = (indices < 0) | (indices >= num_states)
    if bad.any():
        entry = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(indptr, entry, side="right") - 1)
        raise ValueError(f"transitions: next state {int(indices[entry])} of state {row // num_actions}, action "
                         f"{row % num_actions} is outside [0, {num_states})")
    return (np.ascontiguousarray(indices, dtype=np.int32), np.ascontiguousarray(indptr, dtype=np.int64),
            np.ascontiguousarray(data, dtype=np.float64))


def _check_size(num_states: int, num_actions: int) -> None:
    if num_states < 1 or num_actions < 1:
        raise ValueError(f"an MDP needs at least one state and one action, got S = {num_states}, A = {num_actions}")
    if num_states > MAX_STATES:
        raise ValueError(f"at most {MAX_STATES} states are supported, got {num_states}")
