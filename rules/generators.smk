# Stage 3: generators. Kinds trained here (dcgan) learn from a dataset; pretrained kinds (biggan,
# stylegan2) are fetched into resources/models by a local rule. Which is which is each kind's
# registration in clipgan/generators.


localrules:
    generator_fetch,


rule generator_train:
    input:
        dataset=lambda wc: dataset_dir(config["generators"][wc.generator]["dataset"]),
    output:
        model=run_path("generators/{generator}/generator.pt"),
        samples=report(SAMPLES, category="Generators", caption="captions/samples.rst"),
        training_log=report(
            run_path("generators/{generator}/training_log.csv"),
            category="Generators",
            caption="captions/training_log.rst",
        ),
    params:
        settings=training_settings,
        seed=run_seed,
        image_size=config["image_size"],
        device=DEVICE,
    wildcard_constraints:
        generator=_alternatives(TRAINED),
    # a generator's searches wait for it as they wait for CLIP: train it right after CLIP (priority 10),
    # before any search (demo, 2 cores: left to the scheduler, one lane waited a minute for it)
    priority: 5
    log:
        run_log("generators/{generator}.log"),
    benchmark:
        run_path("benchmarks/generators/{generator}.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/generator_train.py"


rule generator_fetch:
    input:
        asset=generator_asset,
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
        samples=report(SAMPLES, category="Generators", caption="captions/samples.rst"),
    params:
        settings=generator_settings,
        seed=run_seed,
        device=DEVICE,
    wildcard_constraints:
        generator=_alternatives(PRETRAINED),
    log:
        run_log("generators/{generator}_samples.log"),
    benchmark:
        run_path("benchmarks/generators/{generator}_samples.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/generator_samples.py"
