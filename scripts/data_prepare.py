"""Rule data_prepare: render a synthetic domain, or import a scenery dataset, as an image folder."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
