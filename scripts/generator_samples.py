"""Rule generator_samples: a grid of random samples of a pretrained generator."""

from clipgan.pipeline import generator_samples_stage
from clipgan.runtime import pick_device, start_step

config, generator = dict(snakemake.config), snakemake.wildcards.generator
start_step(snakemake.log[0], "generator_samples", {"generator": generator}, snakemake.threads)
generator_samples_stage(config, generator, snakemake.input.weights, snakemake.output.samples,
                        pick_device(config["device"]))
