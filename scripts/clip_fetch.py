"""Rule clip_fetch: resolve the configured CLIP weights once into resources/models (local rule)."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
