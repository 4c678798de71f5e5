"""Rule file rules/clip.smk: the CLIP that guides the search, trained here (demo) or fetched once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from clipgan.stages.common import bar, log, resumer
from clipgan.stages.job import Job, stage


@stage
def clip_train(job: Job) -> None:
    """Train the demo's tiny CLIP on the (scene, caption) pairs of every synthetic domain.

    input: datasets, model_config (clip.config_file, if set). params: clip, seed, image_size, classes, device."""
    from clipgan import config as cfgs

    train_clip_from_captions(job, job.params.clip, cfgs.clip_train_config(job.params.clip, job.params.seed), "clip")


def train_clip_from_captions(job: Job, settings: dict, train_cfg, section: str) -> None:
    """Train a CLIP (`settings`, config section `section`: model, config_file, train) on the captioned scenes of
    job.input.datasets; write job.output.model and job.output.metrics (with its zero-shot accuracy on the held-out
    scenes).

    The guiding CLIP (clip_train) and a second judge trained here (judge_clip_train) differ only in their
    settings and their seed."""
    from clipgan import config as cfgs
    from clipgan.clip import load_clip, train_clip, zero_shot_accuracy
    from clipgan.data.folders import load_images
    from clipgan.io import save_torch, write_json

    p, dataset_dirs = job.params, list(job.input.datasets)
    device = job.device()
    frames = []
    for root in dataset_dirs:
        captions = pd.read_parquet(Path(root) / "captions.parquet")
        captions["file"] = [str(Path(root) / path) for path in captions.path]
        frames.append(captions)
    pairs = pd.concat(frames, ignore_index=True)
    train, test = pairs[pairs.split == "train"], pairs[pairs.split == "test"]
    torch.manual_seed(train_cfg.seed)  # the random initialisation happens inside load_clip
    spec = cfgs.clip_spec(settings, config_file=job.optional_input("model_config"), section=section)
    model, tokenizer = load_clip(spec, device)
    images = load_images(train.file, p.image_size)
    log.info("training CLIP %s on %d (image, caption) pairs", settings["model"], len(train))
    resume = resumer(job.output.model, {"clip": settings, "train": train_cfg}, dataset_dirs,
                     train_cfg.checkpoint_every)
    with bar(train_cfg.epochs, "clip epochs") as progress:
        def report(row):
            progress.update(1, "loss %(loss).4f in-batch accuracy %(batch_accuracy).3f" % row)
        history = train_clip(model, tokenizer, images, list(train.caption), train_cfg, device=str(device),
                             progress=report, resume=resume)
    test_images = load_images(test.file, p.image_size)
    accuracy = zero_shot_accuracy(model, tokenizer, test_images, list(test["class"]), p.classes, device=str(device))
    log.info("zero-shot accuracy on %d held-out scenes: %.4f", len(test), accuracy)
    save_torch(model.state_dict(), job.output.model)
    write_json({"history": history, "zero_shot_accuracy": accuracy, "n_train": len(train), "n_test": len(test),
                **job.provenance()}, job.output.metrics)
    resume.finish()


@stage
def clip_fetch(job: Job) -> None:
    """Resolve clip.pretrained (a file, or an open_clip tag) once and store its state dict.

    input: model_config (clip.config_file, if set), weights (clip.pretrained, when it is a local file).
    params: clip."""
    fetch_clip_weights(job, job.params.clip, "clip")


def fetch_clip_weights(job: Job, settings: dict, key: str) -> None:
    """Resolve settings["pretrained"] (a file or an open_clip tag) for the CLIP of config key `key` and store
    its state dict in job.output.model."""
    from clipgan import config as cfgs
    from clipgan.checkpoints import UnsafeCheckpointError
    from clipgan.clip import load_clip
    from clipgan.io import MissingAssetError, save_torch

    spec = cfgs.clip_spec(settings, config_file=job.optional_input("model_config"), section=key)
    try:
        model, _ = load_clip(spec, "cpu")
    except (MissingAssetError, UnsafeCheckpointError, ValueError):
        raise
    except Exception as err:  # open_clip / huggingface_hub raise many kinds for "could not download"
        raise MissingAssetError(
            f"{key}.pretrained: the weights {spec.pretrained!r} of {spec.model} could not be fetched "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). On a machine with internet "
            f"access run the {job.rule or 'clip_fetch'} rule, or download the open_clip checkpoint yourself and set "
            f"{key}.pretrained to its path.") from err
    save_torch(model.state_dict(), job.output.model)
    log.info("stored CLIP %s (%s) in %s", spec.model, spec.pretrained, job.output.model)
