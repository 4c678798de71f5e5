"""Rule file rules/search.smk: CLIP-guided latent search per (generator, prompt), and the unguided
baseline per generator."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from clipgan.stages.common import bar, load_generator, log
from clipgan.stages.job import Job, stage


def write_images(images: torch.Tensor, folder: str, names: list[str]) -> None:
    from clipgan.data.augment import to_uint8_images
    from clipgan.io import write_image

    for array, name in zip(to_uint8_images(images), names):
        write_image(array, Path(folder) / name)


def true_classes(gen, latents: np.ndarray) -> list[str | None]:
    """The class each latent draws, for a generator that knows it (the renderer); None otherwise."""
    return gen.true_classes(latents) if hasattr(gen, "true_classes") else [None] * len(latents)


def load_clip_for(job: Job, device):
    """The study's CLIP as the rule declares it (input: clip, model_config; params: clip)."""
    from clipgan import config as cfgs
    from clipgan.clip import load_clip

    spec = cfgs.clip_spec(job.params.clip, job.input.clip, config_file=job.optional_input("model_config"))
    return load_clip(spec, device)


@stage
def search_pool(job: Job) -> None:
    """A generator's prior pool: `pool_size` prior draws with their CLIP image features and realism, shared by
    every prompt's search on it (`clipgan.search.pool`).

    input: generator, clip, model_config (clip.config_file, if set).
    params: pool_size, eval_batch, settings (generators.<id> without its search and training keys), clip, seed,
    device."""
    from clipgan import config as cfgs
    from clipgan.clip import ClipScorer
    from clipgan.search import SearchConfig, draw_pool

    generator, p = job.wildcards.generator, job.params
    device = job.device()
    gen = load_generator(p.settings, job.input.generator, device)
    model, tokenizer = load_clip_for(job, device)
    features = ClipScorer(model, tokenizer, None, device=device).image_features
    seed = cfgs.generator_seed(p.seed, generator, "pool")
    t0 = time.perf_counter()
    with bar(p.pool_size, f"{generator} prior pool") as progress:
        pool = draw_pool(gen, features, p.pool_size, seed, eval_batch=p.eval_batch or SearchConfig().eval_batch,
                         device=device, progress=progress.update)
    pool.save(job.output.pool)
    log.info("%d prior draws of %s in %.1f s: median realism %.4f", len(pool), generator, time.perf_counter() - t0,
             pool.typical_realism)


@stage
def search_latents(job: Job) -> None:
    """NSGA-II search for one (generator, prompt): one image per restart, its scores and latents.

    input: generator, clip, model_config (clip.config_file, if set), pool (the generator's prior pool, if
    search.pool_size is set).
    params: prompt (its text; None: the prompt-free search), search (with the generator's overrides), settings
    (generators.<id> without its search and training keys), clip, seed, device."""
    from clipgan import config as cfgs
    from clipgan.clip import ClipScorer, random_text_directions
    from clipgan.io import write_csv, write_npy
    from clipgan.search import PriorPool, run_search
    from clipgan.seeds import derive_seed
    from clipgan.table import PROMPT_FREE_TEXT, search_schema, write_table

    generator, prompt_id, p, out = job.wildcards.generator, job.wildcards.prompt, job.params, job.output
    device = job.device()
    search_cfg = cfgs.search_config(p.search, p.seed, generator, prompt_id)
    gen = load_generator(p.settings, job.input.generator, device)
    model, tokenizer = load_clip_for(job, device)
    targets, prompt = None, p.prompt
    if prompt is None:  # the prompt-free search: a random text direction per restart, from the search's seed
        targets = random_text_directions(model, tokenizer, search_cfg.restarts,
                                         derive_seed(search_cfg.seed, "directions"), device)
        prompt = PROMPT_FREE_TEXT
    scorer = ClipScorer(model, tokenizer, prompt if targets is None else None, n_augment=search_cfg.n_augment,
                        augment_seed=search_cfg.seed, device=device, text_features=targets)
    pool_file = job.optional_input("pool")
    pool = PriorPool.load(pool_file) if pool_file else None
    log.info("search %s / %s (%r): %d restarts x pop %d x at most %d generations%s%s", generator, prompt_id,
             prompt, search_cfg.restarts, search_cfg.pop_size, search_cfg.generations,
             f", starts from a prior pool of {len(pool)}" if pool is not None else "",
             f", stops after {search_cfg.patience} generations without a rise of {search_cfg.tolerance:g}"
             if search_cfg.patience else "")
    with bar(search_cfg.generations, f"{generator}/{prompt_id}") as progress:
        def report(row):
            progress.update(1, "best clip %(best_clip).4f mean clip %(mean_clip).4f mean realism %(mean_realism).3f "
                            "%(active_restarts)d restarts active %(evals_per_s).0f evals/s" % row)
        result = run_search(gen, scorer, search_cfg, device=device, progress=report, pool=pool)
    names = [f"restart_{r:03d}.png" for r in range(search_cfg.restarts)]
    write_images(result.images, out.images, names)
    rows = pd.DataFrame({
        "generator": generator, "prompt_id": prompt_id, "prompt": prompt, "condition": "guided",
        "restart": np.arange(search_cfg.restarts), "seed": result.seeds,
        "image_path": [str(Path(out.images) / n) for n in names], "true_class": true_classes(gen, result.latents),
        "clip_score": result.clip_score, "clip_score_augmented": result.clip_score_augmented,
        "initial_clip_score": result.initial_clip_score, "realism": result.realism, "n_evals": result.n_evals,
        "search_s": result.seconds / search_cfg.restarts,
    })
    write_table(rows, out.table, search_schema(), job.provenance())
    write_npy(result.latents, out.latents)
    write_csv(pd.DataFrame(result.history), out.history)
    log.info("done in %.1f s: mean clip %.4f (first population best %.4f), mean realism %.3f, %d evaluations per "
             "restart on average (%d to %d)", result.seconds, result.clip_score.mean(),
             result.initial_clip_score.mean(), result.realism.mean(), result.n_evals.mean(), result.n_evals.min(),
             result.n_evals.max())


@stage
def unguided_sample(job: Job) -> None:
    """Latents from the generator's own prior: the baseline every guided set is compared with.

    input: generator. params: n, settings (generators.<id> without its search and training keys), seed, device."""
    from clipgan import config as cfgs
    from clipgan.io import write_npy
    from clipgan.search import sample_unguided
    from clipgan.table import search_schema, write_table

    generator, p, out = job.wildcards.generator, job.params, job.output
    n, seed = p.n, cfgs.generator_seed(p.seed, generator, "unguided")
    device = job.device()
    gen = load_generator(p.settings, job.input.generator, device)
    t0 = time.perf_counter()
    latents, images, realism = sample_unguided(gen, n, seed, device=device)
    names = [f"sample_{i:04d}.png" for i in range(n)]
    write_images(images, out.images, names)
    rows = pd.DataFrame({
        "generator": generator, "prompt_id": "", "prompt": "", "condition": "unguided", "restart": np.arange(n),
        "seed": seed, "image_path": [str(Path(out.images) / name) for name in names],
        "true_class": true_classes(gen, latents), "clip_score": np.nan,
        "clip_score_augmented": np.nan, "initial_clip_score": np.nan, "realism": realism, "n_evals": 1,
        "search_s": (time.perf_counter() - t0) / n,
    })
    write_table(rows, out.table, search_schema(), job.provenance())
    write_npy(latents, out.latents)
    log.info("%d unguided samples of %s, mean realism %.3f", n, generator, realism.mean())
