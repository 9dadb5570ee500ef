"""Bootstrap intervals: exactly a NumPy reference bootstrap, and rliable within Monte-Carlo error."""

import numpy as np
import pytest

from turborl import _core
from turborl.eval import create_performance_profile, get_interval_estimates, metrics, sample_efficiency_curves
from turborl.eval.intervals import _key_seed, _row_percentiles

rliable_library = pytest.importorskip("rliable.library")
rliable_metrics = pytest.importorskip("rliable.metrics")


def scores_for(seed, runs=10, tasks=26, frames=None, shift=0.0):
    rng = np.random.default_rng(seed)
    shape = (runs, tasks) if frames is None else (runs, tasks, frames)
    return rng.gamma(2.0, 0.5, shape) + shift


# ---- the NumPy reference: the same resampling indices, plain NumPy statistics -------------------

def reference_replicates(scores3d, statistic, reps, seed, task_bootstrap=False):
    runs, tasks, frames = scores3d.shape
    out = []
    for rep in range(reps):
        run_indices, task_indices = _core.bootstrap_indices(runs, tasks, frames, task_bootstrap, rep, seed)
        resampled = scores3d[run_indices, task_indices[None, :, None], np.arange(frames)[None, None, :]]
        out.append(np.concatenate([np.atleast_1d(statistic(resampled[..., f])) for f in range(frames)]))
    return np.array(out)


# arch (and so rliable) asks np.percentile for 100 * (1 - size) / 2, which is 2.5000000000000027.
ALPHA = (1.0 - 0.95) / 2
PERCENTILES = [100 * ALPHA, 100 * (1.0 - ALPHA)]


def iqm_reference(x):
    values = np.sort(x.ravel())
    cut = int(0.25 * values.size)
    return np.mean(values[cut:values.size - cut])


STATISTICS = {
    metrics.IQM: iqm_reference,
    metrics.MEAN: lambda x: np.mean(x.mean(axis=0)),
    metrics.MEDIAN: lambda x: np.median(x.mean(axis=0)),
    metrics.OPTIMALITY_GAP: lambda x: 1.0 - np.mean(np.minimum(x, 1.0)),
}


@pytest.mark.parametrize("kind", list(STATISTICS))
@pytest.mark.parametrize("task_bootstrap", [False, True])
@pytest.mark.parametrize("shape", [(10, 26, 1), (5, 7, 3), (3, 1, 1)])
def test_replicates_equal_a_numpy_reference_bootstrap(kind, task_bootstrap, shape):
    scores = scores_for(sum(shape), *shape[:2], frames=shape[2])
    replicates = _core.bootstrap_replicates(scores, [(kind, 1.0, [])], task_bootstrap, 300, 42, 2).T
    expected = reference_replicates(scores, STATISTICS[kind], 300, 42, task_bootstrap)
    assert np.array_equal(replicates, expected)


@pytest.mark.parametrize("average", [False, True])
def test_profile_replicates_equal_the_reference(average):
    scores = scores_for(3)[:, :, None]
    taus = np.linspace(0.0, 3.0, 31)
    kind = metrics.AVERAGE_SCORE_DISTRIBUTION if average else metrics.SCORE_DISTRIBUTION
    replicates = _core.bootstrap_replicates(scores, [(kind, 1.0, taus.tolist())], False, 200, 5, 1).T

    def profile(x):
        values = x.mean(axis=0) if average else x
        return np.array([np.mean(values > tau) for tau in taus])

    assert np.array_equal(replicates, reference_replicates(scores, profile, 200, 5))


@pytest.mark.parametrize("runs_x, runs_y", [(6, 6), (5, 8)])
def test_improvement_replicates_equal_rliables_metric_on_the_same_draws(runs_x, runs_y):
    # Integer scores make ties; a shared task (equal runs) makes identical resampled columns.
    rng = np.random.default_rng(runs_x + runs_y)
    x, y = rng.integers(0, 5, (runs_x, 6)).astype(float), rng.integers(1, 6, (runs_y, 6)).astype(float)
    if runs_x == runs_y:
        y[:, 0] = x[:, 0]
        x[:, 1] = y[:, 1] = 3.0
    replicates = _core.improvement_replicates(x, y, 200, 17, 2)
    tasks = np.arange(6)[None, :]
    expected = []
    for rep in range(200):
        ix, iy = _core.improvement_indices(runs_x, runs_y, 6, rep, 17)
        expected.append(rliable_metrics.probability_of_improvement(x[ix, tasks], y[iy, tasks]))
    assert np.array_equal(replicates, np.array(expected))


