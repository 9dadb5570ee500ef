"""The perfect tic-tac-toe player and the Connect Four solver against known positions, published
scores and brute force on the reference rules."""

import numpy as np

from helpers.board_game_reference import CONNECT4, TICTACTOE, Position, replay, winner_of
from turborl.games import (connect4_solve, connect4_solve_batch, make_game, optimal_actions,
                           tictactoe_values)
from turborl.games.tictactoe_solver import solved_positions

# ---- tic-tac-toe -----------------------------------------------------------------------------------


def _tictactoe(moves):
    return replay(TICTACTOE, moves).encode()


def test_tictactoe_empty_board_is_a_draw_over_5478_positions():
    empty = make_game("tictactoe").initial_states(1)
    assert tictactoe_values(empty).tolist() == [0]
    assert optimal_actions(empty[0]) == list(range(9))  # every opening move keeps the draw
    assert len(solved_positions()) == 5478  # the number of reachable positions, finished ones included


def test_tictactoe_immediate_win():
    # X X .
    # O O .     X to move: only the top row wins (the block at 5 leads to a draw)
    # . . .
    state = _tictactoe([0, 3, 1, 4])
    assert tictactoe_values(state[None]).tolist() == [1]
    assert optimal_actions(state) == [2]


def test_tictactoe_forced_block():
    # X . .
    # O O .     X to move, no win of its own: every move but 5 lets O complete its row
    # X . .
    state = _tictactoe([0, 3, 6, 4])
    assert optimal_actions(state) == [5]


def test_tictactoe_fork():
    # X O .
    # . X .     X to move wins by a fork at 3 (threats 5 and 6) or 6 (threats 2 and 3)
    # . . O
    position = replay(TICTACTOE, [0, 1, 4, 8])
    assert tictactoe_values(position.encode()[None]).tolist() == [1]
    best = optimal_actions(position.encode())
    assert {3, 6} <= set(best)
    for fork in (3, 6):
        after_fork = position.play(fork)[0]
        # Whatever O answers, X then has a winning move: the reference rules confirm the fork.
        for answer in after_fork.legal_actions():
            reply = after_fork.play(answer)[0]
            assert any(reply.play(a)[0].winner == 1 for a in reply.legal_actions())


def test_tictactoe_values_of_finished_games():
    won = _tictactoe([0, 3, 1, 4, 2])      # X won; O to move has lost
    drawn = _tictactoe([0, 4, 8, 1, 7, 6, 2, 5, 3])
    assert tictactoe_values(np.stack([won, drawn])).tolist() == [-1, 0]
    assert optimal_actions(won) == [] and optimal_actions(drawn) == []


def test_tictactoe_values_satisfy_negamax_on_the_cpp_rules():
    """Every reachable position's value equals the best, over the C++ rules' legal moves, of the
    move's reward or minus the value of the C++ successor: solver and rules agree everywhere."""
    game = make_game("tictactoe")
    states = np.array([[*cells, 1 if cells.count(0) % 2 else -1, 9 - cells.count(0), 0, 0]
                       for cells in solved_positions()], np.int8)
    # Finished positions: set the fields the C++ rules expect (a line wins; else a full board draws).
    lines_won = np.array([winner_of(TICTACTOE, np.reshape(cells, (3, 3))) for cells in solved_positions()])
    states[:, 11] = (lines_won != 0) | (states[:, 10] == 9)
    states[:, 12] = lines_won
    values = tictactoe_values(states)
    best = np.full(len(states), -2)
    legal = game.legal_actions(states)
    for action in range(9):
        rows = np.flatnonzero(legal[:, action])
        next_states, rewards, terminal = game.step(states[rows], np.full(len(rows), action))
        move_values = np.where(terminal, rewards, -tictactoe_values(next_states))
        best[rows] = np.maximum(best[rows], move_values)
    finished = game.terminal(states)
    np.testing.assert_array_equal(values[~finished], best[~finished])
    np.testing.assert_array_equal(values[finished], -np.abs(lines_won[finished]))


# ---- Connect Four ----------------------------------------------------------------------------------

