"""Rule judge_clip_train: a second judge's CLIP, trained here on the captioned scenes from its own seed."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
