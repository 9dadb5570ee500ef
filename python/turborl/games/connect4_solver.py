"""An exact Connect Four solver (C++: alpha-beta negamax on bitboards after Pascal Pons,
cpp/include/turborl/games/connect4_solver.hpp) for tests and evaluation positions.

Scores are Pons's: 0 for a draw; for the player to move, ``22 - n`` if it wins with its
``n``-th stone against any defence, ``-(22 - n)`` if the opponent wins with its ``n``-th stone.
Faster wins score higher; the sign is the game-theoretic value. Positions late in the game solve
in thousands of nodes; the empty board needs billions, so a node budget bounds each search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from turborl import _checks, _core
from turborl.games.game import state_array


@dataclass(frozen=True)
class Connect4Solution:
    """The result of ``connect4_solve_batch`` for ``B`` states.

    scores: int32 ``[B]``, Pons's exact score for the player to move where ``solved`` (0 where not).
    solved: bool ``[B]``, false where the search ran out of its node budget.
    nodes: int64 ``[B]``, negamax nodes visited.
    """

    scores: np.ndarray
    solved: np.ndarray
    nodes: np.ndarray


def connect4_solve_batch(states: Any, max_nodes: int = 10_000_000, num_threads: int = 1) -> Connect4Solution:
    """Solves each of ``states`` (int8 ``[B, 46]``) within ``max_nodes`` negamax nodes
    (threads over states, each with its own transposition table of up to 19 MB)."""
    scores, solved, nodes = _core.connect4_solve(
        state_array(states), _checks.int_at_least("max_nodes", max_nodes, 1),
        _checks.num_threads(num_threads))
    return Connect4Solution(scores=scores, solved=solved, nodes=nodes)


def connect4_solve(state: Any, max_nodes: int = 10_000_000) -> Optional[int]:
    """Pons's exact score of one state (int8 ``[46]``) for the player to move, or None when
    ``max_nodes`` negamax nodes did not suffice. A finished game scores 0 if drawn, and minus
    the winner's score if won (the player to move lost)."""
    state = np.asarray(state)
    if state.ndim != 1:
        raise ValueError(f"state must be one state of shape (46,), got shape {state.shape}")
    solution = connect4_solve_batch(state[None], max_nodes)
    return int(solution.scores[0]) if solution.solved[0] else None
