"""Rule audit_correct: the judge's error measured on the audited images; the study's shares corrected for it."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
