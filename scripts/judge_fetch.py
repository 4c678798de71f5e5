"""Rule judge_fetch: torchvision ImageNet weights of the judge's architecture (local rule)."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
