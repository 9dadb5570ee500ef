"""The simulation loop: C++ selects, expands and backs up; Python calls the model once per
simulation with the whole batch and moves embeddings by index.

Everything here that touches the user's data checks it first, so that a mistake in a model
raises an exception that names the output and the simulation, never a crash in C++.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import numpy as np

from turborl import _checks
from turborl import _core
from turborl.mcts import qtransforms as qt
from turborl.mcts.base import RecurrentFnOutput, RootFnOutput
from turborl.mcts.tree import GumbelMuZeroExtraData, Tree

MUZERO, GUMBEL_MUZERO = 0, 1
_MIN_LOGIT = np.finfo(np.float32).min


# ---- arrays and embeddings ------------------------------------------------------------------------

_is_torch = _checks.is_torch
_numpy = _checks.from_torch  # models may return torch tensors


def _ready(value: Any, dtype: Any, shape: tuple) -> bool:
    """Whether ``value`` already is a contiguous NumPy array of ``dtype`` and ``shape``: the
    model's outputs usually are, and then need no conversion in the simulation loop."""
    return (type(value) is np.ndarray and value.dtype == dtype and value.shape == shape
            and value.flags.c_contiguous)


def _float_array(name: str, value: Any, shape: tuple) -> np.ndarray:
    array = _checks.finite_array(name, _numpy(value), np.float32)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return array


def _mask_array(name: str, value: Any, shape: tuple) -> np.ndarray:
    """An invalid-action mask: bool, or integers 0/1."""
    array = np.asarray(_numpy(value))
    if array.dtype != np.bool_:
        if array.dtype.kind not in "iu":
            raise TypeError(f"{name} must be a bool (or 0/1 integer) mask, got dtype {array.dtype}")
        if array.size and not np.all((array == 0) | (array == 1)):
            raise ValueError(f"{name} must hold only 0 and 1, got {array.ravel()[~np.isin(array.ravel(), (0, 1))][0]}")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return np.ascontiguousarray(array, dtype=np.bool_)


def _leaves(tree: Any) -> list:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _tree_map(fn: Callable, tree: Any, *others: Any) -> Any:
    """fn over the leaves of a tuple/list/dict structure (the embeddings' pytree)."""
    if isinstance(tree, dict):
        return {key: _tree_map(fn, tree[key], *(o[key] for o in others)) for key in tree}
    if isinstance(tree, (list, tuple)):
        mapped = [_tree_map(fn, item, *(o[i] for o in others)) for i, item in enumerate(tree)]
        return type(tree)(*mapped) if hasattr(tree, "_fields") else type(tree)(mapped)
    return fn(tree, *others)


def _check_embedding(name: str, embedding: Any, batch_size: int, like: Any = None) -> None:
    leaves = _leaves(embedding)
    reference = _leaves(like) if like is not None else None
    if reference is not None and len(leaves) != len(reference):
        raise ValueError(f"{name} must have the structure of the root embedding "
                         f"({len(reference)} arrays), got {len(leaves)} arrays")
    for i, leaf in enumerate(leaves):
        if not (isinstance(leaf, np.ndarray) or _is_torch(leaf)):
            raise TypeError(f"{name} must hold NumPy arrays or torch tensors, got {type(leaf).__name__}")
        if leaf.ndim < 1 or leaf.shape[0] != batch_size:
            raise ValueError(f"{name} must have batch size {batch_size} in its first dimension, "
                             f"got shape {tuple(leaf.shape)}")
        if reference is not None and tuple(leaf.shape) != tuple(reference[i].shape):
            raise ValueError(f"{name} must have the root embedding's shape {tuple(reference[i].shape)}, "
                             f"got {tuple(leaf.shape)}")


def _index_for(leaf: Any, index: np.ndarray) -> Any:
    if _is_torch(leaf):
        import torch

        return torch.as_tensor(index, dtype=torch.long, device=leaf.device)
    return index


def _allocate(leaf: Any, num_nodes: int) -> Any:
    shape = (leaf.shape[0], num_nodes) + tuple(leaf.shape[1:])
    return leaf.new_zeros(shape) if _is_torch(leaf) else np.zeros(shape, dtype=leaf.dtype)


