# Stage 2: the CLIP model that guides the search: trained here on captioned scenes (demo), or
# a pretrained open_clip tag fetched once into resources/models (a local rule).


localrules:
    clip_fetch,


rule clip_train:
    input:
        datasets=[dataset_dir(d) for d in DATASETS if synthetic(d)],
        model_config=clip_model_config(),
    output:
        model=run_path("clip/model.pt"),
        metrics=run_path("clip/metrics.json"),
    params:
        clip=config["clip"],
        seed=run_seed,
        image_size=config["image_size"],
        classes=config["classes"],
        device=DEVICE,
    # every search waits for CLIP: start it before the other long jobs (demo: 2 cores)
    priority: 10
    log:
        run_log("clip/train.log"),
    benchmark:
        run_path("benchmarks/clip/train.tsv")
    threads: 1
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/clip_train.py"


rule clip_fetch:
    input:
        model_config=clip_model_config(),
        weights=clip_local_weights(),
    output:
        model="resources/models/clip/weights.pt",
    params:
        clip=config["clip"],
    log:
        "logs/clip/fetch.log",
    threads: 1
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/clip_fetch.py"
