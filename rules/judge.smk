# Stage 5: the judge. A torchvision ResNet trained on the labelled scenes labels every guided
# and unguided image.


localrules:
    judge_fetch,


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
        model="results/judge/judge.pt",
        metrics="results/judge/metrics.json",
        confusion=report("results/judge/confusion.png", category="Judge", caption="captions/confusion.rst"),
    params:
        judge=config["judge"],
        classes=config["classes"],
        seed=config["seed"],
        image_size=config["image_size"],
        device=DEVICE,
    log:
        "logs/judge/train.log",
    benchmark:
        "results/benchmarks/judge/train.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_train.py"


rule judge_classify:
    input:
        images=classify_input,
        folder=classify_images,
        judge="results/judge/judge.pt",
    output:
        table="results/classified/{generator}/{part}.parquet",
    params:
        device=DEVICE,
    log:
        "logs/classified/{generator}/{part}.log",
    benchmark:
        "results/benchmarks/classified/{generator}/{part}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/judge_classify.py"
