"""Rule file rules/judge.smk: the judge, a torchvision ResNet trained on the labelled scenes, labels
every guided and unguided image."""

from __future__ import annotations

import numpy as np

from clipgan.stages.common import bar, load_dataset, log, resumer
from clipgan.stages.job import Job, stage


@stage
def judge_fetch(job: Job) -> None:
    """torchvision's default ImageNet weights of the judge's architecture (wildcard arch)."""
    from clipgan.assets import fetch_imagenet_resnet

    fetch_imagenet_resnet(job.wildcards.arch, job.output.weights)


@stage
def judge_train(job: Job) -> None:
    """Train the judge; write it, its held-out accuracy and a confusion matrix.

    input: datasets, weights (start weights, if any). params: judge, classes, seed, image_size, device."""
    from clipgan import config as cfgs
    from clipgan.data.augment import to_tensor_images
    from clipgan.io import save_torch, write_json
    from clipgan.judge import Judge, confusion_matrix, train_judge
    from clipgan.report.figures import confusion_figure

    p, out, dataset_dirs = job.params, job.output, list(job.input.datasets)
    device = job.device()
    judge_cfg = cfgs.judge_config(p.judge, p.classes, p.seed, job.optional_input("weights"))
    classes = judge_cfg.classes
    parts = [load_dataset(d, "train", classes, p.image_size) for d in dataset_dirs]
    images = np.concatenate([part[0] for part in parts])
    labels = np.concatenate([part[1] for part in parts])
    log.info("training judge %s on %d images", judge_cfg.arch, len(images))
    resume = resumer(out.model, {"judge": judge_cfg}, dataset_dirs, judge_cfg.checkpoint_every)
    with bar(judge_cfg.epochs, "judge epochs") as progress:
        def report(row):
            progress.update(1, "loss %(loss).4f train accuracy %(train_accuracy).4f" % row)
        checkpoint, history = train_judge(images, labels, judge_cfg, device=str(device), progress=report,
                                          resume=resume)
    test = [load_dataset(d, "test", classes, p.image_size) for d in dataset_dirs]
    test_images = np.concatenate([part[0] for part in test])
    test_labels = np.concatenate([part[1] for part in test])
    pred = Judge(checkpoint, device).probabilities(to_tensor_images(test_images)).argmax(1)
    accuracy = float((pred == test_labels).mean())
    cm = confusion_matrix(test_labels, pred, len(classes))
    log.info("held-out accuracy %.4f on %d images", accuracy, len(test_labels))
    save_torch(checkpoint, out.model)
    write_json({"arch": judge_cfg.arch, "accuracy": accuracy, "n_test": int(len(test_labels)), "classes": classes,
                "confusion": cm.tolist(), "history": history, **job.provenance()}, out.metrics)
    confusion_figure(cm, classes, out.confusion, title=f"judge {judge_cfg.arch}: held-out accuracy {accuracy:.1%}")
    resume.finish()


@stage
def judge_clip_train(job: Job) -> None:
    """A second judge's CLIP (wildcard judge), trained here on the captioned scenes from its own seed.

    input: datasets, model_config (its config_file, if set). params: settings (judges.<id>), seed, image_size,
    classes, device."""
    from clipgan import config as cfgs
    from clipgan.stages.clip import train_clip_from_captions

    judge_id, settings = job.wildcards.judge, job.params.settings
    train_clip_from_captions(job, settings, cfgs.judge_clip_train_config(settings, job.params.seed, judge_id),
                             f"judges.{judge_id}")


@stage
def judge_clip_fetch(job: Job) -> None:
    """A second judge's pretrained CLIP (wildcard judge), resolved once. input: model_config, weights.
    params: settings (judges.<id>)."""
    from clipgan.stages.clip import fetch_clip_weights

    fetch_clip_weights(job, job.params.settings, f"judges.{job.wildcards.judge}")


@stage
def judge_classify(job: Job) -> None:
    """Label every image of one generator: each prompt's search and the unguided baseline, by the primary judge
    and by every second judge (zero-shot CLIP).

    input: tables (one per part, in params.parts order), judge, judges (second judges' weights, in sorted id
    order), judge_configs. output: tables (the same order). params: parts, judges ({id: settings}), classes,
    device."""
    from clipgan import config as cfgs
    from clipgan.clip import DEFAULT_TEMPLATES, load_clip, zero_shot_probabilities
    from clipgan.data.augment import to_tensor_images
    from clipgan.data.folders import load_images
    from clipgan.judge import Judge
    from clipgan.table import image_schema, read_table, write_table

    parts, sources, targets = list(job.params.parts), list(job.input.tables), list(job.output.tables)
    if not len(parts) == len(sources) == len(targets):
        raise ValueError(f"judge_classify: {len(parts)} parts, {len(sources)} input and {len(targets)} output tables")
    others, weights = dict(job.params.judges), list(job.input.get("judges", []))
    if len(others) != len(weights):
        raise ValueError(f"judge_classify: {len(others)} second judges configured, {len(weights)} weight files")
    device = job.device()
    judge = Judge.load(job.input.judge, device)
    classes = list(job.params.classes)
    if classes != list(judge.classes):
        raise ValueError(f"the judge in {job.input.judge} knows {judge.classes}, the study's classes are {classes}")
    second = []  # (id, model, tokenizer, templates), loaded once for all parts
    for (judge_id, settings), path in zip(sorted(others.items()), weights):
        model, tokenizer = load_clip(cfgs.clip_spec(settings, weights=path, section=f"judges.{judge_id}"), device)
        second.append((judge_id, model, tokenizer, tuple(settings.get("templates", DEFAULT_TEMPLATES))))
    schema = image_schema(classes, sorted(others))
    for part, source, target in zip(parts, sources, targets):  # one part's images in memory at a time
        rows = read_table(source)
        images = to_tensor_images(load_images(rows.image_path))
        probs = judge.probabilities(images)
        for i, cls in enumerate(classes):
            rows[f"prob_{cls}"] = probs[:, i].astype(float)
        rows["predicted"] = [classes[i] for i in probs.argmax(1)]
        rows["judge"] = judge.cfg.arch
        for judge_id, model, tokenizer, templates in second:
            probs = zero_shot_probabilities(model, tokenizer, images, classes, templates, device)
            for i, cls in enumerate(classes):
                rows[f"prob_{judge_id}_{cls}"] = probs[:, i].astype(float)
            rows[f"predicted_{judge_id}"] = [classes[i] for i in probs.argmax(1)]
        write_table(rows, target, schema, job.provenance())
        agree = {j: f"{(rows.predicted == rows[f'predicted_{j}']).mean():.2f}" for j in sorted(others)}
        log.info("%s: classified %d images: %s%s", part, len(rows), rows.predicted.value_counts().to_dict(),
                 f"; agreement with the primary judge: {agree}" if agree else "")
