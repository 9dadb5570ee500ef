"""Point estimates equal rliable's exactly."""

import numpy as np
import pytest

from turborl.eval import metrics

rliable_metrics = pytest.importorskip("rliable.metrics")


@pytest.mark.parametrize("shape", [(10, 26), (3, 1), (1, 7), (5, 4), (7, 13)])
@pytest.mark.parametrize("seed", [0, 1])
def test_aggregates_equal_rliable(shape, seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(1.0, 1.0, shape), 1)  # rounding makes ties
    for name in ("aggregate_iqm", "aggregate_mean", "aggregate_median", "aggregate_optimality_gap"):
        assert getattr(metrics, name)(scores) == getattr(rliable_metrics, name)(scores), name
    assert metrics.optimality_gap(0.5)(scores) == rliable_metrics.aggregate_optimality_gap(scores, 0.5)


@pytest.mark.parametrize("runs_x, runs_y", [(10, 10), (5, 8), (1, 3)])
def test_probability_of_improvement_equals_rliable(runs_x, runs_y):
    rng = np.random.default_rng(runs_x + runs_y)
    x = np.round(rng.normal(0, 1, (runs_x, 6)), 1)
    y = np.round(rng.normal(0.2, 1, (runs_y, 6)), 1)
    if runs_x == runs_y:
        y[:, 2] = x[:, 2]
    assert metrics.probability_of_improvement(x, y) == rliable_metrics.probability_of_improvement(x, y)
