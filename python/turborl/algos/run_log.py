"""What a training run reports: a progress bar, metrics.csv (and TensorBoard), scores.csv for
``turborl report`` and a learning_curve.png at the end."""

from __future__ import annotations

import collections
import csv
import io
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from turborl import _atomic
from turborl.eval.report import SCORE_COLUMNS

__all__ = ["RunLog"]


class RunLog:
    def __init__(self, out_dir: Path | None, algorithm: str, task: str, run: int, total_timesteps: int,
                 progress: bool = True, tensorboard: bool = False) -> None:
        self.out_dir, self.algorithm, self.task, self.run = out_dir, algorithm, task, run
        self.scores: list[tuple[int, float, float]] = []  # (step, mean return, seconds since start)
        self._start = time.perf_counter()
        self._recent_returns: collections.deque[float] = collections.deque(maxlen=100)
        self._recent_mean: float | None = None  # cached: every iteration logs it, few end episodes
        self._metrics_rows: list[dict[str, Any]] = []
        self._metrics_file: Any = None
        self._writer: Any = None
        self._bar: Any = None
        self._last_time, self._last_step = time.perf_counter(), 0
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(total=total_timesteps, unit="step", unit_scale=True, dynamic_ncols=True,
                             desc=f"{algorithm} {task} seed {run}")
        if tensorboard and out_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise ImportError("--tensorboard needs the tensorboard package: pip install tensorboard") from error
            self._writer = SummaryWriter(str(out_dir / "tensorboard"))

    # ---- during training ---------------------------------------------------------------------

    def episodes(self, info: dict[str, Any]) -> None:
        """Records the returns of episodes that ended (Gymnasium's ``info["episode"]``)."""
        if "episode" in info:
            ended = info["_episode"]
            self.episode_returns(np.asarray(info["episode"]["r"])[ended])

    def episode_returns(self, returns: np.ndarray) -> None:
        """Records the returns of episodes that ended, in the order they ended."""
        if len(returns):
            self._recent_returns.extend(returns.tolist())
            self._recent_mean = None

    @property
    def recent_returns(self) -> tuple[float, ...]:
        """The returns of the last 100 episodes that ended, oldest first."""
        return tuple(self._recent_returns)

    def step(self, global_step: int) -> None:
        if self._bar is not None:
            self._bar.update(global_step - self._bar.n)
            now = time.perf_counter()
            if now - self._last_time > 0.5:
                rate = (global_step - self._last_step) / (now - self._last_time)
                self._bar.set_postfix(steps_per_s=f"{rate:,.0f}", recent_return=f"{self.mean_recent_return():.1f}",
                                      refresh=False)
                self._last_time, self._last_step = now, global_step

    def mean_recent_return(self) -> float:
        if self._recent_mean is None:
            self._recent_mean = float(np.mean(self._recent_returns)) if self._recent_returns else math.nan
        return self._recent_mean

    def metrics(self, global_step: int, values: dict[str, float]) -> None:
        row = {"step": global_step, **{k: float(v) for k, v in values.items()}}
        self._metrics_rows.append(row)
        if self.out_dir is not None:
            if self._metrics_file is None:
                self._metrics_file = open(self.out_dir / "metrics.csv", "w", newline="")
                self._metrics_csv = csv.DictWriter(self._metrics_file, fieldnames=list(row))
                self._metrics_csv.writeheader()
                for earlier in self._metrics_rows[:-1]:
                    self._metrics_csv.writerow(earlier)
            self._metrics_csv.writerow(row)
            self._metrics_file.flush()
        if self._writer is not None:
            for key, value in values.items():
                self._writer.add_scalar(key, value, global_step)

    def score(self, global_step: int, mean_return: float) -> None:
        """One evaluation point; scores.csv is rewritten atomically so it is always complete."""
        self.scores.append((global_step, float(mean_return), round(time.perf_counter() - self._start, 3)))
        if self._writer is not None:
            self._writer.add_scalar("eval/mean_return", mean_return, global_step)
        if self.out_dir is not None:
            _atomic.write_file(self.out_dir / "scores.csv", self._scores_csv().encode())

    def _scores_csv(self) -> str:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([*SCORE_COLUMNS, "seconds"])  # wall-clock since the run started (resumes add on)
        for step, score, seconds in self.scores:
            writer.writerow([self.algorithm, self.task, self.run, step, repr(score), seconds])
        return text.getvalue()

    # ---- end and resume ------------------------------------------------------------------------

    def finish(self, plot: bool = True) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._metrics_file is not None:
            self._metrics_file.close()
        if self._writer is not None:
            self._writer.close()
        if plot and self.out_dir is not None and self.scores:
            self._plot()

    def _plot(self) -> None:
        from turborl.eval.plots import plot_sample_efficiency_curve, save_figure

        steps, scores = (np.array(column) for column in list(zip(*self.scores))[:2])
        name = f"{self.algorithm}, seed {self.run}"
        ax = plot_sample_efficiency_curve(steps, {name: scores}, {name: np.stack([scores, scores])},
                                          ylabel=f"mean evaluation return ({self.task})")
        save_figure(ax.figure, self.out_dir / "learning_curve.png")

    def state_dict(self) -> dict[str, Any]:
        return {"scores": list(self.scores), "recent_returns": list(self._recent_returns),
                "metrics_rows": list(self._metrics_rows)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scores = [(int(s), float(v), float(t)) for s, v, t in state["scores"]]
        self._start = time.perf_counter() - (self.scores[-1][2] if self.scores else 0.0)
        self._recent_returns.clear()
        self._recent_returns.extend(state["recent_returns"])
        self._recent_mean = None
        self._metrics_rows = list(state["metrics_rows"])
        if self.out_dir is not None and self.scores:
            _atomic.write_file(self.out_dir / "scores.csv", self._scores_csv().encode())
