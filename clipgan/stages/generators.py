"""Rule file rules/generators.smk: generators trained here on a dataset, or pretrained ones fetched.

Which kinds are trained and which fetched is the registry's (`clipgan.generators.generator_kind`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clipgan.stages.common import bar, load_dataset, load_generator, log, resumer
from clipgan.stages.job import Job, stage

N_SAMPLES = 32  # the grid of a pretrained generator; a trained one shows 64


def _sample_grid(gen, n: int, seed: int, path: str, title: str) -> None:
    """n draws from the generator's own prior, as a grid."""
    from clipgan.report.figures import image_grid
    from clipgan.search import sample_unguided

    _, images, _ = sample_unguided(gen, n, seed, device=getattr(gen, "device", "cpu"))
    image_grid(images.cpu(), path, ncol=8, title=title)


@stage
def generator_train(job: Job) -> None:
    """Train a generator of a trainable kind on its dataset; write weights, loss log and a sample grid.

    input: dataset. params: settings (kind, dataset, model, train of generators.<id>), seed, image_size, device."""
    from clipgan import config as cfgs
    from clipgan.data.augment import to_tensor_images
    from clipgan.generators import generator_kind
    from clipgan.io import save_torch, write_csv

    generator, p = job.wildcards.generator, job.params
    device = job.device()
    kind = generator_kind(p.settings["kind"])
    seed = cfgs.generator_seed(p.seed, generator, "generator")
    classes = sorted(d.name for d in (Path(job.input.dataset) / "train").iterdir() if d.is_dir())
    images, labels, _ = load_dataset(job.input.dataset, "train", classes, p.image_size)
    log.info("training %s %s on %d images from %s", kind.name, generator, len(images), job.input.dataset)
    resume = resumer(job.output.model, {"settings": p.settings, "image_size": p.image_size, "seed": seed},
                     [job.input.dataset], every=0)  # the kind's trainer sets how often it saves
    progress = None

    def report(row):
        nonlocal progress
        progress = progress or bar(row["epochs"], f"{generator} epochs")
        progress.update(1, " ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in row.items() if k not in ("epoch", "epochs")))
    checkpoint, history = kind.train(to_tensor_images(images), p.settings, image_size=p.image_size, seed=seed,
                                     device=str(device), progress=report, resume=resume, labels=labels,
                                     classes=classes)
    save_torch(checkpoint, job.output.model)
    write_csv(pd.DataFrame(history), job.output.training_log)
    gen = kind.build(job.output.model, p.settings, device)
    _sample_grid(gen, 64, seed, job.output.samples, f"{generator}: random samples")
    resume.finish()


@stage
def generator_fetch(job: Job) -> None:
    """Fetch a pretrained generator's weights into its folder, checked and weights-only.

    input: asset (generators.<id>.weights, when that local file exists). params: settings (generators.<id>)."""
    from clipgan.generators import generator_kind
    from clipgan.io import atomic_dir

    generator, settings = job.wildcards.generator, job.params.settings
    kind = generator_kind(settings["kind"])
    if kind.fetch is None:
        raise ValueError(f"generators.{generator}: kind {kind.name!r} is trained in the pipeline, not fetched")
    with atomic_dir(job.output.weights) as tmp:
        kind.fetch(settings, f"generators.{generator}", tmp)


@stage
def generator_samples(job: Job) -> None:
    """A grid of random samples of a pretrained generator.

    input: weights. params: settings (generators.<id> without search and training keys), seed, device."""
    from clipgan import config as cfgs

    generator, p = job.wildcards.generator, job.params
    gen = load_generator(p.settings, job.input.weights, job.device())
    _sample_grid(gen, N_SAMPLES, cfgs.generator_seed(p.seed, generator, "samples"), job.output.samples,
                 f"{generator}: random samples")
