"""Rule generator_fetch (local): put a pretrained generator's weights into resources/models."""

from clipgan.pipeline import fetch_generator
from clipgan.runtime import start_step

config, generator = dict(snakemake.config), snakemake.wildcards.generator
start_step(snakemake.log[0], "generator_fetch", {"generator": generator, **config["generators"][generator]})
fetch_generator(config, generator, snakemake.output.weights)
