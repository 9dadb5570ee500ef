"""Plots are written as real image files; evaluate() returns episode returns."""

import gymnasium as gym
import numpy as np
import pytest

from turborl.eval import create_performance_profile, evaluate, get_interval_estimates, metrics, plots
from turborl.eval import sample_efficiency_curves

pytest.importorskip("matplotlib")


def test_every_plot_saves_png_and_pdf(tmp_path):
    rng = np.random.default_rng(0)
    scores = {"A": rng.random((5, 4)), "B": rng.random((5, 4)) + 0.2}
    funcs = [metrics.aggregate_iqm, metrics.aggregate_mean]
    points, cis = get_interval_estimates(scores, funcs, reps=200, random_state=0)
    figure, _ = plots.plot_interval_estimates(points, cis, ["IQM", "Mean"])
    assert plots.save_figure(figure, tmp_path / "intervals.png").read_bytes()[:4] == b"\x89PNG"
    taus = np.linspace(0, 1.2, 13)
    profiles, profile_cis = create_performance_profile(scores, taus, reps=200, random_state=0)
    ax = plots.plot_performance_profiles(profiles, taus, profile_cis)
    assert plots.save_figure(ax.figure, tmp_path / "profile.pdf").read_bytes()[:4] == b"%PDF"
    curves, curve_cis = sample_efficiency_curves({"A": rng.random((5, 4, 6))}, reps=200, random_state=0)
    ax = plots.plot_sample_efficiency_curve(np.arange(6) * 1000, curves, curve_cis)
    plots.save_figure(ax.figure, tmp_path / "curve.png")
    pairs = {"A,B": (scores["A"], scores["B"])}
    p, p_cis = get_interval_estimates(pairs, metrics.probability_of_improvement, reps=200, random_state=0)
    ax = plots.plot_probability_of_improvement(p, p_cis)
    plots.save_figure(ax.figure, tmp_path / "poi.png")
    with pytest.raises(ValueError, match="must end in .png, .pdf or .svg"):
        plots.save_figure(ax.figure, tmp_path / "poi.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "intervals.png", "poi.png", "profile.pdf"]


def test_evaluate_returns_each_episodes_return_like_gymnasium():
    push_right = lambda obs: np.ones(len(obs), dtype=np.int64)  # noqa: E731
    scores = evaluate(push_right, "CartPole-v1", episodes=6, seeds=(0, 10))
    assert scores.shape == (2, 6)
    reference = []
    for seed in (0, 10):
        import turborl

        envs = turborl.envs.make_vec("CartPole-v1", 6, seed=seed)
        envs.reset(seed=seed)
        total, done = np.zeros(6), np.zeros(6, bool)
        while not done.all():
            _, reward, terminated, truncated, _ = envs.step(np.ones(6, dtype=np.int64))
            total += np.where(done, 0, reward)
            done |= terminated | truncated
        reference.append(total)
    assert np.array_equal(scores, np.array(reference))
    assert np.all((scores > 5) & (scores < 20))  # always pushing right drops the pole quickly


def test_evaluate_accepts_policies_with_act_and_gymnasium_ids():
    class Policy:
        def act(self, obs, deterministic=True):
            assert deterministic
            return np.zeros(len(obs), dtype=np.int64)

    scores = evaluate(Policy(), "MountainCar-v0", episodes=2, seeds=(1,))
    assert np.array_equal(scores, np.full((1, 2), -200.0))  # never reaches the goal: the time limit
    gym_scores = evaluate(Policy(), "FrozenLake-v1", episodes=3, seeds=(0,), max_episode_steps=5)
    assert gym_scores.shape == (1, 3) and np.all(gym_scores == 0)
    assert gym.spec("FrozenLake-v1") is not None
