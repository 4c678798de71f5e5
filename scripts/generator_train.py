"""Rule generator_train: train one generator of a trainable kind (dcgan) on its dataset."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
