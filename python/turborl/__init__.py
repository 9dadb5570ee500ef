"""turborl: reinforcement learning with a C++ core (and CUDA where a GPU exists).

Subpackages mirror the C++ topics: ``turborl.envs`` (batched simulators with Gymnasium's
VectorEnv API), ``turborl.replay`` (replay buffers), ``turborl.planning`` (tabular MDPs, value
iteration, the effective horizon, fitted-Q), ``turborl.eval`` (interval estimates, AdaStop),
``turborl.cuda`` (GPU kernels); ``turborl.algos`` (PPO, DQN) and ``turborl.nn`` need
torch, which the rest does not: they are imported on first use, as is ``turborl.load_policy``.
"""

from turborl import envs, eval, planning, replay  # noqa: A004 (turborl.eval is a subpackage)
from turborl.cuda import cuda_available

__version__ = "0.1.0"

__all__ = ["__version__", "cuda_available", "envs", "eval", "load_policy", "planning", "replay"]


def load_policy(path):
    """The policy saved by a training run (``policy.pt`` or its run directory); its
    ``act(obs, deterministic=True)`` maps a batch of observations to actions. Needs torch."""
    from turborl.algos.policy import load_policy as load

    return load(path)
