# Stage 3: generators. DCGANs are trained here on a dataset; pretrained kinds (BigGAN,
# StyleGAN2) are fetched into resources/models by a local rule.


localrules:
    generator_fetch,


rule dcgan_train:
    input:
        dataset=lambda wc: dataset_dir(config["generators"][wc.generator]["dataset"]),
    output:
        model="results/generators/{generator}/generator.pt",
        samples="results/generators/{generator}/samples.png",
        training_log="results/generators/{generator}/training_log.csv",
    params:
        settings=lambda wc: config["generators"][wc.generator],
    wildcard_constraints:
        generator=_alternatives(DCGANS),
    log:
        "logs/generators/{generator}.log",
    benchmark:
        "results/benchmarks/generators/{generator}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/dcgan_train.py"


rule generator_fetch:
    output:
        weights=directory("resources/models/generators/{generator}"),
    params:
        settings=lambda wc: config["generators"][wc.generator],
    wildcard_constraints:
        generator=_alternatives(PRETRAINED),
    log:
        "logs/generators/{generator}_fetch.log",
    threads: 1
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/generator_fetch.py"


rule generator_samples:
    input:
        weights=generator_weights,
    output:
        samples="results/generators/{generator}/samples.png",
    wildcard_constraints:
        generator=_alternatives(PRETRAINED),
    log:
        "logs/generators/{generator}_samples.log",
    benchmark:
        "results/benchmarks/generators/{generator}_samples.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/generator_samples.py"
