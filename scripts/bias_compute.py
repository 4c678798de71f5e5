"""Rule bias_compute: class shares with CIs, log-ratios and tests per (generator, prompt)."""

from clipgan.pipeline import bias_stage
from clipgan.runtime import start_step

config = dict(snakemake.config)
start_step(snakemake.log[0], "bias", config["report"])
bias_stage(config, snakemake.input.table, snakemake.output.bias)
