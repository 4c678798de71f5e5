"""Rule bias_compute: class shares, odds ratios, tests and q-values per comparison."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
