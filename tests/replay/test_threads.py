"""Actors add from several threads while a learner samples and updates: the result is that of
some serial order of the calls (no torn rows, nothing lost, nothing crashes)."""

import threading

import numpy as np

from turborl.replay import PrioritizedReplayBuffer

# Rows are self-contained transitions (same_step mode with a next_obs field), the recipe for
# concurrent actors: rows of different actors interleave in the env lanes.
SPEC = {"obs": ((4,), np.float64), "next_obs": ((4,), np.float64), "action": ((), np.int64),
        "reward": ((), np.float32), "terminated": ((), bool), "truncated": ((), bool)}


def row(ids):
    ids = np.asarray(ids)
    obs = np.repeat(ids[:, None].astype(np.float64), 4, axis=1) + np.arange(4)
    return dict(obs=obs, next_obs=obs + 0.5, action=ids, reward=(ids % 7).astype(np.float32),
                terminated=ids % 5 == 0, truncated=np.zeros(len(ids), bool))


def test_concurrent_adds_samples_and_priority_updates():
    num_envs, actors, steps_per_actor = 2, 4, 400
    buffer = PrioritizedReplayBuffer(num_envs * actors * steps_per_actor, SPEC, num_envs=num_envs, seed=0,
                                     autoreset_mode="same_step")
    buffer.add(**row(np.arange(num_envs) + 10_000_000))  # something to sample from the start
    errors, stop = [], threading.Event()

    def actor(a):
        try:
            for s in range(steps_per_actor):
                first = (a * steps_per_actor + s) * num_envs
                buffer.add(**row(np.arange(first, first + num_envs)))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    def learner():
        try:
            while not stop.is_set():
                batch = buffer.sample(min(64, buffer.num_sampleable))
                # Every sampled transition is one whole row written by one add.
                assert np.array_equal(batch.obs[:, 1] - 1, batch.action.astype(np.float64))
                assert np.array_equal(batch.next_obs, batch.obs + 0.5)
                assert np.array_equal(batch.reward, (batch.action % 7).astype(np.float32))
                assert np.array_equal(batch.discount == 0, batch.action % 5 == 0)
                buffer.update_priorities(batch.indices, np.abs(np.sin(batch.action)) + 0.1)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=actor, args=(a,)) for a in range(actors)]
    learners = [threading.Thread(target=learner) for _ in range(2)]
    for thread in threads + learners:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    for thread in learners:
        thread.join()
    assert not errors, errors
    # Nothing lost or torn: the capacity holds exactly the actors' rows, which overwrote the
    # first row, and every actor id is stored exactly once.
    stored = np.sort(buffer._core.field_view(2).view(np.int64))
    assert np.array_equal(stored, np.arange(num_envs * actors * steps_per_actor))
    assert buffer.num_sampleable == buffer.capacity
