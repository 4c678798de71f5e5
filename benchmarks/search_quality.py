"""CLIP score reached at an equal number of evaluations: clipgan's search against CLIP-GLaSS's GA settings.

  snakemake --cores 2 --directory demo                       # once: trains the demo's models
  python benchmarks/search_quality.py --study demo           # prints the table (about 10 min on 2 cores)

On a finished study's trained CLIP and one of its generators, every variant searches the same
prompts with the same seeds and the same evaluation budget per image:
  clipgan            the study's search settings (NSGA-II, SBX eta 15, PM eta 20, realism hinge,
                     the "typical" pick from the front);
  clipgan, clip pick the same search, picking the best CLIP score on the front;
  clipgan, pymoo engine  the same search run by one pymoo NSGA2 per restart (plain fitness only);
  CLIP-GLaSS GA      population 64, SBX eta 3 (probability 1), PM eta 3, plain realism objective,
                     best CLIP score picked, one pymoo NSGA2 per restart (`engine: pymoo`);
each with a plain fitness and with a fitness averaged over 4 random crops/flips ("+aug").
Every picked image is scored twice by an independent scorer: plain CLIP, and CLIP averaged over
8 held-out random views the fitness never used. Means with 95% bootstrap intervals over images.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch
import yaml

PROMPTS = ["a beautiful landscape", "a landscape", "a snowy mountain", "a busy street"]


def variants(study_search: dict, budget: int) -> dict:
    from clipgan.search import SearchConfig

    ours = SearchConfig(**{k: v for k, v in study_search.items() if k in {f.name for f in
                                                                          dataclasses.fields(SearchConfig)}})
    ours = dataclasses.replace(ours, generations=max(budget // ours.pop_size, 1))
    # whole generations only: the reference gets the first multiple of 64 at or above the budget
    reference = dataclasses.replace(ours, pop_size=64, generations=max(math.ceil(budget / 64), 1), crossover_eta=3.0,
                                    crossover_prob=1.0, mutation_eta=3.0, realism_hinge=False, select="clip",
                                    engine="pymoo")
    out = {}
    for name, cfg in (("clipgan", ours), ("clipgan, clip pick", dataclasses.replace(ours, select="clip")),
                      ("CLIP-GLaSS GA", reference)):
        out[name] = cfg
        out[f"{name} +aug"] = dataclasses.replace(cfg, n_augment=4)
    out["clipgan, pymoo engine"] = dataclasses.replace(ours, engine="pymoo")  # the batched engine's check
    return out


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    means = rng.choice(values, (n, len(values))).mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main() -> None:
    from clipgan import config as cfgs
    from clipgan.clip import ClipScorer, load_clip
    from clipgan.generators import generator_kind
    from clipgan.stages.common import load_generator
    from clipgan.search import run_search

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default="demo", help="a study folder whose pipeline has run")
    parser.add_argument("--generator", default=None, help="generator id (default: the first)")
    parser.add_argument("--budget", type=int, default=800, help="evaluations per image")
    parser.add_argument("--restarts", type=int, default=8, help="images per (prompt, seed)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--prompts", nargs="*", default=PROMPTS)
    args = parser.parse_args()

    study = Path(args.study)
    config = yaml.safe_load((study / "config.yaml").read_text())
    generator_id = args.generator or sorted(config["generators"])[0]
    clip_file = study / ("results/clip/model.pt" if "train" in config["clip"] else "resources/models/clip/weights.pt")
    weights = study / (f"results/generators/{generator_id}/generator.pt"
                       if generator_kind(config["generators"][generator_id]["kind"]).trained
                       else f"resources/models/generators/{generator_id}")
    for path in (clip_file, weights):
        if not path.exists():
            raise SystemExit(f"{path} not found: run the study first (snakemake --cores 2 --directory {study})")
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    generator = load_generator(config["generators"][generator_id], str(weights), device)
    spec = cfgs.clip_spec(config["clip"], str(clip_file))
    if spec.config_file:
        spec = dataclasses.replace(spec, config_file=str(study / spec.config_file))
    model, tokenizer = load_clip(spec, device)

    runs = variants(config["search"], args.budget)
    results = {name: {"plain": [], "augmented": [], "realism": [], "evals": [], "seconds": 0.0} for name in runs}
    for prompt in args.prompts:
        judge = ClipScorer(model, tokenizer, prompt, augment_seed=987_654, device=device)  # never the fitness
        for seed in range(args.seeds):
            for name, cfg in runs.items():
                scorer = ClipScorer(model, tokenizer, prompt, n_augment=cfg.n_augment, augment_seed=seed,
                                    device=device)
                t0 = time.perf_counter()
                result = run_search(generator, scorer, dataclasses.replace(cfg, restarts=args.restarts, seed=seed),
                                    device=device)
                row = results[name]
                row["seconds"] += time.perf_counter() - t0
                images = result.images.to(device)
                row["plain"].append(judge(images, augmented=False).cpu().numpy())
                row["augmented"].append(judge(images, augmented=True, held_out=True).cpu().numpy())
                row["realism"].append(result.realism)
                row["evals"].append(result.n_evals)
            print(f"done: {prompt!r} seed {seed}", flush=True)

    rng = np.random.default_rng(0)
    n_images = len(args.prompts) * args.seeds * args.restarts
    print(f"\n{generator_id}, {len(args.prompts)} prompts x {args.seeds} seeds x {args.restarts} restarts = "
          f"{n_images} images per variant; device {device}")
    print(f"{'variant':<26} {'evals/img':>9} {'plain CLIP [95% CI]':>26} {'held-out aug CLIP [95% CI]':>28} "
          f"{'realism':>8} {'s':>6}")
    summary = {}
    for name, row in results.items():
        plain, aug = np.concatenate(row["plain"]), np.concatenate(row["augmented"])
        lo, hi = bootstrap_ci(plain, rng)
        alo, ahi = bootstrap_ci(aug, rng)
        summary[name] = (plain.mean(), aug.mean())
        print(f"{name:<26} {np.concatenate(row['evals']).mean():>9.0f} {plain.mean():>8.4f} [{lo:.4f}, {hi:.4f}] "
              f"{aug.mean():>10.4f} [{alo:.4f}, {ahi:.4f}] {np.concatenate(row['realism']).mean():>8.3f} "
              f"{row['seconds']:>6.0f}")
    for kind in ("plain", "augmented"):
        ours, ref = np.concatenate(results["clipgan"][kind]), np.concatenate(results["CLIP-GLaSS GA"][kind])
        diffs = rng.choice(ours, (2000, len(ours))).mean(1) - rng.choice(ref, (2000, len(ref))).mean(1)
        print(f"clipgan minus CLIP-GLaSS GA, {kind} CLIP: {ours.mean() - ref.mean():+.4f} "
              f"[{np.quantile(diffs, 0.025):+.4f}, {np.quantile(diffs, 0.975):+.4f}]")
    ours, ref = summary["clipgan"], summary["CLIP-GLaSS GA"]
    print(f"clipgan-minus-reference plain={ours[0] - ref[0]:+.4f} augmented={ours[1] - ref[1]:+.4f}")


if __name__ == "__main__":
    main()
