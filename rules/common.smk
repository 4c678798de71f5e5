# Helpers shared by all rule files (validation, the study ids, input functions).
# No rules here (the Snakefile holds the wildcard constraints built from these ids).

import sys
from pathlib import Path

# the clipgan library beside this Snakefile (Snakemake adds this folder too; explicit here). Every
# script job extends its sys.path with Snakemake's, so jobs import this checkout, also in a rule's
# conda env, which does not install clipgan (tests/test_workflow.py checks it).
sys.path.insert(0, str(Path(workflow.basedir)))

from clipgan.validate import validate_config

validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")

GENERATORS = sorted(config["generators"])
PROMPTS = sorted(config["prompts"])
DATASETS = sorted(config["datasets"])
DCGANS = [g for g in GENERATORS if config["generators"][g]["kind"] == "dcgan"]
PRETRAINED = [g for g in GENERATORS if g not in DCGANS]
CLIP_TRAINED = "train" in config["clip"]


def _alternatives(ids):
    """A wildcard constraint that matches exactly these ids (none: matches nothing)."""
    return "|".join(ids) if ids else "(?!x)x"


def dataset_dir(name):
    return f"resources/datasets/{name}"


def clip_weights():
    """The CLIP checkpoint every search loads: trained here (demo) or fetched (full study)."""
    if CLIP_TRAINED:
        return "results/clip/model.pt"
    return "resources/models/clip/weights.pt"


def generator_weights(wildcards):
    if wildcards.generator in DCGANS:
        return f"results/generators/{wildcards.generator}/generator.pt"
    return f"resources/models/generators/{wildcards.generator}"


def judge_start_weights():
    """The fetched ImageNet weights, or a configured local file (tracked as an input), or none."""
    if config["judge"].get("imagenet_weights"):
        return [f"resources/models/judge/{config['judge']['arch']}_imagenet.pt"]
    return [config["judge"]["weights"]] if config["judge"].get("weights") else []


def classify_input(wildcards):
    if wildcards.part == "unguided":
        return f"results/unguided/{wildcards.generator}/samples.parquet"
    return f"results/search/{wildcards.generator}/{wildcards.part}/search.parquet"


def classified_tables(generators=None):
    return expand(
        "results/classified/{generator}/{part}.parquet",
        generator=generators or GENERATORS,
        part=PROMPTS + ["unguided"],
    )


def get_final_output():
    return ["results/report/index.html", "results/bias.parquet"]
