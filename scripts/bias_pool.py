"""Rule bias_pool: each finding pooled over the replicates (random effects), in results/bias_pooled.parquet."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
