"""Figures for evaluation results, with rliable's function names (``rliable/plot_utils.py``).

Figures are built with matplotlib's object interface (no pyplot state, no display needed) in the
Okabe-Ito colour-blind-safe palette. ``save_figure`` writes PNG or PDF atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "COLORBLIND_PALETTE",
    "plot_adastop",
    "plot_interval_estimates",
    "plot_performance_profiles",
    "plot_probability_of_improvement",
    "plot_sample_efficiency_curve",
    "save_figure",
]

# Okabe & Ito, "Color Universal Design" (2008): distinguishable under every common colour blindness.
COLORBLIND_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _figure(figsize: tuple[float, float]):
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("turborl.eval.plots needs matplotlib: pip install matplotlib") from error
    return Figure(figsize=figsize, layout="constrained")


def _colors(names: Sequence[str], colors: Mapping[str, Any] | None) -> dict[str, Any]:
    palette = {name: COLORBLIND_PALETTE[i % len(COLORBLIND_PALETTE)] for i, name in enumerate(names)}
    palette.update(colors or {})
    return palette


def _axis(ax: Any, figsize: tuple[float, float]):
    if ax is not None:
        return ax.figure, ax
    figure = _figure(figsize)
    return figure, figure.add_subplot()


def save_figure(figure: Any, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Saves a figure (format from the suffix: .png, .pdf, .svg) through a temporary file and a
    rename, so a crash never leaves half a file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".pdf", ".svg"):
        raise ValueError(f"path must end in .png, .pdf or .svg, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            figure.savefig(out, format=suffix[1:], dpi=dpi)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def plot_interval_estimates(point_estimates: Mapping[str, Any], interval_estimates: Mapping[str, np.ndarray],
                            metric_names: Sequence[str], algorithms: Sequence[str] | None = None,
                            colors: Mapping[str, Any] | None = None, subfigure_width: float = 3.4,
                            row_height: float = 0.37, xlabel: str = "Normalized score"):
    """One panel per metric: each algorithm's point estimate and interval as a bar.

    ``point_estimates[algorithm]`` holds one value per metric and ``interval_estimates[algorithm]``
    shape (2, num_metrics), as ``get_interval_estimates`` returns with a list of metrics.
    """
    algorithms = list(algorithms or point_estimates)
    palette = _colors(algorithms, colors)
    figure = _figure((subfigure_width * len(metric_names), row_height * len(algorithms) + 1.0))
    axes = figure.subplots(1, len(metric_names), squeeze=False)[0]
    for m, (ax, metric) in enumerate(zip(axes, metric_names)):
        for position, algorithm in enumerate(algorithms):
            lower, upper = np.asarray(interval_estimates[algorithm])[:, m]
            point = np.atleast_1d(point_estimates[algorithm])[m]
            ax.barh(position, upper - lower, left=lower, height=0.6, color=palette[algorithm], alpha=0.75)
            ax.vlines(point, position - 0.3, position + 0.3, color="black", linewidth=1.2)
        ax.set_yticks(range(len(algorithms)), algorithms if m == 0 else [""] * len(algorithms))
        ax.set_title(metric)
        ax.grid(axis="x", alpha=0.3)
    figure.supxlabel(xlabel)
    return figure, axes


def plot_performance_profiles(performance_profiles: Mapping[str, np.ndarray], tau_list: Sequence[float],
                              performance_profile_cis: Mapping[str, np.ndarray] | None = None, ax: Any = None,
                              colors: Mapping[str, Any] | None = None, alpha: float = 0.15,
                              figsize: tuple[float, float] = (7, 4.5),
                              xlabel: str = r"Normalized score ($\tau$)", ylabel: str = r"Fraction of runs with score $> \tau$"):
    """Each algorithm's profile against tau, with its confidence band."""
    figure, ax = _axis(ax, figsize)
    palette = _colors(list(performance_profiles), colors)
    for algorithm, profile in performance_profiles.items():
        ax.plot(tau_list, profile, color=palette[algorithm], linewidth=2, label=algorithm)
        if performance_profile_cis is not None and algorithm in performance_profile_cis:
            lower, upper = performance_profile_cis[algorithm]
            ax.fill_between(tau_list, lower, upper, color=palette[algorithm], alpha=alpha)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def plot_sample_efficiency_curve(frames: Sequence[float], point_estimates: Mapping[str, np.ndarray],
                                 interval_estimates: Mapping[str, np.ndarray], algorithms: Sequence[str] | None = None,
                                 ax: Any = None, colors: Mapping[str, Any] | None = None,
                                 figsize: tuple[float, float] = (7, 4.5), xlabel: str = "Environment steps",
                                 ylabel: str = "IQM score"):
    """A metric against training progress, with confidence bands (``sample_efficiency_curves``)."""
    algorithms = list(algorithms or point_estimates)
    figure, ax = _axis(ax, figsize)
    palette = _colors(algorithms, colors)
    for algorithm in algorithms:
        ax.plot(frames, point_estimates[algorithm], color=palette[algorithm], linewidth=2, label=algorithm,
                marker="o", markersize=3)
        lower, upper = interval_estimates[algorithm]
        ax.fill_between(frames, lower, upper, color=palette[algorithm], alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def plot_probability_of_improvement(probability_estimates: Mapping[str, float],
                                    probability_interval_estimates: Mapping[str, np.ndarray], pair_separator: str = ",",
                                    ax: Any = None, figsize: tuple[float, float] = (5, 3),
                                    colors: Mapping[str, Any] | None = None,
                                    xlabel: str = "P(X > Y)"):
    """One bar per pair "X,Y": the probability that X improves on Y, with its interval."""
    pairs = list(probability_estimates)
    figure, ax = _axis(ax, (figsize[0], max(figsize[1], 0.5 * len(pairs) + 1)))
    first = [pair.split(pair_separator)[0].strip() for pair in pairs]
    palette = _colors(list(dict.fromkeys(first)), colors)
    for position, (pair, x) in enumerate(zip(pairs, first)):
        lower, upper = np.asarray(probability_interval_estimates[pair]).ravel()[:2]
        ax.barh(position, upper - lower, left=lower, height=0.6, color=palette[x], alpha=0.75)
        ax.vlines(float(np.atleast_1d(probability_estimates[pair])[0]), position - 0.3, position + 0.3, color="black")
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(pairs)), [pair.replace(pair_separator, " vs ") for pair in pairs])
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_adastop(comparator: Any, agent_names: Sequence[str] | None = None, axes: Any = None):
    """AdaStop's results: the decision of every comparison (top) and each agent's evaluations
    (bottom), as adastop's plot_results shows them."""
    names = list(agent_names or comparator.agent_names)
    if axes is None:
        figure = _figure((6, 5))
        axes = figure.subplots(2, 1, gridspec_kw={"height_ratios": [1, 2]})
    top, bottom = axes
    symbols = {"larger": ">", "smaller": "<", "equal": "=", "continue": "?"}
    shades = {"larger": "#009E73", "smaller": "#D55E00", "equal": "#BBBBBB", "continue": "#FFFFFF"}
    grid = np.full((len(names), len(names)), "", dtype=object)
    for key, decision in comparator.decisions.items():
        i, j = map(int, key.strip("[]").split())
        grid[i, j] = decision
    for i in range(len(names)):
        for j in range(len(names)):
            decision = grid[i, j]
            if decision:
                top.add_patch(_rectangle(j, i, shades[decision]))
                top.text(j + 0.5, i + 0.5, symbols[decision], ha="center", va="center")
    top.set_xlim(0, len(names))
    top.set_ylim(len(names), 0)
    top.set_xticks(np.arange(len(names)) + 0.5, names)
    top.set_yticks(np.arange(len(names)) + 0.5, names)
    top.set_title("row vs column: > larger, < smaller, = equal")
    palette = _colors(names, None)
    values = [np.asarray(comparator.eval_values[name]) for name in names]
    parts = bottom.boxplot(values, patch_artist=True)
    for patch, name in zip(parts["boxes"], names):
        patch.set_facecolor(palette[name])
        patch.set_alpha(0.6)
    bottom.set_xticks(range(1, len(names) + 1), [f"{name}\n(n={len(v)})" for name, v in zip(names, values)])
    bottom.set_ylabel("evaluation score")
    return axes


def _rectangle(x: float, y: float, color: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1, 1, facecolor=color, edgecolor="white")
