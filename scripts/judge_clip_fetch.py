"""Rule judge_clip_fetch: a second judge's pretrained CLIP, resolved once into resources/models/judges."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
