"""Rule audit_page: a seeded sample of each generator's images, and the page on which a person labels them."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
