"""Pretrained model assets: fetched once by local rules into resources/models, checked, then offline.

Every fetch resolves the configured source (a local path, or a URL downloaded once into
resources/downloads with its sha256 checked), loads it weights-only unless the config
vouches for it (`trust_pickle` + `sha256`), checks that it builds the network it claims to
be, and stores a plain state dict that every compute job loads weights-only. A missing asset
fails at once with the config key and how to provide the file locally.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from clipgan.fetch import fetch_once
from clipgan.checkpoints import load_torch
from clipgan.io import MissingAssetError, save_torch, sha256_file

log = logging.getLogger(__name__)



def resolve_asset(settings: dict, key: str, how: str, downloads: str | os.PathLike,
                  url_key: str = "url", local_name: str = "") -> Path:
    """The local file or folder of an asset: `settings['weights']`, or `settings[url_key]` downloaded once.

    `how`: what the file should be (a kind's `how_to`), quoted when it is missing."""
    if settings.get("weights"):
        path = Path(settings["weights"]) / local_name if local_name else Path(settings["weights"])
        if not path.exists():
            raise MissingAssetError(f"{key}.weights: {path} not found. It should be {how}. Put it there, or set "
                                    f"{key}.weights to where it is.")
        return path
    if not settings.get(url_key):
        raise MissingAssetError(f"{key}: no weights configured. Set {key}.weights to the local path of {how}, or "
                                f"{key}.{url_key} to an address to download it from (with {key}.sha256).")
    url = settings[url_key]
    expected = settings.get("sha256", "") if url_key == "url" else ""  # sha256 names the weights file
    target = Path(downloads) / (Path(url.split("?")[0]).name or "download")
    return fetch_once(url, target, sha256=expected, what=f"{key}.{url_key}")




def fetch_imagenet_resnet(arch: str, out_weights: str | os.PathLike,
                          downloads: str | os.PathLike = "resources/downloads") -> None:
    """torchvision's default ImageNet weights for `arch` (IMAGENET1K_V2 for resnet50).

    Taken from torch's hub cache when present ($TORCH_HOME/hub/checkpoints, the file name of
    torchvision's URL), else from `downloads` (downloaded there once; reruns reuse it); the sha256
    prefix in torchvision's file names is checked.
    """
    import torch
    import torchvision

    weights = torchvision.models.get_model_weights(arch).DEFAULT
    name = Path(weights.url).name
    cached = Path(torch.hub.get_dir()) / "checkpoints" / name
    if cached.exists():
        path = cached
    else:
        try:
            path = fetch_once(weights.url, Path(downloads) / "judge" / name, what=f"judge ({arch} {weights})")
        except Exception as err:
            raise MissingAssetError(f"judge.imagenet_weights: the {arch} ImageNet weights ({weights}) are not in "
                                    f"{cached.parent} and could not be downloaded ({err}). Put {name} there (from "
                                    f"{weights.url}), or set judge.weights to a local torchvision state dict file and "
                                    "judge.imagenet_weights: false.") from err
        prefix = name.rsplit("-", 1)[-1].split(".")[0]
        if not sha256_file(path).startswith(prefix):
            path.unlink()
            raise MissingAssetError(f"judge.imagenet_weights: {path} does not match the sha256 prefix {prefix} in its "
                                    "name; deleted it. Try again.")
    state = load_torch(path, key="judge")
    torchvision.models.get_model(arch, weights=None).load_state_dict(state)  # the file fits the architecture
    save_torch(state, out_weights)
    log.info("stored %s weights %s from %s in %s", arch, weights, path, out_weights)
