"""Rule report_html: the aggregated report with figures, in results/report/."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
