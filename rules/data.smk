# Stage 1: datasets as image folders {split}/{class}/*.png with a manifest. Local rules: a
# cluster's compute nodes need no internet.


localrules:
    data_prepare,


rule data_prepare:
    input:
        source=dataset_source,
    output:
        folder=directory("resources/datasets/{dataset}"),
    params:
        settings=lambda wc: config["datasets"][wc.dataset],
        image_size=config["image_size"],
        # a rendered domain reads the planted bias and the seed; an imported one the class names
        synthetic=lambda wc: config["synthetic"] if synthetic(wc.dataset) else None,
        seed=lambda wc: config["seed"] if synthetic(wc.dataset) else None,
        classes=lambda wc: None if synthetic(wc.dataset) else config["classes"],
    log:
        "logs/data/{dataset}.log",
    benchmark:
        "results/benchmarks/data/{dataset}.tsv"
    threads: 1
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/data_prepare.py"
