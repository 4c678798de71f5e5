"""Rule file rules/data.smk: datasets as image folders {split}/{class}/*.png with a manifest."""

from __future__ import annotations

from clipgan.stages.common import bar, log
from clipgan.stages.job import Job, stage


def render_domain(spec, out_dir: str) -> None:
    """Write a synthetic domain (`clipgan.config.domain_spec`) as an image folder with captions."""
    from clipgan.data.folders import write_scenes
    from clipgan.data.synthetic import generate_domain

    n = spec.n_train + spec.n_test
    progress = bar(10, f"render {spec.name}")
    step = max(n // 10, 1)
    table = write_scenes(generate_domain(spec), out_dir,
                         progress=lambda i: progress.update(1) if (i + 1) % step == 0 and progress.done < 10 else None)
    log.info("wrote %d scenes to %s; class counts: %s", len(table), out_dir,
             table.groupby(["split", "class"]).size().to_dict())


@stage
def data_prepare(job: Job) -> None:
    """Render a synthetic domain or import a scenery dataset; the folder appears whole or not at all.

    input: source (datasets.<id>.path of a local import, when it exists).
    params: settings (datasets.<id>), image_size; synthetic and seed (rendered domains), classes (imports)."""
    from clipgan import config as cfgs
    from clipgan.data.sources import import_dataset
    from clipgan.io import atomic_dir

    dataset, p = job.wildcards.dataset, job.params
    with atomic_dir(job.output.folder) as tmp:
        if p.settings["source"] == "synthetic":
            render_domain(cfgs.domain_spec(dataset, p.settings, p.synthetic, p.seed, p.image_size), str(tmp))
        else:
            import_dataset(p.settings, dataset, list(p.classes), p.image_size, tmp)
