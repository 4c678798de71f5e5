"""Rule table_build: every classified image of the study in results/table.parquet."""

from clipgan.pipeline import build_table
from clipgan.runtime import start_step

config = dict(snakemake.config)
start_step(snakemake.log[0], "table", {"parts": len(snakemake.input.parts)})
build_table(config, list(snakemake.input.parts), snakemake.output.table)
