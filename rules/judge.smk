# Stage 5: the judge. A torchvision ResNet trained on the labelled scenes labels every guided
# and unguided image.


localrules:
    judge_fetch,
    judge_clip_fetch,


rule judge_fetch:
    output:
        weights="resources/models/judge/{arch}_imagenet.pt",
    log:
        "logs/judge/fetch_{arch}.log",
    threads: 1
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_fetch.py"


rule judge_train:
    input:
        datasets=[dataset_dir(d) for d in config["judge"]["datasets"]],
        weights=judge_start_weights(),
    output:
        model=run_path("judge/judge.pt"),
        metrics=run_path("judge/metrics.json"),
        confusion=report(run_path("judge/confusion.png"), category="Judge", caption="captions/confusion.rst"),
    params:
        judge=config["judge"],
        classes=config["classes"],
        seed=run_seed,
        image_size=config["image_size"],
        device=DEVICE,
    # with the generators, after CLIP and before the searches: every classification waits for it,
    # and left to the end it ran alone while the other core idled (demo, 2 cores)
    priority: 5
    log:
        run_log("judge/train.log"),
    benchmark:
        run_path("benchmarks/judge/train.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_train.py"


# Second judges (judges:): CLIPs used zero-shot over the class names, independent of the guiding
# CLIP. Trained here from their own seed (demo), or fetched once (full study).
rule judge_clip_train:
    input:
        datasets=[dataset_dir(d) for d in DATASETS if synthetic(d)],
        model_config=judge_model_config,
    output:
        model=run_path("judges/{judge}/model.pt"),
        metrics=run_path("judges/{judge}/metrics.json"),
    params:
        settings=judge_training_settings,
        seed=run_seed,
        image_size=config["image_size"],
        classes=config["classes"],
        device=DEVICE,
    wildcard_constraints:
        judge=_alternatives(JUDGES_TRAINED),
    priority: 5
    log:
        run_log("judges/{judge}/train.log"),
    benchmark:
        run_path("benchmarks/judges/{judge}.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_clip_train.py"


rule judge_clip_fetch:
    input:
        model_config=judge_model_config,
        weights=judge_local_weights,
    output:
        model="resources/models/judges/{judge}/weights.pt",
    params:
        settings=judge_fetch_settings,
    wildcard_constraints:
        judge=_alternatives(JUDGES_FETCHED),
    log:
        "logs/judges/{judge}/fetch.log",
    threads: 1
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_clip_fetch.py"


# one job per generator labels all its images (each prompt's and the baseline's): one model load
# and one interpreter start, instead of one per image set
rule judge_classify:
    input:
        tables=classify_tables,
        folders=classify_folders,
        judge=run_path("judge/judge.pt"),
        judges=[judge_model(j) for j in JUDGES],
        judge_configs=judge_model_configs(),
    output:
        tables=run_files("classified/{{generator}}/{part}.parquet", part=PARTS),
    params:
        parts=PARTS,
        judges={j: config["judges"][j] for j in JUDGES},
        classes=config["classes"],
        device=DEVICE,
    log:
        run_log("classified/{generator}.log"),
    benchmark:
        run_path("benchmarks/classified/{generator}.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_classify.py"
