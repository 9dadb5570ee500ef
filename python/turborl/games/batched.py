"""A batch of games played side by side, holding its states (the stateful view of ``Game``)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from turborl import _checks
from turborl.games.game import Game, as_game


class BatchedGames:
    """``num_games`` games of one kind, stepped together, as self-play needs them.

    >>> games = BatchedGames("connect4", num_games=8)
    >>> rewards, terminal = games.step(actions)      # actions [8], each legal
    >>> games.reset(terminal)                        # start the finished games again

    The states are an int8 ``[num_games, state_size]`` array in ``Game``'s layout;
    ``get_state`` returns a copy and ``set_state`` writes one back (after checking it), so a
    position can be saved, restored or handed to MCTS as its root embedding.
    """

    def __init__(self, game: Any, num_games: int):
        """game: a ``Game`` or its name; num_games: the batch size (>= 1)."""
        self.game: Game = as_game(game)
        self.num_games = _checks.int_at_least("num_games", num_games, 1)
        self._states = self.game.initial_states(self.num_games)

    def reset(self, mask: Optional[Any] = None) -> None:
        """Starts every game again, or only those where ``mask`` (bool ``[num_games]``) is true."""
        if mask is None:
            self._states = self.game.initial_states(self.num_games)
            return
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.num_games,):
            raise ValueError(f"mask must be a bool array of shape ({self.num_games},), got {mask.dtype} {mask.shape}")
        self._states[mask] = self.game.initial_states(int(mask.sum()))

    def step(self, actions: Any) -> tuple:
        """Plays ``actions`` ``[num_games]`` (each legal; no game may be finished); returns
        ``(rewards, terminal)``: float32 ``[num_games]`` for the player who moved, bool
        ``[num_games]``."""
        self._states, rewards, terminal = self.game.step(self._states, actions)
        return rewards, terminal

    def legal_actions(self) -> np.ndarray:
        """bool ``[num_games, num_actions]``."""
        return self.game.legal_actions(self._states)

    def observe(self) -> np.ndarray:
        """float32 ``[num_games, 2, rows, cols]`` from the view of each game's player to move."""
        return self.game.observe(self._states)

    def to_play(self) -> np.ndarray:
        """int8 ``[num_games]``: +1 or -1."""
        return self.game.to_play(self._states)

    def terminal(self) -> np.ndarray:
        """bool ``[num_games]``."""
        return self.game.terminal(self._states)

    def get_state(self) -> np.ndarray:
        """A copy of the states, int8 ``[num_games, state_size]``."""
        return self._states.copy()

    def set_state(self, states: Any) -> None:
        """Replaces the states with a copy of ``states`` (int8 ``[num_games, state_size]``, each a
        valid state of this game)."""
        states = np.array(states, copy=True)
        self.game.to_play(states)  # checks dtype, shape and every state
        if states.shape[0] != self.num_games:
            raise ValueError(f"states must have shape ({self.num_games}, {self.game.state_size}), got {states.shape}")
        self._states = states

    def __repr__(self) -> str:
        return f"BatchedGames({self.game.name!r}, num_games={self.num_games})"
