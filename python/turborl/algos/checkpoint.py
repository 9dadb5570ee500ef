"""Checkpoints: everything a run needs to continue exactly, saved atomically.

``DIR/checkpoint`` is an atomic directory save (``turborl._atomic``): ``state.pt`` (a torch file
of plain data, loaded with ``weights_only=True``; NumPy arrays travel as tagged tensors) and,
for off-policy algorithms, ``replay/`` (the replay buffer's own atomic save). A run killed while
writing keeps its previous checkpoint.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from turborl import _atomic

__all__ = ["CHECKPOINT_DIR", "read_checkpoint", "write_checkpoint"]

CHECKPOINT_DIR = "checkpoint"
FORMAT, VERSION = "turborl-checkpoint", 1
_ARRAY_TAG = "__ndarray__"


def module_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``module.state_dict()`` with every tensor copied: with the native backend the parameters are
    views of one flat buffer, and saving the views would store that whole buffer with each."""
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def to_plain(value: Any) -> Any:
    """NumPy arrays become tagged tensors (weights_only-loadable); containers are walked."""
    if isinstance(value, np.ndarray):  # as raw bytes: torch lacks some NumPy dtypes (e.g. uint64 on some builds)
        raw = np.ascontiguousarray(value)
        return {_ARRAY_TAG: torch.from_numpy(raw.view(np.uint8).reshape(-1).copy()), "dtype": raw.dtype.str,
                "shape": list(raw.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    return value


def from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            return value[_ARRAY_TAG].numpy().view(np.dtype(value["dtype"])).reshape(value["shape"]).copy()
        return {k: from_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(from_plain(v) for v in value)
    return value


def load_plain_file(path: Path, file_format: str, version: int, what: str) -> dict[str, Any]:
    """A torch file of plain data (``weights_only=True``), its format tag and version checked;
    ValueError naming ``what`` for a damaged file, another format or another version."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # torch raises many types for a damaged file
        raise ValueError(f"{what} is damaged or unreadable ({type(error).__name__}: {error})") from None
    if not isinstance(data, dict) or data.get("format") != file_format:
        raise ValueError(f"{what} is not a {file_format} file")
    if data.get("version") != version:
        raise ValueError(f"{what} has version {data.get('version')}; this turborl reads version {version}")
    return data


def write_checkpoint(out_dir: Path, algorithm: str, state: dict[str, Any],
                     write_extra: Callable[[Path], None] | None = None) -> None:
    def write(directory: Path) -> None:
        buffer = io.BytesIO()
        torch.save({"format": FORMAT, "version": VERSION, "algorithm": algorithm, "state": to_plain(state)}, buffer)
        (directory / "state.pt").write_bytes(buffer.getvalue())
        if write_extra is not None:
            write_extra(directory)

    _atomic.write_directory(out_dir / CHECKPOINT_DIR, write, kind="checkpoint")


def read_checkpoint(out_dir: Path, algorithm: str | None = None) -> tuple[str, dict[str, Any], Path]:
    """(algorithm, state, directory of the live version); clear errors for anything else."""
    path = Path(out_dir) / CHECKPOINT_DIR
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint in {str(out_dir)!r} (expected {str(path)!r})")
    directory = _atomic.read_directory(path, kind="checkpoint")
    data = load_plain_file(directory / "state.pt", FORMAT, VERSION, f"the checkpoint in {str(out_dir)!r}")
    if algorithm is not None and data["algorithm"] != algorithm:
        raise ValueError(f"the checkpoint in {str(out_dir)!r} is a {data['algorithm']} run, not {algorithm}")
    return data["algorithm"], from_plain(data["state"]), directory
