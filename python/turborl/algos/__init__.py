"""Training algorithms on turborl's environments and replay buffers: PPO, DQN, SAC and TD3, and
AlphaZero on turborl's board games (GORP and SQIRL live in ``turborl.algos.gorp`` and ``.sqirl``).

    from turborl.algos import PPO, PPOConfig
    PPO(PPOConfig(env_id="CartPole-v1", total_timesteps=100_000), out_dir="runs/ppo").learn()

or ``turborl train ppo --env CartPole-v1 --total-timesteps 100000 --out runs/ppo``. A run
directory holds config.yaml, policy.pt (``turborl.load_policy``), scores.csv (for ``turborl
report``), metrics.csv, learning_curve.png and checkpoint/ (``Algorithm.resume``).
torch is needed here (not by the rest of turborl).
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in an env without torch
    raise ImportError("turborl.algos needs PyTorch: pip install torch==2.13.0 (CPU build), then "
                      "pip install 'turborl[train]'") from error

from turborl.algos.alphazero import AlphaZero, AlphaZeroConfig
from turborl.algos.base import Algorithm
from turborl.algos.config import Config, load_config, save_config
from turborl.algos.dqn import DQN, DQNConfig
from turborl.algos.policy import Policy, load_policy
from turborl.algos.ppo import PPO, PPOConfig
from turborl.algos.registry import algorithm_class, algorithm_names
from turborl.algos.sac import SAC, SACConfig
from turborl.algos.td3 import TD3, TD3Config

__all__ = ["DQN", "PPO", "SAC", "TD3", "AlphaZero", "AlphaZeroConfig", "Algorithm", "Config", "DQNConfig", "PPOConfig", "Policy", "SACConfig",
           "TD3Config", "algorithm_class", "algorithm_names", "load_config", "load_policy", "save_config"]
