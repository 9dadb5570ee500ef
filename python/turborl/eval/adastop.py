"""AdaStop: group-sequential permutation tests for comparing RL agents.

Mathieu et al., "AdaStop: adaptive statistical testing for sound comparisons of Deep RL agents"
(2023; TimotheeMathieu/adastop). ``MultipleAgentsComparator`` follows adastop 0.1.3's
``compare_agents.py`` decision for decision: the permutation distribution of the difference of
group means over interims, linear alpha (and beta) spending, conditional pruning of permutation
paths that earlier interims did not reject, a max-statistic step-down over comparisons, and all
permutations when there are fewer than B of them. The permutation sums run in C++.

Kept from adastop 0.1.3 on purpose, so that decisions are the same:
- the permutation distribution uses the signed mean difference (its maximum over comparisons),
  while the observed statistic is absolute;
- once permutations are drawn at random at an interim after the first, the normalisation is
  ``n_permutations ** floor(log(B) / log(n_permutations))``;
- the early-accept boundary uses ``<`` where the power spent uses ``<=``.
Random permutations come from turborl's own generator (keyed by seed, interim and comparison),
so on borderline data a decision may differ from adastop's; clear-cut data gives the same ones.
"""

from __future__ import annotations

import math
from copy import copy
from typing import Any, Mapping, Sequence

import numpy as np

from turborl import _checks, _core

__all__ = ["MultipleAgentsComparator"]


def _key(comparison: np.ndarray) -> str:
    """adastop's dictionary key of a comparison: str(np.array([i, j])), e.g. '[0 1]'."""
    return str(np.asarray(comparison))


