"""StyleGAN2 generator in plain PyTorch (no compiled ops), loading rosinality-format checkpoints.

The module tree mirrors the checkpoint layout of rosinality/stylegan2-pytorch (`g_ema`), so
its state dict loads key for key; shapes are read from the checkpoint, so any size and
channel multiplier works (the study's LSUN church model is 256 px, config-f). The resampling
filters (upfirdn2d) are written with zero insertion, padding and a depthwise convolution.

The search moves one W vector per image (broadcast to every layer), inside a box fitted to
the truncated prior; the per-layer noise is the checkpoint's fixed noise buffers, so a
latent always gives the same image.

Realism is one of two signals (`realism` in the generator's settings):
- `latent` (default): the squared distance to the checkpoint's `latent_avg`, per dimension;
  the search keeps images about as close to the average as typical samples are.
- `discriminator`: the checkpoint's discriminator (`d`, rosinality's layout), as CLIP-GLaSS uses
  for StyleGAN2: softplus(-D(x)), the generator's loss for "real". D's minibatch-stddev layer
  mixes the images of a group of 4, so an image's score would depend on its batch neighbours;
  here each image is grouped with the same three fixed prior samples instead, which keeps the
  statistic D was trained with and makes a latent's score independent of the batch.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from clipgan.generators.base import register

log = logging.getLogger(__name__)

BLUR = (1.0, 3.0, 3.0, 1.0)
REALISM_KINDS = ("latent", "discriminator")


def _kernel(taps=BLUR, gain: float = 1.0) -> torch.Tensor:
    k = torch.tensor(taps)
    k = torch.outer(k, k)
    return k / k.sum() * gain


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)):
    """Upsample by zero insertion, pad (negative crops), FIR-filter (true convolution), downsample."""
    b, c, h, w = x.shape
    if up > 1:
        x = x.view(b, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.view(b, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, (p0, p1, p0, p1))
    weight = torch.flip(kernel, (0, 1)).to(x)[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, weight, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


class Blur(nn.Module):
    def __init__(self, pad: tuple[int, int], gain: float = 1.0):
        super().__init__()
        self.register_buffer("kernel", _kernel(gain=gain))
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    def __init__(self, factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", _kernel(gain=factor ** 2))
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualLinear(nn.Module):
    """A linear layer with its weights scaled at run time (equalised learning rate)."""

    def __init__(self, n_in: int, n_out: int, lr_mul: float = 1.0, activate: bool = False, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((n_out,), float(bias_init)))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(n_in), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, 0.2) * math.sqrt(2) if self.activate else out


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, style_dim: int, demodulate: bool = True, upsample: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, c_out, c_in, k, k))
        if upsample:  # conv_transpose gives 2H+1; the blur brings it to 2H
            p = (len(BLUR) - 2) - (k - 1)
            self.blur = Blur(((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)
        self.modulation = EqualLinear(style_dim, c_in, bias_init=1.0)
        self.scale, self.k, self.demodulate, self.upsample = 1 / math.sqrt(c_in * k * k), k, demodulate, upsample

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, c_in, h, w = x.shape
        s = self.modulation(style).view(b, 1, c_in, 1, 1)
        weight = self.scale * self.weight * s  # (B, out, in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
        c_out = weight.shape[1]
        x = x.reshape(1, b * c_in, h, w)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(b * c_in, c_out, self.k, self.k)
            out = F.conv_transpose2d(x, weight, stride=2, padding=0, groups=b)
            return self.blur(out.view(b, c_out, out.shape[-2], out.shape[-1]))
        out = F.conv2d(x, weight.reshape(b * c_out, c_in, self.k, self.k), padding=self.k // 2, groups=b)
        return out.view(b, c_out, h, w)


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight * noise


class BiasLeakyReLU(nn.Module):
    """Adds a per-channel bias, then leaky ReLU (0.2) scaled by sqrt(2) (rosinality's FusedLeakyReLU)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


class StyledConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, k, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = BiasLeakyReLU(c_out)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    def __init__(self, c_in: int, style_dim: int, upsample: bool = True):
        super().__init__()
        if upsample:
            self.upsample = Upsample(2)
        self.conv = ModulatedConv2d(c_in, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        return out + self.upsample(skip) if skip is not None else out


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


@dataclass
class StyleGAN2Arch:
    size: int = 256
    style_dim: int = 512
    n_mlp: int = 8
    lr_mlp: float = 0.01
    channels: dict[int, int] = field(default_factory=lambda: {4: 512, 8: 512, 16: 512, 32: 512, 64: 512,
                                                              128: 256, 256: 128})

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    @property
    def n_latent(self) -> int:
        return self.log_size * 2 - 2

    @classmethod
    def config_f(cls, size: int = 256, channel_multiplier: int = 2) -> "StyleGAN2Arch":
        base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}
        channels = {r: (c if r <= 32 else c * channel_multiplier) for r, c in base.items() if r <= size}
        return cls(size=size, channels=channels)

    @classmethod
    def from_state_dict(cls, state: dict) -> "StyleGAN2Arch":
        """Read the architecture off a g_ema state dict's key names and shapes."""
        n_mlp = len([k for k in state if re.fullmatch(r"style\.\d+\.weight", k)])
        n_blocks = len([k for k in state if re.fullmatch(r"to_rgbs\.\d+\.bias", k)])
        channels = {4: state["input.input"].shape[1]}
        for j in range(n_blocks):
            channels[2 ** (j + 3)] = state[f"convs.{2 * j}.conv.weight"].shape[1]
        return cls(size=2 ** (n_blocks + 2), style_dim=state["style.1.weight"].shape[0], n_mlp=n_mlp,
                   channels=channels)


class StyleGAN2Net(nn.Module):
    """The synthesis and mapping networks, with rosinality's module names."""

    def __init__(self, arch: StyleGAN2Arch):
        super().__init__()
        self.arch = arch
        d, ch = arch.style_dim, arch.channels
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(d, d, lr_mul=arch.lr_mlp, activate=True)
                                                  for _ in range(arch.n_mlp)])
        self.input = ConstantInput(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], 3, d)
        self.to_rgb1 = ToRGB(ch[4], d, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        self.noises = nn.Module()
        c_prev = ch[4]
        for i in range(3, arch.log_size + 1):
            c = ch[2 ** i]
            self.convs.append(StyledConv(c_prev, c, 3, d, upsample=True))
            self.convs.append(StyledConv(c, c, 3, d))
            self.to_rgbs.append(ToRGB(c, d))
            c_prev = c
        for i in range(arch.log_size * 2 - 3):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.style(z)

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        """(B, style_dim) W or (B, n_latent, style_dim) W+ -> (B, 3, size, size), nominally [-1, 1]."""
        if w.dim() == 2:
            w = w[:, None].expand(-1, self.arch.n_latent, -1)
        noise = [getattr(self.noises, f"noise_{i}") for i in range(self.arch.log_size * 2 - 3)]
        x = self.input(w.shape[0])
        x = self.conv1(x, w[:, 0], noise[0])
        skip = self.to_rgb1(x, w[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            x = self.convs[2 * j](x, w[:, 2 * j + 1], noise[2 * j + 1])
            x = self.convs[2 * j + 1](x, w[:, 2 * j + 2], noise[2 * j + 2])
            skip = to_rgb(x, w[:, 2 * j + 3], skip)
        return skip


class EqualConv2d(nn.Module):
    """A convolution with its weights scaled at run time (equalised learning rate)."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale, self.stride, self.padding = 1 / math.sqrt(c_in * k * k), stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class ConvLayer(nn.Sequential):
    """[Blur] -> EqualConv2d -> [BiasLeakyReLU]; the indices are rosinality's, so keys match."""

    def __init__(self, c_in: int, c_out: int, k: int, downsample: bool = False, bias: bool = True,
                 activate: bool = True):
        layers: list[nn.Module] = []
        if downsample:  # blur, then a stride-2 convolution without padding
            p = (len(BLUR) - 2) + (k - 1)
            layers.append(Blur(((p + 1) // 2, p // 2)))
        layers.append(EqualConv2d(c_in, c_out, k, stride=2 if downsample else 1,
                                  padding=0 if downsample else k // 2, bias=bias and not activate))
        if activate:
            layers.append(BiasLeakyReLU(c_out))
        super().__init__(*layers)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = ConvLayer(c_in, c_in, 3)
        self.conv2 = ConvLayer(c_in, c_out, 3, downsample=True)
        self.skip = ConvLayer(c_in, c_out, 1, downsample=True, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class StyleGAN2DiscriminatorNet(nn.Module):
    """StyleGAN2's residual discriminator with rosinality's module names.

    `channels` maps each resolution, from the image size down to 4, to its width.
    """

    stddev_group = 4

    def __init__(self, channels: dict[int, int]):
        super().__init__()
        self.channels = dict(channels)
        size = max(channels)
        blocks: list[nn.Module] = [ConvLayer(3, channels[size], 1)]
        res = size
        while res > 4:
            blocks.append(ResBlock(channels[res], channels[res // 2]))
            res //= 2
        self.convs = nn.Sequential(*blocks)
        self.final_conv = ConvLayer(channels[4] + 1, channels[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(channels[4] * 16, channels[4], activate=True),
                                          EqualLinear(channels[4], 1))

    @property
    def size(self) -> int:
        return max(self.channels)

    @classmethod
    def from_state_dict(cls, state: dict) -> "StyleGAN2DiscriminatorNet":
        """Read the widths off a discriminator state dict's shapes."""
        size_width = state["convs.0.0.weight"].shape[0]
        n_blocks = len([k for k in state if re.fullmatch(r"convs\.\d+\.conv1\.0\.weight", k)])
        size = 4 * 2 ** n_blocks
        channels = {size: size_width}
        for i in range(1, n_blocks + 1):
            channels[size // 2 ** i] = state[f"convs.{i}.conv2.1.weight"].shape[0]
        return cls(channels)

    def trunk(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, size, size) in [-1, 1] -> (B, C, 4, 4): everything before the minibatch stddev."""
        return self.convs(images)

    def head(self, features: torch.Tensor, stddev: torch.Tensor) -> torch.Tensor:
        """(B, C, 4, 4) features and (B,) group stddevs -> (B,) logits."""
        b, _, h, w = features.shape
        x = torch.cat([features, stddev.to(features.dtype).view(b, 1, 1, 1).expand(b, 1, h, w)], 1)
        return self.final_linear(self.final_conv(x).reshape(b, -1)).view(b)

    @staticmethod
    def group_stddev(group: torch.Tensor) -> torch.Tensor:
        """(G, B, C, H, W) features of B groups of G -> (B,) the mean over C, H, W of their std."""
        return torch.sqrt(group.float().var(0, unbiased=False) + 1e-8).mean((1, 2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits as in training: image i is grouped with i + k*B/G (B divisible by G = min(B, 4))."""
        features = self.trunk(images)
        b = features.shape[0]
        g = min(b, self.stddev_group)
        stddev = self.group_stddev(features.view(g, b // g, *features.shape[1:]))
        return self.head(features, stddev.repeat(g))

    def logits_with_companions(self, images: torch.Tensor, companions: torch.Tensor) -> torch.Tensor:
        """Logits with each image grouped with the same `companions`' trunk features (G - 1, C, 4, 4)."""
        features = self.trunk(images)
        group = torch.cat([features[None], companions[:, None].to(features.dtype).expand(-1, *features.shape)])
        return self.head(features, self.group_stddev(group))


def load_stylegan2_discriminator(state: dict, image_size: int) -> StyleGAN2DiscriminatorNet:
    """Build and load a rosinality discriminator state dict for `image_size` px images; fails listing
    keys that do not fit, or naming both sizes."""
    try:
        net = StyleGAN2DiscriminatorNet.from_state_dict(state)
    except (KeyError, IndexError, AttributeError) as err:
        raise ValueError(f"not a rosinality StyleGAN2 discriminator state dict (no {err}); keys: "
                         f"{sorted(state)[:8]}") from None
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"not a rosinality StyleGAN2 discriminator state dict: missing {missing[:8]}, unexpected "
                         f"{unexpected[:8]}")
    if net.size != image_size:
        raise ValueError(f"the discriminator takes {net.size} px images; the generator makes {image_size} px")
    return net


def load_stylegan2_net(state: dict, strict: bool = True) -> StyleGAN2Net:
    """Build the network for a g_ema state dict and load it; fails listing keys that do not fit."""
    net = StyleGAN2Net(StyleGAN2Arch.from_state_dict(state))
    missing, unexpected = net.load_state_dict(state, strict=False)
    noise_only = all(k.startswith("noises.") for k in missing)
    if unexpected or (missing and (strict or not noise_only)):
        raise ValueError(f"not a rosinality StyleGAN2 g_ema state dict: missing {missing[:8]}, unexpected "
                         f"{unexpected[:8]}")
    return net


class StyleGAN2:
    """A pretrained StyleGAN2 behind the generator interface (see clipgan.generators.base)."""

    def __init__(self, checkpoint: dict, device: str | torch.device = "cpu", truncation: float = 0.7,
                 prior_samples: int = 4096, seed: int = 0, realism: str = "latent"):
        if realism not in REALISM_KINDS:
            raise ValueError(f"realism must be one of {REALISM_KINDS}, not {realism!r}")
        self.device = torch.device(device)
        self.net = load_stylegan2_net(checkpoint["g_ema"]).to(self.device).eval().requires_grad_(False)
        d = self.net.arch.style_dim
        avg = checkpoint.get("latent_avg")
        if avg is None:  # checkpoints without it: the mean of mapped prior samples, as rosinality's mean_latent
            with torch.no_grad():
                g = torch.Generator().manual_seed(seed)
                avg = self.net.mapping(torch.randn(prior_samples, d, generator=g).to(self.device)).mean(0)
        self.latent_avg = avg.reshape(d).float().to(self.device)
        self.truncation = truncation
        self.latent_dim, self.image_size = d, self.net.arch.size
        prior = self.sample_latents(prior_samples, np.random.default_rng(seed), clip_to_bounds=False)
        low, high = np.quantile(prior, 0.005, axis=0), np.quantile(prior, 0.995, axis=0)
        margin = 0.1 * (high - low)
        self.bounds = ((low - margin).astype(np.float32), (high + margin).astype(np.float32))
        self.d: StyleGAN2DiscriminatorNet | None = None
        if realism == "discriminator":
            if "d" not in checkpoint:
                raise ValueError("realism: discriminator needs the checkpoint's discriminator ('d'); this one has "
                                 f"{sorted(checkpoint)}. If it was fetched before realism was set, fetch it again "
                                 "(rule generator_fetch); else convert with convert_weight.py --disc, or use realism: "
                                 "latent")
            self.d = load_stylegan2_discriminator(checkpoint["d"], self.image_size)
            self.d.to(self.device).eval().requires_grad_(False)
            # the three fixed prior samples every scored image is grouped with (see the module's doc)
            companions = self.sample_latents(StyleGAN2DiscriminatorNet.stddev_group - 1,
                                             np.random.default_rng([seed, 2]))
            with torch.no_grad():
                self.companions = self.d.trunk(self(torch.from_numpy(companions)))

    @torch.no_grad()
    def sample_latents(self, n: int, rng: np.random.Generator, clip_to_bounds: bool = True) -> np.ndarray:
        """W vectors: z ~ N(0, I) through the mapping network, truncated toward latent_avg."""
        z = torch.from_numpy(rng.standard_normal((n, self.latent_dim)).astype(np.float32)).to(self.device)
        w = self.latent_avg + self.truncation * (self.net.mapping(z) - self.latent_avg)
        w = w.float().cpu().numpy()
        return np.clip(w, *self.bounds) if clip_to_bounds else w

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        return self.net.synthesis(latents.to(self.device, torch.float32)).clamp(-1, 1)

    @torch.no_grad()
    def realism(self, latents: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        if self.d is not None:  # the discriminator's loss for "real"
            return F.softplus(-self.d.logits_with_companions(images.float(), self.companions))
        return (latents.to(self.device, torch.float32) - self.latent_avg).pow(2).mean(1)


HOW_TO = ("a rosinality-format StyleGAN2 checkpoint (.pt holding g_ema and latent_avg, e.g. "
          "stylegan2-church-config-f.pt from rosinality/stylegan2-pytorch, or converted from the official "
          "TensorFlow model with its convert_weight.py)")


def fetch(settings: dict, key: str, out_dir: str | os.PathLike,
          downloads: str | os.PathLike = "resources/downloads") -> None:
    """Check a rosinality-format checkpoint and store its g_ema (+ latent_avg, + d) in out_dir/weights.pt."""
    from dataclasses import asdict
    from pathlib import Path

    from clipgan.assets import resolve_asset
    from clipgan.checkpoints import load_torch
    from clipgan.io import save_torch, sha256_file, write_json

    path = resolve_asset(settings, key, HOW_TO, Path(downloads) / key)
    checkpoint = load_torch(path, trust_pickle=bool(settings.get("trust_pickle")), sha256=settings.get("sha256", ""),
                            key=key)
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{key}: {path} holds a {type(checkpoint).__name__}, not a checkpoint dict")
    g_ema = checkpoint.get("g_ema", checkpoint if "style.1.weight" in checkpoint else None)
    if g_ema is None:
        raise ValueError(f"{key}: {path} has no 'g_ema' (top-level keys: {sorted(checkpoint)[:10]}); expected "
                         f"{HOW_TO}")
    net = load_stylegan2_net(g_ema, strict=False)  # fails here, naming keys, if the layout is not rosinality's
    if not any(k.startswith("noises.") for k in g_ema):
        log.warning("%s: no noise buffers (a checkpoint converted before 2020-01-15); fixed noise is drawn here",
                    path)
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


@register("stylegan2", fetch=fetch, how_to=HOW_TO, chooses_realism=True)
def build_stylegan2(path: str, settings: dict, device: str | torch.device = "cpu") -> StyleGAN2:
    from pathlib import Path

    from clipgan.checkpoints import load_torch

    file = Path(path) / "weights.pt" if Path(path).is_dir() else Path(path)
    return StyleGAN2(load_torch(file), device=device, truncation=float(settings.get("truncation", 0.7)),
                     realism=settings.get("realism", "latent"))
