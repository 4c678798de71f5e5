"""Rule judge_classify: label every image of one search (or of the unguided baseline)."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
