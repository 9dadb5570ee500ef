"""Playing the games: a batched tree search with the exact rules as the model, and matches
between two players. Needs neither torch nor JAX (AlphaZero plugs its network in as
``evaluate``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from turborl.games.mcts_model import mcts_model

__all__ = ["play_match", "search"]


def search(game: Any, evaluate: Any, states: np.ndarray, rng: np.random.Generator, *, policy: str,
           num_simulations: int, max_num_considered_actions: int = 16, add_noise: bool = True) -> Any:
    """A batched search from ``states`` with the exact game as the model; ``evaluate(states) ->
    (prior_logits, values)`` (``rollout_evaluator`` or a network). ``policy``: ``"gumbel"``
    (Gumbel MuZero, Danihelka et al., 2022) or ``"muzero"`` (PUCT with Dirichlet noise at the
    root). Returns mctx's ``PolicyOutput`` (``action``, ``action_weights``, ``search_tree``)."""
    import turborl.mcts as mctx

    if policy not in ("gumbel", "muzero"):
        raise ValueError(f"policy must be 'gumbel' or 'muzero', got {policy!r}")
    model = mcts_model(game, evaluate)
    root, invalid = model.root(states), model.invalid_actions(states)
    if policy == "gumbel":
        return mctx.gumbel_muzero_policy(None, rng, root, model.recurrent_fn, num_simulations, invalid_actions=invalid,
                                         max_num_considered_actions=max_num_considered_actions,
                                         gumbel_scale=1.0 if add_noise else 0.0)
    return mctx.muzero_policy(None, rng, root, model.recurrent_fn, num_simulations, invalid_actions=invalid,
                              dirichlet_fraction=0.25 if add_noise else 0.0, temperature=1.0 if add_noise else 0.0)


def play_match(game: Any, first: Any, second: Any, num_games: int, rng: np.random.Generator) -> np.ndarray:
    """Plays ``num_games`` games at once between two players ``player(states, rng) -> actions``;
    returns the first player's results (1 win, 0.5 draw, 0 loss)."""
    states = game.initial_states(num_games)
    result = np.full(num_games, 0.5)
    done = np.zeros(num_games, dtype=bool)
    mover = 0
    while not done.all():
        live = np.flatnonzero(~done)
        actions = (first if mover == 0 else second)(states[live], rng)
        states[live], rewards, terminal = game.step(states[live], actions)
        won = terminal & (rewards > 0)
        result[live[won]] = 1.0 if mover == 0 else 0.0
        done[live] = terminal
        mover = 1 - mover
    return result
