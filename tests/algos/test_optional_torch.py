"""torch is optional: turborl imports without it; turborl.algos says how to install it."""

import subprocess
import sys

BLOCK_TORCH = "import sys; sys.modules['torch'] = None\n"


def run(code):
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True)


def test_turborl_imports_without_torch():
    result = run("import turborl, numpy as np\n"
                 "envs = turborl.envs.make_vec('CartPole-v1', 2, seed=0); envs.reset()\n"
                 "print(turborl.eval.metrics.aggregate_iqm(np.ones((3, 2))))\n"
                 "mdp = turborl.planning.enumerate_mdp('CombinationLock-v0', 3, length=3)\n"
                 "print(turborl.planning.value_iteration(mdp).v[0, 0])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1.0", "1.0"]


def test_algos_without_torch_say_how_to_install_it():
    result = run("import turborl.algos")
    assert result.returncode != 0
    assert "ImportError: turborl.algos needs PyTorch: pip install torch==2.13.0" in result.stderr


def test_game_search_and_matches_run_without_torch_or_jax():
    # A rollout-MCTS player (turborl.games.search) against uniformly random moves at tic-tac-toe.
    result = run("sys.modules['jax'] = None\n"
                 "import numpy as np\n"
                 "from turborl.games import make_game, play_match, rollout_evaluator, search\n"
                 "game, rng = make_game('tictactoe'), np.random.default_rng(0)\n"
                 "evaluate = rollout_evaluator(game, num_playouts=4)\n"
                 "mcts = lambda s, r: search(game, evaluate, s, r, policy='gumbel', num_simulations=32,\n"
                 "                           add_noise=False).action\n"
                 "uniform = lambda s, r: np.array([r.choice(np.flatnonzero(m)) for m in game.legal_actions(s)])\n"
                 "print(play_match(game, mcts, uniform, 40, rng).mean())")
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) >= 0.8  # moving first, search beats random play nearly always
