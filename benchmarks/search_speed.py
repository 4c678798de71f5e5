"""How close is the latent search to the models' own speed limit? Prints a table.

  python benchmarks/search_speed.py                       # CPU, demo-sized models
  python benchmarks/search_speed.py --device cuda --size full   # GPU, ViT-B-32 + DCGAN-64

Measures, on the same generator + CLIP + discriminator (random weights, same architectures):
  (a) limit:     forward throughput of G + CLIP + D at the best batch size, evals/s;
  (b) search:    evals/s of clipgan.search.run_search (all restarts batched);
  (c) reference: a CLIP-GLaSS-style loop: one restart at a time, the population evaluated in
                 chunks of 32, images copied to the host and back per chunk;
  (d) the search loop alone, for each engine: run_search on a generator and scorer that cost
      nothing, i.e. how many evaluations per second its bookkeeping could feed. Without overlap,
      search/limit is at most 1 / (1 + a/d); on CUDA two lanes of restarts overlap it with the models.
The last line reads `device=<d> search/limit=<b/a> search/reference=<b/c>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from clipgan.clip import ClipScorer, ClipSpec, load_clip
from clipgan.generators.dcgan import DCGAN, DCGANConfig, DCGANDiscriminatorNet, DCGANGeneratorNet
from clipgan.search import SearchConfig, run_search
from clipgan.search.runner import BatchEvaluator, default_lanes

SIZES = {  # (CLIP architecture, its config file or "", DCGAN image size, nz)
    "demo": ("clipgan-tiny", "demo/models/clipgan-tiny.json", 32, 64),
    "full": ("ViT-B-32", "", 64, 100),
}


def build(size: str, device: torch.device):
    arch, config_file, image_size, nz = SIZES[size]
    torch.manual_seed(0)
    cfg = DCGANConfig(image_size=image_size, nz=nz)
    checkpoint = {"config": cfg.__dict__, "generator": DCGANGeneratorNet(cfg).state_dict(),
                  "discriminator": DCGANDiscriminatorNet(cfg).state_dict()}
    generator = DCGAN(checkpoint, device=device)
    model, tokenizer = load_clip(ClipSpec(model=arch, config_file=config_file), device)
    return generator, ClipScorer(model, tokenizer, "a beautiful landscape", device=device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def forward_limit(generator, scorer, device, batches: list[int], seconds: float,
                  compile: bool = False) -> dict[int, float]:
    """evals/s of G + CLIP + D per batch size, each timed for about `seconds`, as the search evaluates
    (bf16 autocast on CUDA, latents up and objectives down once per batch)."""
    evaluator = BatchEvaluator(generator, scorer, max(batches), device, compile=compile)
    out = {}
    for batch in batches:
        X = generator.sample_latents(batch, np.random.default_rng(batch))
        evaluator.eval_batch = batch
        n, t0 = 0, None
        while True:
            evaluator.images_and_objectives(X)
            if t0 is None:  # first call warms up (and compiles)
                t0 = time.perf_counter()
                continue
            n += batch
            if time.perf_counter() - t0 > seconds:
                break
        out[batch] = n / (time.perf_counter() - t0)
    return out


def reference_loop(generator, scorer, device, restarts: int, pop: int, gens: int, chunk: int = 32) -> float:
    """CLIP-GLaSS-style: restarts one after another, chunks of `chunk`, host round trip per chunk."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.evaluator import Evaluator
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.problems.static import StaticProblem

    low, high = generator.bounds
    problem = Problem(n_var=generator.latent_dim, n_obj=2, xl=low, xu=high)
    evals, t0 = 0, time.perf_counter()
    for r in range(restarts):
        algorithm = NSGA2(pop_size=pop, crossover=SBX(eta=3, prob=0.9), mutation=PM(eta=3),
                          sampling=generator.sample_latents(pop, np.random.default_rng(r)))
        algorithm.setup(problem, termination=("n_gen", gens), seed=r)
        while algorithm.has_next():
            population = algorithm.ask()
            X = population.get("X")
            F = np.zeros((len(X), 2))
            for s in range(0, len(X), chunk):
                with torch.no_grad():
                    z = torch.from_numpy(X[s:s + chunk].astype(np.float32)).to(device)
                    images = generator(z).cpu().numpy()  # to the host, as the reference does
                    images = torch.from_numpy(images).to(device)  # and back for CLIP and D
                    F[s:s + chunk, 0] = -scorer(images).cpu().numpy()
                    F[s:s + chunk, 1] = generator.realism(z, images).cpu().numpy()
            Evaluator().eval(StaticProblem(problem, F=F), population)
            algorithm.tell(infills=population)
            evals += len(X)
    return evals / (time.perf_counter() - t0)


