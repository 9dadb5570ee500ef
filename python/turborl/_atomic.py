"""Atomic saves of whole directories: a crash or kill never loses or corrupts the previous save.

Layout of a save at ``path``::

    path/CURRENT          the name of the live version, e.g. "v-3f2a...", replaced atomically
    path/v-3f2a.../...    the files of that version

``write_directory`` writes a new version under a temporary name, fsyncs its files and directory,
renames it into place, then replaces CURRENT through a rename (atomic on POSIX) and only then
deletes older versions. Killed at any moment, CURRENT names a complete version: the old one or
the new one. ``read_directory`` follows CURRENT.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

POINTER = "CURRENT"
VERSION_PREFIX = "v-"


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            _fsync_path(Path(directory) / name)
        _fsync_path(Path(directory))


def write_directory(path: str | os.PathLike, write: Callable[[Path], None], *, kind: str) -> None:
    """Calls ``write(directory)`` to fill a fresh directory, then publishes it atomically at ``path``.

    ``kind`` names what is saved, for the error raised when ``path`` exists but is not a save
    made here (it is never overwritten).
    """
    root = Path(path)
    if root.exists():
        if not root.is_dir():
            raise ValueError(f"path {str(root)!r} exists and is not a directory; refusing to overwrite it")
        if any(root.iterdir()) and not (root / POINTER).is_file():
            raise ValueError(f"path {str(root)!r} is a non-empty directory that is not a turborl {kind} save; "
                             "refusing to overwrite it")
    root.mkdir(parents=True, exist_ok=True)

    name = f"{VERSION_PREFIX}{uuid.uuid4().hex}"
    staging = root / f"{name}.tmp"
    staging.mkdir()
    try:
        write(staging)
        _fsync_tree(staging)
        os.rename(staging, root / name)
        _fsync_path(root)
        pointer_tmp = root / f"{POINTER}.{name}.tmp"
        with open(pointer_tmp, "w") as pointer:
            pointer.write(name + "\n")
            pointer.flush()
            os.fsync(pointer.fileno())
        os.replace(pointer_tmp, root / POINTER)
        _fsync_path(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # Only now is the old version unreachable: remove it and any leftovers of killed saves.
    for entry in root.iterdir():
        if entry.name != name and entry.name != POINTER:
            if entry.is_dir() and entry.name.startswith(VERSION_PREFIX):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(f"{POINTER}."):
                entry.unlink(missing_ok=True)


def write_file(path: str | os.PathLike, data: bytes) -> None:
    """Replaces the file at ``path`` with ``data`` atomically: a temporary file in the same
    directory, flushed and fsynced, then renamed over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        _fsync_path(target.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_directory(path: str | os.PathLike, *, kind: str) -> Path:
    """The directory of the live version of a save made by ``write_directory``."""
    root = Path(path)
    pointer = root / POINTER
    if not pointer.is_file():
        raise ValueError(f"{str(root)!r} is not a turborl {kind} save (no {POINTER} file)")
    name = pointer.read_text().strip()
    version = root / name
    if not name.startswith(VERSION_PREFIX) or "/" in name or not version.is_dir():
        raise ValueError(f"{str(root)!r} is a damaged turborl {kind} save: {POINTER} names {name!r}, "
                         "which is not a saved version")
    return version
