"""turborl.mcts's qtransforms (NumPy, batched) against mctx's own on the same trees."""

import functools

import numpy as np
import pytest

import turborl.mcts as tm
from helpers.mcts_oracle import TREE_FIELDS, LinearModel

TRANSFORMS = {
    "parent_and_siblings": {},
    "min_max": {"min_value": -3.0, "max_value": 2.0},
    "mix_value": {},
    "mix_value_raw_unscaled": {"use_mixed_value": False, "rescale_values": False, "value_scale": 0.3,
                               "maxvisit_init": 7.0},
}


def qtransform(module, name):
    function = {"parent_and_siblings": module.qtransform_by_parent_and_siblings,
                "min_max": module.qtransform_by_min_max}.get(name, module.qtransform_completed_by_mix_value)
    return functools.partial(function, **TRANSFORMS[name])


@pytest.mark.parametrize("name", TRANSFORMS)
def test_qtransforms_match_mctx(name):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    mctx = pytest.importorskip("mctx")

    batch_size, num_actions = 3, 6
    model = LinearModel(num_actions, 4, -1.0)
    logits, value, embedding = model.root(batch_size, 4)

    def recurrent_fn(params, rng, action, embedding):
        reward, discount, prior_logits, value, next_embedding = model.step(action, embedding)
        return tm.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits,
                                    value=value), next_embedding

    tree = tm.muzero_policy(None, 0, tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding),
                            recurrent_fn, 30).search_tree
    reference_tree = mctx.Tree(**{field: jnp.asarray(getattr(tree, field)) for field in TREE_FIELDS},
                               embeddings=jnp.asarray(tree.embeddings), extra_data=None)
    reference = jax.vmap(qtransform(mctx, name), in_axes=[0, 0])
    for node in (0, 1, 5, 17, 30):
        index = np.full(batch_size, node)
        np.testing.assert_allclose(qtransform(tm, name)(tree, index), np.asarray(reference(reference_tree, index)),
                                   rtol=1e-5, atol=1e-5, err_msg=f"node {node}")
