"""CLIP-GLaSS latent search with every restart advancing together.

Each restart is its own NSGA-II (own seed, own start population, own random stream) over the
generator's latent with two objectives, both minimised:
  f1 = -cos(CLIP(G(z)), CLIP(prompt))    how well the image matches the prompt
  f2 = max(realism(z, G(z)) - tau, 0)    the generator's own realism signal (D's loss, a prior),
                                         hinged at tau, its median over samples of the prior
Without the hinge, NSGA-II drives every restart toward the discriminator's favourite mode,
whatever the prompt (on the demo it made both prompts return the same dusk-sky images): the
realism term should keep images as realistic as typical samples, not reward going beyond.
Per generation every restart is asked for its offspring, all of them are evaluated as one
stream of micro-batches on the device, and each restart is told its own slice. The default
engine (`nsga2.BatchedNSGA2`) does the NSGA-II bookkeeping of all restarts in a few array
operations, with pymoo's SBX and polynomial mutation; `engine: pymoo` runs one pymoo NSGA2 per
restart instead (the reference, slower). Latents go to the device once per generation and
objectives come back once; images stay on the device.

One image per restart is picked from its final non-dominated front by `select` (see
`pick_from_front`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from clipgan.search.nsga2 import BatchedNSGA2, Variation, clean_objectives, hinge_realism
from clipgan.seeds import derive_seed

log = logging.getLogger(__name__)

SELECT_RULES = ("typical", "knee", "clip", "realism")
ENGINES = ("batched", "pymoo")


@dataclass
class SearchConfig:
    restarts: int = 24  # independent searches per (generator, prompt): one image each
    pop_size: int = 32  # NSGA-II population per restart
    generations: int = 25  # generations per restart, at most (evaluations = pop_size * generations, less
    # pop_size when a prior pool scores the first)
    eval_batch: int = 32  # micro-batch for G + CLIP + D; CPUs like 32-128, GPUs far more
    crossover_eta: float = 3.0  # SBX distribution index, as CLIP-GLaSS (benchmarks/README.md: it climbs faster than 15)
    crossover_prob: float = 0.9
    mutation_eta: float = 3.0  # polynomial mutation index, as CLIP-GLaSS (was 20)
    select: str = "typical"  # how one image is picked from a restart's final front
    realism_hinge: bool = True  # f2 = max(realism - median realism of prior samples, 0)
    n_augment: int = 0  # >0: fitness averages CLIP over this many random crops/flips
    prior_samples: int = 128  # prior draws whose median realism is the hinge (typical realism), without a pool
    pool_size: int = 0  # the generator's shared prior pool (`pool.PriorPool`); 0: none, fresh prior draws
    patience: int = 0  # a restart stops after this many generations without improving; 0: never
    tolerance: float = 1e-3  # the least rise of a restart's best typical CLIP score that counts as improving
    engine: str = "batched"  # batched: all restarts in array operations; pymoo: one pymoo NSGA2 per restart
    compile: bool = False  # torch.compile the generator + realism and CLIP's image encoder
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
    seeds: np.ndarray  # (R,) seed of each restart: its start population and its own random stream
    seconds: float  # wall time of the whole search
    history: list[dict] = field(default_factory=list)  # per generation: best/mean score, evals/s
    # with run_search(trace=True), per generation: (evaluations so far (R,), the latent each restart would pick now
    # (R, D)); the anytime quality curve of benchmarks/search_quality.py
    trace: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


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


class PendingObjectives:
    """Objectives still being computed on the device; `result()` waits for them only."""

    def __init__(self, F: torch.Tensor, device: torch.device):
        if device.type == "cuda":  # copy into pinned memory behind this batch's kernels, not later ones
            self._host = torch.empty(F.shape, dtype=F.dtype, pin_memory=True)
            self._host.copy_(F, non_blocking=True)
            self._done = torch.cuda.Event()
            self._done.record()
        else:
            self._host, self._done = F, None

    def result(self) -> np.ndarray:
        if self._done is not None:
            self._done.synchronize()
        return self._host.numpy().astype(np.float64)


class BatchEvaluator:
    """Objectives of many latents at once: G, CLIP and realism on the device, in micro-batches."""

    def __init__(self, generator, scorer, eval_batch: int, device: torch.device, compile: bool = False):
        self.generator, self.scorer = generator, scorer
        self.eval_batch, self.device = eval_batch, device
        self.autocast = device.type == "cuda"
        self.compiled = compile
        self._generate = self._images_and_realism
        self._encode = None
        if compile:  # batches are padded to eval_batch, and CLIP's input size is fixed: each compiles once
            self._generate = torch.compile(self._images_and_realism, dynamic=False)
            self._encode = torch.compile(scorer.model.encode_image, dynamic=False)

    def _images_and_realism(self, z: torch.Tensor):
        images = self.generator(z)  # (B, 3, H, W) in [-1, 1]
        return images, self.generator.realism(z, images)  # (B,)

    @torch.no_grad()
    def launch(self, X: np.ndarray, keep_images: bool = False, rows: np.ndarray | None = None):
        """Queue the evaluation of X (n, D) on the device; returns (PendingObjectives, images or None). `rows` (n,):
        each latent's restart, for a scorer with a text feature per restart (the prompt-free search)."""
        out_f, out_img = [], []
        Z = torch.from_numpy(np.ascontiguousarray(X, np.float32))
        if self.device.type == "cuda":  # an asynchronous upload: the GPU keeps working meanwhile
            Z = Z.pin_memory().to(self.device, non_blocking=True)
        else:
            Z = Z.to(self.device)
        for start in range(0, len(X), self.eval_batch):
            z = Z[start:start + self.eval_batch]
            n = len(z)
            r = None if rows is None else np.asarray(rows[start:start + self.eval_batch])
            if self.compiled and n < self.eval_batch:  # one batch shape, so one graph
                z = torch.cat([z, z[-1:].expand(self.eval_batch - n, -1)])
                r = None if r is None else np.concatenate([r, np.repeat(r[-1:], self.eval_batch - n)])
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                images, realism = self._generate(z)
                kwargs = ({"encode": self._encode} if self.compiled else {}) | ({} if r is None else {"rows": r})
                clip = self.scorer(images, **kwargs)  # (B,)
            images, realism, clip = images[:n], realism[:n], clip[:n]
            out_f.append(torch.stack([-clip.float(), realism.float()], 1))
            if keep_images:
                out_img.append(images.float().cpu())
        return PendingObjectives(torch.cat(out_f), self.device), (torch.cat(out_img) if keep_images else None)

    def images_and_objectives(self, X: np.ndarray, keep_images: bool = False, rows: np.ndarray | None = None):
        """(F (n, 2) float64, images or None), waiting for the result."""
        pending, images = self.launch(X, keep_images, rows)
        return pending.result(), images


