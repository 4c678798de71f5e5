# Stage 4: CLIP-guided latent search per (generator, prompt), and the unguided baseline per
# generator.


rule search_latents:
    input:
        generator=generator_weights,
        clip=clip_weights(),
    output:
        table="results/search/{generator}/{prompt}/search.parquet",
        latents="results/search/{generator}/{prompt}/latents.npy",
        images=directory("results/search/{generator}/{prompt}/images"),
        history="results/search/{generator}/{prompt}/history.csv",
    params:
        prompt=lambda wc: config["prompts"][wc.prompt],
        search=config["search"],
        generator=lambda wc: config["generators"][wc.generator],
    log:
        "logs/search/{generator}/{prompt}.log",
    benchmark:
        "results/benchmarks/search/{generator}/{prompt}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search_latents.py"


rule unguided_sample:
    input:
        generator=generator_weights,
    output:
        table="results/unguided/{generator}/samples.parquet",
        latents="results/unguided/{generator}/latents.npy",
        images=directory("results/unguided/{generator}/images"),
    params:
        unguided=config["unguided"],
        generator=lambda wc: config["generators"][wc.generator],
    log:
        "logs/unguided/{generator}.log",
    benchmark:
        "results/benchmarks/unguided/{generator}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/unguided_sample.py"
