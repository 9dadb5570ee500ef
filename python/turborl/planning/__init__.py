"""Planning on tabular MDPs: value iteration (C++, threads, CUDA), the effective horizon, MDPs
enumerated from environments, and fitted-Q targets.

>>> from turborl.planning import TabularMDP, value_iteration
>>> mdp = TabularMDP(next_states, rewards, horizon=10)   # next_states int [S, A], -1 ends
>>> value_iteration(mdp).q.shape                          # (10, S, A)
"""

from turborl.planning.enumerate import enumerate_mdp
from turborl.planning.mdp import TabularMDP
from turborl.planning.value_iteration import (
    ValueIterationResult,
    policy_evaluation,
    reachable_states,
    value_iteration,
    worst_policy_values,
)

__all__ = [
    "TabularMDP",
    "enumerate_mdp",
    "ValueIterationResult",
    "policy_evaluation",
    "reachable_states",
    "value_iteration",
    "worst_policy_values",
]
