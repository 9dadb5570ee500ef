"""Evaluation you can trust: rliable's interval estimates and AdaStop's sequential tests.

- ``turborl.eval.metrics``: IQM, mean, median, optimality gap, probability of improvement
  (rliable's definitions, rliable's numbers).
- ``get_interval_estimates``, ``create_performance_profile``, ``sample_efficiency_curves``:
  stratified bootstrap intervals (rliable's API; the built-in metrics run in C++).
- ``MultipleAgentsComparator``: AdaStop's group-sequential permutation test.
- ``evaluate``: evaluation episodes of a policy on vector envs, as a score matrix.
- ``turborl.eval.plots``: the figures (matplotlib).
"""

from turborl.eval import metrics
from turborl.eval.adastop import MultipleAgentsComparator
from turborl.eval.episodes import evaluate
from turborl.eval.intervals import create_performance_profile, get_interval_estimates, sample_efficiency_curves

__all__ = [
    "MultipleAgentsComparator",
    "create_performance_profile",
    "evaluate",
    "get_interval_estimates",
    "metrics",
    "sample_efficiency_curves",
]
