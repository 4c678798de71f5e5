"""Rule judge_fetch (local): torchvision ImageNet weights of the judge's architecture."""

from clipgan.pipeline import fetch_judge_weights
from clipgan.runtime import start_step

start_step(snakemake.log[0], "judge_fetch", {"arch": snakemake.wildcards.arch})
fetch_judge_weights(snakemake.wildcards.arch, snakemake.output.weights)
