# Stage 1: datasets as image folders {split}/{class}/*.png with a manifest. Local rules: a
# cluster's compute nodes need no internet.


localrules:
    data_prepare,


rule data_prepare:
    output:
        folder=directory("resources/datasets/{dataset}"),
    params:
        dataset="{dataset}",
        settings=lambda wc: config["datasets"][wc.dataset],
        synthetic=config.get("synthetic", {}),
    log:
        "logs/data/{dataset}.log",
    benchmark:
        "results/benchmarks/data/{dataset}.tsv"
    threads: 1
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/data_prepare.py"
