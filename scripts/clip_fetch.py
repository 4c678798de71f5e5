"""Rule clip_fetch (local): resolve the configured CLIP weights once into resources/models."""

from clipgan.pipeline import fetch_clip
from clipgan.runtime import start_step

config = dict(snakemake.config)
start_step(snakemake.log[0], "clip_fetch", config["clip"], snakemake.threads)
fetch_clip(config, snakemake.output.model)
