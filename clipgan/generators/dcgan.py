"""DCGAN (Radford et al. 2015) at 32 or 64 px, trained here on a scenery image folder.

Two departures from the 2015 recipe, both measured on the demo scenes:
- the generator upsamples with nearest-neighbour resize + 3x3 convolution instead of strided
  transposed convolutions, which left a periodic checkerboard over every sample;
- the discriminator uses spectral normalisation and no batch norm, so each image gets its own
  score independent of the rest of the batch: the search uses that score as its realism term.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from clipgan.generators.base import register
from clipgan.checkpoints import load_torch
from clipgan.resume import Resumer
from clipgan.training import train_epochs


@dataclass
class DCGANConfig:
    image_size: int = 32  # 32 or 64
    nz: int = 64  # latent length
    ngf: int = 32  # generator width at the last layer
    ndf: int = 48  # discriminator width at the first layer


# Channels-last tensors make these small convolutions faster on a CPU: a 32 px generator's forward pass
# 12 -> 6 ms for 32 images, a training step 35% shorter (a ResNet judge gains nothing, so it keeps the
# default). Values differ from the default layout's only in float rounding.
CONV_LAYOUT = torch.channels_last


def _n_up(image_size: int) -> int:
    n = int(math.log2(image_size)) - 2  # stride-2 steps after the 4x4 start
    if 2 ** (n + 2) != image_size or n < 2:
        raise ValueError(f"DCGAN image_size must be a power of two >= 16, got {image_size}")
    return n


class DCGANGeneratorNet(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        n = _n_up(cfg.image_size)
        chans = [cfg.ngf * 2 ** i for i in reversed(range(n))]  # e.g. [128, 64, 32] at 32 px
        layers = [nn.ConvTranspose2d(cfg.nz, chans[0], 4, 1, 0, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):  # 4 -> 8 -> ... -> S/2
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(chans[-1], 3, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # (N, nz) -> (N, 3, S, S)


class DCGANDiscriminatorNet(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        sn = nn.utils.spectral_norm
        n = _n_up(cfg.image_size)
        chans = [cfg.ndf * 2 ** i for i in range(n)]  # e.g. [64, 128, 256] at 32 px
        layers = [sn(nn.Conv2d(3, chans[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [sn(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        layers += [sn(nn.Conv2d(chans[-1], 1, 4, 1, 0))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (N,) logits, high = real


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ---------------------------------------------------------------------------------------------
# training


@dataclass
class GANTrainConfig:
    epochs: int = 15
    batch_size: int = 32
    lr: float = 2e-4
    beta1: float = 0.5
    seed: int = 0
    max_loss: float = 50.0  # a loss above this (or NaN) stops training: the run has diverged
    checkpoint_every: int = 200  # steps between resume saves (0 = none)


def train_dcgan(images: torch.Tensor, model_cfg: DCGANConfig, cfg: GANTrainConfig, *,
                device: str = "cpu", progress=None, resume: Resumer | None = None) -> tuple[dict, list[dict]]:
    """Train on (N, 3, S, S) images in [-1, 1]; returns (checkpoint dict, per-epoch log).

    With `resume`, the whole training state is saved every `resume.every` steps and a run
    picks up from the last save (see clipgan.resume).
    """
    torch.manual_seed(cfg.seed)
    g, d = DCGANGeneratorNet(model_cfg).to(device), DCGANDiscriminatorNet(model_cfg).to(device)
    g.apply(_init_weights)
    d.apply(_init_weights)
    g, d = g.to(memory_format=CONV_LAYOUT), d.to(memory_format=CONV_LAYOUT)  # after the init: the same draws
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    gen = torch.Generator().manual_seed(cfg.seed)

    def step(idx, epoch):
        real = images[idx].to(device, memory_format=CONV_LAYOUT)
        z = torch.randn(real.shape[0], model_cfg.nz, generator=gen).to(device)
        fake = g(z)
        logit_real, logit_fake = d(real), d(fake.detach())
        loss_d = F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-d(fake)).mean()  # non-saturating generator loss
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": torch.sigmoid(logit_real).mean().item(),
                "d_fake": torch.sigmoid(logit_fake).mean().item()}

    history = train_epochs(n=images.shape[0], batch_size=cfg.batch_size, epochs=cfg.epochs,
                           shuffle=lambda n: torch.randperm(n, generator=gen), step=step,
                           stateful={"g": g, "d": d, "opt_g": opt_g, "opt_d": opt_d, "gen": gen},
                           losses={"loss_d": "loss_d", "loss_g": "loss_g"}, model="DCGAN",
                           setting="generators.<id>.train.lr", limit=cfg.max_loss, resume=resume, progress=progress)
    recalibrate_batchnorm(g, model_cfg.nz, gen, device)
    checkpoint = {"kind": "dcgan", "config": asdict(model_cfg), "generator": g.state_dict(),
                  "discriminator": d.state_dict()}
    return checkpoint, history


@torch.no_grad()
def recalibrate_batchnorm(g: nn.Module, nz: int, gen: torch.Generator, device: str, batches: int = 20,
                          batch_size: int = 256) -> None:
    """Replace the BN running averages with exact averages over fresh random batches.

    G only ever ran with batch statistics during training; the momentum averages lag behind
    the moving weights, and eval-mode samples from them come out washed-out and checkered.
    The search needs eval mode (an image must not depend on the rest of its batch).
    """
    norms = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    g.train()
    for _ in range(batches):
        g(torch.randn(batch_size, nz, generator=gen).to(device))
    for m in norms:
        m.momentum = 0.1
    g.eval()


# ---------------------------------------------------------------------------------------------
# the search-facing generator


class DCGAN:
    """A trained DCGAN behind the generator interface (see clipgan.generators.base)."""

    def __init__(self, checkpoint: dict, device: str | torch.device = "cpu", truncation: float = 3.0):
        self.cfg = DCGANConfig(**checkpoint["config"])
        self.device = torch.device(device)
        self.g = DCGANGeneratorNet(self.cfg)
        self.g.load_state_dict(checkpoint["generator"])
        self.d = DCGANDiscriminatorNet(self.cfg)
        self.d.load_state_dict(checkpoint["discriminator"])
        for net in (self.g, self.d):
            net.to(self.device, memory_format=CONV_LAYOUT).eval().requires_grad_(False)
        self.latent_dim = self.cfg.nz
        self.image_size = self.cfg.image_size
        self.truncation = truncation
        self.bounds = (np.full(self.latent_dim, -truncation, np.float32),
                       np.full(self.latent_dim, truncation, np.float32))

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return np.clip(z, -self.truncation, self.truncation)

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        return self.g(latents.to(self.device, torch.float32))

    @torch.no_grad()
    def realism(self, latents: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return F.softplus(-self.d(images.float()))  # the discriminator's loss for "real"


def dcgan_configs(settings: dict, image_size: int, seed: int) -> tuple[DCGANConfig, GANTrainConfig]:
    """The model and training settings of `generators.<id>` (its `model` and `train` keys)."""
    from clipgan.config import pick

    return pick(DCGANConfig, settings.get("model"), image_size=image_size), \
        pick(GANTrainConfig, settings.get("train"), seed=seed)


def train_from_settings(images: torch.Tensor, settings: dict, *, image_size: int, seed: int, device: str = "cpu",
                        progress=None, resume: Resumer | None = None, **labelled) -> tuple[dict, list[dict]]:
    """The registry's trainer: `train_dcgan` with the configs built from `generators.<id>` (labels unused)."""
    model_cfg, train_cfg = dcgan_configs(settings, image_size, seed)
    if resume:
        resume.every = train_cfg.checkpoint_every
    report = (lambda row: progress({**row, "epochs": train_cfg.epochs})) if progress else None
    return train_dcgan(images, model_cfg, train_cfg, device=device, progress=report, resume=resume)


@register("dcgan", train=train_from_settings)
def build_dcgan(path: str, settings: dict, device: str | torch.device = "cpu") -> DCGAN:
    checkpoint = load_torch(path)
    return DCGAN(checkpoint, device=device, truncation=float(settings.get("truncation", 3.0)))