def _slots(leaf: Any) -> Any:
    """A [B, N, ...] storage leaf as a [B * N, ...] view, indexed by the flat node slots that
    the C++ search returns (b * N + node): one index instead of a (rows, nodes) pair halves the
    cost of NumPy's fancy indexing."""
    return leaf.reshape((-1,) + tuple(leaf.shape[2:]))


def _store(slots: Any, index: np.ndarray, values: Any) -> None:
    def put(leaf, value):
        leaf[_index_for(leaf, index)] = value
    _tree_map(put, slots, values)


def _gather(slots: Any, index: np.ndarray) -> Any:
    return _tree_map(lambda leaf: leaf[_index_for(leaf, index)], slots)


def _model_output(name: str, value: Any, shape: tuple, simulation: int) -> np.ndarray:
    """A float32 output of recurrent_fn. An output that already is a contiguous float32 array
    of the right shape passes as is: C++ checks that it is finite (one pass over all four
    outputs instead of four NumPy reductions); anything else is converted and checked here."""
    if _ready(value, np.float32, shape):
        return value
    return _float_array(f"{name} (returned by recurrent_fn at simulation {simulation})", value, shape)


def gather_nodes(storage: Any, take: tuple, used: np.ndarray) -> Any:
    """storage[rows, nodes] for each leaf, with the unused slots (~used) zeroed."""
    def gather(leaf):
        rows, nodes = take
        out = leaf[_index_for(leaf, np.broadcast_to(rows, nodes.shape)), _index_for(leaf, nodes)]
        unused = ~used
        if _is_torch(leaf):
            import torch

            out[torch.as_tensor(unused, device=out.device)] = 0
        else:
            out[unused] = 0
        return out
    return _tree_map(gather, storage)


# ---- arguments -------------------------------------------------------------------------------------

def generator(rng_key: Any) -> np.random.Generator:
    """The Generator behind ``rng_key``: an int seed or a Generator (used as is)."""
    if isinstance(rng_key, np.random.Generator):
        return rng_key
    return np.random.default_rng(_checks.seed("rng_key", rng_key))


def qtransform_spec(qtransform: Any) -> dict:
    """The C++ code and parameters of a qtransform from turborl.mcts (or a functools.partial of
    one with keyword arguments)."""
    function, keywords = qtransform, {}
    if isinstance(qtransform, functools.partial):
        if qtransform.args:
            raise TypeError("qtransform must take its parameters as keywords, got positional arguments "
                            f"{qtransform.args!r}")
        function, keywords = qtransform.func, dict(qtransform.keywords)
    if function not in qt.KINDS:
        raise TypeError("qtransform must be one of turborl.mcts's qtransforms (or functools.partial of one), "
                        f"got {qtransform!r}")
    defaults = {"min_value": 0.0, "max_value": 1.0, "epsilon": 1e-8, "value_scale": 0.1, "maxvisit_init": 50.0,
                "rescale_values": True, "use_mixed_value": True}
    allowed = {
        qt.qtransform_by_min_max: {"min_value", "max_value"},
        qt.qtransform_by_parent_and_siblings: {"epsilon"},
        qt.qtransform_completed_by_mix_value: {"value_scale", "maxvisit_init", "rescale_values", "use_mixed_value",
                                               "epsilon"},
    }[function]
    unknown = set(keywords) - allowed
    if unknown:
        raise TypeError(f"{function.__name__} has no parameter {sorted(unknown)[0]!r}; its parameters are: "
                        f"{', '.join(sorted(allowed))}")
    if function is qt.qtransform_by_min_max and not {"min_value", "max_value"} <= set(keywords):
        raise TypeError("qtransform_by_min_max needs min_value and max_value (use functools.partial)")
    spec = dict(defaults)
    for key, value in keywords.items():
        if key in ("rescale_values", "use_mixed_value"):
            spec[key] = bool(value)
        else:
            spec[key] = _checks.finite_float(key, value)
    if function is qt.qtransform_by_min_max and spec["max_value"] <= spec["min_value"]:
        raise ValueError(f"max_value must be > min_value, got {spec['max_value']} <= {spec['min_value']}")
    spec["qtransform_kind"] = qt.KINDS[function]
    return spec


