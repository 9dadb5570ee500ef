"""Reward curricula: reward weights that change during training, with the replay buffer's stored
rewards recomputed so that old and new transitions agree.

``"l2f"`` is the curriculum of "Learning to Fly in Seconds" (Eschmann, Albani & Loianno, RA-L
2024; learning-to-fly src/steps/curriculum.h) for Quadrotor-L2F-v0: every 100k env steps the
action weight grows x1.4 (cap 1), the position weight x1.2 (cap 40) and the linear-velocity weight
x1.4 (cap 1), in every training env, and the buffer's rewards are recomputed from the stored
critic observations (``turborl.envs.quadrotor.hover_reward``). Evaluation envs keep the initial
weights (the paper's hover metrics do not depend on them).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CURRICULA", "L2FRewardCurriculum", "make_reward_curriculum"]


class L2FRewardCurriculum:
    interval = 100_000
    # parameter: (factor, cap)
    growth = {"action_weight": (1.4, 1.0), "position_weight": (1.2, 40.0), "linear_velocity_weight": (1.4, 1.0)}
    # The env parameters hover_reward takes.
    reward_params = ("position_weight", "orientation_weight", "linear_velocity_weight", "angular_velocity_weight",
                     "action_weight", "action_baseline", "reward_scale", "reward_constant", "termination_penalty")

    def __init__(self, envs: Any) -> None:
        from turborl.envs.quadrotor import ENV_ID

        spec = getattr(envs, "native_spec", None)
        if spec is None or spec.id != ENV_ID:
            raise ValueError(f"the 'l2f' reward curriculum needs turborl's {ENV_ID} envs, got {envs!r}")
        params = envs.get_params()
        self.weights = {name: float(params[name][0]) for name in self.reward_params}
        self.next_step = self.interval

    def state_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "next_step": self.next_step}

    def load_state_dict(self, state: dict[str, Any], envs: Any) -> None:
        self.weights = {name: float(value) for name, value in state["weights"].items()}
        self.next_step = int(state["next_step"])
        envs.set_params(**self.weights)

    def maybe_advance(self, global_step: int, envs: Any, replay: Any, critic_slice: slice) -> bool:
        """Applies every stage due by ``global_step``; returns whether the weights changed."""
        changed = False
        while global_step >= self.next_step:
            for name, (factor, cap) in self.growth.items():
                self.weights[name] = min(self.weights[name] * factor, cap)
            self.next_step += self.interval
            changed = True
        if changed:
            envs.set_params(**self.weights)
            self.recompute_rewards(replay, critic_slice)
        return changed

    def recompute_rewards(self, replay: Any, critic_slice: slice) -> None:
        """Rewrites every stored reward from the stored critic observation, action and flag."""
        from turborl.envs.quadrotor import hover_reward

        # Only the written rows: the ring fills from row 0, so they are the first len // num_envs
        # (all of them once it wraps); at the first stage of a 300k run that is a third of the buffer.
        rows = len(replay) // replay.num_envs
        obs, actions = replay.field("obs")[:rows], replay.field("action")[:rows]
        rewards, terminated = replay.field("reward")[:rows], replay.field("terminated")[:rows]
        width = obs.shape[-1]
        flat_obs = obs.reshape(-1, width)[:, critic_slice]
        new = hover_reward(flat_obs, actions.reshape(-1, actions.shape[-1]), terminated.reshape(-1), **self.weights)
        rewards[...] = new.reshape(rewards.shape).astype(rewards.dtype)


CURRICULA = {"none": None, "l2f": L2FRewardCurriculum}


def make_reward_curriculum(name: str, envs: Any) -> L2FRewardCurriculum | None:
    if name not in CURRICULA:
        raise ValueError(f"reward_curriculum must be one of {sorted(CURRICULA)}, got {name!r}")
    curriculum = CURRICULA[name]
    return None if curriculum is None else curriculum(envs)
