"""CLIP-GLaSS latent search with every restart advancing together.

Each restart is its own pymoo NSGA-II (own seed, own population) over the generator's
latent with two objectives, both minimised:
  f1 = -cos(CLIP(G(z)), CLIP(prompt))    how well the image matches the prompt
  f2 = max(realism(z, G(z)) - tau, 0)    the generator's own realism signal (D's loss, a prior),
                                         hinged at tau, its median over samples of the prior
Without the hinge, NSGA-II drives every restart toward the discriminator's favourite mode,
whatever the prompt (on the demo it made both prompts return the same dusk-sky images): the
realism term should keep images as realistic as typical samples, not reward going beyond.
Per generation every restart is asked for its offspring, all of them are evaluated as one
stream of micro-batches on the device, and each restart is told its own slice. pymoo only
ever sees numpy arrays; images stay on the device.

One image per restart is picked from its final non-dominated front by `select` (see
`pick_from_front`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch

log = logging.getLogger(__name__)

SELECT_RULES = ("typical", "knee", "clip", "realism")


@dataclass
class SearchConfig:
    restarts: int = 24  # independent searches per (generator, prompt): one image each
    pop_size: int = 32  # NSGA-II population per restart
    generations: int = 25  # generations per restart (evaluations = pop_size * generations)
    eval_batch: int = 32  # micro-batch for G + CLIP + D; CPUs like 32-128, GPUs far more
    crossover_eta: float = 15.0  # SBX distribution index (CLIP-GLaSS uses 3)
    crossover_prob: float = 0.9
    mutation_eta: float = 20.0  # polynomial mutation index (CLIP-GLaSS uses 3)
    select: str = "typical"  # how one image is picked from a restart's final front
    realism_hinge: bool = True  # f2 = max(realism - median realism of prior samples, 0)
    n_augment: int = 0  # >0: fitness averages CLIP over this many random crops/flips
    prior_samples: int = 128  # prior draws whose median realism is the hinge (typical realism)
    seed: int = 0


@dataclass
class SearchResult:
    latents: np.ndarray  # (R, D) the picked latent of each restart
    images: torch.Tensor  # (R, 3, H, W) in [-1, 1], on the CPU
    clip_score: np.ndarray  # (R,) plain CLIP cosine of the picked image
    clip_score_augmented: np.ndarray  # (R,) CLIP cosine averaged over 8 random views the fitness never saw
    realism: np.ndarray  # (R,)
    initial_clip_score: np.ndarray  # (R,) best plain CLIP cosine in each restart's first population
    n_evals: np.ndarray  # (R,) evaluations used per restart
    seeds: np.ndarray  # (R,) pymoo seed of each restart
    seconds: float  # wall time of the whole search
    history: list[dict] = field(default_factory=list)  # per generation: best/mean score, evals/s


def pick_from_front(F: np.ndarray, rule: str, typical_realism: float = np.inf) -> int:
    """Index of the chosen point of a non-dominated front F (n, 2), both objectives minimised.

    typical: the best prompt match among points at least as realistic as a typical sample of
             the generator (F[:, 1] <= `typical_realism`); the most realistic point if none is.
    knee:    normalise each objective over the front to [0, 1] and take the point nearest the
             ideal corner (0, 0): the best compromise between prompt match and realism.
    clip:    the best prompt match, whatever its realism.
    realism: the most realistic point (where CLIP-GLaSS's final pick tends to land).
    """
    if rule == "typical":
        ok = np.flatnonzero(F[:, 1] <= typical_realism)
        return int(ok[np.argmin(F[ok, 0])]) if len(ok) else int(np.argmin(F[:, 1]))
    if rule == "clip":
        return int(np.argmin(F[:, 0]))
    if rule == "realism":
        return int(np.argmin(F[:, 1]))
    if rule != "knee":
        raise ValueError(f"unknown front selection rule {rule!r}; choose from {', '.join(SELECT_RULES)}")
    span = F.max(0) - F.min(0)
    norm = (F - F.min(0)) / np.where(span > 0, span, 1)
    return int(np.argmin(np.hypot(norm[:, 0], norm[:, 1])))


class BatchEvaluator:
    """Objectives of many latents at once: G, CLIP and realism on the device, in micro-batches."""

    def __init__(self, generator, scorer, eval_batch: int, device: torch.device):
        self.generator, self.scorer = generator, scorer
        self.eval_batch, self.device = eval_batch, device
        self.autocast = device.type == "cuda"
        self.n_evals = 0

    @torch.no_grad()
    def images_and_objectives(self, X: np.ndarray, keep_images: bool = False):
        out_f, out_img = [], []
        for start in range(0, len(X), self.eval_batch):
            z = torch.from_numpy(np.ascontiguousarray(X[start:start + self.eval_batch], np.float32)).to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                images = self.generator(z)  # (B, 3, H, W) in [-1, 1]
                clip = self.scorer(images)  # (B,)
                realism = self.generator.realism(z, images)  # (B,)
            out_f.append(torch.stack([-clip.float(), realism.float()], 1))
            if keep_images:
                out_img.append(images.float().cpu())
        self.n_evals += len(X)
        F = torch.cat(out_f).cpu().numpy().astype(np.float64)  # the one host sync per call
        return (F, torch.cat(out_img)) if keep_images else (F, None)


def run_search(generator, scorer, cfg: SearchConfig, device: str | torch.device = "cpu",
               progress=None) -> SearchResult:
    """Run `cfg.restarts` NSGA-II searches together; returns one picked image per restart."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.evaluator import Evaluator
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.problems.static import StaticProblem

    if cfg.select not in SELECT_RULES:
        raise ValueError(f"unknown front selection rule {cfg.select!r}; choose from {', '.join(SELECT_RULES)}")
    device = torch.device(device)
    low, high = generator.bounds
    problem = Problem(n_var=generator.latent_dim, n_obj=2, xl=low, xu=high)
    evaluator = BatchEvaluator(generator, scorer, cfg.eval_batch, device)
    seeds = np.array([cfg.seed * 100_003 + r for r in range(cfg.restarts)])
    algorithms = []
    for seed in seeds:
        # pymoo's default sampling is uniform over the box, far from the prior: start from the prior
        start = generator.sample_latents(cfg.pop_size, np.random.default_rng(int(seed)))
        algorithm = NSGA2(pop_size=cfg.pop_size, sampling=start,
                          crossover=SBX(eta=cfg.crossover_eta, prob=cfg.crossover_prob),
                          mutation=PM(eta=cfg.mutation_eta), eliminate_duplicates=False)
        algorithm.setup(problem, termination=("n_gen", cfg.generations), seed=int(seed), verbose=False)
        algorithms.append(algorithm)

    t0 = time.perf_counter()
    # the generator's typical realism: median over a fixed draw from its prior
    prior = generator.sample_latents(cfg.prior_samples, np.random.default_rng(cfg.seed + 7))
    tau = float(np.median(evaluator.images_and_objectives(prior)[0][:, 1]))
    initial_best = np.full(cfg.restarts, np.nan)
    n_evals = np.zeros(cfg.restarts, int)
    history = []
    generation = 0
    while any(a.has_next() for a in algorithms):
        active = [i for i, a in enumerate(algorithms) if a.has_next()]
        pops = [algorithms[i].ask() for i in active]
        sizes = [len(p) for p in pops]
        F, _ = evaluator.images_and_objectives(np.concatenate([p.get("X") for p in pops]))
        offset = 0
        for i, pop, size in zip(active, pops, sizes):
            F_i = F[offset:offset + size]
            offset += size
            if generation == 0:
                initial_best[i] = -F_i[:, 0].min()
            if cfg.realism_hinge:
                F_i = np.stack([F_i[:, 0], np.maximum(F_i[:, 1] - tau, 0.0)], 1)
            Evaluator().eval(StaticProblem(problem, F=F_i), pop)
            algorithms[i].tell(infills=pop)
            n_evals[i] += size
        generation += 1
        elapsed = time.perf_counter() - t0
        row = {"generation": generation, "realism_tau": tau, "best_clip": float(-F[:, 0].min()),
               "mean_clip": float(-F[:, 0].mean()), "mean_realism": float(F[:, 1].mean()),
               "evals": int(evaluator.n_evals),
               "evals_per_s": evaluator.n_evals / max(elapsed, 1e-9)}
        history.append(row)
        if progress:
            progress(row)

    # "typical" keeps points at least as realistic as tau, which the hinged objective puts at 0
    typical = 0.0 if cfg.realism_hinge else tau
    picked = []
    for algorithm in algorithms:
        front = algorithm.opt  # the final population's non-dominated set
        picked.append(front.get("X")[pick_from_front(front.get("F"), cfg.select, typical)])
    latents = np.stack(picked).astype(np.float32)
    seconds = time.perf_counter() - t0
    F_final, images = evaluator.images_and_objectives(latents, keep_images=True)

    def final_scores(augmented: bool) -> np.ndarray:
        return np.concatenate([scorer(images[s:s + cfg.eval_batch].to(device), augmented=augmented, held_out=True)
                               .float().cpu().numpy() for s in range(0, len(images), cfg.eval_batch)])

    # the fitness was the plain score unless the search averaged over augmentations
    plain = -F_final[:, 0] if cfg.n_augment == 0 else final_scores(augmented=False)
    augmented = final_scores(augmented=True)
    return SearchResult(latents=latents, images=images, clip_score=plain, clip_score_augmented=augmented,
                        realism=F_final[:, 1], initial_clip_score=initial_best, n_evals=n_evals, seeds=seeds,
                        seconds=seconds, history=history)


@torch.no_grad()
def sample_unguided(generator, n: int, seed: int, batch: int = 64, device: str | torch.device = "cpu"):
    """n images from the generator's prior: the baseline the guided images are compared with."""
    device = torch.device(device)
    latents = generator.sample_latents(n, np.random.default_rng(seed))
    images, realism = [], []
    for start in range(0, n, batch):
        z = torch.from_numpy(latents[start:start + batch]).to(device)
        x = generator(z)
        realism.append(generator.realism(z, x).float().cpu())
        images.append(x.float().cpu())
    return latents, torch.cat(images), torch.cat(realism).numpy()
