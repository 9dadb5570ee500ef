"""AlphaZero on tic-tac-toe: value targets from the game's outcome, learning measured against the
perfect solver, exact resume, the CLI's files."""

import numpy as np
import pytest
import torch

from turborl.algos.alphazero import AlphaZero, AlphaZeroConfig
from turborl.games import perfect_player, play_match


def small_config(**overrides):
    values = dict(game="tictactoe", num_envs=32, num_simulations=8, total_timesteps=640, eval_interval=10**9,
                  eval_episodes=4, opponent_simulations=8, progress=False, seed=0)
    values.update(overrides)
    return AlphaZeroConfig(**values)



def test_value_targets_are_the_outcome_for_the_player_to_move():
    run = AlphaZero(small_config(num_envs=1, augment=False, random_opening_moves=0))
    moves = 0
    while run.replay_count == 0:  # play one whole self-play game
        run._iteration()
        moves += 1
    outcomes = run.replay["outcome"][: run.replay_count]
    assert len(outcomes) == moves and 5 <= moves <= 9
    # The last position's mover won (+1) or drew (0); a win alternates sign back through the game.
    if outcomes[-1] == 1.0:
        np.testing.assert_array_equal(outcomes[::-1], [(-1.0) ** k for k in range(moves)])
    else:
        assert moves == 9
        np.testing.assert_array_equal(outcomes, 0.0)
    # The policy targets are the search's distributions over legal moves.
    policies = run.replay["policy"][:moves]
    np.testing.assert_allclose(policies.sum(axis=1), 1.0, atol=1e-5)
    assert not np.any(policies[~run.replay["legal"][:moves]] > 0)


def test_random_openings_start_games_after_up_to_k_random_moves_that_are_not_stored():
    run = AlphaZero(small_config(num_envs=256, random_opening_moves=4))
    stones = np.abs(run.envs.get_state()[:, :9]).sum(axis=1)
    # Uniform over 0..4 opening moves (no game can finish within 4 moves of tic-tac-toe).
    np.testing.assert_array_equal(np.bincount(stones, minlength=5)[:5] > 20, True)
    assert stones.max() == 4
    # Positions are stored from the first searched move on: a finished game stores its length
    # minus its opening.
    run = AlphaZero(small_config(num_envs=1, random_opening_moves=4, seed=3))
    opening = int(np.abs(run.envs.get_state()[0, :9]).sum())
    moves = 0
    while run.replay_count == 0:
        run._iteration()
        moves += 1
    assert run.replay_count == moves and opening + moves <= 9
    final = run.envs.get_state()[0]
    assert np.abs(final[:9]).sum() <= 4  # the next game has started, after its own opening


def test_training_with_the_defaults_never_loses_on_any_perfect_line():
    """The documented claim: the default configuration (200k positions, ~80 s on one core) learns
    tic-tac-toe well enough never to lose, checked against every line of perfect play rather
    than sampled games (turborl.games.results_against_every_perfect_line)."""
    from turborl.games import results_against_every_perfect_line

    run = AlphaZero(AlphaZeroConfig(game="tictactoe", seed=0, eval_interval=10**9, progress=False)).learn()
    results = results_against_every_perfect_line(run.network_player(), np.random.default_rng(0))
    assert results["games"] > 50 and results["losses"] == 0, results


def test_board_symmetries_move_stones_moves_and_policy_together():
    from turborl.algos.alphazero import board_symmetries
    from turborl.games import make_game

    game = make_game("tictactoe")
    states = game.initial_states(1)
    for action in (1, 5, 0):  # X top middle, O middle right, X top left
        states, _, _ = game.step(states, np.array([action]))
    policy = np.arange(9, dtype=np.float32) / 36.0
    variants = board_symmetries(game, game.observe(states).reshape(-1), game.legal_actions(states)[0], policy)
    assert len(variants) == 8
    seen = set()
    for obs, legal, moved_policy in variants:
        planes = obs.reshape(2, 3, 3)
        np.testing.assert_array_equal(legal, planes.sum(axis=0).reshape(-1) == 0)  # legal = empty cells
        # Each cell keeps its policy value: the pairs (stones, policy) of a cell move together.
        pairs = sorted(zip(planes.reshape(2, 9).T.tolist(), moved_policy.tolist()))
        assert pairs == sorted(zip(game.observe(states).reshape(2, 9).T.tolist(), policy.tolist()))
        seen.add(obs.tobytes())
    assert len(seen) == 8  # this position has no symmetry of its own
    connect4 = make_game("connect4")
    start = connect4.initial_states(1)
    states, _, _ = connect4.step(start, np.array([0]))
    mirrored = board_symmetries(connect4, connect4.observe(states).reshape(-1), connect4.legal_actions(states)[0],
                                np.arange(7, dtype=np.float32))
    expected, _, _ = connect4.step(start, np.array([6]))
    np.testing.assert_array_equal(mirrored[1][0], connect4.observe(expected).reshape(-1))
    np.testing.assert_array_equal(mirrored[1][2], np.arange(7)[::-1])


def test_training_reduces_losses_against_the_perfect_player():
    def losses(run):
        rng = np.random.default_rng(0)
        me = run.network_player()
        first = play_match(run.game, me, perfect_player, 50, rng)
        second = 1.0 - play_match(run.game, perfect_player, me, 50, rng)
        return int(np.sum(np.concatenate([first, second]) == 0.0))

    untrained = AlphaZero(small_config(num_simulations=16))
    trained = AlphaZero(small_config(num_simulations=16, total_timesteps=20_000, num_envs=64)).learn()
    assert losses(trained) < losses(untrained) / 2


def test_resume_continues_exactly(tmp_path):
    config = small_config(total_timesteps=1280, checkpoint_interval=640)
    whole = AlphaZero(config, tmp_path / "whole").learn()
    AlphaZero(config, tmp_path / "split").learn(stop_at=640)
    resumed = AlphaZero.resume(tmp_path / "split").learn()
    for ours, theirs in zip(whole.network.state_dict().values(), resumed.network.state_dict().values()):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert resumed.replay_count == whole.replay_count


def test_cli_trains_and_writes_win_rates(tmp_path):
    from turborl.cli import main

    out = tmp_path / "run"
    main(["train", "alphazero", "--game", "tictactoe", "--total-timesteps", "256", "--num-envs", "32",
          "--num-simulations", "4", "--eval-interval", "128", "--eval-episodes", "4", "--opponent-simulations", "4",
          "--progress", "false", "--out", str(out)])
    rows = (out / "win_rates.csv").read_text().splitlines()
    assert rows[0] == "step,vs_random,vs_rollout_mcts" and len(rows) == 3
    assert (out / "win_rates.png").stat().st_size > 0 and (out / "network.pt").exists()


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="game must be one of tictactoe, connect4, got 'chess'"):
        small_config(game="chess")
    with pytest.raises(ValueError, match="search must be 'gumbel' or 'muzero'"):
        small_config(search="alphabeta")
    with pytest.raises(ValueError, match="num_simulations must be >= 1, got 0"):
        small_config(num_simulations=0)
    with pytest.raises(ValueError, match="random_opening_moves must be >= 0, got -1"):
        small_config(random_opening_moves=-1)
