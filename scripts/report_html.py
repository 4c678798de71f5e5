"""Rule report_html: the aggregated report with figures, in results/report/."""

from clipgan.pipeline import report_stage
from clipgan.runtime import start_step

config, inp = dict(snakemake.config), snakemake.input
start_step(snakemake.log[0], "report")
report_stage(config, inp.table, inp.bias, inp.judge, list(inp.samples), list(inp.histories),
             snakemake.params.generators, snakemake.params.prompts, inp.clip[0] if inp.clip else "",
             snakemake.output.html)
