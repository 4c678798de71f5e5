"""Rule clip_train: train the demo's tiny CLIP on (scene, caption) pairs of every synthetic domain."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
