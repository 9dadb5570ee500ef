"""Planning on tabular MDPs: value iteration (C++, threads, CUDA), the effective horizon, MDPs
enumerated from environments, and fitted-Q targets.

>>> from turborl.planning import TabularMDP, value_iteration
>>> mdp = TabularMDP(next_states, rewards, horizon=10)   # next_states int [S, A], -1 ends
>>> value_iteration(mdp).q.shape                          # (10, S, A)
"""

from turborl.planning.effective_horizon import EffectiveHorizonResult, effective_horizon, greedy_returns, min_k
from turborl.planning.enumerate import enumerate_mdp
from turborl.planning.fitted_q import (
    FittedQResult,
    bellman_targets,
    linear_fitted_q_iteration,
    lstd_q,
    neural_fitted_q_iteration,
)
from turborl.planning.mdp import TabularMDP
from turborl.planning.value_iteration import (
    ValueIterationResult,
    policy_evaluation,
    reachable_states,
    value_iteration,
    worst_policy_values,
)

__all__ = [
    "EffectiveHorizonResult",
    "FittedQResult",
    "TabularMDP",
    "bellman_targets",
    "effective_horizon",
    "greedy_returns",
    "linear_fitted_q_iteration",
    "lstd_q",
    "min_k",
    "neural_fitted_q_iteration",
    "enumerate_mdp",
    "ValueIterationResult",
    "policy_evaluation",
    "reachable_states",
    "value_iteration",
    "worst_policy_values",
]
