"""A generator's prior pool: draws from its prior with their CLIP image features and realism.

Nothing here depends on a prompt, so one pool serves every prompt's search on that generator:
a prompt scores all of its members with one matrix product (image features x its text
feature), at no generator or image-encoder cost. A search uses the pool twice:
  - the realism hinge tau is the pool's median realism (instead of `prior_samples` fresh draws);
  - restart r takes the r-th of `restarts` disjoint slices of the pool and starts from that
    slice's best `pop_size` members (non-dominated rank on the two objectives, then crowding),
    whose objectives are already known: its first generation costs no evaluation.
Restarts stay independent samples: their slices share no member, and a restart's result depends
on its seed and its slice only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clipgan.search.nsga2 import clean_objectives, crowding_distances, hinge_realism, nondominated_ranks


@dataclass
class PriorPool:
    latents: np.ndarray  # (N, D) float32 draws from the generator's prior
    features: np.ndarray  # (N, E) float32 unit-norm CLIP image features of their images
    realism: np.ndarray  # (N,) float32 the generator's realism objective (lower is more realistic)
    seed: int = 0  # the stream the latents were drawn from

    def __len__(self) -> int:
        return len(self.latents)

    @property
    def typical_realism(self) -> float:
        """The realism hinge tau: the median realism of the generator's prior samples."""
        return float(np.median(self.realism))

    def save(self, path: str | Path) -> None:
        from clipgan.io import write_npz

        write_npz(path, latents=self.latents, features=self.features, realism=self.realism,
                  seed=np.array(self.seed, np.int64))

    @classmethod
    def load(cls, path: str | Path) -> "PriorPool":
        with np.load(path, allow_pickle=False) as data:
            return cls(latents=data["latents"], features=data["features"], realism=data["realism"],
                       seed=int(data["seed"]))

    def starts(self, scores: np.ndarray, restarts: int, pop_size: int, tau: float,
               hinge: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Each restart's start population from its own slice of the pool, by one prompt's `scores` (N,), or by
        each restart's own target's (restarts, N).

        Returns latents (restarts, pop_size, D) and their raw objectives (restarts, pop_size, 2):
        (-CLIP score, realism), as the search's evaluator gives them.
        """
        per_restart = len(self) // restarts
        if per_restart < pop_size:
            raise ValueError(f"a prior pool of {len(self)} gives each of {restarts} restarts {per_restart} members, "
                             f"fewer than its population of {pop_size}: set search.pool_size to at least "
                             f"{restarts * pop_size} (or 0 for no pool)")
        slices = np.arange(restarts * per_restart).reshape(restarts, per_restart)
        own = scores[slices] if scores.ndim == 1 else np.take_along_axis(scores[:restarts], slices, 1)
        F = np.stack([-own, self.realism[slices]], -1).astype(np.float64)  # (R, k, 2)
        ranked = clean_objectives(hinge_realism(F, tau) if hinge else F)
        rank = nondominated_ranks(ranked)
        crowding = crowding_distances(ranked, rank)
        index = np.broadcast_to(np.arange(per_restart), rank.shape)
        keep = np.lexsort((index, -crowding, rank), axis=-1)[:, :pop_size]  # fronts first, spread within
        chosen = np.take_along_axis(slices, keep, 1)
        return self.latents[chosen], F[np.arange(restarts)[:, None], keep]


@torch.no_grad()
def draw_pool(generator, image_features, n: int, seed: int, eval_batch: int = 64,
              device: str | torch.device = "cpu", progress=None) -> PriorPool:
    """n latents from the generator's prior with their unit-norm image features and realism.

    `image_features`: images in [-1, 1] -> (B, E) unit-norm features (`ClipScorer.image_features`).
    `progress(k)` is called after each batch with its size k.
    """
    device = torch.device(device)
    latents = generator.sample_latents(n, np.random.default_rng(seed)).astype(np.float32)
    features, realism = [], []
    for start in range(0, n, eval_batch):
        z = torch.from_numpy(latents[start:start + eval_batch]).to(device)
        images = generator(z)
        realism.append(generator.realism(z, images).float().cpu())
        features.append(image_features(images).float().cpu())
        if progress:
            progress(len(z))
    return PriorPool(latents=latents, features=torch.cat(features).numpy(), realism=torch.cat(realism).numpy(),
                     seed=seed)