class FreeGenerator:
    """A generator, realism and scorer that cost nothing: what is left is the search's own loop."""

    def __init__(self, latent_dim: int):
        self.latent_dim = latent_dim
        self.bounds = (np.full(latent_dim, -4.0, np.float32), np.full(latent_dim, 4.0, np.float32))

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, self.latent_dim)).astype(np.float32)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :3, None, None]

    def realism(self, z: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return z[:, 3]

    def score(self, images: torch.Tensor, augmented=None, held_out: bool = False) -> torch.Tensor:
        return images[:, 0, 0, 0]


def loop_alone(latent_dim: int, cfg: SearchConfig, device: torch.device) -> dict[str, float]:
    """evals/s of run_search's own loop per engine, models free."""
    free = FreeGenerator(latent_dim)
    out = {}
    for engine in ("batched", "pymoo"):
        run = dataclasses.replace(cfg, engine=engine, compile=False)
        t0 = time.perf_counter()
        result = run_search(free, free.score, run, device=device)
        out[engine] = result.n_evals.sum() / (time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", choices=sorted(SIZES), default="demo")
    parser.add_argument("--restarts", type=int, default=24)
    parser.add_argument("--pop", type=int, default=32)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--eval-batch", type=int, default=0, help="0: the best batch of the limit sweep")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window per batch size")
    parser.add_argument("--engine", choices=["batched", "pymoo"], default="batched", help="the engine of (b)")
    parser.add_argument("--lanes", type=int, default=0, help="lanes of restarts for (b); 0: 2 on CUDA, 1 on CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the models, for (a) and (b)")
    args = parser.parse_args()
    device = torch.device(args.device)
    generator, scorer = build(args.size, device)

    batches = [16, 32, 64, 128, 256] + ([512, 1024] if device.type == "cuda" else [])
    limits = forward_limit(generator, scorer, device, batches, args.seconds, compile=args.compile)
    best_batch = max(limits, key=limits.get)
    eval_batch = args.eval_batch or best_batch

    cfg = SearchConfig(restarts=args.restarts, pop_size=args.pop, generations=args.generations, eval_batch=eval_batch,
                       engine=args.engine, compile=args.compile)
    # warm-up: the same batch shapes (and, with --compile, the same compiled graphs' shapes)
    run_search(generator, scorer, dataclasses.replace(cfg, generations=2), device=device, lanes=args.lanes or None)
    sync(device)
    t0 = time.perf_counter()
    result = run_search(generator, scorer, cfg, device=device, lanes=args.lanes or None)
    sync(device)
    search = (result.n_evals.sum() + cfg.prior_samples) / (time.perf_counter() - t0)  # + the prior draw for tau
    reference = reference_loop(generator, scorer, device, restarts=max(2, args.restarts // 6), pop=64,
                               gens=args.generations)
    alone = loop_alone(generator.latent_dim, cfg, device)

    print(f"\nsearch speed: {args.size} models on {device} ({torch.get_num_threads()} threads), "
          f"{args.restarts} restarts x pop {args.pop} x {args.generations} generations")
    print("| what | batch | evals/s |")
    print("|---|---:|---:|")
    for batch, rate in limits.items():
        mark = " (best)" if batch == best_batch else ""
        print(f"| (a) forward G + CLIP + D{mark} | {batch} | {rate:,.0f} |")
    lanes = args.lanes or default_lanes(device)
    print(f"| (b) clipgan search, engine {args.engine}, {lanes} lane(s) | {eval_batch} | {search:,.0f} |")
    print(f"| (c) reference loop, one restart at a time, pop 64 | 32 | {reference:,.0f} |")
    for engine, rate in alone.items():
        print(f"| (d) search loop alone, models free, engine {engine} | {eval_batch} | {rate:,.0f} |")
    print(f"device={device.type} search/limit={search / limits[best_batch]:.2f} "
          f"search/reference={search / reference:.2f}")


if __name__ == "__main__":
    main()