class PymooRestarts:
    """The reference engine: one pymoo NSGA2 object per restart, asked and told one by one.

    Same interface as `BatchedNSGA2`; slower (pymoo's per-individual bookkeeping), kept to
    check the batched engine against and to run the search exactly as CLIP-GLaSS does.
    """

    def __init__(self, start: np.ndarray, low: np.ndarray, high: np.ndarray, variation: Variation, seeds,
                 generations: int):
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.problem import Problem
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM

        self.problem = Problem(n_var=start.shape[2], n_obj=2, xl=low, xu=high)
        self.algorithms = []
        for sample, seed in zip(start, seeds):
            algorithm = NSGA2(pop_size=len(sample), sampling=sample,
                              crossover=SBX(eta=variation.crossover_eta, prob=variation.crossover_prob),
                              mutation=PM(eta=variation.mutation_eta), eliminate_duplicates=False)
            # a fixed generation count, as the loop runs; pymoo's default criterion costs time every tell
            algorithm.setup(self.problem, termination=("n_gen", generations), seed=int(seed), verbose=False)
            self.algorithms.append(algorithm)
        self._asked = []  # the populations asked and not yet told
        self.active = np.ones(len(self.algorithms), bool)

    def ask(self) -> np.ndarray:
        self._asked = [self.algorithms[r].ask() for r in np.flatnonzero(self.active)]
        return np.stack([pop.get("X") for pop in self._asked])

    def tell(self, F: np.ndarray) -> None:
        from pymoo.core.evaluator import Evaluator
        from pymoo.problems.static import StaticProblem

        for r, pop, F_r in zip(np.flatnonzero(self.active), self._asked, clean_objectives(F)):
            Evaluator().eval(StaticProblem(self.problem, F=F_r), pop)
            self.algorithms[r].tell(infills=pop)
        self._asked = []

    def retire(self, restarts: np.ndarray) -> None:
        """Stop advancing these restarts; only between a tell() and the next ask(), as `BatchedNSGA2.retire`."""
        if self._asked:
            raise RuntimeError("retire() between ask() and tell() would drop the asked offspring")
        self.active[restarts] = False

    def fronts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(a.opt.get("X"), a.opt.get("F")) for a in self.algorithms]


