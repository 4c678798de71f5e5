"""Rule clip_train: train the demo's tiny CLIP on (scene, caption) pairs of every synthetic domain."""

from clipgan.pipeline import train_tiny_clip
from clipgan.runtime import pick_device, start_step

config = dict(snakemake.config)
start_step(snakemake.log[0], "clip", config["clip"], snakemake.threads)
train_tiny_clip(config, list(snakemake.input.datasets), snakemake.output.model, snakemake.output.metrics,
                pick_device(config["device"]))
