"""Tensor conversions and the one training-time degradation shared by CLIP and the judge.

GAN samples are blurrier and noisier than the scenes they learned from; models that only
ever saw clean scenes misread them. Both the tiny CLIP and the judge train on scenes
degraded the same way, so they read generated images the way they read real ones.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def to_tensor_images(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().byte()
    return x.permute(0, 2, 3, 1).cpu().numpy()


def degrade(images: torch.Tensor, rng: np.random.Generator, p_blur: float = 0.5, p_noise: float = 0.5,
            p_flip: float = 0.5, p_resample: float = 0.5, p_color: float = 0.5) -> torch.Tensor:
    """Random flips, down/up-sampling, box blur, colour jitter and Gaussian noise per image.

    images in [-1, 1], (N, 3, H, W). Down/up-sampling mimics the low effective resolution of
    GAN samples; colour jitter keeps a model from reading the class off the sky's colour.
    """
    n, _, h, w = images.shape
    out = images.clone()
    flip = torch.from_numpy(rng.random(n) < p_flip)
    out[flip] = out[flip].flip(-1)
    resample = torch.from_numpy(rng.random(n) < p_resample)
    if resample.any():
        side = int(rng.integers(max(h // 3, 4), h))  # one size per batch keeps it vectorised
        small = F.interpolate(out[resample], size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        out[resample] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    color = torch.from_numpy(rng.random(n) < p_color)
    if color.any():
        k = int(color.sum())
        gain = torch.from_numpy(rng.uniform(0.7, 1.3, (k, 3, 1, 1)).astype(np.float32))  # per-channel
        shift = torch.from_numpy(rng.uniform(-0.15, 0.15, (k, 1, 1, 1)).astype(np.float32))  # brightness
        grey = out[color].mean(1, keepdim=True)
        sat = torch.from_numpy(rng.uniform(0.6, 1.4, (k, 1, 1, 1)).astype(np.float32))  # saturation
        out[color] = (grey + (out[color] - grey) * sat) * gain + shift
    blur = torch.from_numpy(rng.random(n) < p_blur)
    if blur.any():
        blurred = F.avg_pool2d(F.pad(out[blur], (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        out[blur] = blurred
    noisy = torch.from_numpy(rng.random(n) < p_noise)
    if noisy.any():
        sigma = torch.from_numpy(rng.uniform(0.02, 0.12, int(noisy.sum())).astype(np.float32)).view(-1, 1, 1, 1)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        out[noisy] = out[noisy] + sigma * torch.randn(out[noisy].shape, generator=gen)
    return out.clamp(-1, 1)
