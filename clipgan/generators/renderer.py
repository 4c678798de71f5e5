"""A generator whose every image carries its true class: the demo's scene renderer behind a latent.

The latent has two parts. Class genes (one per class, in [0, 1]) pick the scene's class by the
Gumbel-max rule, argmax(log p_c - log(-log u_c)), so that under the prior (uniform genes) the
classes appear with the domain's mix p. Scene genes (standard normal, truncated at 2 sd) stand
in for the renderer's random draws: the scene renderer takes a `GeneStream` where it would take a
random generator, and every layout, light and colour choice reads the next genes. Nearby genes
give nearby scenes, so the search can move along them like along a GAN's latent.

"Training" estimates the class mix from the dataset's labels: the renderer draws the same
scenes as the dataset, so its images are in the judge's domain, and its prior mix is the data's.
Realism is the prior penalty on the scene genes, as for BigGAN.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtr

from clipgan.generators.base import register

N_SCENE_GENES = 58


class GeneStream:
    """Stands in for `np.random.Generator` in `clipgan.data.synthetic`: each draw reads the next genes.

    A gene g becomes the uniform number Phi(g); the stream wraps around when it runs out."""

    def __init__(self, genes: np.ndarray):
        self.genes, self.position = np.asarray(genes, np.float64), 0
        # Phi once per gene, not per draw: a forest scene makes hundreds of draws
        self.uniforms = np.minimum(ndtr(self.genes), 1 - 1e-9)

    def _take(self, values: np.ndarray, size):
        if size is None:  # one number: most of the renderer's draws
            value = values[self.position % len(values)]
            self.position += 1
            return float(value)
        n = int(np.prod(size))
        index = (self.position + np.arange(n)) % len(values)
        self.position += n
        return values[index].reshape(size)

    def random(self, size=None):
        return self._take(self.uniforms, size)

    def uniform(self, low=0.0, high=1.0, size=None):
        return low + (high - low) * self._take(self.uniforms, size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return loc + scale * self._take(self.genes, size)

    def integers(self, low, high=None, size=None):
        low, high = (0, low) if high is None else (low, high)
        values = np.floor(low + (high - low) * np.asarray(self._take(self.uniforms, size))).astype(np.int64)
        return int(values) if size is None else values

    def choice(self, options, size=None):
        if size is not None:
            raise ValueError("GeneStream.choice draws one option at a time")
        return options[self.integers(len(options))]


class SceneRenderer:
    """The scene renderer behind the generator interface (see clipgan.generators.base)."""

    def __init__(self, checkpoint: dict, device: str | torch.device = "cpu", truncation: float = 2.0):
        self.classes = list(checkpoint["classes"])
        mix = np.asarray(checkpoint["class_mix"], np.float64)
        if len(mix) != len(self.classes) or (mix < 0).any() or mix.sum() <= 0:
            raise ValueError(f"renderer: a class mix over {self.classes} must be non-negative with a positive sum")
        self.log_mix = np.log(np.where(mix > 0, mix / mix.sum(), 1e-300))
        self.image_size, self.device, self.truncation = int(checkpoint["image_size"]), torch.device(device), truncation
        k = len(self.classes)
        self.latent_dim = k + N_SCENE_GENES
        self.bounds = (np.concatenate([np.zeros(k), np.full(N_SCENE_GENES, -truncation)]).astype(np.float32),
                       np.concatenate([np.ones(k), np.full(N_SCENE_GENES, truncation)]).astype(np.float32))

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        genes = rng.uniform(0, 1, (n, len(self.classes)))
        z = rng.standard_normal((n, N_SCENE_GENES))
        while (outside := np.abs(z) > self.truncation).any():
            z[outside] = rng.standard_normal(outside.sum())
        return np.concatenate([genes, z], 1).astype(np.float32)

    def true_classes(self, latents) -> list[str]:
        """The class each latent draws (the Gumbel-max of its class genes)."""
        genes = np.asarray(torch.as_tensor(latents).float().cpu())[:, :len(self.classes)]
        u = np.clip(genes, 1e-9, 1 - 1e-9)
        return [self.classes[i] for i in np.argmax(self.log_mix - np.log(-np.log(u)), axis=1)]

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        from clipgan.data.synthetic import render_scene

        latents = np.asarray(torch.as_tensor(latents).float().cpu())
        scenes = [render_scene(cls, GeneStream(z[len(self.classes):]), self.image_size)
                  for cls, z in zip(self.true_classes(latents), latents)]
        images = torch.from_numpy(np.stack(scenes)).permute(0, 3, 1, 2).float() / 127.5 - 1
        return images.to(self.device)

    @torch.no_grad()
    def realism(self, latents: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        z = torch.as_tensor(latents).to(self.device, torch.float32)[:, len(self.classes):]
        return z.pow(2).mean(1)


def train_from_labels(images: torch.Tensor, settings: dict, *, image_size: int, seed: int, device: str = "cpu",
                      progress=None, resume=None, labels=None, classes=None) -> tuple[dict, list[dict]]:
    """The registry's trainer: the class mix of the dataset's training split (labels are its classes)."""
    if labels is None or classes is None:
        raise ValueError("the renderer learns its class mix from labelled scenes: its dataset needs labels")
    counts = np.bincount(np.asarray(labels), minlength=len(classes)).astype(float)
    row = {"epoch": 1, "epochs": 1, **{f"share_{c}": counts[i] / counts.sum() for i, c in enumerate(classes)}}
    if progress:
        progress(row)
    checkpoint = {"kind": "renderer", "classes": list(classes), "class_mix": counts.tolist(), "image_size": image_size}
    return checkpoint, [{k: v for k, v in row.items() if k != "epochs"}]


@register("renderer", train=train_from_labels)
def build_renderer(path: str, settings: dict, device: str | torch.device = "cpu") -> SceneRenderer:
    from clipgan.checkpoints import load_torch

    return SceneRenderer(load_torch(path), device=device, truncation=float(settings.get("truncation", 2.0)))
