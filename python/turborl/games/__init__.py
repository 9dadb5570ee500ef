"""Board games for tree search and AlphaZero: tic-tac-toe and Connect Four (7 x 6), with batched
rules in C++, perfect solvers for tests and evaluation, and the exact model for ``turborl.mcts``.

>>> import numpy as np
>>> from turborl.games import make_game, mcts_model, play_match, rollout_evaluator, search
>>> game, rng = make_game("connect4"), np.random.default_rng(0)
>>> states = game.initial_states(8)                        # int8 [8, 46]
>>> states, rewards, terminal = game.step(states, actions) # a new array; the input is unchanged
>>> game.legal_actions(states), game.observe(states)        # bool [8, 7], float32 [8, 2, 6, 7]
>>> model = mcts_model(game, rollout_evaluator(game))       # model.root, model.recurrent_fn
>>> mcts = lambda s, r: search(game, rollout_evaluator(game), s, r, policy="gumbel", num_simulations=64).action
>>> uniform = lambda s, r: np.array([r.choice(np.flatnonzero(m)) for m in game.legal_actions(s)])
>>> play_match(game, mcts, uniform, num_games=100, rng=rng)   # mcts's results: 1 win, 0.5 draw, 0 loss

Needs neither torch nor JAX.
"""

from turborl.games.batched import BatchedGames
from turborl.games.connect4_solver import Connect4Solution, connect4_solve, connect4_solve_batch
from turborl.games.game import GAME_NAMES, Game, make_game
from turborl.games.mcts_model import GameModel, mcts_model, rollout_evaluator
from turborl.games.play import play_match, search
from turborl.games.tictactoe_solver import (optimal_actions, perfect_player, results_against_every_perfect_line,
                                             tictactoe_values)

__all__ = [
    "GAME_NAMES",
    "BatchedGames",
    "Connect4Solution",
    "Game",
    "GameModel",
    "connect4_solve",
    "connect4_solve_batch",
    "make_game",
    "mcts_model",
    "optimal_actions",
    "perfect_player",
    "play_match",
    "results_against_every_perfect_line",
    "rollout_evaluator",
    "search",
    "tictactoe_values",
]
