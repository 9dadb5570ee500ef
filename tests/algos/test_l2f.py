"""TD3 on Quadrotor-L2F-v0 ("Learning to Fly in Seconds"): the asymmetric critic (replay stores
[obs, critic_obs]; native and torch backends take the same steps), the actor warm-up and target
cadence, the L2F reward curriculum (weights, caps, replay rewards recomputed to what the env now
pays), resume with the curriculum, and the hover evaluation against a NumPy count."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from turborl.algos import TD3, Algorithm, TD3Config  # noqa: E402
from turborl.algos.reward_curriculum import L2FRewardCurriculum  # noqa: E402
from turborl.envs import make_vec, quadrotor  # noqa: E402

ENV = quadrotor.ENV_ID
SMALL = dict(total_timesteps=2_000, buffer_size=2_000, learning_starts=300, actor_learning_starts=600,
             uniform_warmup_steps=100, batch_size=32, hidden_sizes=(16, 16), progress=False, eval_interval=10**9,
             eval_episodes=2)


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_paper_defaults_apply_under_user_values():
    config = TD3Config.for_env(ENV, seed=3, batch_size=64)
    assert (config.total_timesteps, config.train_frequency, config.policy_delay) == (300_000, 10, 2)
    assert (config.learning_starts, config.actor_learning_starts, config.hidden_sizes) == (15_000, 30_000, (64, 64))
    assert config.reward_curriculum == "l2f" and config.activation == "tanh"
    assert config.batch_size == 64 and config.seed == 3  # the user's values win
    assert TD3Config.for_env("Pendulum-v1").hidden_sizes == TD3Config().hidden_sizes  # no defaults elsewhere


def test_replay_stores_actor_and_critic_observations_side_by_side():
    run = TD3(TD3Config.for_env(ENV, **{**SMALL, "total_timesteps": 50}))
    assert run.critic_obs_dim == 28 and run.replay.spec["obs"][0] == (146 + 28,)
    expected_obs, expected_critic = run.obs.copy(), run.envs.critic_obs
    run._collect_step()
    stored = run.replay.field("obs")[0, 0]
    np.testing.assert_array_equal(stored[:146], expected_obs[0])
    np.testing.assert_array_equal(stored[146:], expected_critic[0])
    assert run.critics.q1[0].in_features == 28 + 4 and run.actor.body[0].in_features == 146


def test_native_and_torch_take_the_same_asymmetric_steps():
    # One batch per update (separate_batches is the engine's alone); weight decay as the paper's.
    small = {**SMALL, "total_timesteps": 400, "learning_starts": 100, "actor_learning_starts": 0,
             "separate_batches": False}
    runs = [TD3(TD3Config.for_env(ENV, **small, backend=backend)) for backend in ("torch", "native")]
    for run in runs:
        run.learn()  # 400 steps: 30 critic updates with critic observations, 15 actor updates
    assert [run.backend for run in runs] == ["torch", "native"]
    reference = TD3(TD3Config.for_env(ENV, **{**SMALL, "total_timesteps": 400}))
    for name in ("actor", "critics", "target_critics"):
        torch_params, native_params = flat(getattr(runs[0], name)), flat(getattr(runs[1], name))
        moved = (torch_params - flat(getattr(reference, name))).abs().max()
        assert moved > 1e-5 and (torch_params - native_params).abs().max() <= 2e-3 * moved, name


def test_actor_waits_and_critic_targets_follow_every_critic_update():
    run = TD3(TD3Config.for_env(ENV, **{**SMALL, "total_timesteps": 590}))
    actor_start, targets_start = flat(run.actor), flat(run.target_critics)
    run.learn()  # critic updates from step 300, no actor update before 600
    assert torch.equal(flat(run.actor), actor_start)
    assert run.gradient_updates == 29
    # Polyak after each of the 29 critic updates: the targets moved towards the critics.
    assert not torch.equal(flat(run.target_critics), targets_start)
    online, target = flat(run.critics), flat(run.target_critics)
    assert (online - target).abs().max() < (online - targets_start).abs().max()


def test_curriculum_grows_weights_with_caps_and_recomputes_replay_rewards():
    envs = make_vec(ENV, 2, seed=0, dtype="float32")
    curriculum = L2FRewardCurriculum(envs)
    assert curriculum.weights["position_weight"] == 5.0
    assert curriculum.weights["action_weight"] == pytest.approx(0.01)  # read from float32 envs
    run = TD3(TD3Config.for_env(ENV, **{**SMALL, "total_timesteps": 1000}))
    run.learn(stop_at=300)  # the envs stay open
    changed = run.reward_curriculum.maybe_advance(100_000 * 30, run.envs, run.replay, slice(146, None))
    weights = run.reward_curriculum.weights
    assert changed and run.reward_curriculum.next_step == 100_000 * 31
    assert weights["position_weight"] == 40.0 and weights["action_weight"] == 1.0  # capped (x1.2^30, x1.4^30)
    assert weights["linear_velocity_weight"] == 1.0 and weights["orientation_weight"] == 5.0  # not grown
    assert run.envs.get_params()["position_weight"][0] == 40.0
    # Stored rewards now equal a NumPy evaluation of the new reward on the stored data.
    obs, action = run.replay.field("obs")[:300, 0], run.replay.field("action")[:300, 0]
    terminated, reward = run.replay.field("terminated")[:300, 0], run.replay.field("reward")[:300, 0]
    critic = obs[:, 146:].astype(np.float64)
    qw_squared = (1.0 + critic[:, 3] + critic[:, 7] + critic[:, 11]) / 4.0
    cost = (40.0 * (critic[:, 0:3] ** 2).sum(1) + 5.0 * (1.0 - qw_squared) + 1.0 * (critic[:, 12:15] ** 2).sum(1)
            + 1.0 * ((np.clip(action, -1, 1) - 0.334) ** 2).sum(1))
    expected = np.where(terminated, 0.0, 2.0 - 0.5 * cost)
    np.testing.assert_allclose(reward, expected, rtol=1e-5, atol=1e-5)
    assert not run.replay.field("reward")[300:].any()  # rows never written keep their zeros


def test_recomputed_rewards_equal_what_the_env_pays():
    envs = make_vec(ENV, 64, seed=1, dtype="float64", position_weight=12.0, action_weight=0.3)
    envs.reset()
    rng = np.random.default_rng(0)
    critic, actions, rewards, terminated = [], [], [], []
    for _ in range(40):
        critic.append(envs.critic_obs)
        actions.append(rng.uniform(-1.2, 1.2, (64, 4)).astype(np.float32))
        _, reward, term, _, info = envs.step(actions[-1])
        rewards.append(reward)
        terminated.append(term)
    live = ~np.cumsum(np.concatenate([np.zeros((1, 64), bool), np.array(terminated)[:-1]]), axis=0).astype(bool)
    recomputed = quadrotor.hover_reward(np.concatenate(critic), np.concatenate(actions), np.concatenate(terminated),
                                        position_weight=12.0, action_weight=0.3)
    mask = live.reshape(-1)  # after a termination next_step autoreset returns reward 0, not a transition
    np.testing.assert_allclose(recomputed[mask], np.concatenate(rewards)[mask], rtol=1e-5, atol=1e-5)


def test_resume_restores_the_curriculum(tmp_path):
    config = TD3Config.for_env(ENV, **{**SMALL, "total_timesteps": 600})
    whole = TD3(config, tmp_path / "whole").learn()
    TD3(config, tmp_path / "resumed").learn(stop_at=300)
    resumed = Algorithm.resume(tmp_path / "resumed")
    resumed.reward_curriculum.next_step = whole.reward_curriculum.next_step  # both at the same stage
    resumed.learn()
    assert torch.equal(flat(whole.actor), flat(resumed.actor))
    assert resumed.reward_curriculum.state_dict() == whole.reward_curriculum.state_dict()


class _Hover:
    """Hover thrust: with rotors starting at hover speed and no velocities or disturbances (below),
    episodes started at the origin stay there and tilted ones drift out of the box."""

    def act(self, obs):
        return np.full((obs.shape[0], 4), quadrotor.hover_action(), np.float32)


def test_evaluate_hover_counts_lengths_and_errors_like_numpy():
    start = dict(init_guidance=0.5, init_max_linear_velocity=0.0, init_max_angular_velocity=0.0,
                 init_action_low=quadrotor.hover_action(), init_action_high=quadrotor.hover_action(),
                 disturbance_force_std=0.0, disturbance_torque_std=0.0)
    report = quadrotor.evaluate_hover(_Hover(), episodes=40, seed=7, **start)
    envs = make_vec(ENV, 40, seed=7, dtype="float32", autoreset_mode="disabled", **start)
    envs.reset()
    lengths, errors, final = np.zeros(40, int), np.zeros(40), np.zeros(40)
    alive = np.ones(40, bool)
    for t in range(500):
        if not alive.all():
            envs.reset(options={"reset_mask": ~alive})
        _, _, term, trunc, info = envs.step(np.full((40, 4), quadrotor.hover_action(), np.float32))
        lengths += alive
        distance = np.linalg.norm(info["critic_obs"][:, :3], axis=1)
        final = np.where(alive, distance, final)
        if t >= 250:
            errors += np.where(alive, distance, 0.0)
        alive &= ~(term | trunc)
    assert report.episode_length == lengths.mean()
    assert report.full_length_fraction == (lengths == 500).mean()
    assert 0 < report.full_length_fraction < 1  # both kinds of episode occur
    np.testing.assert_allclose(report.position_error, (errors[lengths == 500] / 250).mean(), rtol=1e-12)
    full = lengths == 500
    assert report.settled_fraction == np.mean(full & (final < 0.2)) == report.full_length_fraction
    np.testing.assert_allclose(report.final_position_error, final[full].mean(), rtol=1e-12)
    assert report.success is False and report.trajectory.shape[1] == 3
    assert report.position_error < 0.01  # the episodes that stayed started at the origin
    assert quadrotor.evaluate_hover(_Hover(), episodes=40, seed=7, min_settled_fraction=0.3, **start).success


def test_cli_trains_with_the_paper_defaults_and_writes_the_hover_report(tmp_path):
    import json

    import turborl
    from turborl.cli import main

    out = tmp_path / "l2f"
    assert main(["train", "td3", "--env", ENV, "--total-timesteps", "1500", "--learning-starts", "300",
                 "--actor-learning-starts", "600", "--buffer-size", "1500", "--eval-interval", "100000",
                 "--eval-episodes", "2", "--progress", "false", "--out", str(out)]) == 0
    config = TD3Config.for_env(ENV)
    saved = json.loads((out / "hover.json").read_text())
    again = quadrotor.evaluate_hover(turborl.load_policy(out / "policy.pt"))
    assert saved["episode_length"] == again.episode_length and saved["episodes"] == 100
    assert (out / "hover_trajectory.png").stat().st_size > 1000
    import yaml

    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["hidden_sizes"] == list(config.hidden_sizes) and written["reward_curriculum"] == "l2f"
    assert written["total_timesteps"] == 1500  # the flag overrides the paper's 300k


def test_native_updates_sampling_inside_the_engine_equal_python_sampled_updates():
    from turborl.algos.off_policy import ContinuousOffPolicy

    small = {**SMALL, "total_timesteps": 2000, "learning_starts": 100, "actor_learning_starts": 150,
             "separate_batches": False}
    runs = [TD3(TD3Config.for_env(ENV, **small)) for _ in range(2)]
    for run in runs:
        run.learn(stop_at=200)  # 100 uniform-free steps of data, a few updates on both paths alike
    assert runs[0].backend == "native" and runs[0].replay.native_layout() is not None
    for run, train in ((runs[0], runs[0]._train), (runs[1], lambda k: ContinuousOffPolicy._train(runs[1], k))):
        run.global_step = 160  # actor updates on, with the policy delay
        metrics = train(12)
        assert set(metrics) == {"critic_loss", "q1_mean", "actor_loss"}
    for name in ("actor", "critics", "target_actor", "target_critics"):
        np.testing.assert_allclose(flat(getattr(runs[0], name)).numpy(), flat(getattr(runs[1], name)).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    assert runs[0].gradient_updates == runs[1].gradient_updates
    with pytest.raises(ValueError, match="the critics take 28 observation values, got critic_obs_dim 5"):
        runs[0].learner.train_from_replay(runs[0].replay.native_layout(), np.zeros((1, 32, 4), np.float32),
                                          np.zeros(1, bool), np.zeros(1, bool), 5)


def test_separate_batches_draw_a_batch_per_critic_and_for_the_actor():
    # Three draws per update with an actor step, two without: the replay core's sample counter
    # tells; and the critics then differ from a shared-batch run from the same start.
    runs = [TD3(TD3Config.for_env(ENV, **{**SMALL, "total_timesteps": 2000, "learning_starts": 100,
                                           "actor_learning_starts": 150, "separate_batches": separate}))
            for separate in (True, False)]
    for run in runs:
        run.learn(stop_at=200)
        run.global_step = 160
    calls = [run.replay._core.sample_calls for run in runs]
    updates = runs[0].gradient_updates
    for run in runs:
        run._train(4)  # updates updates+1..updates+4: two with an actor step (policy_delay 2)
    assert runs[0].replay._core.sample_calls - calls[0] == 4 * 2 + 2
    assert runs[1].replay._core.sample_calls - calls[1] == 4
    assert runs[0].gradient_updates == updates + 4
    assert not torch.equal(flat(runs[0].critics), flat(runs[1].critics))
    with pytest.raises(ValueError, match="separate_batches runs in the native engine"):
        TD3Config(separate_batches=True, backend="torch")


@pytest.mark.parametrize("separate_batches", [False, True])
def test_native_td3_is_the_same_on_one_thread_and_two(separate_batches):
    # Two threads run the twin critics side by side: every parameter must come out bit for bit equal.
    small = {**SMALL, "total_timesteps": 900, "separate_batches": separate_batches}
    runs = [TD3(TD3Config.for_env(ENV, **small, torch_threads=threads)) for threads in (1, 2)]
    for run in runs:
        run.learn()
    assert [run.learner.core.num_threads for run in runs] == [1, 2]
    reference = TD3(TD3Config.for_env(ENV, **small))
    for name in ("actor", "critics", "target_actor", "target_critics"):
        one, two = flat(getattr(runs[0], name)), flat(getattr(runs[1], name))
        assert not torch.equal(one, flat(getattr(reference, name))), name  # trained
        assert torch.equal(one, two), name
