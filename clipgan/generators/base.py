"""The one interface every generator kind implements, and the registry that builds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
import torch


class Generator(Protocol):
    """A frozen image generator seen by the search.

    latent_dim: length of the latent vector the search moves.
    bounds: (low, high) arrays of shape (latent_dim,), the search box.
    sample_latents(n, rng) -> (n, latent_dim) float32 from the generator's own prior.
    __call__(latents) -> (N, 3, H, W) images in [-1, 1].
    realism(latents, images) -> (N,) lower is more realistic.
    """

    latent_dim: int
    bounds: tuple[np.ndarray, np.ndarray]
    image_size: int

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def __call__(self, latents: torch.Tensor) -> torch.Tensor: ...

    def realism(self, latents: torch.Tensor, images: torch.Tensor) -> torch.Tensor: ...


Builder = Callable[..., Generator]


@dataclass(frozen=True)
class GeneratorKind:
    """Everything the pipeline knows about a kind, registered once in the kind's own module.

    build(path, settings, device): the generator stored at `path`, ready for the search.
    train(images, settings, *, image_size, seed, device, progress, resume, labels, classes)
        -> (checkpoint, history): set for kinds trained in the pipeline (rule generator_train);
        `images` are (N, 3, H, W) in [-1, 1], `labels` their indices into `classes` (the dataset's
        class folders); `progress(row)` after each epoch, the row holding "epoch" and "epochs" (the
        total); `resume` a `clipgan.resume.Resumer` whose `every` the trainer sets from its own settings.
    A generator may also have `true_classes(latents) -> list[str]`: the class each latent draws,
    known by construction (the renderer); the tables then carry it as `true_class`.
    fetch(settings, key, out_dir): set for pretrained kinds (rule generator_fetch); writes weights.pt.
    how_to: what a fetch expects, quoted when the asset is missing.
    chooses_realism: the kind reads `generators.<id>.realism` (discriminator or latent prior).
    """

    name: str
    build: Builder
    train: Callable | None = None
    fetch: Callable | None = None
    how_to: str = "the file"
    chooses_realism: bool = False

    @property
    def trained(self) -> bool:
        return self.train is not None


_REGISTRY: dict[str, GeneratorKind] = {}


def register(kind: str, *, train: Callable | None = None, fetch: Callable | None = None, how_to: str = "the file",
             chooses_realism: bool = False) -> Callable[[Builder], Builder]:
    """Decorate a kind's builder; a kind is either trained here (`train`) or fetched (`fetch`)."""
    if (train is None) == (fetch is None):
        raise ValueError(f"generator kind {kind!r}: give exactly one of train (trained here) or fetch (pretrained)")

    def wrap(builder: Builder) -> Builder:
        _REGISTRY[kind] = GeneratorKind(kind, builder, train, fetch, how_to, chooses_realism)
        return builder

    return wrap


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def generator_kind(kind: str) -> GeneratorKind:
    if kind not in _REGISTRY:
        raise ValueError(f"unknown generator kind {kind!r}; available kinds: {', '.join(kinds())}")
    return _REGISTRY[kind]


def build_generator(kind: str, path: str, settings: dict, device: str | torch.device = "cpu") -> Generator:
    """Load the generator of `kind` stored at `path` (a file or folder), ready for the search."""
    return generator_kind(kind).build(path, settings, device)
