"""Tic-tac-toe and Connect Four written plainly, as the tests' reference for turborl.games.

Independent of the C++ rules on purpose: the win check scans every line of the whole board
(the C++ looks only at the lines through the newest stone), positions are immutable objects,
and the state layout is written out field by field from the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rules:
    rows: int
    cols: int
    win_length: int
    gravity: bool  # Connect Four: a stone falls to the lowest empty cell of its column

    @property
    def num_actions(self) -> int:
        return self.cols if self.gravity else self.rows * self.cols

    @property
    def state_size(self) -> int:
        return self.rows * self.cols + 4


TICTACTOE = Rules(rows=3, cols=3, win_length=3, gravity=False)
CONNECT4 = Rules(rows=6, cols=7, win_length=4, gravity=True)
RULES = {"tictactoe": TICTACTOE, "connect4": CONNECT4}


def winner_of(rules: Rules, board: np.ndarray) -> int:
    """+1 or -1 if that player has `win_length` in a row anywhere, else 0: every window of k
    cells in each of the four directions is the AND of k shifted slices of the board."""
    k, rows, cols = rules.win_length, rules.rows, rules.cols
    for player in (1, -1):
        mine = board == player
        windows = {
            "horizontal": [mine[:, i:cols - k + 1 + i] for i in range(k)],
            "vertical": [mine[i:rows - k + 1 + i, :] for i in range(k)],
            "diagonal": [mine[i:rows - k + 1 + i, i:cols - k + 1 + i] for i in range(k)],
            "anti-diagonal": [mine[i:rows - k + 1 + i, k - 1 - i:cols - i] for i in range(k)],
        }
        if any(np.logical_and.reduce(slices).any() for slices in windows.values()):
            return player
    return 0


@dataclass(frozen=True)
class Position:
    rules: Rules
    board: np.ndarray  # [rows, cols] int8, row 0 at the top
    to_play: int = 1
    num_moves: int = 0
    terminal: bool = False
    winner: int = 0

    @staticmethod
    def initial(rules: Rules) -> "Position":
        return Position(rules, np.zeros((rules.rows, rules.cols), np.int8))

    def legal_actions(self) -> list:
        if self.terminal:
            return []
        if self.rules.gravity:
            return [c for c in range(self.rules.cols) if self.board[0, c] == 0]
        return [a for a in range(self.rules.num_actions) if self.board.flat[a] == 0]

    def play(self, action: int) -> tuple:
        """(next position, reward for the player who moved, terminal)."""
        assert action in self.legal_actions()
        board = self.board.copy()
        if self.rules.gravity:
            row = max(r for r in range(self.rules.rows) if board[r, action] == 0)
            board[row, action] = self.to_play
        else:
            board.flat[action] = self.to_play
        winner = winner_of(self.rules, board)
        num_moves = self.num_moves + 1
        terminal = winner != 0 or num_moves == self.rules.rows * self.rules.cols
        position = Position(self.rules, board, -self.to_play, num_moves, terminal, winner)
        return position, float(winner != 0), terminal

    def encode(self) -> np.ndarray:
        """The documented layout: cells, to_play, num_moves, terminal, winner."""
        return np.array([*self.board.ravel(), self.to_play, self.num_moves, int(self.terminal), self.winner], np.int8)

    def planes(self) -> np.ndarray:
        """[2, rows, cols]: the player to move's stones, then the opponent's."""
        return np.stack([self.board == self.to_play, self.board == -self.to_play]).astype(np.float32)


def replay(rules: Rules, actions) -> Position:
    position = Position.initial(rules)
    for action in actions:
        position = position.play(int(action))[0]
    return position
