# Stage 5: the judge. A torchvision ResNet trained on the labelled scenes labels every guided
# and unguided image.


localrules:
    judge_fetch,


rule judge_fetch:
    output:
        weights="resources/models/judge/{arch}_imagenet.pt",
    log:
        "logs/classifier/fetch_{arch}.log",
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
        model="results/classifier/judge.pt",
        metrics="results/classifier/metrics.json",
        confusion="results/classifier/confusion.png",
    params:
        settings=config["judge"],
        classes=config["classes"],
    log:
        "logs/classifier/train.log",
    benchmark:
        "results/benchmarks/classifier/train.tsv"
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
        judge="results/classifier/judge.pt",
    output:
        table="results/classified/{generator}/{part}.parquet",
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
