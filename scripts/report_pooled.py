"""Rule report_pooled: the replicated study's report (pooled findings, forest plots), in results/report/."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
