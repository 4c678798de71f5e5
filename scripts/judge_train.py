"""Rule judge_train: train the judge; held-out accuracy and a confusion matrix."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