def default_lanes(device: torch.device) -> int:
    """Two lanes on CUDA, so host bookkeeping overlaps the GPU; one on CPU, where they share the cores."""
    return 2 if device.type == "cuda" else 1


class Patience:
    """Early stopping per restart: done once its best typical CLIP score has not risen by more than
    `tolerance` for `patience` generations. "Typical": at least as realistic as the hinge tau, the
    points the `typical` pick chooses from; the best of them is always on the kept front (it is the
    front's most realistic end), so the running best over told points is the front's."""

    def __init__(self, restarts: int, patience: int, tolerance: float, tau: float):
        self.patience, self.tolerance, self.tau = patience, tolerance, tau
        self.best = np.full(restarts, -np.inf)
        self.stale = np.zeros(restarts, int)

    def update(self, restarts: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Raw objectives (len(restarts), P, 2) just told -> the restarts (of `restarts`) now done."""
        typical = np.where(F[..., 1] <= self.tau, -F[..., 0], -np.inf).max(1)
        typical = np.where(np.isnan(typical), -np.inf, typical)
        improved = typical > self.best[restarts] + self.tolerance
        self.stale[restarts] = np.where(improved, 0, self.stale[restarts] + 1)
        self.best[restarts] = np.maximum(self.best[restarts], typical)
        if self.patience <= 0:
            return restarts[:0]
        return restarts[self.stale[restarts] >= self.patience]


def run_search(generator, scorer, cfg: SearchConfig, device: str | torch.device = "cpu",
               progress=None, lanes: int | None = None, pool=None, trace: bool = False) -> SearchResult:
    """Run `cfg.restarts` NSGA-II searches together; returns one picked image per restart.

    `lanes`: groups of restarts that take turns on the device (default: `default_lanes`). Each
    restart evolves the same way whatever the lanes, up to the device's floating point for other
    batch shapes.
    `pool`: the generator's `PriorPool`: the hinge and each restart's start population come from it
    (see `clipgan.search.pool`); without one, restarts start from fresh prior draws.
    A restart runs `cfg.generations` generations (the first is its start population), or stops
    earlier with `cfg.patience` (see `Patience`); the evaluations it made are in `n_evals`.
    `trace`: also record each generation's would-be pick per restart (`SearchResult.trace`).
    """
    if cfg.select not in SELECT_RULES:
        raise ValueError(f"unknown front selection rule {cfg.select!r}; choose from {', '.join(SELECT_RULES)}")
    if cfg.engine not in ENGINES:
        raise ValueError(f"unknown search engine {cfg.engine!r}; choose from {', '.join(ENGINES)}")
    device = torch.device(device)
    low, high = generator.bounds
    per_restart = getattr(scorer, "n_targets", 1) > 1  # a text feature per restart: each image scored by its own
    if per_restart and scorer.n_targets < cfg.restarts:
        raise ValueError(f"the scorer has {scorer.n_targets} targets for {cfg.restarts} restarts")
    evaluator = BatchEvaluator(generator, scorer, cfg.eval_batch, device, compile=cfg.compile)
    seeds = np.array([derive_seed(cfg.seed, "restart", r) for r in range(cfg.restarts)])
    t0 = time.perf_counter()
    start_F = None  # raw objectives of the start populations, when the pool already knows them
    if pool is not None:
        tau = pool.typical_realism
        features = torch.from_numpy(pool.features)
        # one prompt's scores (pool,), or each restart's own target's (restarts, pool)
        scores = (scorer.score_all(features).cpu().numpy().T[:cfg.restarts] if per_restart
                  else scorer.score_features(features).cpu().numpy())
        start, start_F = pool.starts(scores, cfg.restarts, cfg.pop_size, tau, hinge=cfg.realism_hinge)
        if cfg.n_augment > 0:  # the pool knows plain scores only: the fitness evaluates its own
            start_F = None
        prior_evals = 0
    else:
        # pymoo's default sampling is uniform over the box, far from the prior: start from the prior
        start = np.stack([generator.sample_latents(cfg.pop_size, np.random.default_rng(int(seed))) for seed in seeds])
        # the generator's typical realism: median over a fixed draw from its prior
        prior = generator.sample_latents(cfg.prior_samples, np.random.default_rng(derive_seed(cfg.seed, "prior")))
        rows = np.zeros(len(prior), int) if per_restart else None  # only realism is read here
        tau = float(np.median(evaluator.images_and_objectives(prior, rows=rows)[0][:, 1]))
        prior_evals = cfg.prior_samples
    variation = Variation(crossover_eta=cfg.crossover_eta, crossover_prob=cfg.crossover_prob,
                          mutation_eta=cfg.mutation_eta)
    lanes = min(lanes or default_lanes(device), cfg.restarts)
    groups = np.array_split(np.arange(cfg.restarts), lanes)
    if cfg.engine == "batched":
        engines = [BatchedNSGA2(start[g], low, high, variation, [np.random.default_rng([int(seeds[r]), 1]) for r in g])
                   for g in groups]
    else:
        engines = [PymooRestarts(start[g], low, high, variation, seeds[g], cfg.generations) for g in groups]

    def hinged(F: np.ndarray) -> np.ndarray:
        return hinge_realism(F, tau) if cfg.realism_hinge else F

    def launch(engine, group):
        X = engine.ask()  # (active restarts of the lane, P, D)
        rows = np.repeat(group[engine.active], X.shape[1]) if per_restart else None
        return evaluator.launch(X.reshape(-1, X.shape[-1]), rows=rows)[0]

    # "typical" keeps points at least as realistic as tau, which the hinged objective puts at 0
    typical = 0.0 if cfg.realism_hinge else tau

    def picks() -> np.ndarray:
        fronts = [front for engine in engines for front in engine.fronts()]  # lanes hold consecutive restarts
        return np.stack([X_r[pick_from_front(F_r, cfg.select, typical)] for X_r, F_r in fronts]).astype(np.float32)

    n_evals = np.zeros(cfg.restarts, int)
    patience = Patience(cfg.restarts, cfg.patience, cfg.tolerance, tau)
    history, traced = [], []
    initial_best = np.empty(cfg.restarts)
    # Lanes take turns: while the host tells one lane its objectives and asks it for the next
    # generation, the device is still evaluating the other lane's, so neither waits for the other.
    pending = [None if start_F is not None else launch(engine, group) for engine, group in zip(engines, groups)]
    for generation in range(1, cfg.generations + 1):
        told_F = []
        for lane, (engine, group) in enumerate(zip(engines, groups)):
            active = group[engine.active]
            if not len(active):
                continue
            if generation == 1 and start_F is not None:  # the start population, scored from the pool
                engine.ask()
                F = start_F[active]
            else:
                F = pending[lane].result().reshape(len(active), cfg.pop_size, 2)
                n_evals[active] += cfg.pop_size
            engine.tell(hinged(F))
            told_F.append(F)
            done = patience.update(active, F)
            if len(done):
                engine.retire(np.searchsorted(group, done))
            pending[lane] = launch(engine, group) if generation < cfg.generations and engine.active.any() else None
        F_told = np.concatenate(told_F)
        if generation == 1:
            initial_best = -F_told[..., 0].min(1)  # every restart is active, told in restart order
        elapsed = time.perf_counter() - t0
        evals = prior_evals + int(n_evals.sum())  # told so far, not just queued
        n_active = sum(int(engine.active.sum()) for engine in engines)
        row = {"generation": generation, "realism_tau": tau, "best_clip": float(-F_told[..., 0].min()),
               "mean_clip": float(-F_told[..., 0].mean()), "mean_realism": float(F_told[..., 1].mean()),
               "best_typical_clip": float(patience.best.max()), "active_restarts": n_active,
               "evals": evals, "evals_per_s": evals / max(elapsed, 1e-9)}
        history.append(row)
        if trace:
            traced.append((n_evals.copy(), picks()))
        if progress:
            progress(row)
        if not n_active:
            break

    latents = picks()
    seconds = time.perf_counter() - t0
    restarts = np.arange(cfg.restarts)
    F_final, images = evaluator.images_and_objectives(latents, keep_images=True,
                                                      rows=restarts if per_restart else None)

    def final_scores(augmented: bool) -> np.ndarray:
        rows = (lambda s: {"rows": restarts[s:s + cfg.eval_batch]}) if per_restart else (lambda s: {})
        return np.concatenate([scorer(images[s:s + cfg.eval_batch].to(device), augmented=augmented, held_out=True,
                                      **rows(s)).float().cpu().numpy()
                               for s in range(0, len(images), cfg.eval_batch)])

    # the fitness was the plain score unless the search averaged over augmentations
    plain = -F_final[:, 0] if cfg.n_augment == 0 else final_scores(augmented=False)
    augmented = final_scores(augmented=True)
    return SearchResult(latents=latents, images=images, clip_score=plain, clip_score_augmented=augmented,
                        realism=F_final[:, 1], initial_clip_score=initial_best, n_evals=n_evals, seeds=seeds,
                        seconds=seconds, history=history, trace=traced)


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
