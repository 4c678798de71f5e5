"""Rule search_pool: a generator's prior draws with their CLIP image features and realism, shared by its searches."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
