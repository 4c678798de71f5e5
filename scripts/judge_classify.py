"""Rule judge_classify: label every image of one search (or of the unguided baseline)."""

from clipgan.pipeline import classify_stage
from clipgan.runtime import pick_device, start_step

config = dict(snakemake.config)
start_step(snakemake.log[0], "classify", dict(snakemake.wildcards), snakemake.threads)
classify_stage(config, snakemake.input.images, snakemake.input.judge, snakemake.output.table,
               pick_device(config["device"]))
