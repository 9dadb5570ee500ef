"""``turborl report``: score CSVs of training runs -> IQM tables with confidence intervals, and plots.

Score files are CSVs in long format with the columns ``algorithm, task, run, step, score`` (others
are ignored): one row per evaluation of one run, ``score`` the mean return of that evaluation's
episodes. Training runs write them as ``scores.csv``.

The report gives, per task, each algorithm's final score (the score at each run's last step)
as IQM and mean over runs with 95% bootstrap intervals, and a sample-efficiency curve (IQM over
runs at every step all runs share). With ``normalize`` ranges for every task, scores are
normalised to (score - low) / (high - low) and aggregated over tasks (IQM, median, mean,
optimality gap) with probabilities of improvement between algorithms.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from turborl import _atomic
from turborl.eval import metrics
from turborl.eval.intervals import get_interval_estimates, sample_efficiency_curves

__all__ = ["SCORE_COLUMNS", "build_report", "read_scores"]

SCORE_COLUMNS = ("algorithm", "task", "run", "step", "score")


def read_scores(paths: Iterable[str | Path]) -> dict[tuple[str, str], dict[str, dict[int, float]]]:
    """{(algorithm, task): {run: {step: score}}} from score CSVs; raises ValueError naming the
    file, line and column of anything malformed."""
    table: dict[tuple[str, str], dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    paths = list(paths)
    if not paths:
        raise ValueError("no score files given")
    for path in paths:
        try:
            handle = open(path, newline="")
        except OSError as error:
            raise ValueError(f"cannot read score file {str(path)!r}: {error}") from error
        with handle:
            reader = csv.DictReader(handle)
            missing = [c for c in SCORE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: the header must have the columns {list(SCORE_COLUMNS)}; missing {missing}")
            rows = 0
            for line, row in enumerate(reader, start=2):
                try:
                    step = int(row["step"])
                    score = float(row["score"])
                except (TypeError, ValueError):
                    raise ValueError(f"{path}, line {line}: step must be an integer and score a number, got "
                                     f"step={row['step']!r}, score={row['score']!r}") from None
                if not math.isfinite(score):
                    raise ValueError(f"{path}, line {line}: score {row['score']!r} is not finite")
                table[(row["algorithm"], row["task"])][row["run"]][step] = score
                rows += 1
            if rows == 0:
                raise ValueError(f"{path}: no score rows")
    return table


def _final_matrix(table, algorithm: str, tasks: Sequence[str]) -> np.ndarray:
    """Final scores [runs, tasks]; every task must have the same number of runs."""
    columns = []
    for task in tasks:
        runs = table.get((algorithm, task), {})
        columns.append([steps[max(steps)] for _, steps in sorted(runs.items())])
    counts = {len(c) for c in columns}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(f"{algorithm}: every task needs the same number of runs to aggregate, got "
                         f"{dict(zip(tasks, map(len, columns)))}")
    return np.array(columns).T


def _curve(table, algorithm: str, task: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, scores [runs, 1, steps]) at the steps every run of (algorithm, task) evaluated."""
    runs = table[(algorithm, task)]
    common = sorted(set.intersection(*(set(steps) for steps in runs.values())))
    if len(common) < 2:
        return None
    scores = np.array([[steps[s] for s in common] for _, steps in sorted(runs.items())])
    return np.array(common), scores[:, None, :]


