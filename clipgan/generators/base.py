"""The one interface every generator kind implements, and the registry that builds them."""

from __future__ import annotations

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
_REGISTRY: dict[str, Builder] = {}


def register(kind: str) -> Callable[[Builder], Builder]:
    def wrap(builder: Builder) -> Builder:
        _REGISTRY[kind] = builder
        return builder

    return wrap


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def build_generator(kind: str, path: str, settings: dict, device: str | torch.device = "cpu") -> Generator:
    """Load the generator of `kind` stored at `path` (a file or folder), ready for the search."""
    if kind not in _REGISTRY:
        raise ValueError(f"unknown generator kind {kind!r}; available kinds: {', '.join(kinds())}")
    return _REGISTRY[kind](path, settings, device)