def mask_invalid_actions(logits: np.ndarray, invalid_actions: Optional[np.ndarray]) -> np.ndarray:
    """mctx's _mask_invalid_actions: logits shifted to max 0, invalid ones set to the lowest
    finite float (not -inf, so that a softmax over a fully masked row stays finite)."""
    if invalid_actions is None:
        return logits
    logits = logits - np.max(logits, axis=-1, keepdims=True)
    return np.where(invalid_actions, _MIN_LOGIT, logits).astype(np.float32)


def check_root(root: Any, invalid_actions: Any):
    """(prior_logits, value, invalid mask or None) of a checked root."""
    if not isinstance(root, RootFnOutput):
        raise TypeError(f"root must be a turborl.mcts.RootFnOutput, got {type(root).__name__}")
    logits = _checks.finite_array("root.prior_logits", _numpy(root.prior_logits), np.float32)
    if logits.ndim != 2 or logits.shape[1] < 1 or logits.shape[0] < 1:
        raise ValueError(f"root.prior_logits must have shape (B, A) with B, A >= 1, got {logits.shape}")
    batch_size, num_actions = logits.shape
    value = _float_array("root.value", root.value, (batch_size,))
    _check_embedding("root.embedding", root.embedding, batch_size)
    mask = None
    if invalid_actions is not None:
        mask = _mask_array("invalid_actions", invalid_actions, (batch_size, num_actions))
        full = np.flatnonzero(np.all(mask, axis=-1))
        if full.size:
            raise ValueError(f"invalid_actions[{full[0]}] marks all {num_actions} actions invalid at the root; "
                             "a search needs at least one valid action")
    return logits, value, mask


# The arrays that the C++ search stores (Search.arrays()), by mctx's names.
_CORE_FIELDS = ("node_visits", "raw_values", "node_values", "parents", "action_from_parent", "children_index",
                "children_prior_logits", "children_visits", "children_rewards", "children_discounts",
                "children_values", "invalid_actions")


def _reused_nodes(search_tree: Optional[Tree], batch_size: int, num_actions: int, embedding: Any):
    """[B] int32 node counts of a tree to continue from (0 where it is empty), or None."""
    if search_tree is None:
        return None
    if not isinstance(search_tree, Tree):
        raise TypeError(f"search_tree must be a turborl.mcts.Tree (from Tree.subtree), got "
                        f"{type(search_tree).__name__}")
    shape = search_tree.children_index.shape
    if shape[0] != batch_size or shape[2] != num_actions:
        raise ValueError(f"search_tree must have batch size {batch_size} and {num_actions} actions, got "
                         f"{shape[0]} and {shape[2]}")
    num_nodes = search_tree.node_visits.shape[1] if search_tree.node_visits.ndim == 2 else -1
    for field in _CORE_FIELDS:
        expected = (batch_size, num_nodes) + ((num_actions,) if field.startswith("children_") or
                                              field == "invalid_actions" else ())
        if np.shape(getattr(search_tree, field)) != expected:
            raise ValueError(f"search_tree.{field} must have shape {expected}, got "
                             f"{np.shape(getattr(search_tree, field))}")
    _check_embedding("search_tree.embeddings", _tree_map(lambda leaf: leaf[:, 0], search_tree.embeddings),
                     batch_size, like=embedding)
    return np.ascontiguousarray(np.sum(search_tree.node_visits > 0, axis=1), dtype=np.int32)


# ---- the loop ----------------------------------------------------------------------------------------

