"""One function per pipeline stage: read input files, call the library, write output files.

scripts/*.py only translate the `snakemake` object into these calls, so every stage runs
(and is tested) without Snakemake.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from clipgan import config as cfgs
from clipgan.runtime import Progress
from clipgan.io import config_hash, write_csv, save_torch, write_image, write_json, write_npy
from clipgan.table import search_schema, write_table

log = logging.getLogger("clipgan.pipeline")


def _bar(total: int, desc: str) -> Progress:
    return Progress(total, desc, log)


def _study_meta(config: dict) -> dict:
    return {"config_hash": config_hash(config), "study": config.get("study", "")}


def _resumer(out_model: str, settings: dict, dataset_dirs: list[str], every: int):
    """The resume file beside a trained model; its fingerprint covers the settings and the data."""
    from dataclasses import asdict, is_dataclass

    from clipgan.io import sha256_file
    from clipgan.resume import Resumer

    settings = {k: asdict(v) if is_dataclass(v) else v for k, v in settings.items()}
    data = [sha256_file(Path(d) / "manifest.json") for d in dataset_dirs]
    out = Path(out_model)
    return Resumer(out.with_name(f"{out.stem}.resume.pt"), config_hash({"settings": settings, "data": data}), every)


# ---------------------------------------------------------------------------------------------
# data


def make_synthetic_dataset(config: dict, dataset: str, out_dir: str) -> None:
    from clipgan.data.folders import write_scenes
    from clipgan.data.synthetic import generate_domain

    spec = cfgs.domain_spec(config, dataset)
    n = spec.n_train + spec.n_test
    bar = _bar(10, f"render {dataset}")
    step = max(n // 10, 1)
    table = write_scenes(generate_domain(spec), out_dir,
                         progress=lambda i: bar.update(1) if (i + 1) % step == 0 and bar.done < 10 else None)
    log.info("wrote %d scenes to %s; class counts: %s", len(table), out_dir,
             table.groupby(["split", "class"]).size().to_dict())


def load_dataset(root: str, split: str, classes, size: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Images (N, H, W, 3) uint8, integer labels over `classes`, and the file listing."""
    from clipgan.data.folders import list_image_folder, load_images

    listing = list_image_folder(root, split, classes)
    images = load_images(listing.path, size)
    labels = listing["class"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return images, labels, listing


# ---------------------------------------------------------------------------------------------
# CLIP


def train_tiny_clip(config: dict, dataset_dirs: list[str], out_model: str, out_metrics: str, device) -> None:
    from clipgan.clip import load_clip, train_clip, zero_shot_accuracy
    from clipgan.data.folders import load_images

    frames = []
    for root in dataset_dirs:
        captions = pd.read_parquet(Path(root) / "captions.parquet")
        captions["file"] = [str(Path(root) / p) for p in captions.path]
        frames.append(captions)
    pairs = pd.concat(frames, ignore_index=True)
    train, test = pairs[pairs.split == "train"], pairs[pairs.split == "test"]
    train_cfg = cfgs.clip_train_config(config)
    torch.manual_seed(train_cfg.seed)  # the random initialisation happens inside load_clip
    model, tokenizer = load_clip(cfgs.clip_spec(config, weights=""), device)
    images = load_images(train.file, config["image_size"])
    log.info("training CLIP %s on %d (image, caption) pairs", config["clip"]["model"], len(train))
    resume = _resumer(out_model, {"clip": config["clip"], "train": train_cfg}, dataset_dirs,
                      train_cfg.checkpoint_every)
    with _bar(train_cfg.epochs, "clip epochs") as bar:
        def progress(row):
            bar.update(1, "loss %(loss).4f in-batch accuracy %(batch_accuracy).3f" % row)
        history = train_clip(model, tokenizer, images, list(train.caption), train_cfg, device=str(device),
                             progress=progress, resume=resume)
    test_images = load_images(test.file, config["image_size"])
    accuracy = zero_shot_accuracy(model, tokenizer, test_images, list(test["class"]), config["classes"],
                                  device=str(device))
    log.info("zero-shot accuracy on %d held-out scenes: %.4f", len(test), accuracy)
    save_torch(model.state_dict(), out_model)
    write_json({"history": history, "zero_shot_accuracy": accuracy, "n_train": len(train), "n_test": len(test),
                **_study_meta(config)}, out_metrics)
    resume.finish()


# ---------------------------------------------------------------------------------------------
# generators


def train_dcgan_stage(config: dict, generator: str, dataset_dir: str, out_model: str, out_log: str,
                      out_samples: str, device) -> None:
    from clipgan.data.augment import to_tensor_images
    from clipgan.generators.dcgan import DCGAN, train_dcgan
    from clipgan.report.figures import image_grid

    model_cfg, train_cfg = cfgs.dcgan_configs(config, generator)
    classes = sorted(p.name for p in (Path(dataset_dir) / "train").iterdir() if p.is_dir())  # labels unused
    images, _, _ = load_dataset(dataset_dir, "train", classes, model_cfg.image_size)
    log.info("training DCGAN %s on %d images from %s", generator, len(images), dataset_dir)
    resume = _resumer(out_model, {"model": model_cfg, "train": train_cfg}, [dataset_dir], train_cfg.checkpoint_every)
    with _bar(train_cfg.epochs, f"{generator} epochs") as bar:
        def progress(row):
            bar.update(1, "step %(step)d loss_d %(loss_d).3f loss_g %(loss_g).3f D(real) %(d_real).3f "
                       "D(fake) %(d_fake).3f" % row)
        checkpoint, history = train_dcgan(to_tensor_images(images), model_cfg, train_cfg, device=str(device),
                                          progress=progress, resume=resume)
    save_torch(checkpoint, out_model)
    write_csv(pd.DataFrame(history), out_log)
    samples = DCGAN(checkpoint, device=device)(torch.from_numpy(
        np.random.default_rng(train_cfg.seed).standard_normal((64, model_cfg.nz)).astype(np.float32)))
    image_grid(samples.cpu(), out_samples, ncol=8, title=f"{generator}: random samples")
    resume.finish()


def load_generator(config: dict, generator: str, path: str, device):
    from clipgan.generators import build_generator

    gen = config["generators"][generator]
    return build_generator(gen["kind"], path, gen, device)


# ---------------------------------------------------------------------------------------------
# search and baseline


def _write_images(images: torch.Tensor, folder: str, names: list[str]) -> None:
    from clipgan.data.augment import to_uint8_images

    for array, name in zip(to_uint8_images(images), names):
        write_image(array, Path(folder) / name)


def search_stage(config: dict, generator: str, prompt_id: str, generator_path: str, clip_weights: str,
                 out_table: str, out_latents: str, out_images: str, out_history: str, device) -> None:
    from clipgan.clip import ClipScorer, load_clip
    from clipgan.search import run_search

    prompt = config["prompts"][prompt_id]
    search_cfg = cfgs.search_config(config, generator, prompt_id)
    gen = load_generator(config, generator, generator_path, device)
    model, tokenizer = load_clip(cfgs.clip_spec(config, clip_weights), device)
    scorer = ClipScorer(model, tokenizer, prompt, n_augment=search_cfg.n_augment, augment_seed=search_cfg.seed,
                        device=device)
    log.info("search %s / %s (%r): %d restarts x pop %d x %d generations", generator, prompt_id, prompt,
             search_cfg.restarts, search_cfg.pop_size, search_cfg.generations)
    with _bar(search_cfg.generations, f"{generator}/{prompt_id}") as bar:
        def progress(row):
            bar.update(1, "best clip %(best_clip).4f mean clip %(mean_clip).4f mean realism %(mean_realism).3f "
                       "%(evals_per_s).0f evals/s" % row)
        result = run_search(gen, scorer, search_cfg, device=device, progress=progress)
    names = [f"restart_{r:03d}.png" for r in range(search_cfg.restarts)]
    _write_images(result.images, out_images, names)
    rows = pd.DataFrame({
        "generator": generator, "prompt_id": prompt_id, "prompt": prompt, "condition": "guided",
        "restart": np.arange(search_cfg.restarts), "seed": result.seeds,
        "image_path": [str(Path(out_images) / n) for n in names],
        "clip_score": result.clip_score, "clip_score_augmented": result.clip_score_augmented,
        "initial_clip_score": result.initial_clip_score, "realism": result.realism, "n_evals": result.n_evals,
        "search_s": result.seconds / search_cfg.restarts,
    })
    write_table(rows, out_table, search_schema(), _study_meta(config))
    write_npy(result.latents, out_latents)
    write_csv(pd.DataFrame(result.history), out_history)
    log.info("done in %.1f s: mean clip %.4f (first population best %.4f), mean realism %.3f", result.seconds,
             result.clip_score.mean(), result.initial_clip_score.mean(), result.realism.mean())


def unguided_stage(config: dict, generator: str, generator_path: str, out_table: str,
                   out_latents: str, out_images: str, device) -> None:
    from clipgan.search import sample_unguided

    n = config["unguided"]["n"]
    seed = cfgs.unguided_seed(config, generator)
    gen = load_generator(config, generator, generator_path, device)
    t0 = time.perf_counter()
    latents, images, realism = sample_unguided(gen, n, seed, device=device)
    names = [f"sample_{i:04d}.png" for i in range(n)]
    _write_images(images, out_images, names)
    rows = pd.DataFrame({
        "generator": generator, "prompt_id": "", "prompt": "", "condition": "unguided", "restart": np.arange(n),
        "seed": seed, "image_path": [str(Path(out_images) / name) for name in names], "clip_score": np.nan,
        "clip_score_augmented": np.nan, "initial_clip_score": np.nan, "realism": realism, "n_evals": 1,
        "search_s": (time.perf_counter() - t0) / n,
    })
    write_table(rows, out_table, search_schema(), _study_meta(config))
    write_npy(latents, out_latents)
    log.info("%d unguided samples of %s, mean realism %.3f", n, generator, realism.mean())


# ---------------------------------------------------------------------------------------------
# judge


def train_judge_stage(config: dict, dataset_dirs: list[str], weights: str, out_model: str, out_metrics: str,
                      out_confusion: str, device) -> None:
    from clipgan.classifier import Judge, confusion_matrix, train_judge
    from clipgan.data.augment import to_tensor_images
    from clipgan.report.figures import confusion_figure

    judge_cfg = cfgs.judge_config(config, weights)
    classes = judge_cfg.classes
    size = config["image_size"]
    parts = [load_dataset(d, "train", classes, size) for d in dataset_dirs]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    log.info("training judge %s on %d images", judge_cfg.arch, len(images))
    resume = _resumer(out_model, {"judge": judge_cfg}, dataset_dirs, judge_cfg.checkpoint_every)
    with _bar(judge_cfg.epochs, "judge epochs") as bar:
        def progress(row):
            bar.update(1, "loss %(loss).4f train accuracy %(train_accuracy).4f" % row)
        checkpoint, history = train_judge(images, labels, judge_cfg, device=str(device), progress=progress,
                                          resume=resume)
    test = [load_dataset(d, "test", classes, size) for d in dataset_dirs]
    test_images = np.concatenate([p[0] for p in test])
    test_labels = np.concatenate([p[1] for p in test])
    judge = Judge(checkpoint, device)
    pred = judge.probabilities(to_tensor_images(test_images)).argmax(1)
    accuracy = float((pred == test_labels).mean())
    cm = confusion_matrix(test_labels, pred, len(classes))
    log.info("held-out accuracy %.4f on %d images", accuracy, len(test_labels))
    save_torch(checkpoint, out_model)
    write_json({"arch": judge_cfg.arch, "accuracy": accuracy, "n_test": int(len(test_labels)), "classes": classes,
                "confusion": cm.tolist(), "history": history, **_study_meta(config)}, out_metrics)
    confusion_figure(cm, classes, out_confusion, title=f"judge {judge_cfg.arch}: held-out accuracy {accuracy:.1%}")
    resume.finish()


def classify_stage(config: dict, images_table: str, judge_path: str, out_table: str, device) -> None:
    from clipgan.classifier import Judge
    from clipgan.data.augment import to_tensor_images
    from clipgan.data.folders import load_images
    from clipgan.table import image_schema, read_table

    rows = read_table(images_table)
    judge = Judge.load(judge_path, device)
    images = load_images(rows.image_path)
    probs = judge.probabilities(to_tensor_images(images))
    for i, cls in enumerate(judge.classes):
        rows[f"prob_{cls}"] = probs[:, i].astype(float)
    rows["predicted"] = [judge.classes[i] for i in probs.argmax(1)]
    rows["judge"] = judge.cfg.arch
    write_table(rows, out_table, image_schema(judge.classes), _study_meta(config))
    log.info("classified %d images: %s", len(rows), rows.predicted.value_counts().to_dict())


# ---------------------------------------------------------------------------------------------
# aggregation


def build_table(config: dict, parts: list[str], out_table: str) -> None:
    from clipgan.table import image_schema, read_table

    table = pd.concat([read_table(p) for p in parts], ignore_index=True)
    table = table.sort_values(["generator", "condition", "prompt_id", "restart"], kind="stable", ignore_index=True)
    write_table(table, out_table, image_schema(config["classes"]), _study_meta(config))
    log.info("table: %d rows (%s)", len(table), table.groupby(["generator", "condition"]).size().to_dict())


def bias_stage(config: dict, table_path: str, out_bias: str) -> None:
    from clipgan.bias import bias_table, headlines
    from clipgan.table import bias_schema, read_table

    settings = cfgs.bias_config(config)
    bias = bias_table(read_table(table_path), config["classes"], settings)
    write_table(bias, out_bias, bias_schema(), _study_meta(config))
    for row in headlines(bias).to_dict("records"):
        if row["class"] is None:
            log.info("%s / %s vs %s: no class stands out (omnibus p %.2g)", row["generator"], row["prompt_id"],
                     row["baseline"], row["p_value_omnibus"])
        else:
            log.info("%s / %s vs %s: %s %d/%d vs %d/%d, log odds ratio %.2f [%.2f, %.2f], q %.2g",
                     row["generator"], row["prompt_id"], row["baseline"], row["class"], row["count_guided"],
                     row["n_guided"], row["count_baseline"], row["n_baseline"], row["log_odds_ratio"],
                     row["log_odds_ratio_ci_low"], row["log_odds_ratio_ci_high"], row["q_value"])


def report_stage(config: dict, table: str, bias: str, judge_metrics: str, samples: list[str], histories: list[str],
                 generators: list[str], prompts: list[str], clip_metrics: str, out_html: str) -> None:
    from clipgan.report.html import read_benchmarks, write_report

    sample_grids = dict(zip(generators, samples))
    history_files = {f"{g}/{p}": h for (g, p), h in zip([(g, p) for g in generators for p in prompts], histories)}
    # benchmark files of the jobs that ran before this one (informational: read, not required)
    timings = read_benchmarks(sorted(str(p) for p in Path("results/benchmarks").rglob("*.tsv")))
    settings = cfgs.bias_config(config)
    write_report(table, bias, judge_metrics, sample_grids, history_files, out_html, list(config["classes"]),
                 title=f"clipgan · {config['study']}", timings=timings, clip_metrics=clip_metrics,
                 fdr=settings.fdr, power=settings.power, confidence=settings.confidence)
    log.info("report written to %s", out_html)


# ---------------------------------------------------------------------------------------------
# datasets and model assets of the full study


def prepare_dataset(config: dict, dataset: str, out_dir: str) -> None:
    """Write the dataset folder whole or not at all (a failed import leaves no half folder)."""
    from clipgan.data.sources import import_dataset
    from clipgan.io import atomic_dir

    spec = config["datasets"][dataset]
    with atomic_dir(out_dir) as tmp:
        if spec["source"] == "synthetic":
            make_synthetic_dataset(config, dataset, str(tmp))
        else:
            import_dataset(spec, dataset, list(config["classes"]), config["image_size"], tmp)


def fetch_clip(config: dict, out_model: str) -> None:
    """Resolve clip.pretrained (a file, or an open_clip tag) once, and store its state dict."""
    from clipgan.clip import load_clip
    from clipgan.io import MissingAssetError, UnsafeCheckpointError

    spec = cfgs.clip_spec(config)
    try:
        model, _ = load_clip(spec, "cpu")
    except (MissingAssetError, UnsafeCheckpointError, ValueError):
        raise
    except Exception as err:  # open_clip / huggingface_hub raise many kinds for "could not download"
        raise MissingAssetError(
            f"clip.pretrained: the weights {spec.pretrained!r} of {spec.model} could not be fetched "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). On a machine with internet "
            "access run the clip_fetch rule, or download the open_clip checkpoint yourself and set clip.pretrained "
            "to its path.") from err
    save_torch(model.state_dict(), out_model)
    log.info("stored CLIP %s (%s) in %s", spec.model, spec.pretrained, out_model)


