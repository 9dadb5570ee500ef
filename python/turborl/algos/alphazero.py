"""AlphaZero on turborl's C++ board games with turborl's batched MCTS (Silver et al., "A general
reinforcement learning algorithm that masters chess, shogi, and Go through self-play", Science
2018; the search is Gumbel MuZero by default, Danihelka et al., "Policy improvement by planning
with Gumbel", ICLR 2022, whose policy targets improve on the prior even with few simulations).

    turborl train alphazero --game tictactoe        # 200k positions, ~1.5 min
    turborl train alphazero --game connect4 --total-timesteps 400000 --num-simulations 64

One iteration plays one move in each of ``num_envs`` self-play games at once: a batched search
over all of them, with the exact game as the model (turborl.games) and a torch network giving
prior logits and values, then ``updates_per_iteration`` Adam steps on a replay of (observation,
legal moves, search policy, outcome). ``global_step`` counts positions played. Every
``eval_interval`` positions the network plays ``eval_episodes`` games (alternating sides) against
a uniformly random player and against plain rollout MCTS (uniform priors, values from one random
rollout, ``opponent_simulations`` simulations); the score logged is the mean result against the
rollout MCTS (win 1, draw 0.5, loss 0), and ``win_rates.csv``/``win_rates.png`` keep both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from turborl import _atomic
from turborl.algos.base import Algorithm
from turborl.algos.checkpoint import module_state
from turborl.algos.config import Config, _at_least
from turborl.games.play import play_match, search

__all__ = ["AlphaZero", "AlphaZeroConfig", "PolicyValueNet"]


@dataclasses.dataclass
class AlphaZeroConfig(Config):
    """AlphaZero's options (``env_id`` follows ``game``).

    Attributes:
        game: ``"tictactoe"`` or ``"connect4"``.
        num_envs: self-play games played at once (one search batch).
        search: ``"gumbel"`` (Gumbel MuZero) or ``"muzero"`` (pUCT with Dirichlet noise at the root).
        num_simulations: simulations per move in self-play and in the network's evaluation games.
        max_num_considered_actions: Gumbel MuZero's root sample size.
        temperature_moves: MuZero search: moves of a game sampled from the visit counts (then greedy).
        learning_rate, batch_size, updates_per_iteration, replay_size, weight_decay: training.
        augment: store every position under each symmetry of the board (the 8 rotations and
            reflections of tic-tac-toe's square board, Connect Four's mirror image), as AlphaGo
            Zero does for Go. Off by default: before random openings it did not make tic-tac-toe's
            "never loses to the perfect player" reliable (seeds 0 and 2 lost 0 and 7 of 200 games;
            bench/RESULTS.md), and random openings did without it.
        opponent_simulations: simulations of the rollout-MCTS opponent in evaluation.
        random_opening_moves: each self-play game first plays a uniformly drawn number in
            [0, random_opening_moves] of uniformly random legal moves, which are not trained on
            (exploring starts): self-play then also learns the positions that its own play
            avoids but an opponent can steer into, such as tic-tac-toe's corner traps.
    """

    algorithm: ClassVar[str] = "alphazero"
    game: str = "tictactoe"
    env_id: str = "tictactoe"
    # Tic-tac-toe at 200k positions: no loss on any line of perfect play in 8 of 8 seeds (with the
    # random openings below; bench/RESULTS.md).
    total_timesteps: int = 200_000
    num_envs: int = 64
    hidden_sizes: tuple[int, ...] = (128, 128)
    search: str = "gumbel"
    num_simulations: int = 32
    max_num_considered_actions: int = 16
    temperature_moves: int = 4
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    # 8 Adam steps of 256 per 64 new positions: each position is trained on ~32 times. With 1, the
    # tic-tac-toe network still lost 27 of 200 games to the perfect player after 150k positions.
    updates_per_iteration: int = 8
    replay_size: int = 50_000
    augment: bool = False
    eval_interval: int = 10_000
    eval_episodes: int = 20
    opponent_simulations: int = 200
    # Without random openings, 3 of 4 tic-tac-toe seeds lost to the perfect player's corner
    # traps (bench/RESULTS.md); with up to 4, none of 8.
    random_opening_moves: int = 4

    def validate(self) -> None:
        super().validate()
        from turborl.games import GAME_NAMES

        if self.game not in GAME_NAMES:
            raise ValueError(f"game must be one of {', '.join(GAME_NAMES)}, got {self.game!r}")
        self.env_id = self.game  # logs and run names say which game
        if self.search not in ("gumbel", "muzero"):
            raise ValueError(f"search must be 'gumbel' or 'muzero', got {self.search!r}")
        for name in ("num_simulations", "max_num_considered_actions", "batch_size", "updates_per_iteration",
                     "replay_size", "opponent_simulations"):
            _at_least(self, name, 1)
        for name in ("random_opening_moves", "temperature_moves"):
            _at_least(self, name, 0)
        if not self.learning_rate > 0 or self.weight_decay < 0:
            raise ValueError(f"learning_rate must be > 0 and weight_decay >= 0, got {self.learning_rate}, "
                             f"{self.weight_decay}")


class PolicyValueNet(nn.Module):
    """An MLP over the board planes (the player to move's stones, the opponent's): prior logits
    ``[B, A]`` and a value in ``[-1, 1]`` ``[B]`` for the player to move."""

    def __init__(self, obs_size: int, num_actions: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_size
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.policy_head = nn.Linear(width, num_actions)
        self.value_head = nn.Linear(width, 1)

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(planes.reshape(len(planes), -1))
        return self.policy_head(features), torch.tanh(self.value_head(features))[:, 0]


def network_evaluator(network: PolicyValueNet, game: Any):
    """``evaluate(states) -> (prior_logits, values)`` for the search, from the network."""

    def evaluate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            logits, values = network(torch.from_numpy(game.observe(states)))
        return logits.numpy(), values.numpy()

    return evaluate


def board_symmetries(game: Any, obs: np.ndarray, legal: np.ndarray, policy: np.ndarray) -> list[tuple]:
    """The position (flat board planes ``[2 * rows * cols]``, legal moves ``[A]``, search policy
    ``[A]``) under every symmetry of the board that keeps the rules: the 8 rotations and
    reflections when the actions are the cells of a square board (tic-tac-toe), the mirror image
    when they are columns (Connect Four). The identity comes first."""
    rows, cols = game.board_shape
    planes = obs.reshape(2, rows, cols)
    if game.num_actions == rows * cols and rows == cols:
        grids = [x.reshape(rows, cols) for x in (legal, policy)]
        out = []
        for flip in (False, True):
            for turns in range(4):
                def move(grid, axes):
                    grid = np.flip(grid, axis=axes[1]) if flip else grid
                    return np.rot90(grid, turns, axes=axes)
                out.append((move(planes, (1, 2)).reshape(-1), move(grids[0], (0, 1)).reshape(-1),
                            move(grids[1], (0, 1)).reshape(-1)))
        return out
    if game.num_actions == cols:
        return [(obs, legal, policy), (planes[:, :, ::-1].reshape(-1), legal[::-1], policy[::-1])]
    return [(obs, legal, policy)]


class AlphaZero(Algorithm):
    """``AlphaZero(AlphaZeroConfig(game="connect4"), out_dir).learn()``; resumable like every
    algorithm (``turborl train --resume DIR``)."""

    Config = AlphaZeroConfig

    def _open_envs(self) -> None:
        # A batch of self-play games instead of Gymnasium envs; the base class's checkpoints save
        # and restore them through get_state/set_state like any env.
        from turborl.games import BatchedGames, make_game

        self.game = make_game(self.config.game)
        self.envs = BatchedGames(self.game, self.config.num_envs)
        self.obs = self.envs.get_state()

    def _build(self) -> None:
        game, config = self.game, self.config
        obs_size = int(np.prod(game.observe(game.initial_states(1)).shape[1:]))
        self.network = PolicyValueNet(obs_size, game.num_actions, config.hidden_sizes)
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.win_rates: list[tuple[int, float, float]] = []  # (step, vs random, vs rollout MCTS)
        capacity = config.replay_size
        self.replay = {
            "obs": np.zeros((capacity, obs_size), np.float32),
            "legal": np.zeros((capacity, game.num_actions), bool),
            "policy": np.zeros((capacity, game.num_actions), np.float32),
            "outcome": np.zeros(capacity, np.float32),
        }
        self.replay_count = 0
        # Positions of the games in progress, waiting for their outcome: per game, lists of
        # (observation, legal moves, search policy, player to move).
        self.pending: list[list[tuple]] = [[] for _ in range(config.num_envs)]
        self.moves = np.zeros(config.num_envs, np.int64)
        self._start_games(np.ones(config.num_envs, bool))

    def _start_games(self, mask: np.ndarray) -> None:
        """Starts the games in ``mask`` again, each after its random opening moves (if any)."""
        self.envs.reset(mask)
        limit = self.config.random_opening_moves
        if limit == 0 or not mask.any():
            return
        states = self.envs.get_state()
        rows = np.flatnonzero(mask)
        remaining = self.rng.integers(0, limit + 1, size=len(rows))
        while np.any(remaining > 0):
            live = rows[remaining > 0]
            played, _, terminal = self.game.step(states[live], self.random_player(states[live], self.rng))
            # A game that the random moves finished starts over from the empty board.
            played[terminal] = self.game.initial_states(int(np.sum(terminal)))
            states[live] = played
            remaining = np.maximum(remaining - 1, 0)
        self.envs.set_state(states)

    # ---- self-play ---------------------------------------------------------------------------

    def _iteration(self) -> dict[str, float]:
        config, game = self.config, self.game
        states = self.envs.get_state()
        self.network.eval()
        out = search(game, network_evaluator(self.network, game), states, self.rng, policy=config.search,
                     num_simulations=config.num_simulations,
                     max_num_considered_actions=config.max_num_considered_actions)
        weights = np.asarray(out.action_weights, np.float32)
        actions = np.asarray(out.action, np.int64)
        if config.search == "muzero":  # sample early moves from the visit counts, as AlphaZero
            sample = self.moves < config.temperature_moves
            cdf = np.cumsum(weights[sample], axis=1)
            draws = self.rng.random(int(sample.sum()))[:, None] * cdf[:, -1:]
            actions[sample] = np.minimum((cdf <= draws).sum(axis=1), game.num_actions - 1)
        obs = game.observe(states).reshape(len(states), -1)
        legal = game.legal_actions(states)
        to_play = game.to_play(states)
        for g in range(len(states)):
            self.pending[g].append((obs[g], legal[g], weights[g], int(to_play[g])))
        rewards, terminal = self.envs.step(actions)
        self.moves += 1
        for g in np.flatnonzero(terminal):
            winner = int(to_play[g]) if rewards[g] > 0 else 0  # the mover won, or a draw
            for position_obs, position_legal, position_policy, player in self.pending[g]:
                self._store(position_obs, position_legal, position_policy, float(np.sign(winner * player)))
            self.pending[g] = []
            self.moves[g] = 0
        self._start_games(np.asarray(terminal, bool))
        self.global_step += len(states)
        losses = [self._update() for _ in range(config.updates_per_iteration)] if self.replay_count else [(np.nan,) * 2]
        # The same keys every iteration: metrics.csv's columns are fixed by its first row.
        return {"games_finished": float(np.sum(terminal)), "policy_loss": float(np.mean([l[0] for l in losses])),
                "value_loss": float(np.mean([l[1] for l in losses]))}

    def _store(self, obs: np.ndarray, legal: np.ndarray, policy: np.ndarray, outcome: float) -> None:
        variants = board_symmetries(self.game, obs, legal, policy) if self.config.augment else [(obs, legal, policy)]
        for variant_obs, variant_legal, variant_policy in variants:
            row = self.replay_count % self.config.replay_size
            self.replay["obs"][row], self.replay["legal"][row] = variant_obs, variant_legal
            self.replay["policy"][row], self.replay["outcome"][row] = variant_policy, outcome
            self.replay_count += 1

    def _update(self) -> tuple[float, float]:
        stored = min(self.replay_count, self.config.replay_size)
        rows = self.rng.integers(0, stored, size=min(self.config.batch_size, stored))
        obs = torch.from_numpy(self.replay["obs"][rows])
        legal = torch.from_numpy(self.replay["legal"][rows])
        target_policy = torch.from_numpy(self.replay["policy"][rows])
        target_value = torch.from_numpy(self.replay["outcome"][rows])
        self.network.train()
        logits, values = self.network(obs)
        logits = logits.masked_fill(~legal, -1e9)  # illegal moves get no probability
        policy_loss = -(target_policy * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        value_loss = ((values - target_value) ** 2).mean()
        self.optimizer.zero_grad()
        (policy_loss + value_loss).backward()
        self.optimizer.step()
        return float(policy_loss.detach()), float(value_loss.detach())

    # ---- players and evaluation ----------------------------------------------------------------

    def network_player(self, num_simulations: int | None = None):
        """``player(states, rng) -> actions``: the network's search without exploration noise."""
        simulations = num_simulations or self.config.num_simulations
        evaluate = network_evaluator(self.network, self.game)

        def player(states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            out = search(self.game, evaluate, states, rng, policy="gumbel", num_simulations=simulations,
                         max_num_considered_actions=self.config.max_num_considered_actions, add_noise=False)
            return np.asarray(out.action, np.int64)

        return player

    def random_player(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        legal = self.game.legal_actions(states)
        return (rng.random(legal.shape) * legal).argmax(axis=1)

    def rollout_mcts_player(self, num_simulations: int, seed: int):
        """Plain MCTS: pUCT with uniform priors and one random playout per leaf as its value."""
        from turborl.games import rollout_evaluator

        evaluate = rollout_evaluator(self.game, num_playouts=1, seed=seed)

        def player(states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            out = search(self.game, evaluate, states, rng, policy="muzero", num_simulations=num_simulations,
                         add_noise=False)
            return np.asarray(out.action, np.int64)

        return player

    def match(self, opponent: Any, num_games: int, seed: int) -> float:
        """Mean result (win 1, draw 0.5) of the network against ``opponent``, half the games first."""
        rng = np.random.default_rng(seed)
        me = self.network_player()
        half = num_games // 2
        first = play_match(self.game, me, opponent, num_games - half, rng)
        second = 1.0 - play_match(self.game, opponent, me, half, rng)
        self.network.eval()
        return float(np.concatenate([first, second]).mean())

    def evaluate(self) -> float:
        self.network.eval()
        seed = self.config.seed + 1_000_000 + self.global_step
        vs_random = self.match(self.random_player, self.config.eval_episodes, seed)
        vs_mcts = self.match(self.rollout_mcts_player(self.config.opponent_simulations, seed + 2),
                             self.config.eval_episodes, seed + 1)
        self.win_rates.append((self.global_step, vs_random, vs_mcts))
        self.log.score(self.global_step, vs_mcts)
        self._write_win_rates()
        return vs_mcts

    def _write_win_rates(self) -> None:
        if self.out_dir is None:
            return
        lines = ["step,vs_random,vs_rollout_mcts"] + [f"{s},{a:.4f},{b:.4f}" for s, a, b in self.win_rates]
        _atomic.write_file(self.out_dir / "win_rates.csv", ("\n".join(lines) + "\n").encode())

    def _plot_win_rates(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps, vs_random, vs_mcts = zip(*self.win_rates)
        figure, axis = plt.subplots(figsize=(6, 4))
        axis.plot(steps, vs_random, marker="o", label="vs uniformly random")
        axis.plot(steps, vs_mcts, marker="o", label=f"vs rollout MCTS ({self.config.opponent_simulations} sims)")
        axis.set(xlabel="self-play positions", ylabel="mean result (win 1, draw 0.5)", ylim=(-0.02, 1.02),
                 title=f"AlphaZero on {self.config.game}")
        axis.legend()
        figure.tight_layout()
        figure.savefig(self.out_dir / "win_rates.png", dpi=100)
        plt.close(figure)

    # ---- files ---------------------------------------------------------------------------------

    def _finish(self) -> None:
        if self.out_dir is not None:
            torch.save({"config": self.config.to_dict(), "network": module_state(self.network)},
                       self.out_dir / "network.pt")
            self.save_checkpoint()
            if self.win_rates:
                self._plot_win_rates()
        self.log.finish(plot=self.out_dir is not None)

    def _state(self) -> dict[str, Any]:
        count = min(self.replay_count, self.config.replay_size)
        return {"network": module_state(self.network), "optimizer": self.optimizer.state_dict(),
                "replay": {key: value[:count].copy() for key, value in self.replay.items()},
                "replay_count": self.replay_count, "moves": self.moves.copy(), "win_rates": list(self.win_rates),
                "pending": [[(o, l, p, int(t)) for o, l, p, t in game] for game in self.pending]}

    def _load_state(self, state: dict[str, Any], directory: Path) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        for key, value in state["replay"].items():
            self.replay[key][: len(value)] = value
        self.replay_count = int(state["replay_count"])
        self.moves = np.asarray(state["moves"], np.int64)
        self.win_rates = [tuple(row) for row in state["win_rates"]]
        self.pending = [[(np.asarray(o), np.asarray(l), np.asarray(p), int(t)) for o, l, p, t in game]
                        for game in state["pending"]]
