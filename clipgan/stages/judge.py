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
def judge_classify(job: Job) -> None:
    """Label every image of one generator: each prompt's search and the unguided baseline.

    input: tables (one per part, in params.parts order), judge. output: tables (the same order).
    params: parts, device."""
    from clipgan.data.augment import to_tensor_images
    from clipgan.data.folders import load_images
    from clipgan.judge import Judge
    from clipgan.table import image_schema, read_table, write_table

    parts, sources, targets = list(job.params.parts), list(job.input.tables), list(job.output.tables)
    if not len(parts) == len(sources) == len(targets):
        raise ValueError(f"judge_classify: {len(parts)} parts, {len(sources)} input and {len(targets)} output tables")
    judge = Judge.load(job.input.judge, job.device())
    for part, source, target in zip(parts, sources, targets):
        rows = read_table(source)
        probs = judge.probabilities(to_tensor_images(load_images(rows.image_path)))
        for i, cls in enumerate(judge.classes):
            rows[f"prob_{cls}"] = probs[:, i].astype(float)
        rows["predicted"] = [judge.classes[i] for i in probs.argmax(1)]
        rows["judge"] = judge.cfg.arch
        write_table(rows, target, image_schema(judge.classes), job.provenance())
        log.info("%s: classified %d images: %s", part, len(rows), rows.predicted.value_counts().to_dict())
