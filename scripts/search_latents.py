"""Rule search_latents: CLIP-guided NSGA-II search for one (generator, prompt); one image per restart."""

from clipgan.pipeline import search_stage
from clipgan.runtime import pick_device, start_step

config, wc = dict(snakemake.config), snakemake.wildcards
start_step(snakemake.log[0], "search", {"generator": wc.generator, "prompt_id": wc.prompt,
                                        "prompt": config["prompts"][wc.prompt], **config["search"]}, snakemake.threads)
out = snakemake.output
search_stage(config, wc.generator, wc.prompt, snakemake.input.generator, snakemake.input.clip, out.table, out.latents,
             out.images, out.history, pick_device(config["device"]))
