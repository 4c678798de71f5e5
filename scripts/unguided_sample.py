"""Rule unguided_sample: random latents from the generator's prior, the baseline of the bias."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
