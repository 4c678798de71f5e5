"""Rule data_prepare: render a synthetic domain, or import a scenery dataset, as an image folder."""

from clipgan.pipeline import prepare_dataset
from clipgan.runtime import start_step

config, dataset = dict(snakemake.config), snakemake.params.dataset
start_step(snakemake.log[0], "data", {"dataset": dataset, **config["datasets"][dataset]}, snakemake.threads)
prepare_dataset(config, dataset, snakemake.output.folder)