# Positions and exact scores from Pascal Pons's benchmark set Test_L3_R1 (end-game positions;
# blog.gamesolver.org/solving-connect-four/02-test-protocol/): moves as 1-based columns.
PONS_TEST_L3_R1 = """
2252576253462244111563365343671351441 -1
7422341735647741166133573473242566 1
23163416124767223154467471272416755633 0
71255763773133525731261364622167124446454 0
65214673556155731566316327373221417 -1
52677675164321472411331752454 0
3135151421347443544172316522225776773566 0
562154564361751726662253737734213275114 0
233377345754465174223731671122611552 1
6763525635134453444361412671365712 -1
211376455663355325112113664364524722 0
3146762114467714356347741621375222 -1
67152117737262713366376314254 6
2762751722231276466633475674533 5
3642756176227637211322113551637574556 2
22647455554314246733661634615122372377511 0
427566236745127177115664464254 2
7172212567451542223676134464437761515 0
641154574541323641152467137655232232366 0
5775265212657176476365522624313714333 2
3575316255751336464276636772271112 -3
"""


def _connect4(moves):
    return replay(CONNECT4, moves).encode()


def test_connect4_solver_matches_pons_published_scores():
    lines = [line.split() for line in PONS_TEST_L3_R1.strip().splitlines()]
    states = np.stack([_connect4([int(c) - 1 for c in moves]) for moves, _ in lines])
    solution = connect4_solve_batch(states, max_nodes=1_000_000, num_threads=2)
    assert solution.solved.all()
    assert solution.scores.tolist() == [int(score) for _, score in lines]
    np.testing.assert_array_equal(connect4_solve_batch(states, max_nodes=1_000_000).scores, solution.scores)


def _brute_force_score(position: Position, memo: dict) -> int:
    """Pons's score by plain negamax over every continuation (reference rules, memo by board)."""
    key = position.board.tobytes()
    if key not in memo:
        best = -99
        for action in position.legal_actions():
            child, _, terminal = position.play(action)
            if child.winner:
                score = (42 + 1 - position.num_moves) // 2  # won with this stone
            elif terminal:
                score = 0
            else:
                score = -_brute_force_score(child, memo)
            best = max(best, score)
        memo[key] = best
    return memo[key]


def _quiet_positions(count, num_empty, seed):
    """Positions of random games with `num_empty` empty cells, reached by "quiet" moves only:
    no move wins, and none lets the opponent win at once. The results are then rarely decided
    within a move or two, so the solver's search is exercised. (Generated with the C++ rules for
    speed; the brute force that scores them uses the reference rules.)"""
    game = make_game("connect4")
    rng = np.random.default_rng(seed)

    def quiet_moves(state):
        moves = np.flatnonzero(game.legal_actions(state[None])[0])
        children, _, terminal = game.step(np.repeat(state[None], len(moves), axis=0), moves)
        quiet = []
        for move, child, ended in zip(moves, children, terminal):
            replies = np.flatnonzero(game.legal_actions(child[None])[0])
            if not ended and not game.step(np.repeat(child[None], len(replies), axis=0), replies)[1].any():
                quiet.append(move)
        return quiet

    positions = []
    while len(positions) < count:
        state, moves = game.initial_states(1)[0], []
        while len(moves) < 42 - num_empty:
            options = quiet_moves(state)
            if not options:
                break
            moves.append(int(rng.choice(options)))
            state = game.step(state[None], moves[-1:])[0][0]
        else:
            positions.append(replay(CONNECT4, moves))
    return positions


def test_connect4_solver_matches_brute_force_on_quiet_late_positions():
    positions = _quiet_positions(count=10, num_empty=10, seed=0)
    memo = {}
    expected = [_brute_force_score(p, memo) for p in positions]
    solution = connect4_solve_batch(np.stack([p.encode() for p in positions]))
    assert solution.solved.all()
    assert solution.scores.tolist() == expected
    assert {-1, 0, 1} <= set(np.sign(expected).tolist())  # wins, draws and losses


def test_connect4_solver_hand_checked_positions():
    # The first player has three in the bottom row (columns 0-2) and moves: it wins now, with its
    # 4th stone, scoring 22 - 4 = 18.
    assert connect4_solve(_connect4([0, 0, 1, 1, 2, 2])) == 18
    # The second player to move faces two open ends (columns 0 and 4 of the bottom row): it loses
    # to the first player's 4th stone, scoring -18.
    assert connect4_solve(_connect4([1, 1, 2, 2, 3])) == -18
    # Finished games: the loser is to move.
    assert connect4_solve(_connect4([0, 1, 0, 1, 0, 1, 0])) == -18
    assert connect4_solve(_connect4([int(c) for c in "206544254352244634002552100053366663311111"])) == 0