def test_percentile_intervals_equal_the_reference_exactly():
    scores = {"A": scores_for(0), "B": scores_for(1, shift=0.3)}
    points, intervals = get_interval_estimates(scores, metrics.aggregate_iqm, reps=2000, random_state=123)
    for key, array in scores.items():
        replicates = reference_replicates(array[:, :, None], iqm_reference, 2000, _key_seed(123, key))[:, 0]
        expected = np.percentile(replicates, PERCENTILES)
        assert np.array_equal(intervals[key][:, 0], expected)
        assert points[key] == rliable_metrics.aggregate_iqm(array)


@pytest.mark.parametrize("seed", range(6))
def test_row_percentiles_equal_numpys(seed):
    rng = np.random.default_rng(seed)
    rows, n = int(rng.integers(1, 40)), int(rng.integers(1, 3000))
    data = rng.normal(size=(rows, n)) if seed % 2 else rng.integers(0, 7, (rows, n)) / 7.0  # ties
    if seed == 5:
        data[1, 3] = np.nan
    percentiles = np.column_stack([rng.uniform(0, 100, rows), rng.uniform(0, 100, rows)])
    percentiles[0] = [0.0, 100.0]
    percentiles[-1] = [100 * (1.0 - 0.95) / 2, 100 * (1.0 - (1.0 - 0.95) / 2)]
    expected = np.array([np.percentile(data[i], percentiles[i]) for i in range(rows)])
    assert np.array_equal(_row_percentiles(data.copy(), percentiles), expected, equal_nan=True)


def test_resampling_indices_are_uniform():
    counts = np.zeros(7)
    for rep in range(300):
        run_indices, _ = _core.bootstrap_indices(7, 20, 1, False, rep, 9)
        counts += np.bincount(run_indices.ravel(), minlength=7)
    expected = counts.sum() / 7
    assert ((counts - expected) ** 2 / expected).sum() < 35.0  # chi-square, 6 dof, p ~ 1e-5


# ---- agreement with rliable itself (its own random draws: within Monte-Carlo error) ------------