def _format_interval(point: float, interval: np.ndarray) -> str:
    return f"{point:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def build_report(table: Mapping[tuple[str, str], Any], out: str | Path, *, reps: int = 2000, seed: int = 0,
                 normalize: Mapping[str, tuple[float, float]] | None = None, plots: bool = True) -> str:
    """Writes ``report.md`` (and PNG plots) into ``out``; returns the markdown."""
    out = Path(out)
    algorithms = sorted({a for a, _ in table})
    tasks = sorted({t for _, t in table})
    lines = ["# turborl report", "", f"{len(algorithms)} algorithms, {len(tasks)} tasks; 95% stratified bootstrap "
             f"intervals ({reps} replicates, seed {seed}). Final score = each run's score at its last evaluation.", ""]
    for task in tasks:
        lines += [f"## {task}", "", "| algorithm | runs | IQM | mean |", "|---|---|---|---|"]
        present = [a for a in algorithms if (a, task) in table]
        matrices = {a: _final_matrix(table, a, [task]) for a in present}
        iqm_points, iqm_cis = get_interval_estimates(matrices, metrics.aggregate_iqm, reps=reps, random_state=seed)
        mean_points, mean_cis = get_interval_estimates(matrices, metrics.aggregate_mean, reps=reps, random_state=seed)
        for a in present:
            lines.append(f"| {a} | {matrices[a].shape[0]} | {_format_interval(iqm_points[a], iqm_cis[a][:, 0])} | "
                         f"{_format_interval(mean_points[a], mean_cis[a][:, 0])} |")
        lines.append("")
        if plots:
            curves = {a: _curve(table, a, task) for a in present}
            curves = {a: c for a, c in curves.items() if c is not None}
            if curves:
                from turborl.eval.plots import plot_sample_efficiency_curve, save_figure

                ax = None
                for a, (steps, scores) in curves.items():
                    point, ci = sample_efficiency_curves({a: scores}, reps=reps, random_state=seed)
                    ax = plot_sample_efficiency_curve(steps, point, ci, ax=ax, ylabel=f"IQM score ({task})",
                                                      colors={a: _color(algorithms, a)})
                name = f"sample_efficiency_{_slug(task)}.png"
                save_figure(ax.figure, out / name)
                lines += [f"![sample efficiency on {task}]({name})", ""]

    if normalize:
        missing = [t for t in tasks if t not in normalize]
        if missing:
            raise ValueError(f"normalize needs a range for every task; missing {missing}")
        normalized = {}
        for a in algorithms:
            raw = _final_matrix(table, a, tasks)
            low = np.array([normalize[t][0] for t in tasks])
            high = np.array([normalize[t][1] for t in tasks])
            normalized[a] = (raw - low) / (high - low)
        names = ["IQM", "Median", "Mean", "Optimality gap"]
        functions = [metrics.aggregate_iqm, metrics.aggregate_median, metrics.aggregate_mean,
                     metrics.aggregate_optimality_gap]
        points, cis = get_interval_estimates(normalized, functions, reps=reps, random_state=seed)
        lines += ["## Aggregate over tasks (normalised scores)", "", "| algorithm | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        for a in algorithms:
            lines.append(f"| {a} | " + " | ".join(_format_interval(points[a][i], cis[a][:, i])
                                                  for i in range(len(names))) + " |")
        lines.append("")
        if len(algorithms) >= 2:
            pairs = {f"{x},{y}": (normalized[x], normalized[y]) for x in algorithms for y in algorithms if x < y}
            p_points, p_cis = get_interval_estimates(pairs, metrics.probability_of_improvement, reps=reps,
                                                     random_state=seed)
            lines += ["| P(X > Y) | estimate |", "|---|---|"]
            lines += [f"| {pair.replace(',', ' > ')} | {_format_interval(p_points[pair], p_cis[pair][:, 0])} |"
                      for pair in pairs]
            lines.append("")
        if plots:
            from turborl.eval.plots import plot_interval_estimates, save_figure

            figure, _ = plot_interval_estimates(points, cis, names, algorithms)
            save_figure(figure, out / "aggregate.png")
            lines += ["![aggregate metrics](aggregate.png)", ""]
    text = "\n".join(lines)
    _atomic.write_file(out / "report.md", text.encode())
    return text


def _color(algorithms: Sequence[str], algorithm: str) -> str:
    from turborl.eval.plots import COLORBLIND_PALETTE

    return COLORBLIND_PALETTE[algorithms.index(algorithm) % len(COLORBLIND_PALETTE)]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
