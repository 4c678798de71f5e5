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
from dataclasses import asdict
from pathlib import Path

from clipgan.fetch import fetch_once
from clipgan.io import MissingAssetError, load_torch, save_torch, sha256_file, write_json

log = logging.getLogger(__name__)

HOW_TO = {
    "stylegan2": "a rosinality-format StyleGAN2 checkpoint (.pt holding g_ema and latent_avg, e.g. "
                 "stylegan2-church-config-f.pt from rosinality/stylegan2-pytorch, or converted from the official "
                 "TensorFlow model with its convert_weight.py)",
    "biggan": "a folder with config.json and pytorch_model.bin as published for pytorch-pretrained-biggan "
              "(e.g. biggan-deep-256)",
}


def resolve_asset(settings: dict, key: str, kind: str, downloads: str | os.PathLike,
                  url_key: str = "url", local_name: str = "") -> Path:
    """The local file or folder of an asset: `settings['weights']`, or `settings[url_key]` downloaded once."""
    how = HOW_TO.get(kind, "the file")
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


def fetch_stylegan2(settings: dict, key: str, out_dir: str | os.PathLike,
                    downloads: str | os.PathLike = "resources/downloads") -> None:
    from clipgan.generators.stylegan2 import load_stylegan2_discriminator, load_stylegan2_net

    path = resolve_asset(settings, key, "stylegan2", Path(downloads) / key)
    checkpoint = load_torch(path, trust_pickle=bool(settings.get("trust_pickle")), sha256=settings.get("sha256", ""),
                            key=key)
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{key}: {path} holds a {type(checkpoint).__name__}, not a checkpoint dict")
    g_ema = checkpoint.get("g_ema", checkpoint if "style.1.weight" in checkpoint else None)
    if g_ema is None:
        raise ValueError(f"{key}: {path} has no 'g_ema' (top-level keys: {sorted(checkpoint)[:10]}); expected "
                         f"{HOW_TO['stylegan2']}")
    net = load_stylegan2_net(g_ema, strict=False)  # fails here, naming keys, if the layout is not rosinality's
    if not any(k.startswith("noises.") for k in g_ema):
        log.warning("%s: no noise buffers (a checkpoint converted before 2020-01-15); fixed noise is drawn here", path)
        g_ema = net.state_dict()
    latent_avg = checkpoint.get("latent_avg")
    stored = {"g_ema": g_ema, **({"latent_avg": latent_avg} if latent_avg is not None else {})}
    arch = net.arch
    if settings.get("realism") == "discriminator":
        if "d" not in checkpoint:
            raise ValueError(f"{key}.realism: discriminator needs the checkpoint's discriminator ('d'), and {path} has "
                             f"none (top-level keys: {sorted(checkpoint)[:10]}). Convert the official model with "
                             f"convert_weight.py --disc, or set {key}.realism: latent")
        try:  # fails here, naming keys, if not rosinality's layout or not the generator's size
            load_stylegan2_discriminator(checkpoint["d"], arch.size)
        except ValueError as err:
            raise ValueError(f"{key}: {path}: {err}") from None
        stored["d"] = checkpoint["d"]
    save_torch(stored, Path(out_dir) / "weights.pt")
    # a configured sha256 was already checked by load_torch: no need to hash the file again
    write_json({"kind": "stylegan2", "source": str(path), "sha256": settings.get("sha256") or sha256_file(path),
                "arch": asdict(arch),
                "latent_avg": latent_avg is not None, "discriminator": "d" in stored}, Path(out_dir) / "source.json")
    log.info("stored StyleGAN2 %d px (%d latent layers) from %s", arch.size, arch.n_latent, path)


def fetch_biggan(settings: dict, key: str, out_dir: str | os.PathLike,
                 downloads: str | os.PathLike = "resources/downloads") -> None:
    from clipgan.generators.biggan import BigGANArch, load_biggan_net

    downloads = Path(downloads) / key
    weights = resolve_asset(settings, key, "biggan", downloads, local_name="pytorch_model.bin")
    config = resolve_asset(settings, key, "biggan", downloads, url_key="config_url", local_name="config.json")
    arch = BigGANArch.from_json(config)
    state = load_torch(weights, trust_pickle=bool(settings.get("trust_pickle")), sha256=settings.get("sha256", ""),
                       key=key)
    load_biggan_net(arch, state)  # fails here if the weights do not fit config.json
    save_torch({"config": asdict(arch), "state_dict": state}, Path(out_dir) / "weights.pt")
    write_json({"kind": "biggan", "source": str(weights), "config": str(config),
                "sha256": settings.get("sha256") or sha256_file(weights),
                "arch": asdict(arch)}, Path(out_dir) / "source.json")
    log.info("stored BigGAN-deep %d px from %s", arch.output_dim, weights)


FETCHERS = {"stylegan2": fetch_stylegan2, "biggan": fetch_biggan}


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
