"""save/load: round trips keep everything, interrupted saves keep the previous one, bad dirs raise."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from turborl.replay import PrioritizedReplayBuffer, ReplayBuffer

SPEC = {"obs": ((3,), np.float32), "action": ((), np.int64), "reward": ((), np.float64),
        "terminated": ((), bool), "truncated": ((), bool), "mask": ((2,), np.uint8)}


def add_steps(buffer, first, count, num_envs):
    for t in range(first, first + count):
        buffer.add(obs=np.full((num_envs, 3), t, np.float32) + np.arange(num_envs)[:, None],
                   action=np.full(num_envs, t % 4), reward=np.full(num_envs, 0.5 * t),
                   terminated=np.full(num_envs, t % 11 == 10), truncated=np.full(num_envs, t % 13 == 12),
                   mask=np.full((num_envs, 2), t % 256, np.uint8))


@pytest.mark.parametrize("cls", [ReplayBuffer, PrioritizedReplayBuffer])
def test_round_trip_keeps_contents_and_future_samples(tmp_path, cls):
    buffer = cls(300, SPEC, num_envs=3, seed=7)
    add_steps(buffer, 0, 170, 3)  # wraps the 100-step ring
    batch = buffer.sample(32, n_step=3, gamma=0.9)
    if cls is PrioritizedReplayBuffer:
        buffer.update_priorities(batch.indices, np.linspace(0.1, 4.0, 32))
    buffer.save(tmp_path / "rb")
    loaded = ReplayBuffer.load(tmp_path / "rb")
    assert type(loaded) is cls and loaded.spec == buffer.spec and len(loaded) == len(buffer)
    assert loaded.num_sampleable == buffer.num_sampleable and loaded.seed == buffer.seed
    for original, restored in ((buffer, loaded),):
        add_steps(original, 170, 5, 3)
        add_steps(restored, 170, 5, 3)
        for _ in range(4):
            a, b = original.sample(40, n_step=2, gamma=0.95), restored.sample(40, n_step=2, gamma=0.95)
            for field in ("obs", "action", "reward", "next_obs", "discount", "indices"):
                assert np.array_equal(getattr(a, field), getattr(b, field)), field
            assert np.array_equal(a.extras["mask"], b.extras["mask"])
            if cls is PrioritizedReplayBuffer:
                assert np.array_equal(a.weights, b.weights)
                original.update_priorities(a.indices, np.arange(40.0))
                restored.update_priorities(b.indices, np.arange(40.0))


def test_saving_again_replaces_the_previous_save(tmp_path):
    buffer = ReplayBuffer(100, SPEC, seed=0)
    add_steps(buffer, 0, 10, 1)
    buffer.save(tmp_path / "rb")
    add_steps(buffer, 10, 10, 1)
    buffer.save(tmp_path / "rb")
    assert len(ReplayBuffer.load(tmp_path / "rb")) == 20
    assert sorted(p.name for p in (tmp_path / "rb").iterdir() if p.name != "CURRENT").__len__() == 1


def test_files_are_plain_npy_and_json(tmp_path):
    buffer = ReplayBuffer(40, SPEC, num_envs=2, seed=0)
    add_steps(buffer, 0, 5, 2)
    buffer.save(tmp_path / "rb")
    version = tmp_path / "rb" / (tmp_path / "rb" / "CURRENT").read_text().strip()
    header = json.loads((version / "header.json").read_text())
    assert header["format"] == "turborl.replay" and header["version"] == 1
    obs = np.load(version / "field_obs.npy", mmap_mode="r", allow_pickle=False)
    assert obs.shape == (20, 2, 3) and obs[4, 1, 0] == 5.0  # step 4 of env 1


# ---- damaged and foreign directories ----------------------------------------------------------

def saved(tmp_path, cls=ReplayBuffer):
    buffer = cls(60, SPEC, num_envs=2, seed=0)
    add_steps(buffer, 0, 12, 2)
    buffer.save(tmp_path / "rb")
    return tmp_path / "rb", tmp_path / "rb" / (tmp_path / "rb" / "CURRENT").read_text().strip()


def test_load_refuses_a_directory_that_is_not_a_save(tmp_path):
    with pytest.raises(ValueError, match="is not a turborl replay buffer save"):
        ReplayBuffer.load(tmp_path / "missing")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "data.csv").write_text("1,2,3")
    with pytest.raises(ValueError, match="is not a turborl replay buffer save"):
        ReplayBuffer.load(tmp_path / "foreign")


def test_save_refuses_to_overwrite_a_foreign_directory(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    buffer = ReplayBuffer(10, SPEC, seed=0)
    with pytest.raises(ValueError, match="refusing to overwrite"):
        buffer.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("damage, pattern", [
    (lambda v: (v / "field_obs.npy").unlink(), "damaged replay buffer save: field_obs.npy"),
    (lambda v: (v / "field_obs.npy").write_bytes((v / "field_obs.npy").read_bytes()[:200]),
     "damaged replay buffer save: field_obs.npy"),
    (lambda v: np.save(v / "field_action.npy", np.zeros((30, 2), np.int32)),
     r"field_action.npy has shape \(30, 2\) int32, expected \(30, 2\) int64"),
    (lambda v: (v / "header.json").write_text("{not json"), "header.json unreadable"),
    (lambda v: (v / "header.json").write_text(json.dumps({**json.loads((v / "header.json").read_text()),
                                                          "version": 99})), "format version 99"),
    (lambda v: (v / "header.json").write_text(json.dumps({"format": "something else"})),
     "is not a turborl replay buffer save"),
    (lambda v: np.save(v / "sampleable.npy", np.full((30, 2), 7, np.uint8)), "values other than 0/1"),
    (lambda v: (v.parent / "CURRENT").write_text("v-deleted\n"), "CURRENT names 'v-deleted'"),
])
def test_load_reports_damage_clearly(tmp_path, damage, pattern):
    path, version = saved(tmp_path)
    damage(version)
    with pytest.raises(ValueError, match=pattern):
        ReplayBuffer.load(path)


def test_prioritized_load_refuses_a_uniform_save(tmp_path):
    path, _ = saved(tmp_path)
    with pytest.raises(ValueError, match="not a PrioritizedReplayBuffer"):
        PrioritizedReplayBuffer.load(path)


# ---- a save killed half-way keeps the previous one -------------------------------------------

SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    from turborl.replay import ReplayBuffer
    path = sys.argv[1]
    buffer = ReplayBuffer.load(path)
    step = int(buffer._core.rows_written)
    while True:
        for t in range(step, step + 500):
            buffer.add(obs=np.full((1, 48), t, np.float32), action=np.array([t]), reward=np.array([1.0], np.float32),
                       terminated=np.array([False]), truncated=np.array([False]))
        step += 500
        print("saving", step, flush=True)
        buffer.save(path)
        print("saved", step, flush=True)
""")


