"""A perfect tic-tac-toe player: negamax over every position reachable from the empty board
(5,478 of them, finished ones included), solved once on first use and kept in a dict.

Written in plain Python on purpose, apart from the C++ rules: it is the reference that the
tests and evaluations hold the C++ game and the searches against.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from turborl.games.game import make_game

_NUM_CELLS = 9
_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8),  # rows
          (0, 3, 6), (1, 4, 7), (2, 5, 8),  # columns
          (0, 4, 8), (2, 4, 6))             # diagonals


def _has_line(cells: tuple) -> bool:
    return any(cells[i] != 0 and cells[i] == cells[j] == cells[k] for i, j, k in _LINES)


def _to_play(cells: tuple) -> int:
    return 1 if cells.count(0) % 2 == 1 else -1  # the first player moves when the count of stones is even


@functools.lru_cache(maxsize=1)
def solved_positions() -> dict:
    """``{cells: value}`` for every reachable position: ``cells`` a tuple of 9 ints (+1, -1, 0),
    ``value`` the result of perfect play for the player to move (+1 win, 0 draw, -1 loss)."""
    values: dict = {}

    def negamax(cells: tuple) -> int:
        if cells in values:
            return values[cells]
        if _has_line(cells):
            value = -1  # the player who just moved has won
        elif 0 not in cells:
            value = 0
        else:
            value = max(-negamax(_play(cells, a)) for a in range(_NUM_CELLS) if cells[a] == 0)
        values[cells] = value
        return value

    negamax((0,) * _NUM_CELLS)
    return values


def _play(cells: tuple, action: int) -> tuple:
    return cells[:action] + (_to_play(cells),) + cells[action + 1:]


def _cells(states: Any) -> list:
    """The cells of each state as tuples, after the C++ rules checked the states."""
    states = np.ascontiguousarray(states)
    make_game("tictactoe").to_play(states)  # dtype, shape and each state's consistency
    positions = solved_positions()
    cells = [tuple(int(v) for v in row[:_NUM_CELLS]) for row in states]
    for b, row in enumerate(cells):
        if row not in positions:
            raise ValueError(f"states[{b}] cannot be reached from the empty board (both players have a line, "
                             f"or play went on after a win)")
    return cells


def tictactoe_values(states: Any) -> np.ndarray:
    """int8 ``[B]``: the result of perfect play for the player to move in each of ``states``
    (int8 ``[B, 13]``): +1 win, 0 draw, -1 loss. A finished game scores -1 if it was won (by
    the opponent, who moved last) and 0 if drawn."""
    positions = solved_positions()
    return np.array([positions[cells] for cells in _cells(states)], dtype=np.int8)


def optimal_actions(state: Any) -> list:
    """The actions that keep the value of perfect play in ``state`` (int8 ``[13]``, one state),
    in increasing order; empty for a finished game."""
    state = np.asarray(state)
    if state.ndim != 1:
        raise ValueError(f"state must be one state of shape (13,), got shape {state.shape}")
    cells = _cells(state[None])[0]
    if _has_line(cells) or 0 not in cells:
        return []
    positions = solved_positions()
    value = positions[cells]
    return [a for a in range(_NUM_CELLS) if cells[a] == 0 and -positions[_play(cells, a)] == value]


def perfect_player(states: Any, rng: np.random.Generator) -> np.ndarray:
    """int64 ``[B]``: for each unfinished state, one of its ``optimal_actions`` drawn uniformly by
    ``rng``: a perfect tic-tac-toe opponent that varies its play (``play_match``'s player form)."""
    return np.array([rng.choice(optimal_actions(state)) for state in np.asarray(states)], np.int64)


def results_against_every_perfect_line(player: Any, rng: np.random.Generator) -> dict:
    """Plays a deterministic ``player(states, rng) -> actions`` against every line of perfect
    play: at the opponent's turns each of its ``optimal_actions`` is followed, so the games
    cover every way a perfect player can play against this player, with the player moving first
    and second. Returns ``{"games": n, "wins": w, "draws": d, "losses": l}``, counting each
    distinct line once; ``losses == 0`` means the player never loses to perfect play (a
    stronger check than sampled games, which may miss a rare line).

    The player is called once per ply with every game in progress (a batch), so a batched search
    runs once per ply. It must be deterministic: a line is followed once."""
    game = make_game("tictactoe")
    totals = {"games": 0, "wins": 0, "draws": 0, "losses": 0}
    for player_moves_first in (True, False):
        states = game.initial_states(1)
        player_to_move = player_moves_first
        while len(states):
            if player_to_move:
                actions = np.asarray(player(states, rng))
                if actions.shape != (len(states),) or actions.dtype.kind not in "iu":
                    raise ValueError(f"player must return one integer action per state, shape ({len(states)},), "
                                     f"got {actions.dtype} {actions.shape}")
                next_states = states
            else:
                branches = [(b, a) for b, state in enumerate(states) for a in optimal_actions(state)]
                next_states = states[[b for b, _ in branches]]
                actions = np.array([a for _, a in branches], np.int64)
            next_states, rewards, terminal = game.step(next_states, actions)
            finished = np.asarray(terminal, bool)
            won = finished & (np.asarray(rewards) > 0)  # the mover won
            totals["games"] += int(finished.sum())
            totals["wins" if player_to_move else "losses"] += int(won.sum())
            totals["draws"] += int((finished & ~won).sum())
            states = next_states[~finished]
            player_to_move = not player_to_move
    return totals
