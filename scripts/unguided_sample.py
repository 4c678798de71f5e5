"""Rule unguided_sample: random latents from the generator's prior, the baseline of the bias."""

from clipgan.pipeline import unguided_stage
from clipgan.runtime import pick_device, start_step

config, generator = dict(snakemake.config), snakemake.wildcards.generator
start_step(snakemake.log[0], "unguided", {"generator": generator, **config["unguided"]}, snakemake.threads)
out = snakemake.output
unguided_stage(config, generator, snakemake.input.generator, out.table, out.latents, out.images,
               pick_device(config["device"]))
