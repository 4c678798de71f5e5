"""Model and dataset files in their real on-disk formats, with random weights, for offline tests."""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from conftest import CLASSES, REPO

TINY_STYLEGAN2 = dict(size=32, style_dim=64, n_mlp=2, channels={4: 32, 8: 32, 16: 16, 32: 16})
TINY_BIGGAN = dict(output_dim=32, z_dim=16, class_embed_dim=16, channel_width=8, num_classes=1000,
                   layers=[[False, 16, 16], [True, 16, 8], [True, 8, 4], [True, 4, 2], [False, 2, 1]],
                   attention_layer_position=2)


def stylegan2_checkpoint(path: Path, arch=None, *, seed: int = 0, extra: dict | None = None,
                         noise_buffers: bool = True, discriminator: bool = False) -> Path:
    """A rosinality checkpoint: {"g_ema": state dict, "latent_avg": [style_dim]}, with "d" (the
    discriminator, as convert_weight.py --disc writes it) if asked, and `extra`."""
    from clipgan.generators.stylegan2 import StyleGAN2Arch, StyleGAN2DiscriminatorNet, StyleGAN2Net

    torch.manual_seed(seed)
    arch = arch or StyleGAN2Arch.config_f(256, 2)
    g_ema = StyleGAN2Net(arch).state_dict()
    if not noise_buffers:
        g_ema = {k: v for k, v in g_ema.items() if not k.startswith("noises.")}
    checkpoint = {"g_ema": g_ema, "latent_avg": torch.randn(arch.style_dim) * 0.1}
    if discriminator:
        checkpoint["d"] = keyed_weights(StyleGAN2DiscriminatorNet(arch.channels).state_dict())
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**checkpoint, **(extra or {})}, path)
    return path


def keyed_weights(state: dict) -> dict:
    """Weights N(0, 1) and biases N(0, 0.1²), each tensor from a generator seeded by its key's CRC32
    (buffers such as blur kernels kept): the same weights for any code that names its tensors the
    same, whatever order it builds them in."""
    out = {}
    for key, value in state.items():
        if key.endswith("kernel"):
            out[key] = value.clone()
        else:
            g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
            out[key] = torch.randn(value.shape, generator=g) * (0.1 if key.endswith("bias") else 1.0)
    return out


def biggan_folder(folder: Path, arch=None, seed: int = 0) -> Path:
    """config.json + pytorch_model.bin, as pytorch-pretrained-biggan publishes them."""
    from clipgan.generators.biggan import BigGANArch, random_biggan_state

    arch = arch or BigGANArch(**TINY_BIGGAN)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(asdict(arch), indent=2))
    torch.save(random_biggan_state(arch, seed), folder / "pytorch_model.bin")
    return folder


def open_clip_checkpoint(path: Path, seed: int = 0) -> Path:
    """An open_clip state dict file of the demo's tiny architecture."""
    from clipgan.clip import ClipSpec, load_clip

    torch.manual_seed(seed)
    model, _ = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(REPO / "demo/models/clipgan-tiny.json")))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def torchvision_hub_cache(torch_home: Path, arch: str = "resnet50") -> Path:
    """Random weights where torch's hub cache keeps torchvision's ImageNet file for `arch`."""
    import torchvision

    weights = torchvision.models.get_model_weights(arch).DEFAULT
    path = torch_home / "hub" / "checkpoints" / Path(weights.url).name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.get_model(arch, weights=None).state_dict(), path)
    return path


def scene_images(folder: Path, n: int, size: int = 48, seed: int = 0) -> None:
    """`n` small scenery-like JPEGs (a sky over ground, random colours) in `folder`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image = np.zeros((size, size, 3), np.uint8)
        horizon = rng.integers(size // 4, 3 * size // 4)
        image[:horizon] = rng.integers(0, 255, 3)
        image[horizon:] = rng.integers(0, 255, 3)
        image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:04d}.jpg")


def intel_like_folder(root: Path, per_class: int = 8) -> Path:
    """The Intel Image Classification layout: seg_train/seg_train/<class>/, seg_test/seg_test/<class>/."""
    for split, n in (("seg_train/seg_train", per_class), ("seg_test/seg_test", max(per_class // 4, 1))):
        for c, cls in enumerate(CLASSES):
            scene_images(root / split / cls, n, seed=100 * split.startswith("seg_test") + c)
    return root
