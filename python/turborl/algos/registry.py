"""Algorithm names -> classes (``turborl train ALGO``)."""

from __future__ import annotations

__all__ = ["algorithm_class", "algorithm_names"]


def _algorithms() -> dict[str, type]:
    from turborl.algos.alphazero import AlphaZero
    from turborl.algos.dqn import DQN
    from turborl.algos.ppo import PPO
    from turborl.algos.sac import SAC
    from turborl.algos.stream import StreamAC, StreamQ, StreamSARSA
    from turborl.algos.td3 import TD3

    return {"alphazero": AlphaZero, "ppo": PPO, "dqn": DQN, "sac": SAC, "td3": TD3, "stream_ac": StreamAC, "stream_q": StreamQ,
            "stream_sarsa": StreamSARSA}


def algorithm_names() -> list[str]:
    return sorted(_algorithms())


def algorithm_class(name: str) -> type:
    algorithms = _algorithms()
    if name not in algorithms:
        raise ValueError(f"unknown algorithm {name!r}; turborl trains {', '.join(sorted(algorithms))}")
    return algorithms[name]
