"""Rule dcgan_train: train one DCGAN on its dataset; write weights, loss log and a sample grid."""

from clipgan.pipeline import train_dcgan_stage
from clipgan.runtime import pick_device, start_step

config, generator = dict(snakemake.config), snakemake.wildcards.generator
start_step(snakemake.log[0], "dcgan", {"generator": generator, **config["generators"][generator]}, snakemake.threads)
train_dcgan_stage(config, generator, snakemake.input.dataset, snakemake.output.model, snakemake.output.training_log,
                  snakemake.output.samples, pick_device(config["device"]))
