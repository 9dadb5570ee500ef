"""The native small-network engine seen from torch: flat parameter buffers, MLP layouts, and an
Adam whose state is torch's.

In RL on state observations the networks are tiny and torch's per-operator overhead, not the
arithmetic, dominates each update (RLtools, "Learning to Fly in Seconds", Eschmann et al., 2024,
makes the same observation and fuses the whole loop in C++). turborl's engine
(``cpp/include/turborl/nn``) runs forward, backward and the optimiser for a whole update in one
call. It works on a flat float32 buffer that torch also sees: :func:`flatten_parameters` moves a
module's parameters into one buffer and makes each parameter a view of it, so the module, its
``state_dict``, ``policy.pt`` and ``turborl.load_policy`` are exactly those of the torch backend.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence, Union

import numpy as np
import torch
from torch import nn

from turborl import _core

__all__ = ["FlatAdam", "MlpLayout", "NATIVE_ACTIVATIONS", "flatten_parameters", "linear_parameters", "mlp_layout",
           "resolve_backend", "views_like"]

BACKENDS = ("auto", "native", "torch")
NATIVE_ACTIVATIONS = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Identity: "identity"}


def resolve_backend(backend: str, unsupported_reason: str | None) -> str:
    """"native" or "torch" for a requested ``backend``; ``unsupported_reason`` says why the native
    engine cannot train this network (None when it can). "auto" falls back to torch quietly."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if backend == "native" and unsupported_reason is not None:
        raise ValueError(f"backend='native' cannot train this network: {unsupported_reason}")
    if backend == "auto":
        return "torch" if unsupported_reason is not None else "native"
    return backend


class MlpLayout(NamedTuple):
    sizes: list[int]
    activation: str
    layer_norm: bool  # a parameter-free LayerNorm before every hidden activation (stream-x)


def mlp_layout(module: nn.Module) -> MlpLayout:
    """The layout of an ``nn.Sequential`` of Linear layers with one kind of activation between them
    (each optionally preceded by a parameter-free LayerNorm) and none after the last; ValueError
    naming the layer otherwise."""
    if not isinstance(module, nn.Sequential):
        raise ValueError(f"the native engine trains nn.Sequential MLPs, got {type(module).__name__}")
    sizes: list[int] = []
    activations: set[str] = set()
    norms: list[bool] = []
    expect_linear = True
    for index, layer in enumerate(module):
        if expect_linear:
            if not isinstance(layer, nn.Linear) or layer.bias is None:
                raise ValueError(f"layer {index} is {type(layer).__name__}; the native engine expects a Linear "
                                 f"layer with a bias here")
            if layer.weight.dtype != torch.float32:
                raise ValueError(f"layer {index} holds {layer.weight.dtype}; the native engine trains float32")
            if not sizes:
                sizes.append(layer.in_features)
            elif layer.in_features != sizes[-1]:
                raise ValueError(f"layer {index} takes {layer.in_features} inputs, the previous layer gives {sizes[-1]}")
            sizes.append(layer.out_features)
            norms.append(False)
            expect_linear = False
        elif isinstance(layer, nn.LayerNorm) and not norms[-1]:
            if layer.elementwise_affine or tuple(layer.normalized_shape) != (sizes[-1],) or layer.eps != 1e-5:
                raise ValueError(f"layer {index} is {layer!r}; the native engine's LayerNorm has no learned scale or "
                                 f"shift, eps 1e-5, over the previous layer's {sizes[-1]} outputs")
            norms[-1] = True
        else:
            kind = NATIVE_ACTIVATIONS.get(type(layer))
            if kind is None or (isinstance(layer, nn.LeakyReLU) and layer.negative_slope != 0.01):
                raise ValueError(f"layer {index} is {layer!r}; the native engine supports "
                                 f"{sorted(set(NATIVE_ACTIVATIONS.values()))} (and LayerNorm before them)")
            activations.add(kind)
            expect_linear = True
    if len(sizes) < 2 or expect_linear or norms[-1]:
        raise ValueError("the native engine expects Linear, activation, ..., Linear (no activation at the end)")
    if len(activations) > 1:
        raise ValueError(f"the native engine uses one hidden activation per network, got {sorted(activations)}")
    hidden_norms = set(norms[:-1])
    if len(hidden_norms) > 1:
        raise ValueError("the native engine normalises every hidden layer or none")
    return MlpLayout(sizes, activations.pop() if activations else "identity", hidden_norms == {True})


PAD = 16  # the engine pads layer widths to multiples of 16 (cpp/include/turborl/nn/kernels.hpp)