class MultipleAgentsComparator:
    """Compare agents sequentially, with early stopping (adastop's class and arguments).

    Args:
        n: evaluations per agent added at each interim (an int, or one per agent).
        K: the number of interims at most.
        B: permutations drawn when there are more than B; otherwise all are used.
        comparisons: pairs of agent indices to compare (default: every pair).
        alpha: level of the test (type I error).
        beta: power spent on early acceptance ("equal" before the last interim).
        seed: seed of the random permutations.

    Use ``partial_compare({name: evaluations so far, ...})`` once per interim; then read
    ``decisions`` ({"[i j]": "larger" | "smaller" | "equal" | "continue"}) and ``is_finished``.
    """

    def __init__(self, n: Any = 5, K: int = 5, B: int = 10000, comparisons: Sequence[Sequence[int]] | None = None,
                 alpha: float = 0.01, beta: float = 0, seed: int | None = None) -> None:
        self.K = _checks.int_at_least("K", K, 1)
        self.B = _checks.int_at_least("B", B, 1)
        if np.ndim(n) == 0:
            self.n = _checks.int_at_least("n", n, 1)
        else:
            self.n = np.array([_checks.int_at_least(f"n[{i}]", v, 1) for i, v in enumerate(n)])
        if not 0.0 < float(alpha) < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if not 0.0 <= float(beta) < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.alpha, self.beta = float(alpha), float(beta)
        self.comparisons = None if comparisons is None else np.array(comparisons, dtype=int).reshape(-1, 2)
        self.seed = _checks.random_seed() if seed is None else _checks.seed("seed", seed)
        self.boundary: list[tuple[float, float]] = []
        self.k = 0
        self.level_spent = 0.0
        self.power_spent = 0.0
        self.agent_names: list[str] | None = None
        self.current_comparisons = copy(self.comparisons)
        self.n_iters: dict[str, int] | None = None
        self.mean_diffs: dict[str, np.ndarray] | None = None
        self.id_tracked: np.ndarray | None = None
        self.decisions: dict[str, str] = {}
        self.normalization = 1
        self.is_finished = False
        self.eval_values: dict[str, np.ndarray] = {}
        self.mean_eval_values: list[float] = []

    # ---- permutation distribution -------------------------------------------------------------

    def _masks(self, n_total: int, n_first: int, count: int, exhaustive: bool, comparison_index: int) -> np.ndarray:
        if exhaustive:
            return _core.all_subsets(n_total, n_first, count)
        return _core.random_subsets(n_total, n_first, count, self.seed, (self.k << 32) | comparison_index)

    def compute_mean_diffs(self, k: int, Z: list[np.ndarray]) -> dict[str, np.ndarray]:
        """The permutation values of every tracked comparison after interim k."""
        comparisons = self.current_comparisons
        if k == 0:
            for i, comp in enumerate(comparisons):
                n1, n2 = int(self.n[comp[0]]), int(self.n[comp[1]])
                n_permutations = _core.binomial_capped(n1 + n2, n1, self.B)
                exhaustive = self.B > n_permutations
                masks = self._masks(n1 + n2, n1, n_permutations if exhaustive else self.B, exhaustive, i)
                self.normalization = n_permutations if exhaustive else self.B
                block = np.concatenate([Z[comp[0]][:n1], Z[comp[1]][:n2]]).astype(np.float64)
                mean_in, mean_out = _core.subset_means(block, masks)
                self.mean_diffs[_key(comp)] = mean_in - mean_out
            return self.mean_diffs

        # Keep only the permutation paths that the last boundary did not reject.
        stacked = np.array([self.mean_diffs[key] for key in self.mean_diffs])
        kept = np.max(np.abs(stacked), axis=0) <= self.boundary[-1][1]
        previous = {key: values[kept] for key, values in self.mean_diffs.items()}
        for i, comp in enumerate(comparisons):
            n1, n2 = int(self.n[comp[0]]), int(self.n[comp[1]])
            n_permutations = math.comb(n1 + n2, n1)
            block = np.concatenate([Z[comp[0]][k * n1:(k + 1) * n1], Z[comp[1]][k * n2:(k + 1) * n2]]).astype(np.float64)
            before = previous[_key(comp)]
            if self.B > n_permutations ** (k + 1):
                masks = self._masks(n1 + n2, n1, n_permutations, True, i)
                self.normalization = n_permutations ** (k + 1)
                mean_in, mean_out = _core.subset_means(block, masks)
                # Every new block permutation after every surviving path (outer: new permutation).
                new = ((before[None, :] + mean_in[:, None]) - mean_out[:, None]).ravel()
            else:
                count = len(previous[_key(comparisons[0])])
                masks = self._masks(n1 + n2, n1, count, False, i)
                began_random_at = np.floor(np.log(self.B) / np.log(n_permutations))
                self.normalization = n_permutations ** began_random_at
                mean_in, mean_out = _core.subset_means(block, masks)
                new = (before + mean_in) - mean_out
            self.mean_diffs[_key(comp)] = new
        return self.mean_diffs

    # ---- one interim --------------------------------------------------------------------------

    def partial_compare(self, eval_values: Mapping[str, Sequence[float]], verbose: bool = False) -> None:
        """Runs interim ``k`` on all evaluations so far (``{agent: values}``, the same agents each
        time, ``(k + 1) * n`` values for agents still compared)."""
        if self.is_finished:
            raise RuntimeError("the comparison is finished: every decision is taken")
        if not isinstance(eval_values, Mapping) or len(eval_values) < 2:
            raise ValueError("eval_values must map at least two agent names to their evaluations")
        if self.agent_names is None:
            self.agent_names = [str(name) for name in eval_values]
        elif set(map(str, eval_values)) != set(self.agent_names):
            raise ValueError(f"eval_values must hold the agents {self.agent_names}, got {list(eval_values)}")
        Z = []
        for name in self.agent_names:
            values = np.asarray(eval_values[name], dtype=np.float64).ravel()
            if not np.all(np.isfinite(values)):
                raise ValueError(f"the evaluations of {name!r} hold NaN or infinite values")
            Z.append(values)
        n_agents = len(Z)
        if np.ndim(self.n) == 0:
            self.n = np.array([self.n] * n_agents)
        elif len(self.n) != n_agents:
            raise ValueError(f"n has {len(self.n)} entries but there are {n_agents} agents")

        if self.k == 0:
            if self.comparisons is None:
                self.comparisons = np.array([(i, j) for i in range(n_agents) for j in range(n_agents) if i < j])
            if np.any(self.comparisons < 0) or np.any(self.comparisons >= n_agents):
                raise ValueError(f"comparisons must index the {n_agents} agents, got {self.comparisons.tolist()}")
            self.current_comparisons = copy(self.comparisons)
            self.mean_diffs = {_key(comp): np.empty(0) for comp in self.comparisons}
            self.n_iters = {name: 0 for name in self.agent_names}
            self.decisions = {_key(c): "continue" for c in self.comparisons}
            self.id_tracked = np.arange(len(self.decisions))
        k = self.k
        for comp in self.current_comparisons:
            for agent in comp:
                if len(Z[agent]) < (k + 1) * self.n[agent]:
                    raise ValueError(f"interim {k} needs {(k + 1) * self.n[agent]} evaluations of "
                                     f"{self.agent_names[agent]!r}, got {len(Z[agent])}")

        clevel = self.alpha * (k + 1) / self.K
        dlevel = self.beta * (k + 1) / self.K
        mean_diffs = self.compute_mean_diffs(k, Z)
        if verbose:
            print(f"Step {k}")

        current_decisions = np.array(["continue"] * len(self.id_tracked), dtype=object)
        level_to_add = power_to_add = 0.0
        current_comparisons = self.current_comparisons
        for _ in range(len(current_decisions)):
            current_comparisons = self.current_comparisons[current_decisions == "continue"]
            stacked = np.array([mean_diffs[_key(comp)] for comp in current_comparisons])
            values = np.sort(np.max(stacked, axis=0))
            icumulative_probas = np.arange(len(values))[::-1] / self.normalization  # P(T > t)
            admissible_sup = self.level_spent + icumulative_probas <= clevel
            if np.any(admissible_sup):
                bk_sup = values[admissible_sup][0]
                level_to_add = icumulative_probas[admissible_sup][0]
            else:
                bk_sup, level_to_add = np.inf, 0
            cumulative_probas = np.arange(len(values)) / self.normalization  # P(T < t)
            admissible_inf = self.power_spent + cumulative_probas < dlevel
            if np.any(admissible_inf):
                bk_inf = values[admissible_inf][-1]
                power_to_add = cumulative_probas[self.power_spent + cumulative_probas <= dlevel][-1]
            else:
                bk_inf, power_to_add = -np.inf, 0

            # Step-down on the observed statistics.
            t_max, t_min, i_max, i_min, signed_max = 0.0, np.inf, None, None, 0.0
            for i, comp in enumerate(current_comparisons):
                difference = (k + 1) * (np.mean(Z[comp[0]][: (k + 1) * self.n[comp[0]]])
                                        - np.mean(Z[comp[1]][: (k + 1) * self.n[comp[1]]]))
                t_i = abs(difference)
                if t_i > t_max:
                    t_max, i_max, signed_max = t_i, i, difference
                if t_i < t_min:
                    t_min, i_min = t_i, i
            continuing = np.arange(len(current_decisions))[current_decisions == "continue"]
            if i_max is not None and t_max > bk_sup:
                chosen = continuing[i_max]
                current_decisions[chosen] = "reject"
                self.decisions[_key(self.current_comparisons[chosen])] = "larger" if signed_max > 0 else "smaller"
                if verbose:
                    print("reject")
            elif i_min is not None and t_min < bk_inf:
                chosen = continuing[i_min]
                current_decisions[chosen] = "accept"
                self.decisions[_key(self.current_comparisons[chosen])] = "equal"
            else:
                break

        self.boundary.append((float(bk_inf), float(bk_sup)))
        self.level_spent += level_to_add
        self.power_spent += power_to_add
        if k == self.K - 1:
            for c in self.comparisons:
                if self.decisions[_key(c)] == "continue":
                    self.decisions[_key(c)] = "equal"
        self.k += 1
        self.eval_values = {self.agent_names[i]: Z[i] for i in range(n_agents)}
        self.mean_eval_values = [float(np.mean(z)) for z in Z]
        for i in range(n_agents):
            self.n_iters[self.agent_names[i]] = len(Z[i])
        decided = current_decisions != "continue"
        if "continue" not in self.decisions.values():
            self.is_finished = True
        self.id_tracked = self.id_tracked[~decided]
        self.current_comparisons = self.current_comparisons[~decided]
        self.mean_diffs = {_key(comp): self.mean_diffs[_key(comp)] for comp in current_comparisons}

    # ---- results ------------------------------------------------------------------------------

    def get_results(self):
        """One row per comparison: means, difference, standard deviations and decision (a pandas
        DataFrame, as adastop's; pandas is needed only here)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("get_results() returns a pandas DataFrame: pip install pandas "
                              "(or use results_rows())") from error
        return pd.DataFrame(self.results_rows())

    def results_rows(self) -> list[dict[str, Any]]:
        rows = []
        for c in self.comparisons:
            first, second = self.agent_names[c[0]], self.agent_names[c[1]]
            rows.append({
                "Agent1 vs Agent2": f"{first} vs {second}",
                "mean Agent1": self.mean_eval_values[c[0]],
                "mean Agent2": self.mean_eval_values[c[1]],
                "mean diff": self.mean_eval_values[c[0]] - self.mean_eval_values[c[1]],
                "std Agent 1": float(np.std(self.eval_values[first])),
                "std Agent 2": float(np.std(self.eval_values[second])),
                "decisions": self.decisions[_key(c)],
            })
        return rows

    def plot_results(self, agent_names: Sequence[str] | None = None, axes: Any = None):
        """Decisions and evaluations as a figure (see ``turborl.eval.plots.plot_adastop``)."""
        from turborl.eval.plots import plot_adastop

        return plot_adastop(self, agent_names=agent_names, axes=axes)

    # ---- state, for the CLI (JSON, not pickle) ----------------------------------------------

    def to_state(self) -> dict[str, Any]:
        as_list = lambda a: None if a is None else np.asarray(a).tolist()  # noqa: E731
        return {
            "format": "turborl.adastop", "version": 1,
            "n": as_list(self.n), "K": self.K, "B": self.B, "alpha": self.alpha, "beta": self.beta,
            "seed": str(self.seed), "comparisons": as_list(self.comparisons),
            "current_comparisons": as_list(self.current_comparisons), "boundary": [list(b) for b in self.boundary],
            "k": self.k, "level_spent": self.level_spent, "power_spent": self.power_spent,
            "agent_names": self.agent_names, "n_iters": self.n_iters, "decisions": self.decisions,
            "normalization": float(self.normalization), "is_finished": self.is_finished,
            "id_tracked": as_list(self.id_tracked),
            "mean_diffs": None if self.mean_diffs is None else {k: v.tolist() for k, v in self.mean_diffs.items()},
            "eval_values": {k: np.asarray(v).tolist() for k, v in self.eval_values.items()},
            "mean_eval_values": self.mean_eval_values,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "MultipleAgentsComparator":
        if not isinstance(state, Mapping) or state.get("format") != "turborl.adastop":
            raise ValueError("not a turborl AdaStop state")
        if state.get("version") != 1:
            raise ValueError(f"AdaStop state version {state.get('version')} is not supported (this turborl reads 1)")
        try:
            comparator = cls(n=state["n"], K=state["K"], B=state["B"], comparisons=state["comparisons"],
                             alpha=state["alpha"], beta=state["beta"], seed=int(state["seed"]))
            array = lambda a, dtype=int: None if a is None else np.array(a, dtype=dtype)  # noqa: E731
            comparator.current_comparisons = array(state["current_comparisons"])
            if comparator.current_comparisons is not None:
                comparator.current_comparisons = comparator.current_comparisons.reshape(-1, 2)
            comparator.boundary = [tuple(map(float, b)) for b in state["boundary"]]
            comparator.k = int(state["k"])
            comparator.level_spent, comparator.power_spent = float(state["level_spent"]), float(state["power_spent"])
            comparator.agent_names = state["agent_names"]
            comparator.n_iters = state["n_iters"]
            comparator.decisions = dict(state["decisions"])
            comparator.normalization = state["normalization"]
            comparator.is_finished = bool(state["is_finished"])
            comparator.id_tracked = array(state["id_tracked"])
            comparator.mean_diffs = None if state["mean_diffs"] is None else {
                k: np.array(v, dtype=np.float64) for k, v in state["mean_diffs"].items()}
            comparator.eval_values = {k: np.array(v, dtype=np.float64) for k, v in state["eval_values"].items()}
            comparator.mean_eval_values = [float(v) for v in state["mean_eval_values"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"damaged AdaStop state: {error}") from error
        return comparator
