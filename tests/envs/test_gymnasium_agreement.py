"""float64 simulations equal Gymnasium's own environments bit for bit."""

import pytest

from helpers.gymnasium_reference import ENV_IDS, compare_with_gymnasium


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("seed", [0, 2024])
def test_next_step_matches_gymnasium_for_10000_steps(env_id, seed):
    counts = compare_with_gymnasium(env_id, num_envs=4, seed=seed, steps=10_000)
    # The comparison must have crossed episode boundaries of both kinds where the env has them.
    assert counts["resets"] > 0 and counts["truncated"] > 0
    if env_id != "Pendulum-v1":  # Pendulum never terminates
        assert counts["terminated"] > 0


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("autoreset_mode", ["same_step", "disabled"])
def test_other_autoreset_modes_match_gymnasium(env_id, autoreset_mode):
    counts = compare_with_gymnasium(env_id, num_envs=4, seed=7, steps=1_500, autoreset_mode=autoreset_mode,
                                    max_episode_steps=120)
    assert counts["resets"] > 0 and counts["truncated"] > 0


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_custom_time_limit_matches_gymnasium(env_id):
    counts = compare_with_gymnasium(env_id, num_envs=2, seed=3, steps=400, max_episode_steps=37)
    assert counts["truncated"] > 0
