"""The C++ rules of turborl.games against the plain reference of tests/helpers/board_game_reference.py."""

import numpy as np
import pytest

from helpers.board_game_reference import CONNECT4, RULES, TICTACTOE, Position, replay
from turborl.games import GAME_NAMES, BatchedGames, make_game

# A Connect Four game that fills the board without four in a row (found by random play; the
# reference confirms the draw independently). Columns counted from 0.
CONNECT4_DRAW = "206544254352244634002552100053366663311111"


@pytest.mark.parametrize("name", GAME_NAMES)
def test_game_description(name):
    game, rules = make_game(name), RULES[name]
    assert game.name == name
    assert game.num_actions == rules.num_actions
    assert game.board_shape == (rules.rows, rules.cols)
    assert game.state_size == rules.state_size
    np.testing.assert_array_equal(game.initial_states(3), np.stack([Position.initial(rules).encode()] * 3))
    assert game.initial_states(0).shape == (0, rules.state_size)


@pytest.mark.parametrize("name", GAME_NAMES)
def test_random_games_match_the_reference(name):
    """Random legal play in 32 games at once, finished games restarted: every state, reward,
    terminal flag, legal mask, observation and player to move equal the reference's."""
    game, rules = make_game(name), RULES[name]
    rng = np.random.default_rng(0)
    games = BatchedGames(game, num_games=32)
    positions = [Position.initial(rules)] * games.num_games
    winners = []
    for _ in range(3 * rules.rows * rules.cols):
        states = games.get_state()
        np.testing.assert_array_equal(states, np.stack([p.encode() for p in positions]))
        legal = games.legal_actions()
        for b, position in enumerate(positions):
            assert np.flatnonzero(legal[b]).tolist() == position.legal_actions()
        np.testing.assert_array_equal(games.observe(), np.stack([p.planes() for p in positions]))
        np.testing.assert_array_equal(games.to_play(), [p.to_play for p in positions])

        actions = np.array([rng.choice(p.legal_actions()) for p in positions])
        rewards, terminal = games.step(actions)
        outcomes = [p.play(a) for p, a in zip(positions, actions)]
        positions = [outcome[0] for outcome in outcomes]
        np.testing.assert_array_equal(rewards, [outcome[1] for outcome in outcomes])
        np.testing.assert_array_equal(terminal, [outcome[2] for outcome in outcomes])
        np.testing.assert_array_equal(games.terminal(), terminal)
        np.testing.assert_array_equal(game.winner(games.get_state()), [p.winner for p in positions])
        assert not games.legal_actions()[terminal].any()

        winners += [p.winner for p in positions if p.terminal]
        games.reset(terminal)
        positions = [Position.initial(rules) if p.terminal else p for p in positions]
    # Both players won some games (and tic-tac-toe's random games also draw).
    assert {1, -1} <= set(winners)
    if name == "tictactoe":
        assert 0 in winners


def test_connect4_stones_fall_and_lines_count_in_every_direction():
    game = make_game("connect4")
    state = game.step(game.initial_states(1), [3])[0]
    assert state[0, 5 * 7 + 3] == 1  # the bottom row is row 5
    # Vertical, horizontal and both diagonals, each won by the first player with its 4th stone.
    for moves in ("0101010", "0011223", "01123223433", "65543443233"):
        states = game.initial_states(1)
        for i, action in enumerate(moves):
            states, rewards, terminal = game.step(states, [int(action)])
            assert terminal[0] == (i == len(moves) - 1)
        assert rewards[0] == 1 and game.winner(states)[0] == 1
        assert replay(CONNECT4, moves).winner == 1


def test_connect4_full_board_is_a_draw():
    game = make_game("connect4")
    states = game.initial_states(1)
    for i, action in enumerate(CONNECT4_DRAW):
        assert not game.terminal(states)[0]
        states, rewards, terminal = game.step(states, [int(action)])
        assert rewards[0] == 0
    assert terminal[0] and game.winner(states)[0] == 0
    reference = replay(CONNECT4, CONNECT4_DRAW)
    assert reference.terminal and reference.winner == 0
    np.testing.assert_array_equal(states[0], reference.encode())


