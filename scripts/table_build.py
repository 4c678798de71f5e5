"""Rule table_build: every classified image of the study in results/table.parquet."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
