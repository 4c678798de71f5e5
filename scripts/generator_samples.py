"""Rule generator_samples: a grid of random samples of a pretrained generator."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
