"""BigGAN-deep in plain PyTorch, loading the weights published with pytorch-pretrained-biggan.

A weights folder holds `config.json` (output_dim, z_dim, channel_width, num_classes, layers as
[upsample, in_mult, out_mult], attention_layer_position, eps, n_stats) and `pytorch_model.bin`
(a plain state dict). The modules below are named like that state dict, and spectral
normalisation is torch's own, so the stored `weight_orig`/`weight_u`/`weight_v` are used as
the published model uses them. Batch norm uses the stored statistics for the truncation
value, as the published model does (no batch statistics: an image does not depend on its batch).

The search latent is [z, class genes]: z is the truncated normal noise (|z| <= 2 x truncation)
and the genes (one per configured ImageNet class, in [0, 1]) become the class vector through
a sharp softmax (temperature `class_temperature`, default 0.05). One gene a little above the
rest gives a single class; CLIP-GLaSS's plain softmax over [0, 1] genes could only express an
almost uniform mix. No discriminator was published, so realism is a prior penalty: the
mean square of z / truncation.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from clipgan.generators.base import register

log = logging.getLogger(__name__)

# alp, cliff, lakeside, promontory, seashore, valley, volcano, church
SCENERY_CLASSES = (970, 972, 975, 976, 978, 979, 980, 497)


@dataclass
class BigGANArch:
    output_dim: int = 256
    z_dim: int = 128
    class_embed_dim: int = 128
    channel_width: int = 128
    num_classes: int = 1000
    layers: list = field(default_factory=lambda: [
        [False, 16, 16], [True, 16, 16], [False, 16, 16], [True, 16, 8], [False, 8, 8], [True, 8, 8],
        [False, 8, 8], [True, 8, 4], [False, 4, 4], [True, 4, 2], [False, 2, 2], [True, 2, 1]])
    attention_layer_position: int = 8
    eps: float = 1e-4
    n_stats: int = 51

    @classmethod
    def from_json(cls, path: str | Path) -> "BigGANArch":
        data = json.loads(Path(path).read_text())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _sn(module: nn.Module, eps: float) -> nn.Module:
    return nn.utils.spectral_norm(module, eps=eps)


class StatsBatchNorm(nn.Module):
    """Batch norm with stored statistics per truncation value, optionally class-conditional."""

    def __init__(self, channels: int, cond_dim: int | None, n_stats: int, eps: float):
        super().__init__()
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))
        self.step, self.eps, self.conditional = 1.0 / (n_stats - 1), eps, cond_dim is not None
        if self.conditional:
            self.scale = _sn(nn.Linear(cond_dim, channels, bias=False), eps)
            self.offset = _sn(nn.Linear(cond_dim, channels, bias=False), eps)
        else:
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

    def stats(self, truncation: float) -> tuple[torch.Tensor, torch.Tensor]:
        # the published model blends rows i and i+1 with weights (frac, 1 - frac); kept as is so
        # its weights give its images
        frac, index = math.modf(truncation / self.step)
        index = int(index)
        if frac == 0.0:
            return self.running_means[index], self.running_vars[index]
        mean = self.running_means[index] * frac + self.running_means[index + 1] * (1 - frac)
        var = self.running_vars[index] * frac + self.running_vars[index + 1] * (1 - frac)
        return mean, var

    def forward(self, x: torch.Tensor, truncation: float, cond: torch.Tensor | None = None) -> torch.Tensor:
        mean, var = self.stats(truncation)
        if not self.conditional:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, eps=self.eps)
        x = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + self.eps)
        return x * (1 + self.scale(cond)[:, :, None, None]) + self.offset(cond)[:, :, None, None]


class SelfAttention(nn.Module):
    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.snconv1x1_theta = _sn(nn.Conv2d(channels, channels // 8, 1, bias=False), eps)
        self.snconv1x1_phi = _sn(nn.Conv2d(channels, channels // 8, 1, bias=False), eps)
        self.snconv1x1_g = _sn(nn.Conv2d(channels, channels // 2, 1, bias=False), eps)
        self.snconv1x1_o_conv = _sn(nn.Conv2d(channels // 2, channels, 1, bias=False), eps)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        query = self.snconv1x1_theta(x).view(b, c // 8, h * w)
        key = F.max_pool2d(self.snconv1x1_phi(x), 2).view(b, c // 8, h * w // 4)
        value = F.max_pool2d(self.snconv1x1_g(x), 2).view(b, c // 2, h * w // 4)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (B, HW, HW/4)
        out = (value @ attention.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(out)


class GenBlock(nn.Module):
    """BigGAN-deep residual block: 1x1 down to a quarter of the channels, two 3x3, 1x1 up."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, upsample: bool, n_stats: int, eps: float):
        super().__init__()
        mid = c_in // 4
        self.upsample, self.drop_channels = upsample, c_in != c_out
        for i, (a, b, k) in enumerate([(c_in, mid, 1), (mid, mid, 3), (mid, mid, 3), (mid, c_out, 1)]):
            setattr(self, f"bn_{i}", StatsBatchNorm(a, cond_dim, n_stats, eps))
            setattr(self, f"conv_{i}", _sn(nn.Conv2d(a, b, k, padding=k // 2), eps))

    def forward(self, x: torch.Tensor, cond: torch.Tensor, truncation: float) -> torch.Tensor:
        h = x
        for i in range(4):
            h = F.relu(getattr(self, f"bn_{i}")(h, truncation, cond))
            if i == 1 and self.upsample:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = getattr(self, f"conv_{i}")(h)
        if self.drop_channels:
            x = x[:, : x.shape[1] // 2]
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return h + x


class BigGANGeneratorNet(nn.Module):
    def __init__(self, arch: BigGANArch):
        super().__init__()
        ch, cond_dim = arch.channel_width, arch.z_dim * 2
        self.arch = arch
        self.gen_z = _sn(nn.Linear(cond_dim, 4 * 4 * 16 * ch), arch.eps)
        layers: list[nn.Module] = []
        for i, (upsample, m_in, m_out) in enumerate(arch.layers):
            if i == arch.attention_layer_position:
                layers.append(SelfAttention(ch * m_in, arch.eps))
            layers.append(GenBlock(ch * m_in, ch * m_out, cond_dim, bool(upsample), arch.n_stats, arch.eps))
        self.layers = nn.ModuleList(layers)
        self.bn = StatsBatchNorm(ch, None, arch.n_stats, arch.eps)
        self.conv_to_rgb = _sn(nn.Conv2d(ch, ch, 3, padding=1), arch.eps)

    def forward(self, cond: torch.Tensor, truncation: float) -> torch.Tensor:
        # gen_z's output is laid out (4, 4, C) as in the TensorFlow original
        x = self.gen_z(cond).view(-1, 4, 4, 16 * self.arch.channel_width).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x, cond, truncation) if isinstance(layer, GenBlock) else layer(x)
        x = self.conv_to_rgb(F.relu(self.bn(x, truncation)))
        return torch.tanh(x[:, :3])


class BigGANNet(nn.Module):
    """Class embedding + generator, named like pytorch-pretrained-biggan's `BigGAN`."""

    def __init__(self, arch: BigGANArch):
        super().__init__()
        self.embeddings = nn.Linear(arch.num_classes, arch.z_dim, bias=False)
        self.generator = BigGANGeneratorNet(arch)

    def forward(self, z: torch.Tensor, class_vector: torch.Tensor, truncation: float) -> torch.Tensor:
        return self.generator(torch.cat([z, self.embeddings(class_vector)], 1), truncation)


def load_biggan_net(arch: BigGANArch, state: dict) -> BigGANNet:
    net = BigGANNet(arch)
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes that differ from what config.json describes
        raise ValueError(f"BigGAN weights do not fit config.json: {str(err).splitlines()[1].strip()} ...") from err
    if missing:
        raise ValueError(f"BigGAN weights do not fit config.json: {len(missing)} keys missing, e.g. {missing[:6]}; "
                         f"unexpected {unexpected[:6]}")
    return net.eval().requires_grad_(False)


@torch.no_grad()
def settle_spectral_norms(module: nn.Module) -> nn.Module:
    """Set every spectral-norm (u, v) pair to the weight's top singular vectors.

    Published weights store converged vectors; a freshly built network's are random, and in
    eval mode (no power iteration) they can divide weights by a tiny or negative "norm".
    Random-weight models for tests and benchmarks need this to give finite images.
    """
    for sub in module.modules():
        if hasattr(sub, "weight_orig") and hasattr(sub, "weight_u"):
            u, _, vh = torch.linalg.svd(sub.weight_orig.flatten(1), full_matrices=False)
            sub.weight_u.copy_(u[:, 0])
            sub.weight_v.copy_(vh[0])
    return module


def random_biggan_state(arch: BigGANArch, seed: int = 0) -> dict:
    """A random-weight state dict in the published layout (tests, benchmarks): finite images."""
    torch.manual_seed(seed)
    net = settle_spectral_norms(BigGANNet(arch))
    return net.state_dict()


class BigGAN:
    """A pretrained BigGAN-deep behind the generator interface (see clipgan.generators.base)."""

    def __init__(self, arch: BigGANArch, state: dict, device: str | torch.device = "cpu", truncation: float = 0.4,
                 classes: tuple[int, ...] = SCENERY_CLASSES, class_temperature: float = 0.05):
        if not 0 < truncation <= 1:
            raise ValueError(f"BigGAN truncation must be in (0, 1], got {truncation}")
        bad = [c for c in classes if not 0 <= c < arch.num_classes]
        if bad:
            raise ValueError(f"ImageNet classes {bad} outside 0..{arch.num_classes - 1}")
        self.device = torch.device(device)
        self.net = load_biggan_net(arch, state).to(self.device)
        self.truncation, self.temperature = truncation, class_temperature
        self.classes = torch.tensor(list(classes), device=self.device)
        self.z_dim, self.num_classes = arch.z_dim, arch.num_classes
        self.latent_dim, self.image_size = arch.z_dim + len(classes), arch.output_dim
        z_box = np.full(arch.z_dim, 2 * truncation, np.float32)
        self.bounds = (np.concatenate([-z_box, np.zeros(len(classes), np.float32)]),
                       np.concatenate([z_box, np.ones(len(classes), np.float32)]))

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Truncated normal z (resampled beyond 2 sd) and one configured class per sample."""
        z = rng.standard_normal((n, self.z_dim))
        while (outside := np.abs(z) > 2).any():
            z[outside] = rng.standard_normal(outside.sum())
        genes = np.zeros((n, len(self.classes)))
        genes[np.arange(n), rng.integers(0, len(self.classes), n)] = 1.0
        return np.concatenate([z * self.truncation, genes], 1).astype(np.float32)

    def class_vectors(self, genes: torch.Tensor) -> torch.Tensor:
        mix = torch.softmax(genes / self.temperature, dim=1)
        out = torch.zeros(genes.shape[0], self.num_classes, device=genes.device, dtype=mix.dtype)
        return out.index_copy(1, self.classes, mix)

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        latents = latents.to(self.device, torch.float32)
        z, genes = latents[:, :self.z_dim], latents[:, self.z_dim:]
        return self.net(z, self.class_vectors(genes), self.truncation)

    @torch.no_grad()
    def realism(self, latents: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        z = latents.to(self.device, torch.float32)[:, :self.z_dim]
        return (z / self.truncation).pow(2).mean(1)


HOW_TO = ("a folder with config.json and pytorch_model.bin as published for pytorch-pretrained-biggan "
          "(e.g. biggan-deep-256)")


def fetch(settings: dict, key: str, out_dir: str | os.PathLike,
          downloads: str | os.PathLike = "resources/downloads") -> None:
    """Check a pytorch-pretrained-biggan folder against its config.json and store it in out_dir/weights.pt."""
    from dataclasses import asdict

    from clipgan.assets import resolve_asset
    from clipgan.checkpoints import load_torch
    from clipgan.io import save_torch, sha256_file, write_json

    downloads = Path(downloads) / key
    weights = resolve_asset(settings, key, HOW_TO, downloads, local_name="pytorch_model.bin")
    config = resolve_asset(settings, key, HOW_TO, downloads, url_key="config_url", local_name="config.json")
    arch = BigGANArch.from_json(config)
    state = load_torch(weights, trust_pickle=bool(settings.get("trust_pickle")), sha256=settings.get("sha256", ""),
                       key=key)
    load_biggan_net(arch, state)  # fails here if the weights do not fit config.json
    save_torch({"config": asdict(arch), "state_dict": state}, Path(out_dir) / "weights.pt")
    write_json({"kind": "biggan", "source": str(weights), "config": str(config),
                "sha256": settings.get("sha256") or sha256_file(weights),
                "arch": asdict(arch)}, Path(out_dir) / "source.json")
    log.info("stored BigGAN-deep %d px from %s", arch.output_dim, weights)


@register("biggan", fetch=fetch, how_to=HOW_TO)
def build_biggan(path: str, settings: dict, device: str | torch.device = "cpu") -> BigGAN:
    from clipgan.checkpoints import load_torch

    stored = load_torch(Path(path) / "weights.pt")
    return BigGAN(BigGANArch(**stored["config"]), stored["state_dict"], device=device,
                  truncation=float(settings.get("truncation", 0.4)),
                  classes=tuple(settings.get("imagenet_classes", SCENERY_CLASSES)),
                  class_temperature=float(settings.get("class_temperature", 0.05)))
