"""CLIP score of the picked images against the evaluations spent: clipgan's search variants and CLIP-GLaSS's GA.

  snakemake --cores 2 --directory demo                       # once: trains the demo's models
  python benchmarks/search_quality.py --study demo           # table, curves, last line evals_to_match_reference=<r>
  python benchmarks/search_quality.py --study demo --seeds 4 --first-seed 4 --search pop_size=12
      # a setting chosen on seeds 0-3, confirmed on seeds it was not chosen on (`--variants` runs fewer)

On a finished study's trained CLIP and one of its generators, every variant searches the same
prompts with the same seeds, up to the same evaluation budget per image (`--budget`):
  clipgan, full budget     today's search without a pool or early stopping: NSGA-II with the study's
                           SBX and PM (eta 3 by default), realism hinge, the "typical" pick from the
                           front, every generation;
  clipgan, pool            restarts start from the best of their own slice of a prior pool;
  clipgan, early stop      restarts stop once their best typical score stops rising (`--patience`);
  clipgan, pool + early stop  both (the demo's settings);  "+aug": its fitness averages 4 crops/flips;
  CLIP-GLaSS GA            population 64, SBX eta 3 (probability 1), PM eta 3, plain realism objective,
                           best CLIP score picked, one pymoo NSGA2 per restart (`engine: pymoo`);
  clipgan, pymoo engine    the full-budget search run by pymoo's own objects: the batched engine's check.
Every picked image is scored by an independent scorer: plain CLIP, and CLIP averaged over 8
held-out random views the fitness never used; means with 95% bootstrap intervals over images.

Anytime quality: every generation, the image each restart would pick then is scored too, so each
variant gives a curve of score against evaluations spent per image. A pool's draws are charged
to the searches that share it: pool_size / (prompts x restarts) evaluations per image. The last
line, evals_to_match_reference=<r>, is the fraction of the reference's evaluations per image at
which the best of our variants' picked images first reach the reference's full-budget mean
score on both measures ("inf" if none does within the budget).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's clipgan, installed or not

PROMPTS = ["a beautiful landscape", "a landscape", "a snowy mountain", "a busy street"]
REFERENCE = "CLIP-GLaSS GA"
CURVES = ["clipgan, full budget", "clipgan, pool", "clipgan, early stop", "clipgan, pool + early stop", REFERENCE]


def variants(study_search: dict, budget: int, patience: int, tolerance: float) -> dict:
    """name -> (SearchConfig, uses the pool)."""
    from clipgan.search import SearchConfig

    names = {f.name for f in dataclasses.fields(SearchConfig)}
    base = SearchConfig(**{k: v for k, v in study_search.items() if k in names})
    full = dataclasses.replace(base, generations=max(budget // base.pop_size, 1), pool_size=0, patience=0)
    stop = dataclasses.replace(full, patience=patience, tolerance=tolerance)
    # whole generations only: the reference gets the first multiple of 64 at or above the budget
    reference = dataclasses.replace(full, pop_size=64, generations=max(math.ceil(budget / 64), 1), crossover_eta=3.0,
                                    crossover_prob=1.0, mutation_eta=3.0, realism_hinge=False, select="clip",
                                    engine="pymoo")
    return {
        "clipgan, full budget": (full, False),
        "clipgan, pool": (full, True),
        "clipgan, early stop": (stop, False),
        "clipgan, pool + early stop": (stop, True),
        "clipgan, pool + early stop +aug": (dataclasses.replace(stop, n_augment=4), True),
        REFERENCE: (reference, False),
        f"{REFERENCE} +aug": (dataclasses.replace(reference, n_augment=4), False),
        "clipgan, pymoo engine": (dataclasses.replace(full, engine="pymoo"), False),
    }


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    means = rng.choice(values, (n, len(values))).mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


@torch.no_grad()
def score(generator, judge, latents: np.ndarray, device) -> tuple[np.ndarray, np.ndarray]:
    """Plain and held-out augmented CLIP scores of the images of `latents` (n, D)."""
    images = generator(torch.from_numpy(latents).to(device))
    return (judge(images, augmented=False).float().cpu().numpy(),
            judge(images, augmented=True, held_out=True).float().cpu().numpy())


def curve_points(trace, pool_charge: float, generations: int, score_fn) -> list[tuple[np.ndarray, ...]]:
    """Per generation up to `generations`: (evaluations per image, plain, augmented), each (R,).

    A search that ended early (every restart stopped) keeps its last picks and evaluations."""
    scored = [(n_evals + pool_charge, *score_fn(latents)) for n_evals, latents in trace]
    return [scored[min(g, len(scored) - 1)] for g in range(generations)]


def plot(curves: dict, out: Path, budget_ref: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clipgan.io import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6), sharex=True)
    for name, rows in curves.items():
        x = np.array([r["evals"] for r in rows])
        for ax, key in zip(axes, ("plain", "augmented")):
            y = np.array([r[key] for r in rows])
            lo, hi = np.array([r[f"{key}_low"] for r in rows]), np.array([r[f"{key}_high"] for r in rows])
            style = dict(color="black", linestyle="--") if name == REFERENCE else {}
            line, = ax.plot(x, y, marker=".", markersize=3, label=name, **style)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
    for ax, title in zip(axes, ("plain CLIP of the picked image", "CLIP over 8 held-out views")):
        ax.axvline(0.25 * budget_ref, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("evaluations per image (pool share included)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean score, 95% interval")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, out, dpi=130)
    plt.close(fig)


def main() -> None:
    from clipgan import config as cfgs
    from clipgan.clip import ClipScorer, load_clip
    from clipgan.generators import generator_kind
    from clipgan.io import write_csv
    from clipgan.search import draw_pool, run_search
    from clipgan.seeds import derive_seed
    from clipgan.stages.common import load_generator

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default="demo", help="a study folder whose pipeline has run")
    parser.add_argument("--generator", default=None, help="generator id (default: the first)")
    parser.add_argument("--budget", type=int, default=800, help="evaluations per image, at most")
    parser.add_argument("--restarts", type=int, default=8, help="images per (prompt, seed)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1: fresh seeds confirm what others chose")
    parser.add_argument("--variants", nargs="*", default=None, metavar="NAME",
                        help="run only these variants (names as printed); the reference always runs")
    parser.add_argument("--prompts", nargs="*", default=PROMPTS)
    parser.add_argument("--pool-size", type=int, default=None,
                        help="prior pool per seed, shared by the prompts (default: as many draws per restart as the "
                             "study's pool gives, else 8 x restarts x pop_size)")
    parser.add_argument("--patience", type=int, default=None, help="early stopping (default: the study's, else 3)")
    parser.add_argument("--tolerance", type=float, default=None, help="(default: the study's, else 0.001)")
    parser.add_argument("--search", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override the study's search settings for our variants (YAML values), e.g. pop_size=16")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "search_quality",
                        help="folder for curves.csv and curves.png")
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

    search = cfgs.search_settings(config["search"], config["generators"][generator_id])
    for item in args.search:
        key, _, value = item.partition("=")
        search[key] = yaml.safe_load(value)
    patience = args.patience if args.patience is not None else search.get("patience") or 3
    tolerance = args.tolerance if args.tolerance is not None else search.get("tolerance", 1e-3)
    runs = variants(search, args.budget, patience, tolerance)
    pool_cfg = runs["clipgan, pool"][0]
    if args.variants:
        unknown = sorted(set(args.variants) - set(runs))
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; choose from {sorted(runs)}")
        runs = {name: run for name, run in runs.items() if name in args.variants or name == REFERENCE}
    curve_names = [name for name in CURVES if name in runs]
    # the study's draws per restart (the demo: 2,304 / 24 = 96), so the start is chosen as the study chooses it
    study_pool = search.get("pool_size") or 0
    pool_size = args.pool_size or (study_pool * args.restarts // pool_cfg.restarts if study_pool
                                   else 8 * args.restarts * pool_cfg.pop_size)
    pool_charge = pool_size / (len(args.prompts) * args.restarts)  # evaluations per image
    features = ClipScorer(model, tokenizer, None, device=device).image_features
    results = {name: {"plain": [], "augmented": [], "realism": [], "evals": [], "seconds": 0.0, "curve": []}
               for name in runs}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        pool = draw_pool(generator, features, pool_size, derive_seed(seed, "benchmark pool"),
                         eval_batch=pool_cfg.eval_batch, device=device)
        for prompt in args.prompts:
            judge = ClipScorer(model, tokenizer, prompt, augment_seed=987_654, device=device)  # never the fitness
            for name, (cfg, uses_pool) in runs.items():
                scorer = ClipScorer(model, tokenizer, prompt, n_augment=cfg.n_augment, augment_seed=seed,
                                    device=device)
                t0 = time.perf_counter()
                result = run_search(generator, scorer, dataclasses.replace(cfg, restarts=args.restarts, seed=seed),
                                    device=device, pool=pool if uses_pool else None, trace=name in curve_names)
                row = results[name]
                row["seconds"] += time.perf_counter() - t0
                images = result.images.to(device)
                row["plain"].append(judge(images, augmented=False).cpu().numpy())
                row["augmented"].append(judge(images, augmented=True, held_out=True).cpu().numpy())
                row["realism"].append(result.realism)
                row["evals"].append(result.n_evals + (pool_charge if uses_pool else 0))
                if name in curve_names:
                    row["curve"].append(curve_points(
                        result.trace, pool_charge if uses_pool else 0, cfg.generations,
                        lambda z, judge=judge: score(generator, judge, z, device)))
            print(f"done: {prompt!r} seed {seed}", flush=True)

    rng = np.random.default_rng(0)
    n_images = len(args.prompts) * args.seeds * args.restarts
    print(f"\n{generator_id}, {len(args.prompts)} prompts x {args.seeds} seeds x {args.restarts} restarts = "
          f"{n_images} images per variant; prior pool {pool_size} per seed ({pool_charge:.0f} evaluations charged per "
          f"image); early stop after {patience} generations without a rise of {tolerance:g}; device {device}")
    print(f"{'variant':<32} {'evals/img':>9} {'plain CLIP [95% CI]':>26} {'held-out aug CLIP [95% CI]':>28} "
          f"{'realism':>8} {'s':>6}")
    summary = {}
    for name, row in results.items():
        plain, aug = np.concatenate(row["plain"]), np.concatenate(row["augmented"])
        lo, hi = bootstrap_ci(plain, rng)
        alo, ahi = bootstrap_ci(aug, rng)
        summary[name] = (plain.mean(), aug.mean(), np.concatenate(row["evals"]).mean())
        print(f"{name:<32} {summary[name][2]:>9.0f} {plain.mean():>8.4f} [{lo:.4f}, {hi:.4f}] "
              f"{aug.mean():>10.4f} [{alo:.4f}, {ahi:.4f}] {np.concatenate(row['realism']).mean():>8.3f} "
              f"{row['seconds']:>6.0f}")

    # the curves: per generation, over every (seed, prompt) run of the variant
    curves, table = {}, []
    for name in curve_names:
        runs_points = results[name]["curve"]
        curves[name] = []
        for g in range(len(runs_points[0])):
            evals = np.concatenate([points[g][0] for points in runs_points])
            point = {"variant": name, "generation": g + 1, "evals": float(evals.mean())}
            for k, key in ((1, "plain"), (2, "augmented")):
                values = np.concatenate([points[g][k] for points in runs_points])
                point[key] = float(values.mean())
                point[f"{key}_low"], point[f"{key}_high"] = bootstrap_ci(values, rng)
            curves[name].append(point)
            table.append(point)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(__import__("pandas").DataFrame(table), args.out / "curves.csv")
    reference_plain, reference_aug, reference_evals = summary[REFERENCE]
    plot(curves, args.out / "curves.png", reference_evals)

    print(f"\nevaluations per image at which each variant's picked images first reach {REFERENCE}'s full-budget "
          f"means (plain {reference_plain:.4f}, held-out aug {reference_aug:.4f}, at {reference_evals:.0f})")
    best = math.inf
    for name in curve_names[:-1]:
        reached = [p for p in curves[name] if p["plain"] >= reference_plain and p["augmented"] >= reference_aug]
        ratio = reached[0]["evals"] / reference_evals if reached else math.inf
        best = min(best, ratio)
        where = f"{reached[0]['evals']:.0f} (generation {reached[0]['generation']})" if reached else "not within budget"
        print(f"  {name:<30} {where:>28}  r = {ratio:.3f}")
    for kind in ("plain", "augmented") if "clipgan, pool + early stop" in results else ():
        ours = np.concatenate(results["clipgan, pool + early stop"][kind])
        ref = np.concatenate(results[REFERENCE][kind])
        diffs = rng.choice(ours, (2000, len(ours))).mean(1) - rng.choice(ref, (2000, len(ref))).mean(1)
        print(f"clipgan (pool + early stop) minus {REFERENCE}, {kind} CLIP: {ours.mean() - ref.mean():+.4f} "
              f"[{np.quantile(diffs, 0.025):+.4f}, {np.quantile(diffs, 0.975):+.4f}]")
    print(f"curves: {args.out / 'curves.png'} and curves.csv")
    print(f"evals_to_match_reference={best:.3f}" if math.isfinite(best) else "evals_to_match_reference=inf")


if __name__ == "__main__":
    main()
