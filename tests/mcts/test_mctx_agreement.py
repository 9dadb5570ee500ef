"""turborl.mcts against mctx on the same deterministic model (helpers/mcts_oracle.py): every
tree array and the action weights within 1e-5, integer arrays exactly, for MuZero and Gumbel
MuZero over batch sizes 1..8, 2..64 actions, 1..200 simulations, with and without root masks
and max_depth, one- and two-player (discount -1), and each qtransform.

The golden trees were written by mctx (tests/mcts/make_golden.py); the live tests rerun mctx
itself when it is installed.
"""

import pathlib

import numpy as np
import pytest

from helpers import mcts_oracle

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden_trees.npz"
TOLERANCE = 1e-5


def assert_same_search(ours: dict, reference: dict, case: mcts_oracle.Case) -> None:
    for field, expected in reference.items():
        actual = ours[field]
        assert actual.shape == expected.shape, f"{case.name}: {field} shape {actual.shape} != {expected.shape}"
        if field == "action":
            continue
        if expected.dtype.kind in "iub":
            mismatch = np.argwhere(actual != expected)
            assert mismatch.size == 0, (f"{case.name}: {field} differs at {mismatch[0].tolist()}: "
                                        f"{actual[tuple(mismatch[0])]} != {expected[tuple(mismatch[0])]}")
        else:
            np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE, err_msg=f"{case.name}: {field}")
    if case.policy == "gumbel":
        np.testing.assert_array_equal(ours["action"], reference["action"], err_msg=f"{case.name}: action")
    else:
        # Greedy (temperature 0): comparable where the most visited root action is unique.
        visits = reference["children_visits"][:, 0]
        unique = np.sum(visits == visits.max(axis=-1, keepdims=True), axis=-1) == 1
        np.testing.assert_array_equal(ours["action"][unique], reference["action"][unique],
                                      err_msg=f"{case.name}: action")


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("case", mcts_oracle.CASES, ids=lambda case: case.name)
def test_matches_mctx_golden_trees(case, golden):
    reference = {key.split("/", 1)[1]: value for key, value in golden.items() if key.startswith(case.name + "/")}
    assert reference, f"{case.name} is missing from {GOLDEN.name}; rerun tests/mcts/make_golden.py"
    assert_same_search(mcts_oracle.run_turborl(case), reference, case)


# mctx traces its search on every call (5-10 s here), so the live run, a canary for a changed
# mctx, takes one case: Gumbel MuZero with root masks and few considered actions, the most
# mctx-specific logic. make_golden.py runs all of them against mctx.
LIVE = [case for case in mcts_oracle.CASES if case.name == "gumbel_b6_a20_s100_considered4"]


@pytest.mark.parametrize("case", LIVE, ids=lambda case: case.name)
def test_matches_mctx_live(case):
    pytest.importorskip("jax")
    pytest.importorskip("mctx")
    assert_same_search(mcts_oracle.run_turborl(case), mcts_oracle.run_mctx(case), case)
