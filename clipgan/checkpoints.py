"""Checkpoint loading: the only module that calls `torch.load`, and the pickle policy it applies.

Everything loads weights-only. A file that needs pickle (which can run code) is refused unless
the config vouches for that exact file: `<key>.trust_pickle: true` together with `<key>.sha256`.
Writing checkpoints is `clipgan.io.save_torch` (atomic, like every writer).
"""

from __future__ import annotations

import os
from typing import Any

from clipgan.io import sha256_file


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
    """Load a checkpoint with `weights_only=True`, or with pickle when the config opted in (a
    `.safetensors` file is read with safetensors, which holds only tensors).

    Opting in (`<key>.trust_pickle: true`) also needs `<key>.sha256`: pickle runs whatever the
    file says, so only the exact file someone checked may be unpickled.
    """
    import pickle

    import torch

    check_pickle_opt_in(path, trust_pickle=trust_pickle, sha256=sha256, key=key)
    if str(path).endswith(".safetensors"):  # tensors only, by construction: no pickle involved
        from safetensors.torch import load_file

        return load_file(str(path), device=map_location)
    try:
        return torch.load(path, map_location=map_location, weights_only=not trust_pickle)
    except pickle.UnpicklingError as err:
        if trust_pickle:
            raise
        raise refused_pickle(path, key, err) from err
