"""turborl compare (AdaStop CLI) and turborl report, run as a user runs them."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from turborl.cli import main
from turborl.eval.adastop import MultipleAgentsComparator
from turborl.eval.commands import STATE_FILE


def write_group(path, evaluations):
    names = list(evaluations)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([""] + names)
        for r in range(len(evaluations[names[0]])):
            writer.writerow([r] + [repr(float(evaluations[name][r])) for name in names])


def test_compare_runs_interims_like_the_comparator(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = {"ppo": rng.normal(0, 1, 25), "dqn": rng.normal(0.5, 1, 25), "sac": rng.normal(5, 1, 25)}
    reference = MultipleAgentsComparator(n=5, K=5, B=2000, alpha=0.05, seed=3)
    for k in range(5):
        group = tmp_path / "group.csv"
        write_group(group, {name: values[5 * k:5 * (k + 1)] for name, values in data.items()})
        assert main(["compare", str(group), "-N", "5", "-K", "5", "-B", "2000", "--seed", "3"]) == 0
        out = capsys.readouterr().out
        reference.partial_compare({name: values[: 5 * (k + 1)] for name, values in data.items()})
        state = json.loads((tmp_path / STATE_FILE).read_text())
        assert state["decisions"] == reference.decisions
        if reference.is_finished:
            assert "Test is finished" in out and "| ppo vs sac |" in out
            break
    assert main(["compare", "--status", str(tmp_path)]) == 0
    assert "ppo vs sac: smaller" in capsys.readouterr().out
    assert main(["compare", "--plot", str(tmp_path / "adastop.png"), str(tmp_path)]) == 0
    assert (tmp_path / "adastop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["compare", "--reset", str(tmp_path)]) == 0
    assert not (tmp_path / STATE_FILE).exists()


def test_compare_reports_bad_input_and_keeps_a_damaged_state(tmp_path, capsys):
    group = tmp_path / "group.csv"
    write_group(group, {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]})
    assert main(["compare", str(group), "-N", "5"]) == 2
    assert "holds 3 rows of scores, expected N = 5" in capsys.readouterr().err
    group.write_text(",a,b\n0,1.0,x\n1,2,3\n")
    assert main(["compare", str(group), "-N", "2"]) == 2
    assert "line 2, column 'b': 'x' is not a number" in capsys.readouterr().err
    (tmp_path / STATE_FILE).write_text("{broken")
    write_group(group, {"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert main(["compare", str(group), "-N", "2"]) == 2
    assert "is damaged" in capsys.readouterr().err
    assert (tmp_path / STATE_FILE).read_text() == "{broken"  # reported, not silently reset


def write_scores(path, algorithm, task, runs, final_mean, steps=(1000, 2000, 3000)):
    rng = np.random.default_rng(hash((algorithm, task)) % 2**32)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["algorithm", "task", "run", "step", "score"])
        for run in range(runs):
            for i, step in enumerate(steps):
                writer.writerow([algorithm, task, run, step, final_mean * (i + 1) / len(steps) + rng.normal(0, 1)])


def test_report_writes_tables_and_plots(tmp_path):
    files = []
    for algorithm, means in (("ppo", (450, -90)), ("dqn", (300, -120))):
        for task, mean in zip(("CartPole-v1", "Acrobot-v1"), means):
            files.append(tmp_path / f"{algorithm}_{task}.csv")
            write_scores(files[-1], algorithm, task, 5, mean)
    out = tmp_path / "report"
    code = main(["report", *map(str, files), "--out", str(out), "--reps", "300",
                 "--normalize", "CartPole-v1=0:500", "--normalize", "Acrobot-v1=-500:0"])
    assert code == 0
    text = (out / "report.md").read_text()
    assert "## CartPole-v1" in text and "| ppo | 5 |" in text and "Aggregate over tasks" in text
    assert "ppo > dqn" in text or "dqn > ppo" in text
    assert (out / "aggregate.png").exists() and (out / "sample_efficiency_CartPole-v1.png").exists()


def test_report_refuses_malformed_score_files(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("algorithm,task,run,step,score\nppo,CartPole-v1,0,100,nan\n")
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "line 2: score 'nan' is not finite" in capsys.readouterr().err
    bad.write_text("algo,task,score\n")
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "missing ['algorithm', 'run', 'step']" in capsys.readouterr().err


def test_python_dash_m_turborl_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "turborl", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "compare" in result.stdout and "report" in result.stdout
