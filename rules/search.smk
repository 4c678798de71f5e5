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
        seed=run_seed,
        device=DEVICE,
    log:
        run_log("pool/{generator}.log"),
    benchmark:
        run_path("benchmarks/pool/{generator}.tsv")
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
        table=run_path("search/{generator}/{prompt}/search.parquet"),
        latents=run_path("search/{generator}/{prompt}/latents.npy"),
        images=directory(run_path("search/{generator}/{prompt}/images")),
        history=HISTORY,
    params:
        prompt=lambda wc: config["prompts"].get(wc.prompt),  # None: the prompt-free search
        search=search_settings,
        settings=generator_settings,
        clip=config["clip"],
        seed=run_seed,
        device=DEVICE,
    log:
        run_log("search/{generator}/{prompt}.log"),
    benchmark:
        run_path("benchmarks/search/{generator}/{prompt}.tsv")
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
        table=run_path("unguided/{generator}/samples.parquet"),
        latents=run_path("unguided/{generator}/latents.npy"),
        images=directory(run_path("unguided/{generator}/images")),
    params:
        n=config["unguided"]["n"],
        settings=generator_settings,
        seed=run_seed,
        device=DEVICE,
    log:
        run_log("unguided/{generator}.log"),
    benchmark:
        run_path("benchmarks/unguided/{generator}.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/unguided_sample.py"
