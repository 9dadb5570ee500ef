"""Algorithm configs: dataclasses whose fields are also the command-line flags (CleanRL style).

Every algorithm has a ``Config`` subclass. A field ``learning_rate: float = 3e-4`` is the flag
``--learning-rate``; booleans take ``true``/``false``; tuples of ints take ``64,64``; optional
numbers take ``none``. Configs save to and load from YAML (or JSON), with every field checked:
an unknown key or a value of the wrong type is an error naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

from turborl import _atomic

__all__ = ["Config", "config_from_flags", "load_config", "save_config"]


@dataclasses.dataclass
class Config:
    """Fields every algorithm shares."""

    env_id: str = "CartPole-v1"
    total_timesteps: int = 100_000
    seed: int = 0
    num_envs: int = 8
    # Environments: "auto" uses turborl's C++ envs where the id is one, else Gymnasium's.
    env_backend: str = "auto"
    hidden_sizes: tuple[int, ...] = (64, 64)
    # Networks: "native" trains MLPs in turborl's C++ engine, "torch" in torch; "auto" picks
    # native where the algorithm and network support it (turborl.nn.native).
    backend: str = "auto"
    # Threads for the learner's network math: torch's intra-op threads, and the native TD3 engine's
    # (its twin critics on two threads; results are the same for any count).
    torch_threads: int = 1
    eval_interval: int = 10_000
    eval_episodes: int = 10
    checkpoint_interval: int = 0  # env steps between checkpoints; 0: only at the end
    progress: bool = True
    tensorboard: bool = False

    algorithm: typing.ClassVar[str] = ""
    # Per-env starting points (e.g. a paper's settings), applied by ``for_env`` and the CLI under
    # anything the user sets.
    env_defaults: typing.ClassVar[dict[str, dict[str, typing.Any]]] = {}

    @classmethod
    def for_env(cls, env_id: str, **values: typing.Any) -> "Config":
        """A config for ``env_id``: ``env_defaults[env_id]`` (if any) overridden by ``values``."""
        return cls(**{**cls.env_defaults.get(env_id, {}), **values, "env_id": env_id})

    def __post_init__(self) -> None:
        annotations = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            setattr(self, field.name, _coerce(field.name, getattr(self, field.name), annotations[field.name]))
        self.validate()

    def validate(self) -> None:
        """Checks values (subclasses extend it); raises ValueError naming the field."""
        _at_least(self, "total_timesteps", 1)
        _at_least(self, "num_envs", 1)
        _at_least(self, "torch_threads", 1)
        _at_least(self, "eval_interval", 1)
        _at_least(self, "eval_episodes", 1)
        _at_least(self, "checkpoint_interval", 0)
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.env_backend not in ("auto", "turborl", "gymnasium"):
            raise ValueError(f"env_backend must be 'auto', 'turborl' or 'gymnasium', got {self.env_backend!r}")
        if self.backend not in ("auto", "native", "torch"):
            raise ValueError(f"backend must be 'auto', 'native' or 'torch', got {self.backend!r}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError(f"hidden_sizes must be positive layer widths, got {self.hidden_sizes}")

    def to_dict(self) -> dict[str, Any]:
        out = {"algorithm": self.algorithm}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = list(value) if isinstance(value, tuple) else value
        return out


def _at_least(config: Config, name: str, minimum: float) -> None:
    if getattr(config, name) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {getattr(config, name)}")


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """value as the field's type; a string (from a flag or YAML) is parsed."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or (origin is not None and type(None) in args):  # Optional[X]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        inner = [a for a in args if a is not type(None)][0]
        return _coerce(name, value, inner)
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v]
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of {args[0].__name__}, got {value!r}")
        return tuple(_coerce(f"{name}[{i}]", v, args[0]) for i, v in enumerate(value))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise TypeError(f"{name} must be true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise TypeError(f"{name} must be an integer, got {value!r}") from None
            if number.is_integer():
                return int(number)
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return number
    if annotation is str:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
        return value
    return value


def config_from_flags(config_class: type[Config], values: dict[str, Any]) -> Config:
    """A config from {field: value} (values may be strings); unknown fields are errors."""
    names = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - names)
    if unknown:
        flags = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise ValueError(f"{config_class.algorithm} has no option {flags}; options: "
                         f"{', '.join('--' + n.replace('_', '-') for n in sorted(names))}")
    return config_class(**values)


def save_config(config: Config, path: str | Path) -> None:
    """YAML (``.yaml``/``.yml``) or JSON (``.json``), written atomically."""
    path = Path(path)
    data = config.to_dict()
    if path.suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False)
    _atomic.write_file(path, text.encode())


def load_config(path: str | Path, config_class: type[Config] | None = None) -> Config:
    """Reads a config saved by ``save_config``; ``config_class`` defaults to the file's algorithm."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"cannot read config {str(path)!r}: {error}") from error
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} is not a config: expected a mapping of options")
    algorithm = data.pop("algorithm", None)
    if config_class is None:
        from turborl.algos.registry import algorithm_class

        config_class = algorithm_class(str(algorithm)).Config
    elif algorithm is not None and algorithm != config_class.algorithm:
        raise ValueError(f"{str(path)!r} is a {algorithm} config, not {config_class.algorithm}")
    return config_from_flags(config_class, data)