def assert_close_to_rliable(ours, theirs, width_fraction=0.12):
    """Each bound within a fraction of that parameter's interval width (Monte-Carlo error)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    width = np.abs(theirs[1] - theirs[0])
    assert np.all(np.abs(ours - theirs) <= width_fraction * width + 1e-12), (ours, theirs)


@pytest.mark.parametrize("method", ["percentile", "basic", "bc", "bca"])
def test_intervals_agree_with_rliable(method):
    np.random.seed(0)  # rliable draws from NumPy's global generator
    scores = {"A": scores_for(10), "B": scores_for(11, shift=0.2)}
    aggregate = lambda x: np.array([rliable_metrics.aggregate_iqm(x), rliable_metrics.aggregate_median(x),  # noqa
                                    rliable_metrics.aggregate_mean(x), rliable_metrics.aggregate_optimality_gap(x)])
    their_points, their_intervals = rliable_library.get_interval_estimates(scores, aggregate, method=method, reps=4000)
    ours = [metrics.aggregate_iqm, metrics.aggregate_median, metrics.aggregate_mean, metrics.aggregate_optimality_gap]
    our_points, our_intervals = get_interval_estimates(scores, ours, method=method, reps=4000, random_state=0)
    for key in scores:
        assert np.array_equal(our_points[key], their_points[key])
        assert our_intervals[key].shape == their_intervals[key].shape == (2, 4)
        # Bias correction moves the percentiles by a noisy amount (the median's bootstrap
        # distribution is lumpy): allow more there.
        assert_close_to_rliable(our_intervals[key], their_intervals[key], 0.12 if method in ("percentile", "basic")
                                else 0.25)


def test_task_bootstrap_agrees_with_rliable():
    np.random.seed(1)
    scores = {"A": scores_for(12)}
    aggregate = lambda x: np.array([rliable_metrics.aggregate_iqm(x)])  # noqa: E731
    _, theirs = rliable_library.get_interval_estimates(scores, aggregate, task_bootstrap=True, reps=4000)
    _, ours = get_interval_estimates(scores, [metrics.aggregate_iqm], task_bootstrap=True, reps=4000, random_state=1)
    assert_close_to_rliable(ours["A"], theirs["A"])


def test_performance_profiles_agree_with_rliable():
    np.random.seed(2)
    scores = {"A": scores_for(13)}
    taus = np.linspace(0.0, 3.0, 41)
    their_profiles, their_cis = rliable_library.create_performance_profile(scores, taus, reps=2000)
    our_profiles, our_cis = create_performance_profile(scores, taus, reps=2000, random_state=2)
    assert np.array_equal(our_profiles["A"], their_profiles["A"])
    assert np.max(np.abs(our_cis["A"] - their_cis["A"])) <= 0.03  # fractions of 260 scores


def test_probability_of_improvement_agrees_with_rliable():
    np.random.seed(3)
    x, y = scores_for(14, tasks=6), scores_for(15, tasks=6, shift=0.15)
    y[:, 0] = x[:, 0]  # an identical task: 0.5 by rliable's rule
    pairs = {"x,y": (x, y)}
    # rliable runs scipy's Mann-Whitney test per task and replicate: keep this small.
    their_points, their_cis = rliable_library.get_interval_estimates(pairs, rliable_metrics.probability_of_improvement,
                                                                     reps=1500)
    our_points, our_cis = get_interval_estimates(pairs, metrics.probability_of_improvement, reps=1500, random_state=3)
    assert our_points["x,y"] == their_points["x,y"]
    assert_close_to_rliable(our_cis["x,y"], their_cis["x,y"], width_fraction=0.15)


def test_sample_efficiency_curves_agree_with_rliable_and_the_reference():
    np.random.seed(4)
    scores = {"A": scores_for(16, runs=6, tasks=5, frames=4)}
    per_frame = lambda x: np.array([rliable_metrics.aggregate_iqm(x[..., f]) for f in range(x.shape[-1])])  # noqa
    their_curves, their_cis = rliable_library.get_interval_estimates(scores, per_frame, reps=3000)
    our_curves, our_cis = sample_efficiency_curves(scores, reps=3000, random_state=4)
    assert np.array_equal(our_curves["A"], their_curves["A"])
    assert_close_to_rliable(our_cis["A"], their_cis["A"], width_fraction=0.15)
    replicates = reference_replicates(scores["A"], iqm_reference, 3000, _key_seed(4, "A"))
    expected = np.array([np.percentile(replicates[:, f], PERCENTILES) for f in range(4)]).T
    assert np.array_equal(our_cis["A"], expected)


# ---- determinism -------------------------------------------------------------------------------

def test_same_seed_same_intervals_any_thread_count_and_other_seed_other_intervals():
    scores = {"A": scores_for(20)}
    funcs = [metrics.aggregate_iqm, metrics.aggregate_median]
    one = get_interval_estimates(scores, funcs, reps=3000, random_state=7, num_threads=1)[1]["A"]
    three = get_interval_estimates(scores, funcs, reps=3000, random_state=7, num_threads=3)[1]["A"]
    generator = get_interval_estimates(scores, funcs, reps=3000, random_state=np.random.default_rng(5))[1]["A"]
    again = get_interval_estimates(scores, funcs, reps=3000, random_state=np.random.default_rng(5))[1]["A"]
    other = get_interval_estimates(scores, funcs, reps=3000, random_state=8)[1]["A"]
    assert np.array_equal(one, three) and np.array_equal(generator, again)
    assert not np.array_equal(one, other)


def test_a_key_gets_the_same_interval_whatever_else_is_in_the_dict():
    a = get_interval_estimates({"A": scores_for(21)}, metrics.aggregate_mean, reps=500, random_state=0)[1]["A"]
    b = get_interval_estimates({"Z": scores_for(22), "A": scores_for(21)}, metrics.aggregate_mean, reps=500,
                               random_state=0)[1]["A"]
    assert np.array_equal(a, b)


def test_custom_functions_take_the_numpy_path_and_are_reproducible():
    scores = {"A": scores_for(23)}
    custom = lambda x: np.array([np.max(x.mean(axis=0))])  # noqa: E731
    first = get_interval_estimates(scores, custom, reps=300, random_state=1)
    second = get_interval_estimates(scores, custom, reps=300, random_state=1)
    assert np.array_equal(first[1]["A"], second[1]["A"])
    assert first[0]["A"][0] == np.max(scores["A"].mean(axis=0))
    assert first[1]["A"][0, 0] <= first[0]["A"][0] + 1e-9