def test_a_save_killed_half_way_leaves_the_previous_save_loadable(tmp_path):
    spec = {"obs": ((48,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
            "terminated": ((), bool), "truncated": ((), bool)}
    buffer = ReplayBuffer(200_000, spec, seed=0)  # about 40 MB: a save takes a while
    for t in range(0, 150_000, 5_000):
        steps = np.arange(t, t + 5_000)
        buffer.add(obs=np.repeat(steps[:, None, None], 48, axis=2).astype(np.float32), action=steps[:, None],
                   reward=np.ones((5_000, 1), np.float32), terminated=np.zeros((5_000, 1), bool),
                   truncated=np.zeros((5_000, 1), bool))
    path = tmp_path / "rb"
    buffer.save(path)
    killed_mid_save = 0
    rng = np.random.default_rng(0)
    previous_rows = 150_000
    for trial in range(4):
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        lines = []
        while not lines or not lines[-1].startswith("saving"):  # wait until a save is under way
            lines.append(process.stdout.readline().strip())
            assert time.monotonic() < deadline and lines[-1], f"the saver stopped early: {lines}"
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        lines += [line.strip() for line in process.stdout.read().splitlines()]
        killed_mid_save += lines[-1].startswith("saving")
        attempted = {int(line.split()[1]) for line in lines if line.startswith("saving")}

        restored = ReplayBuffer.load(path)  # must always work
        rows = int(restored._core.rows_written)
        # Either the save from before this process, or one the process began (complete: the
        # pointer only ever names a finished version).
        assert rows == previous_rows or rows in attempted, (rows, previous_rows, attempted)
        # No torn data: every stored step holds the obs written for it.
        sample = restored.sample(256)
        assert np.all(sample.obs == sample.action[:, None].astype(np.float32))
        previous_rows = rows
    assert killed_mid_save >= 1, "no trial interrupted a save; the test did not test anything"