def test_tictactoe_win_on_the_last_cell_is_a_win_not_a_draw():
    # X: 0 1 5 6 8 ... the ninth stone (cell 2) completes the top row.
    moves = [0, 3, 1, 4, 5, 7, 6, 8, 2]
    game = make_game("tictactoe")
    states = game.initial_states(1)
    for action in moves:
        states, rewards, terminal = game.step(states, [action])
    assert terminal[0] and rewards[0] == 1 and game.winner(states)[0] == 1
    assert replay(TICTACTOE, moves).winner == 1


@pytest.mark.parametrize("name", GAME_NAMES)
def test_functions_return_new_arrays_and_keep_their_input(name):
    game = make_game(name)
    states = game.initial_states(4)
    before = states.copy()
    next_states, _, _ = game.step(states, np.arange(4))
    game.legal_actions(states), game.observe(states), game.playout_values(states)
    np.testing.assert_array_equal(states, before)
    assert not np.shares_memory(next_states, states)
    # Any integer dtype of actions, and a list, play the same moves.
    for actions in (np.arange(4, dtype=np.int8), np.arange(4, dtype=np.uint32), [0, 1, 2, 3]):
        np.testing.assert_array_equal(game.step(states, actions)[0], next_states)


def test_batched_games_state_round_trip_and_partial_reset():
    games = BatchedGames("tictactoe", num_games=3)
    games.step([4, 0, 8])
    saved = games.get_state()
    games.step([0, 1, 2])
    games.set_state(saved)
    np.testing.assert_array_equal(games.get_state(), saved)
    games.reset(np.array([False, True, False]))
    states = games.get_state()
    np.testing.assert_array_equal(states[1], make_game("tictactoe").initial_states(1)[0])
    np.testing.assert_array_equal(states[[0, 2]], saved[[0, 2]])
    games.reset()
    np.testing.assert_array_equal(games.get_state(), make_game("tictactoe").initial_states(3))


def _random_play_value(position: Position) -> float:
    """The exact expected result of uniformly random play, for the player to move."""
    if position.terminal:
        return -1.0 if position.winner else 0.0
    total = 0.0
    for action in position.legal_actions():
        child, reward, terminal = position.play(action)
        total += reward if terminal else -_random_play_value(child)
    return total / len(position.legal_actions())


def test_playout_values_estimate_the_value_of_random_play():
    game = make_game("tictactoe")
    openings = [[4, 0, 8, 2], [0, 4, 1, 2, 6], [4, 1, 0, 8, 3], [0, 3, 1, 4, 2]]  # the last one is over
    positions = [replay(TICTACTOE, moves) for moves in openings]
    states = np.stack([p.encode() for p in positions])
    values = game.playout_values(states, num_playouts=4000, seed=7)
    expected = [_random_play_value(p) for p in positions]
    # 4000 playouts of results in [-1, 1]: a standard error below 0.016.
    np.testing.assert_allclose(values, expected, atol=0.06)
    assert values[3] == -1.0  # the player to move has lost already


@pytest.mark.parametrize("name", GAME_NAMES)
def test_playout_values_do_not_depend_on_threads(name):
    game = make_game(name)
    states = np.repeat(game.initial_states(1), 6, axis=0)
    one = game.playout_values(states, num_playouts=20, seed=3, num_threads=1)
    two = game.playout_values(states, num_playouts=20, seed=3, num_threads=2)
    np.testing.assert_array_equal(one, two)
    assert len(set(one.tolist())) > 1  # rows draw from their own streams
    assert not np.array_equal(one, game.playout_values(states, num_playouts=20, seed=4))


def test_render():
    game = make_game("tictactoe")
    states = game.step(game.step(game.initial_states(1), [4])[0], [0])[0]
    assert game.render(states[0]) == "O . .\n. X .\n. . ."
