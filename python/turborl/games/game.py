"""The rules of a board game as batched functions over states (C++, cpp/include/turborl/games).

A state is a row of ``state_size`` int8 values: the cells (row-major, row 0 at the top; +1 for
the first player's stones, -1 for the second's, 0 empty), then ``to_play`` (+1 or -1),
``num_moves``, ``terminal`` (0 or 1) and ``winner`` (+1, -1, or 0 for none). States are plain
arrays: every function returns new arrays and never changes its input, so a batch of states can
be copied, stored, gathered by index (MCTS embeddings) or written back like any NumPy array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from turborl import _checks, _core

GAME_NAMES = ("tictactoe", "connect4")


@dataclass(frozen=True)
class Game:
    """One game's rules; build it with ``make_game``.

    In the shapes, ``B`` is the batch size and ``A = num_actions``. Tic-tac-toe's action ``a``
    puts a stone on cell ``a = 3 * row + col``; Connect Four's drops one into column ``a``.

    name: ``"tictactoe"`` or ``"connect4"``.
    num_actions: ``A`` (9 or 7).
    board_shape: ``(rows, cols)``: ``(3, 3)`` or ``(6, 7)``.
    state_size: int8 values per state (the cells and 4 fields).
    """

    name: str
    num_actions: int
    board_shape: tuple
    state_size: int

    def _function(self, function: str):
        """The C++ function ``<name>_<function>`` of turborl._core."""
        return getattr(_core, f"{self.name}_{function}")

    def initial_states(self, batch_size: int) -> np.ndarray:
        """int8 ``[batch_size, state_size]``: empty boards with the first player (+1) to move."""
        return self._function("initial_states")(_checks.int_at_least("batch_size", batch_size, 0))

    def step(self, states: Any, actions: Any) -> tuple:
        """Plays ``actions[b]`` in ``states[b]`` for every ``b``.

        Args:
          states: int8 ``[B, state_size]``, none of them finished.
          actions: integers ``[B]``, each legal in its state.

        Returns:
          ``(next_states, rewards, terminal)``: int8 ``[B, state_size]``, float32 ``[B]`` for
          the player who moved (+1 the move won, 0 otherwise: a move can never lose), bool ``[B]``.
          An illegal action or a finished game raises ValueError naming the game and the action.
        """
        return self._function("step")(state_array(states), _actions(actions))

    def legal_actions(self, states: Any) -> np.ndarray:
        """bool ``[B, A]``: the legal actions of each state (none in a finished game)."""
        return self._function("legal_actions")(state_array(states))

    def observe(self, states: Any) -> np.ndarray:
        """float32 ``[B, 2, rows, cols]``, AlphaZero's board planes from the view of the player to
        move: plane 0 holds its stones, plane 1 the opponent's."""
        return self._function("observe")(state_array(states))

    def to_play(self, states: Any) -> np.ndarray:
        """int8 ``[B]``: the player to move, +1 (moved first) or -1."""
        return self._function("status")(state_array(states))[0]

    def terminal(self, states: Any) -> np.ndarray:
        """bool ``[B]``: whether each game is over."""
        return self._function("status")(state_array(states))[1]

    def winner(self, states: Any) -> np.ndarray:
        """int8 ``[B]``: +1 or -1 for the player who won, 0 for a draw or a game not over."""
        return self._function("status")(state_array(states))[2]

    def playout_values(self, states: Any, num_playouts: int = 1, seed: int = 0, num_threads: int = 1) -> np.ndarray:
        """float32 ``[B]``: the mean result, for the player to move, of ``num_playouts`` games
        played on from each state with uniformly random legal moves (+1 win, -1 loss, 0 draw),
        the value estimate of plain Monte Carlo tree search. Playout ``p`` of row ``b`` draws
        from the random stream ``(seed, b, p)``: the same arguments give the same values on any
        number of threads."""
        return self._function("playout_values")(
            state_array(states), _checks.int_at_least("num_playouts", num_playouts, 1), _checks.seed("seed", seed),
            _checks.num_threads(num_threads))

    def render(self, state: Any) -> str:
        """One state as text: ``X`` for the first player, ``O`` for the second, ``.`` empty."""
        state = state_array(np.asarray(state)[None])
        self.to_play(state)  # checks the state
        rows, cols = self.board_shape
        cells = state[0, : rows * cols].reshape(rows, cols)
        symbols = {1: "X", -1: "O", 0: "."}
        return "\n".join(" ".join(symbols[int(v)] for v in row) for row in cells)

    def __repr__(self) -> str:
        return f"make_game({self.name!r})"


def make_game(name: str) -> Game:
    """The rules of ``"tictactoe"`` or ``"connect4"`` (7 columns x 6 rows)."""
    if name not in GAME_NAMES:
        raise ValueError(f"name must be one of {', '.join(GAME_NAMES)}; got {name!r}")
    layout = getattr(_core, f"{name}_layout")()
    return Game(name=name, num_actions=layout["num_actions"], board_shape=(layout["rows"], layout["cols"]),
                state_size=layout["state_size"])


def as_game(game: Any) -> Game:
    """``game`` itself if it is a ``Game``, or the game of that name."""
    if isinstance(game, str):
        return make_game(game)
    if not isinstance(game, Game):
        raise TypeError(f"game must be a Game or a game's name, got {type(game).__name__}")
    return game


def state_array(states: Any) -> np.ndarray:
    """A contiguous array with the dtype given: the C++ side checks dtype, shape and content."""
    array = np.ascontiguousarray(states)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"states must be an int8 array, got dtype {array.dtype}")
    return array


def _actions(actions: Any) -> np.ndarray:
    """Integer actions as int64; any other dtype goes on to the C++ check, which names it."""
    array = np.ascontiguousarray(actions)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in "bf":
        raise TypeError(f"actions must be an integer array, got dtype {array.dtype}")
    return array
