# Stage 4: CLIP-guided latent search per (generator, prompt), from a prior pool per generator that
# its prompts share, and the unguided baseline per generator.


rule search_pool:
    input:
        generator=generator_weights,
        clip=clip_weights(),
        model_config=clip_model_config(),
    output:
        pool=POOL,
    params:
        pool_size=lambda wc: search_settings(wc)["pool_size"],
        eval_batch=lambda wc: search_settings(wc).get("eval_batch"),  # None: SearchConfig's default
        settings=generator_settings,
        clip=config["clip"],
        seed=config["seed"],
        device=DEVICE,
    log:
        "logs/pool/{generator}.log",
    benchmark:
        "results/benchmarks/pool/{generator}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search_pool.py"


rule search_latents:
    input:
        generator=generator_weights,
        clip=clip_weights(),
        model_config=clip_model_config(),
        pool=prior_pool,
    output:
        table="results/search/{generator}/{prompt}/search.parquet",
        latents="results/search/{generator}/{prompt}/latents.npy",
        images=directory("results/search/{generator}/{prompt}/images"),
        history=HISTORY,
    params:
        prompt=lambda wc: config["prompts"][wc.prompt],
        search=search_settings,
        settings=generator_settings,
        clip=config["clip"],
        seed=config["seed"],
        device=DEVICE,
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
        n=config["unguided"]["n"],
        settings=generator_settings,
        seed=config["seed"],
        device=DEVICE,
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
