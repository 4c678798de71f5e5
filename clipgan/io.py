"""Atomic output writers: every file this project writes appears whole or not at all.

Each writer goes through `atomic_path`, which hands out a temporary name in the target's
folder and renames it over the target only when the body finished without an exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


class MissingAssetError(FileNotFoundError):
    """A model or dataset the study needs is not on disk; the message says how to provide it."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it to `path` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp folder beside `path`; it replaces `path` only if the block succeeds."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_json(data: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write an (H, W, 3) uint8 array as PNG."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def write_npy(array: np.ndarray, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs pickle (which can run code) and the config has not vouched for it."""


def check_pickle_opt_in(path: str | os.PathLike, *, trust_pickle: bool, sha256: str, key: str = "") -> None:
    """Verify `sha256` when given; refuse `trust_pickle` without one (a file someone checked)."""
    where = f" ({key})" if key else ""
    if sha256:
        actual = sha256_file(path)
        if actual != sha256.lower():
            raise UnsafeCheckpointError(f"{path}{where}: sha256 is {actual}, the config expects {sha256}; not loading "
                                        "a checkpoint that is not the one the config names")
    if trust_pickle and not sha256:
        raise UnsafeCheckpointError(f"{path}{where}: {key or 'the asset'}.trust_pickle needs {key or 'its'}.sha256 "
                                    f"too (this file's is {sha256_file(path)}): only a file you checked may run code")


def refused_pickle(path: str | os.PathLike, key: str, err: Exception) -> UnsafeCheckpointError:
    """The error for a checkpoint that weights-only loading rejected."""
    key = key or "<asset>"
    return UnsafeCheckpointError(
        f"{path} ({key}) holds Python objects that only pickle can load, and unpickling can run code, so it was "
        f"refused. If you trust this file, set {key}.trust_pickle: true and {key}.sha256: {sha256_file(path)} in "
        f"the config. ({str(err).splitlines()[0]})")


def load_torch(path: str | os.PathLike, *, trust_pickle: bool = False, sha256: str = "", key: str = "",
               map_location: str = "cpu") -> Any:
    """Load a checkpoint with `weights_only=True`, or with pickle when the config opted in.

    Opting in (`<key>.trust_pickle: true`) also needs `<key>.sha256`: pickle runs whatever the
    file says, so only the exact file someone checked may be unpickled.
    """
    import pickle

    import torch

    check_pickle_opt_in(path, trust_pickle=trust_pickle, sha256=sha256, key=key)
    try:
        return torch.load(path, map_location=map_location, weights_only=not trust_pickle)
    except pickle.UnpicklingError as err:
        if trust_pickle:
            raise
        raise refused_pickle(path, key, err) from err


def save_figure(fig: Any, path: str | os.PathLike, **kwargs: Any) -> None:
    suffix = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix, **kwargs)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def config_hash(config: dict) -> str:
    """A short stable hash of a config dict (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_csv(frame: Any, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame as CSV, without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