def padded(n: int) -> int:
    return -(-n // PAD) * PAD


Part = Union[nn.Linear, tuple[nn.Module, str]]


def flatten_parameters(parts: Sequence[Part]) -> torch.Tensor:
    """Moves parameters into one contiguous buffer in the engine's layout and replaces each by an
    ``nn.Parameter`` viewing it. A ``Linear`` part becomes W^T [in, padded(out)] then the bias
    [padded(out)], padding zero (its weight is the strided view ``W^T[:, :out].t()``); an
    ``(owner, name)`` part is copied as it is. Returns the buffer; its ``.numpy()`` view is what
    the engine reads and writes."""
    sizes = [p.in_features * padded(p.out_features) + padded(p.out_features) if isinstance(p, nn.Linear)
             else getattr(*p).numel() for p in parts]
    first = parts[0].weight if isinstance(parts[0], nn.Linear) else getattr(*parts[0])
    flat = torch.zeros(sum(sizes), dtype=first.dtype)
    offset = 0
    for part, size in zip(parts, sizes):
        chunk = flat[offset:offset + size]
        if isinstance(part, nn.Linear):
            width = padded(part.out_features)
            weight_t = chunk[:part.in_features * width].view(part.in_features, width)[:, :part.out_features]
            bias = chunk[part.in_features * width:][:part.out_features]
            weight_t.copy_(part.weight.detach().t())
            bias.copy_(part.bias.detach())
            part.weight = nn.Parameter(weight_t.t(), requires_grad=part.weight.requires_grad)
            part.bias = nn.Parameter(bias, requires_grad=part.bias.requires_grad)
        else:
            owner, name = part
            tensor = getattr(owner, name)
            view = chunk.view_as(tensor)
            view.copy_(tensor.detach())
            setattr(owner, name, nn.Parameter(view, requires_grad=tensor.requires_grad))
        offset += size
    return flat


def linear_parameters(*mlps: nn.Sequential) -> list[nn.Linear]:
    """The MLPs' Linear layers in order, the parts :func:`flatten_parameters` takes (several MLPs
    share one buffer: twin critics, an actor and its critic)."""
    return [layer for mlp in mlps for layer in mlp if isinstance(layer, nn.Linear)]


def views_like(array: np.ndarray, flat: torch.Tensor, parameters: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Views of ``array`` (a buffer shaped like ``flat``) at each parameter's place and strides:
    the gradients or optimiser moments of each parameter."""
    base = torch.from_numpy(array)
    return [base.as_strided(p.shape, p.stride(), p.storage_offset() - flat.storage_offset()) for p in parameters]


class FlatAdam:
    """Adam over a flat parameter buffer, stepped by the engine; ``state_dict`` and
    ``load_state_dict`` use torch.optim.Adam's format for ``parameters`` (views of ``flat``, in the
    order torch's optimiser would list them), so checkpoints move between the native and torch
    backends."""

    def __init__(self, flat: torch.Tensor, parameters: Iterable[nn.Parameter], lr: float, eps: float = 1e-8,
                 betas: tuple[float, float] = (0.9, 0.999), weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False) -> None:
        self.params = list(parameters)
        if any(p.untyped_storage().data_ptr() != flat.untyped_storage().data_ptr() for p in self.params):
            raise ValueError("FlatAdam's parameters must be views of the flat buffer")
        self.flat = flat
        # torch's shape, so code that anneals param_groups[0]["lr"] works on either optimiser
        self.param_groups = [{"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                              "decoupled_weight_decay": decoupled_weight_decay}]
        self.step = 0
        dtype = flat.numpy().dtype
        self.grads = np.zeros(flat.numel(), dtype=dtype)
        self.exp_avg = np.zeros(flat.numel(), dtype=dtype)
        self.exp_avg_sq = np.zeros(flat.numel(), dtype=dtype)

    @property
    def lr(self) -> float:
        return float(self.param_groups[0]["lr"])

    @property
    def eps(self) -> float:
        return float(self.param_groups[0]["eps"])

    def _views(self, array: np.ndarray) -> list[torch.Tensor]:
        return views_like(array, self.flat, self.params)

    def state_dict(self) -> dict:
        state = {}
        if self.step > 0:
            for index, (m, v) in enumerate(zip(self._views(self.exp_avg), self._views(self.exp_avg_sq))):
                state[index] = {"step": torch.tensor(float(self.step)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
        group = {**self.param_groups[0], "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                 "differentiable": False, "fused": None, "params": list(range(len(self.params)))}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        state = state_dict["state"]
        group = state_dict["param_groups"][0]
        if len(group["params"]) != len(self.params):
            raise ValueError(f"optimizer state holds {len(group['params'])} parameters, this network has "
                             f"{len(self.params)}")
        self.param_groups[0].update({key: group[key] for key in ("lr", "betas", "eps", "weight_decay")})
        if not state:
            self.step = 0
            self.exp_avg[:] = 0
            self.exp_avg_sq[:] = 0
            return
        steps = {float(state[i]["step"]) for i in range(len(self.params))}
        if len(steps) != 1:
            raise ValueError(f"optimizer state has different step counts per parameter: {sorted(steps)}")
        self.step = int(steps.pop())
        for index, (m, v) in enumerate(zip(self._views(self.exp_avg), self._views(self.exp_avg_sq))):
            m.copy_(state[index]["exp_avg"])
            v.copy_(state[index]["exp_avg_sq"])
