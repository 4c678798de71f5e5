# Helpers shared by all rule files (validation, the study's ids, input functions and the params
# each rule passes to its stage). Every config value a stage reads is a param, so an edit reruns
# exactly the jobs that read it. No rules here (the Snakefile holds the wildcard constraints).

import sys
from pathlib import Path

# the clipgan library beside this Snakefile (Snakemake adds this folder too; explicit here). Every
# script job extends its sys.path with Snakemake's, so jobs import this checkout, also in a rule's
# conda env, which does not install clipgan (tests/test_workflow.py checks it).
sys.path.insert(0, str(Path(workflow.basedir)))

from clipgan.validate import validate_config
from clipgan.generators import generator_kind
from clipgan.seeds import replicate_seed

validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")

GENERATORS = sorted(config["generators"])
PROMPTS = sorted(config["prompts"])
# every guided set per generator: the prompts, and the prompt-free search (search.prompt_free, default on) that
# shows what the search does with no prompt's meaning
PROMPT_FREE = "prompt_free"  # clipgan.table.PROMPT_FREE; the config schema keeps it out of the prompt ids
SEARCHED = PROMPTS + ([PROMPT_FREE] if config["search"].get("prompt_free", True) else [])
DATASETS = sorted(config["datasets"])
# which generators are trained here and which fetched is their kind's registration (clipgan.generators)
TRAINED = [g for g in GENERATORS if generator_kind(config["generators"][g]["kind"]).trained]
PRETRAINED = [g for g in GENERATORS if g not in TRAINED]
TRAINED_DATASETS = {g: config["generators"][g]["dataset"] for g in TRAINED}  # the report shows their class mix
CLIP_TRAINED = "train" in config["clip"]
DEVICE = config["device"]

# judges beside the primary (judges:): CLIPs used zero-shot, trained here (with train) or fetched
JUDGES = sorted(config.get("judges", {}))
JUDGES_TRAINED = [j for j in JUDGES if "train" in config["judges"][j]]
JUDGES_FETCHED = [j for j in JUDGES if j not in JUDGES_TRAINED]

# replicates (replicates: N > 1): each retrains what the study trains and reruns every search, from its own seed,
# under results/replicates/{replicate}/ (logs under logs/replicates/{replicate}/); datasets and fetched assets
# (resources/) are shared. One study (N = 1) keeps its outputs directly under results/.
REPLICATES = int(config.get("replicates", 1))
REPLICATE_IDS = [f"r{i}" for i in range(1, REPLICATES + 1)] if REPLICATES > 1 else []
RUN = "results/replicates/{replicate}/" if REPLICATES > 1 else "results/"
RUN_LOGS = "logs/replicates/{replicate}/" if REPLICATES > 1 else "logs/"


def run_path(path):
    """`path` under the results of one study, or of each replicate (with the {replicate} wildcard)."""
    return f"{RUN}{path}"


def run_log(path):
    """`path` under the logs of one study, or of each replicate."""
    return f"{RUN_LOGS}{path}"


SAMPLES_PATH = "generators/{generator}/samples.png"  # under a replicate's results, as the report matches them
HISTORY_PATH = "search/{generator}/{prompt}/history.csv"
SAMPLES = run_path(SAMPLES_PATH)
HISTORY = run_path(HISTORY_PATH)
POOL = run_path("search/{generator}/pool.npz")

# the audit (audit:): its page reads only the sample size, so labelling does not redraw the sample
AUDIT = config.get("audit", {})
AUDIT_PAGE = {"n_per_generator": AUDIT.get("n_per_generator", 100)}
AUDIT_LABELS = AUDIT.get("labels", "")
AUDIT_CORRECTED = [run_path("audit/corrected_shares.parquet"), run_path("audit/corrected_findings.parquet")]


def in_run(wildcards, path):
    """`path` (relative to a replicate's results) for the replicate of this job's wildcards."""
    return (RUN.format(replicate=wildcards.replicate) if REPLICATES > 1 else RUN) + path


def run_files(pattern, **values):
    """expand() of a path under the replicate's results, the {replicate} wildcard left for the job to fill."""
    return expand(run_path(pattern), **values, allow_missing=True)


def run_seed(wildcards):
    """The seed of this job's replicate (every stage derives its own streams from it; r1's is the study seed)."""
    return config["seed"] if REPLICATES == 1 else replicate_seed(config["seed"], wildcards.replicate)


def _alternatives(ids):
    """A wildcard constraint that matches exactly these ids (none: matches nothing)."""
    return "|".join(ids) if ids else "(?!x)x"


def dataset_dir(name):
    return f"resources/datasets/{name}"


def synthetic(dataset):
    return config["datasets"][dataset]["source"] == "synthetic"


def clip_weights():
    """The CLIP checkpoint every search loads: trained here (demo) or fetched (full study)."""
    if CLIP_TRAINED:
        return run_path("clip/model.pt")
    return "resources/models/clip/weights.pt"


def model_config_file(settings):
    """A CLIP's config_file (a JSON architecture, the demo's), as an input list: empty when it is not set."""
    return [settings["config_file"]] if settings.get("config_file") else []


def clip_model_config():
    """clip.config_file, read by every job that builds the guiding CLIP."""
    return model_config_file(config["clip"])


def judge_model(judge_id):
    """A second judge's CLIP weights: trained here or fetched once."""
    if judge_id in JUDGES_TRAINED:
        return run_path(f"judges/{judge_id}/model.pt")
    return f"resources/models/judges/{judge_id}/weights.pt"


def judge_model_config(wildcards):
    """judges.<id>.config_file, when set."""
    return model_config_file(config["judges"][wildcards.judge])


def judge_model_configs():
    """Every second judge's config_file that is set (classification reads them through its params, by id)."""
    return [path for j in JUDGES for path in model_config_file(config["judges"][j])]