def fetch_generator(config: dict, generator: str, out_dir: str) -> None:
    """Fetch a pretrained generator's weights (biggan, stylegan2) into `out_dir`, checked and weights-only."""
    from clipgan.assets import FETCHERS
    from clipgan.io import atomic_dir

    kind = config["generators"][generator]["kind"]
    if kind not in FETCHERS:
        raise ValueError(f"generators.{generator}: kind {kind!r} is trained in the pipeline, not fetched")
    with atomic_dir(out_dir) as tmp:
        FETCHERS[kind](config["generators"][generator], f"generators.{generator}", tmp)


def generator_samples_stage(config: dict, generator: str, weights: str, out_samples: str, device) -> None:
    from clipgan.report.figures import image_grid
    from clipgan.search import sample_unguided

    gen = load_generator(config, generator, weights, device)
    _, images, _ = sample_unguided(gen, 32, cfgs.unguided_seed(config, generator, "samples"), device=device)
    image_grid(images, out_samples, ncol=8, title=f"{generator}: random samples")


def fetch_judge_weights(arch: str, out_weights: str) -> None:
    """torchvision's default ImageNet weights for `arch` (IMAGENET1K_V2 for resnet50)."""
    from clipgan.assets import fetch_imagenet_resnet

    fetch_imagenet_resnet(arch, out_weights)
