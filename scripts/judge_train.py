"""Rule judge_train: train the scene classifier; write held-out accuracy and a confusion matrix."""

from clipgan.pipeline import train_judge_stage
from clipgan.runtime import pick_device, start_step

config = dict(snakemake.config)
start_step(snakemake.log[0], "judge", config["judge"], snakemake.threads)
weights = snakemake.input.weights[0] if snakemake.input.weights else ""
out = snakemake.output
train_judge_stage(config, list(snakemake.input.datasets), weights, out.model, out.metrics, out.confusion,
                  pick_device(config["device"]))