def run_search(*, params: Any, rng: np.random.Generator, root: RootFnOutput, root_logits: np.ndarray,
               root_value: np.ndarray, root_invalid: Optional[np.ndarray], recurrent_fn: Callable,
               num_simulations: Any, max_depth: Any, algorithm: int, qtransform: Any, pb_c_init: float = 1.25,
               pb_c_base: float = 19652.0, max_num_considered_actions: int = 16,
               root_gumbel: Optional[np.ndarray] = None, num_threads: Any = 1,
               search_tree: Optional[Tree] = None) -> Tree:
    """Runs the simulations and returns the Tree; the root logits are already masked (and
    noised) by the policy. With `search_tree` (a Tree.subtree), its nodes are kept and the new
    simulations add nodes after them."""
    if not callable(recurrent_fn):
        raise TypeError(f"recurrent_fn must be callable, got {type(recurrent_fn).__name__}")
    num_simulations = _checks.int_at_least("num_simulations", num_simulations, 1)
    max_depth = None if max_depth is None else _checks.int_at_least("max_depth", max_depth, 1)
    num_threads = _checks.num_threads(num_threads)
    spec = qtransform_spec(qtransform)
    batch_size, num_actions = root_logits.shape
    mask = np.zeros((batch_size, num_actions), dtype=np.bool_) if root_invalid is None else root_invalid

    reused = _reused_nodes(search_tree, batch_size, num_actions, root.embedding)
    kept = search_tree.node_visits.shape[1] if reused is not None else 1  # nodes before the first simulation
    num_nodes = kept + num_simulations
    if max_depth is None:
        # No limit: mctx's default num_simulations is as deep as a fresh tree can grow; a kept
        # subtree may already be deeper.
        max_depth = num_nodes - 1
    search = _core.MctsSearch(
        batch_size=batch_size, num_actions=num_actions, algorithm=algorithm, num_simulations=num_simulations,
        max_depth=max_depth, seed=int(rng.integers(0, 2**64, dtype=np.uint64)), pb_c_init=pb_c_init,
        pb_c_base=pb_c_base, max_num_considered_actions=max_num_considered_actions, root_gumbel=root_gumbel,
        num_threads=num_threads, num_nodes=num_nodes, **spec)
    rows = np.arange(batch_size)
    embeddings = _tree_map(lambda leaf: _allocate(leaf, num_nodes), root.embedding)
    slots = _tree_map(_slots, embeddings)
    fresh = rows
    if reused is not None:
        storage = search.arrays()
        for field in _CORE_FIELDS:
            storage[field][:, :kept] = getattr(search_tree, field)
        _tree_map(lambda leaf, old: leaf.__setitem__((slice(None), slice(0, kept)), old), embeddings,
                  search_tree.embeddings)
        fresh = rows[reused == 0]
    # C++ checks the reused structure before anything reads it.
    search.init_root(np.ascontiguousarray(root_logits, dtype=np.float32), root_value, mask,
                     reused_nodes=reused)
    _store(slots, fresh * num_nodes, _tree_map(lambda leaf: leaf[_index_for(leaf, fresh)], root.embedding))
    # One Generator for the model across the search: it is consumed as the model draws from it.
    model_rng = np.random.default_rng(int(rng.integers(0, 2**63)))
    batch_shape, logits_shape = (batch_size,), (batch_size, num_actions)
    action, parent_slot, next_slot = search.select()
    for simulation in range(num_simulations):
        result = recurrent_fn(params, model_rng, action, _gather(slots, parent_slot))
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], RecurrentFnOutput)):
            got = (f"({', '.join(type(item).__name__ for item in result)})" if isinstance(result, tuple)
                   else type(result).__name__)
            raise TypeError(f"recurrent_fn must return (RecurrentFnOutput, embedding), got {got} "
                            f"at simulation {simulation}")
        output, embedding = result
        invalid = output.invalid_actions
        if invalid is not None and not _ready(invalid, np.bool_, logits_shape):
            invalid = _mask_array(f"invalid_actions (returned by recurrent_fn at simulation {simulation})", invalid,
                                  logits_shape)
        _check_embedding(f"embedding (returned by recurrent_fn at simulation {simulation})", embedding, batch_size,
                         like=root.embedding)
        # C++ masks the logits with `invalid` (as mask_invalid_actions) and checks finiteness. Each
        # simulation but the last also selects the next one's edges in the same call.
        record = (search.expand_and_backup if simulation + 1 == num_simulations
                  else search.expand_and_backup_then_select)
        selected = record(
            reward=_model_output("reward", output.reward, batch_shape, simulation),
            discount=_model_output("discount", output.discount, batch_shape, simulation),
            prior_logits=_model_output("prior_logits", output.prior_logits, logits_shape, simulation),
            value=_model_output("value", output.value, batch_shape, simulation),
            invalid_actions=invalid)
        _store(slots, next_slot, embedding)
        if selected is not None:
            action, parent_slot, next_slot = selected

    arrays = search.arrays()
    for array in arrays.values():
        array.flags.writeable = False
    node_invalid = arrays.pop("invalid_actions").view(np.bool_)
    return Tree(embeddings=embeddings, root_invalid_actions=node_invalid[:, 0], invalid_actions=node_invalid,
                extra_data=None if root_gumbel is None else GumbelMuZeroExtraData(root_gumbel=root_gumbel), **arrays)
