"""The ``turborl compare`` command: AdaStop from the command line, as adastop's CLI.

Each call reads a CSV with one column per agent and N rows (N new evaluations per agent; the
first column is an index), runs one interim, prints the decisions and keeps the comparator's
state as JSON (``.turborl_adastop.json``, written atomically) next to the CSV for the next call.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
import numpy as np

from turborl import _atomic
from turborl.eval.adastop import MultipleAgentsComparator

__all__ = ["STATE_FILE", "compare_plot", "compare_reset", "compare_status", "compare_step", "read_evaluations"]

STATE_FILE = ".turborl_adastop.json"


def _state_path(path: str | Path) -> Path:
    path = Path(path)
    return (path if path.is_dir() else path.parent) / STATE_FILE


def read_evaluations(path: str | Path, rows: int) -> dict[str, np.ndarray]:
    """{agent: N evaluations} from a CSV whose first column is an index and whose header names
    the agents. Raises ValueError for a wrong number of rows or a non-numeric cell."""
    try:
        with open(path, newline="") as handle:
            table = list(csv.reader(handle))
    except OSError as error:
        raise ValueError(f"cannot read {str(path)!r}: {error}") from error
    if len(table) < 2 or len(table[0]) < 3:
        raise ValueError(f"{path}: needs a header with an index column and at least two agents, and rows of scores")
    names = [name.strip() for name in table[0][1:]]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"{path}: agent names in the header must be distinct and non-empty, got {names}")
    body = [row for row in table[1:] if any(cell.strip() for cell in row)]
    if len(body) != rows:
        raise ValueError(f"{path} holds {len(body)} rows of scores, expected N = {rows} (the -N/--size-group option)")
    values = np.zeros((rows, len(names)))
    for r, row in enumerate(body):
        if len(row) != len(names) + 1:
            raise ValueError(f"{path}, line {r + 2}: {len(row)} cells, expected {len(names) + 1}")
        for c, cell in enumerate(row[1:]):
            try:
                values[r, c] = float(cell)
            except ValueError:
                raise ValueError(f"{path}, line {r + 2}, column {names[c]!r}: {cell!r} is not a number") from None
            if not math.isfinite(values[r, c]):
                raise ValueError(f"{path}, line {r + 2}, column {names[c]!r}: {cell!r} is not finite")
    return {name: values[:, c] for c, name in enumerate(names)}


def _load(state_path: Path) -> MultipleAgentsComparator:
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"the comparator state {str(state_path)!r} is damaged ({error}); it is kept as it is: "
                         "inspect it, or start over with --reset") from error
    try:
        return MultipleAgentsComparator.from_state(state)
    except ValueError as error:
        raise ValueError(f"the comparator state {str(state_path)!r} is damaged ({error}); it is kept as it is: "
                         "inspect it, or start over with --reset") from error


def _save(comparator: MultipleAgentsComparator, state_path: Path) -> None:
    _atomic.write_file(state_path, json.dumps(comparator.to_state()).encode())


def results_table(comparator: MultipleAgentsComparator) -> str:
    rows = comparator.results_rows()
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_step(csv_path: str | Path, *, n_groups: int = 5, size_group: int = 5, n_permutations: int = 10000,
                 alpha: float = 0.05, beta: float = 0.0, seed: int | None = None,
                 compare_to_first: bool = False) -> str:
    """One interim of AdaStop on the evaluations in ``csv_path``; returns what to print."""
    state_path = _state_path(csv_path)
    evaluations = read_evaluations(csv_path, size_group)
    if state_path.exists():
        comparator = _load(state_path)
        if comparator.is_finished:
            raise ValueError("the comparison is already finished (see --status); use --reset to start another")
        tracked = sorted({int(i) for pair in comparator.current_comparisons for i in pair})
        names = [comparator.agent_names[i] for i in tracked]
        missing = [name for name in names if name not in evaluations]
        if missing:
            raise ValueError(f"{csv_path} must have a column for every agent still compared; missing {missing}")
        data = {name: np.concatenate([comparator.eval_values[name], evaluations[name]]) for name in names}
        if any(len(v) > comparator.K * size_group for v in data.values()):
            raise ValueError(f"more than K = {comparator.K} groups of evaluations: the test cannot take more")
        for name in comparator.agent_names:
            data.setdefault(name, comparator.eval_values[name])
    else:
        comparisons = [(0, i) for i in range(1, len(evaluations))] if compare_to_first else None
        comparator = MultipleAgentsComparator(n=size_group, K=n_groups, B=n_permutations, comparisons=comparisons,
                                              alpha=alpha, beta=beta, seed=seed)
        data = evaluations
    comparator.partial_compare(data)
    _save(comparator, state_path)
    if comparator.is_finished:
        return "Test is finished, decisions are\n\n" + results_table(comparator) + f"\n\nState saved to {state_path}"
    undecided = sorted({comparator.agent_names[i] for c, d in zip(comparator.comparisons, comparator.decisions.values())
                        if d == "continue" for i in c})
    return f"Still undecided about {' '.join(undecided)}\n\nState saved to {state_path}"


def compare_status(path: str | Path) -> str:
    state_path = _state_path(path)
    if not state_path.exists():
        raise ValueError(f"no comparator state at {str(state_path)!r}")
    comparator = _load(state_path)
    lines = ["Number of scores used for each agent:"]
    lines += [f"  {name}: {count}" for name, count in comparator.n_iters.items()]
    lines += ["Mean of scores of each agent:"]
    lines += [f"  {name}: {np.mean(values):.6g}" for name, values in comparator.eval_values.items()]
    lines += ["Decision for each comparison:"]
    for c in comparator.comparisons:
        key = str(np.asarray(c))
        lines.append(f"  {comparator.agent_names[c[0]]} vs {comparator.agent_names[c[1]]}: {comparator.decisions[key]}")
    return "\n".join(lines)


def compare_reset(path: str | Path) -> str:
    state_path = _state_path(path)
    if state_path.exists():
        state_path.unlink()
        return f"Removed the comparator state {state_path}"
    return f"No comparator state at {state_path}"


def compare_plot(path: str | Path, out: str | Path) -> str:
    from turborl.eval.plots import _figure, save_figure

    state_path = _state_path(path)
    if not state_path.exists():
        raise ValueError(f"no comparator state at {str(state_path)!r}")
    comparator = _load(state_path)
    figure = _figure((6, 5))
    axes = figure.subplots(2, 1, gridspec_kw={"height_ratios": [1, 2]})
    comparator.plot_results(axes=axes)
    save_figure(figure, out)
    return f"Saved {out}"
