"""Writes golden_trees.npz: mctx's search trees for the cases of helpers/mcts_oracle.py, so that
the test suite checks agreement with mctx without JAX installed.

    .venv/bin/python -m pip install mctx jax      # the CPU build
    .venv/bin/python tests/mcts/make_golden.py    # rewrites tests/mcts/golden_trees.npz

Keys are "<case name>/<field>"; "meta/versions" records the mctx and jax versions used.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers import mcts_oracle  # noqa: E402

GOLDEN = HERE / "golden_trees.npz"


def main() -> None:
    import jax
    import mctx

    arrays = {"meta/versions": np.array([f"mctx {mctx.__version__}", f"jax {jax.__version__}"])}
    for case in mcts_oracle.CASES:
        for field, value in mcts_oracle.run_mctx(case).items():
            arrays[f"{case.name}/{field}"] = value
        print(f"{case.name}: done", flush=True)
    tmp = GOLDEN.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(GOLDEN)
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
