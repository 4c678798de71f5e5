"""Rule search_latents: CLIP-guided NSGA-II search for one (generator, prompt); one image per restart."""

from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after the rule)