def test_connect4_solver_reports_unknown_when_the_budget_runs_out():
    empty = make_game("connect4").initial_states(1)
    assert connect4_solve(empty[0], max_nodes=1000) is None
    solution = connect4_solve_batch(empty, max_nodes=1000)
    assert not solution.solved[0] and solution.scores[0] == 0 and solution.nodes[0] == 1001


def test_perfect_player_draws_among_the_optimal_actions():
    from turborl.games import make_game, optimal_actions, perfect_player

    game = make_game("tictactoe")
    rng = np.random.default_rng(0)
    states = game.initial_states(64)
    chosen = perfect_player(states, rng)
    assert set(chosen.tolist()) == set(range(9))  # every opening keeps the draw; all get drawn
    states, _, _ = game.step(states, chosen)
    replies = perfect_player(states, rng)
    for state, reply in zip(states, replies):
        assert reply in optimal_actions(state)


def _reference_lines(player_action, player_first: bool) -> dict:
    """Depth-first over the reference rules: the player's move is player_action(position), the
    opponent follows each of its optimal actions in turn."""
    counts = {"games": 0, "wins": 0, "draws": 0, "losses": 0}

    def visit(position: Position, player_to_move: bool) -> None:
        if player_to_move:
            moves = [player_action(position)]
        else:
            moves = optimal_actions(position.encode())
        for move in moves:
            child, reward, terminal = position.play(move)
            if terminal:
                counts["games"] += 1
                counts[("wins" if player_to_move else "losses") if reward > 0 else "draws"] += 1
            else:
                visit(child, not player_to_move)

    visit(Position.initial(TICTACTOE), player_first)
    return counts


def _sum(a: dict, b: dict) -> dict:
    return {key: a[key] + b[key] for key in a}


def test_every_perfect_line_is_followed_against_a_weak_and_a_perfect_player():
    from turborl.games import results_against_every_perfect_line

    def first_free_cell(states, rng):  # loses to perfect play on most lines
        return np.argmax(np.asarray(states)[:, :9] == 0, axis=1)

    def first_optimal(states, rng):  # perfect and deterministic: never loses, never wins
        return np.array([optimal_actions(state)[0] for state in states])

    weak = results_against_every_perfect_line(first_free_cell, np.random.default_rng(0))
    expected = _sum(*(_reference_lines(lambda p: p.legal_actions()[0], first) for first in (True, False)))
    assert weak == expected and weak["losses"] > 0
    perfect = results_against_every_perfect_line(first_optimal, np.random.default_rng(0))
    expected = _sum(*(_reference_lines(lambda p: optimal_actions(p.encode())[0], first) for first in (True, False)))
    assert perfect == expected and perfect["losses"] == perfect["wins"] == 0 and perfect["draws"] == perfect["games"]


def test_connect4_solves_start_from_an_empty_table_across_the_generation_wrap():
    # Each solve reads only its own table entries: they carry a 15-bit generation, and the table
    # is cleared when the generation wraps after 32,767 solves. Solve 32,768 has generation 1
    # again, like solve 1: here both are position A, with 32,766 solves of B between them, which
    # leave A's entries in place. A must take the same search both times (a bound left from solve
    # 1 would cut the second search short). One thread: one solver, one table, for the whole batch.
    states = np.stack([p.encode() for p in _quiet_positions(count=6, num_empty=16, seed=1)])
    first = connect4_solve_batch(states, max_nodes=100_000)
    nodes = first.nodes
    searched = np.flatnonzero((nodes > 10) & first.solved)  # solved, but not decided at once
    by_nodes = searched[np.argsort(nodes[searched])]
    a, b = states[by_nodes[-1]], states[by_nodes[0]]  # B: the quickest to solve
    batch = np.concatenate([a[None], np.repeat(b[None], 32_766, axis=0), a[None]])
    solution = connect4_solve_batch(batch, max_nodes=100_000, num_threads=1)
    assert solution.solved.all() and solution.nodes[0] > 10
    assert solution.nodes[-1] == solution.nodes[0] and solution.scores[-1] == solution.scores[0]
    assert (solution.nodes[1:-1] == solution.nodes[1]).all()
