"""A board game as the exact model of ``turborl.mcts``: the search plays the real rules, and
only the leaves are evaluated, by a network (AlphaZero) or by random playouts (plain MCTS).

>>> import turborl.mcts as mctx
>>> game = make_game("tictactoe")
>>> model = mcts_model(game, rollout_evaluator(game, num_playouts=8, seed=0))
>>> out = mctx.muzero_policy(None, 0, model.root(states), model.recurrent_fn, num_simulations=100,
...                          invalid_actions=model.invalid_actions(states))

Embeddings are the states themselves (int8 ``[B, state_size]``). The reward of an edge is that
of the player who moved, and the discount is -1 into a game still going, so that each node's
value is for its player to move (mctx's two-player convention), and 0 into a finished game,
whose value is 0. Every node masks its illegal moves; a finished game masks all of them and
stays finished with reward 0 if the search ever steps it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from turborl import _checks
from turborl.games.game import Game, as_game, state_array
from turborl.mcts.base import RecurrentFnOutput, RootFnOutput

# evaluate(states int8 [n, state_size], none finished) -> (prior_logits [n, A], value [n]), the
# value for the player to move; NumPy arrays or torch tensors.
Evaluate = Callable[[np.ndarray], tuple]


@dataclass(frozen=True)
class GameModel:
    """The root, root mask and ``recurrent_fn`` of a search over ``game`` whose leaves
    ``evaluate`` scores; build it with ``mcts_model``."""

    game: Game
    evaluate: Evaluate

    def root(self, states: Any) -> RootFnOutput:
        """``RootFnOutput`` for states int8 ``[B, state_size]`` (none finished): the evaluation's
        prior logits ``[B, A]`` and values ``[B]``, and the states as the embedding."""
        states = state_array(states)
        finished = np.flatnonzero(self.game.terminal(states))
        if finished.size:
            raise ValueError(f"states[{finished[0]}] is a finished game: a search needs a move to make")
        prior_logits, value = self._evaluate(states)
        return RootFnOutput(prior_logits=prior_logits, value=value, embedding=states)

    def invalid_actions(self, states: Any) -> np.ndarray:
        """bool ``[B, A]``: the illegal moves of the roots, for the policies' ``invalid_actions``."""
        return ~self.game.legal_actions(states)

    def recurrent_fn(self, params: Any, rng_key: Any, action: Any, embedding: np.ndarray) -> tuple:
        """mctx's ``recurrent_fn``: plays ``action`` ``[B]`` in the states ``embedding``; returns
        ``(RecurrentFnOutput, next_states)``. ``params`` and ``rng_key`` are not used."""
        states = embedding
        batch_size, num_actions = len(states), self.game.num_actions
        in_play = ~self.game.terminal(states)
        next_states = states.copy()
        reward = np.zeros(batch_size, np.float32)
        terminal = ~in_play
        if in_play.any():
            next_states[in_play], reward[in_play], terminal[in_play] = self.game.step(
                states[in_play], np.asarray(action)[in_play])
        prior_logits = np.zeros((batch_size, num_actions), np.float32)
        value = np.zeros(batch_size, np.float32)
        if not terminal.all():
            prior_logits[~terminal], value[~terminal] = self._evaluate(next_states[~terminal])
        output = RecurrentFnOutput(reward=reward, discount=np.where(terminal, 0.0, -1.0).astype(np.float32),
                                   prior_logits=prior_logits, value=value,
                                   invalid_actions=~self.game.legal_actions(next_states))
        return output, next_states

    def _evaluate(self, states: np.ndarray) -> tuple:
        prior_logits, value = self.evaluate(states)
        prior_logits = _checks.finite_array("evaluate's prior_logits", _checks.from_torch(prior_logits), np.float32)
        value = _checks.finite_array("evaluate's value", _checks.from_torch(value), np.float32)
        expected = (len(states), self.game.num_actions)
        if prior_logits.shape != expected:
            raise ValueError(f"evaluate's prior_logits must have shape {expected}, got {prior_logits.shape}")
        if value.shape != (len(states),):
            raise ValueError(f"evaluate's value must have shape ({len(states)},), got {value.shape}")
        return prior_logits, value


def mcts_model(game: Any, evaluate: Evaluate) -> GameModel:
    """The exact model of ``game`` (a ``Game`` or its name) for ``turborl.mcts``, with leaves
    scored by ``evaluate(states) -> (prior_logits [n, A], value [n])``: a network, or
    ``rollout_evaluator(game)``."""
    game = as_game(game)
    if not callable(evaluate):
        raise TypeError(f"evaluate must be callable, got {type(evaluate).__name__}")
    return GameModel(game=game, evaluate=evaluate)


def rollout_evaluator(game: Any, num_playouts: int = 1, seed: int = 0, num_threads: int = 1) -> Evaluate:
    """The evaluation of plain Monte Carlo tree search: uniform prior logits (zeros) and, as the
    value, the mean result of ``num_playouts`` uniformly random playouts (``Game.playout_values``).
    Each call draws fresh playout streams from a generator seeded with ``seed``, so an evaluator
    built with the same arguments gives the same values for the same sequence of calls."""
    game = as_game(game)
    num_playouts = _checks.int_at_least("num_playouts", num_playouts, 1)
    num_threads = _checks.num_threads(num_threads)
    rng = np.random.default_rng(_checks.seed("seed", seed))

    def evaluate(states: np.ndarray) -> tuple:
        values = game.playout_values(states, num_playouts, int(rng.integers(2**63)), num_threads)
        return np.zeros((len(states), game.num_actions), np.float32), values

    return evaluate