def judge_training_settings(wildcards):
    """What training a second judge's CLIP reads (not its templates, which only classification reads)."""
    settings = config["judges"][wildcards.judge]
    return {k: v for k, v in settings.items() if k in ("model", "config_file", "train")}


def judge_fetch_settings(wildcards):
    settings = config["judges"][wildcards.judge]
    return {k: v for k, v in settings.items() if k in ("model", "config_file", "pretrained", "sha256", "trust_pickle")}


def judge_local_weights(wildcards):
    return existing(config["judges"][wildcards.judge].get("pretrained", ""))


def generator_settings(wildcards):
    """What loading a generator reads: generators.<id> without its search overrides and training keys."""
    settings = config["generators"][wildcards.generator]
    return {k: v for k, v in settings.items() if k not in ("search", "train", "model", "dataset")}


def training_settings(wildcards):
    """What training a generator reads: its kind, dataset, architecture and training keys."""
    settings = config["generators"][wildcards.generator]
    return {k: v for k, v in settings.items() if k in ("kind", "dataset", "model", "train")}


def search_settings(wildcards):
    """The study's search settings with this generator's overrides."""
    from clipgan.config import search_settings as merged

    settings = merged(config["search"], config["generators"][wildcards.generator])
    return {k: v for k, v in settings.items() if k != "prompt_free"}  # whether it runs is not how searches run


def has_pool(generator):
    """Whether search.pool_size (or the generator's own override) asks for a prior pool."""
    from clipgan.config import search_settings as merged

    return bool(merged(config["search"], config["generators"][generator]).get("pool_size"))


def prior_pool(wildcards):
    """The generator's prior pool, when it has one."""
    return [in_run(wildcards, f"search/{wildcards.generator}/pool.npz")] if has_pool(wildcards.generator) else []


def existing(path):
    """A configured local file or folder as an input when it exists (a replaced file reruns its job); when it
    does not, the job itself stops with the config key and how to provide it."""
    return [path] if path and Path(path).exists() else []


def generator_asset(wildcards):
    return existing(config["generators"][wildcards.generator].get("weights", ""))


def dataset_source(wildcards):
    settings = config["datasets"][wildcards.dataset]
    return existing(settings.get("path", "")) if settings["source"] == "local" else []


def clip_local_weights():
    return existing(config["clip"].get("pretrained", ""))


def generator_weights(wildcards):
    if wildcards.generator in TRAINED:
        return in_run(wildcards, f"generators/{wildcards.generator}/generator.pt")
    return f"resources/models/generators/{wildcards.generator}"


def judge_start_weights():
    """The fetched ImageNet weights, or a configured local file (tracked as an input), or none."""
    if config["judge"].get("imagenet_weights"):
        return [f"resources/models/judge/{config['judge']['arch']}_imagenet.pt"]
    return [config["judge"]["weights"]] if config["judge"].get("weights") else []


PARTS = SEARCHED + ["unguided"]  # what the judge labels per generator: each guided set, then the unguided baseline


def classify_tables(wildcards):
    """A generator's image tables in PARTS order: each guided set, then its unguided samples."""
    g = wildcards.generator
    return [in_run(wildcards, f"search/{g}/{prompt}/search.parquet") for prompt in SEARCHED] + [
        in_run(wildcards, f"unguided/{g}/samples.parquet")
    ]


def branch_tables(wildcards):
    """One generator's classified tables in this job's replicate (the generator_branch target)."""
    return [in_run(wildcards, f"classified/{wildcards.generator}/{part}.parquet") for part in PARTS]


def classify_folders(wildcards):
    return [str(Path(table).parent / "images") for table in classify_tables(wildcards)]


def classified_tables():
    return run_files("classified/{generator}/{part}.parquet", generator=GENERATORS, part=PARTS)


def image_folders():
    """Every folder of guided and unguided images (the report draws grids of them)."""
    return run_files("search/{generator}/{prompt}/images", generator=GENERATORS, prompt=SEARCHED) + run_files(
        "unguided/{generator}/images", generator=GENERATORS
    )


def benchmark_files():
    """The timings of every job before the report (each rule's benchmark file), shown in the report."""
    files = expand("results/benchmarks/data/{dataset}.tsv", dataset=DATASETS)  # shared by the replicates
    files += [run_path("benchmarks/clip/train.tsv")] if CLIP_TRAINED else []
    files += run_files("benchmarks/generators/{generator}.tsv", generator=TRAINED)
    files += run_files("benchmarks/generators/{generator}_samples.tsv", generator=PRETRAINED)
    files += run_files("benchmarks/pool/{generator}.tsv", generator=[g for g in GENERATORS if has_pool(g)])
    files += run_files("benchmarks/search/{generator}/{prompt}.tsv", generator=GENERATORS, prompt=SEARCHED)
    files += run_files("benchmarks/unguided/{generator}.tsv", generator=GENERATORS)
    files += [run_path("benchmarks/judge/train.tsv")]
    files += run_files("benchmarks/judges/{judge}.tsv", judge=JUDGES_TRAINED)
    files += run_files("benchmarks/classified/{generator}.tsv", generator=GENERATORS)
    return files + [run_path("benchmarks/report/table.tsv"), run_path("benchmarks/report/bias.tsv")]


def replicate_outputs():
    """What one study, or each replicate, ends with: its report, bias table and audit page."""
    return [run_path("report/index.html"), run_path("bias.parquet"), run_path("audit/index.html")]


def get_final_output():
    if REPLICATES == 1:
        return replicate_outputs()
    pooled = ["results/bias_pooled.parquet", "results/report/index.html"]
    return pooled + expand(replicate_outputs(), replicate=REPLICATE_IDS)
