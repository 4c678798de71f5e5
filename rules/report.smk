# Stage 6: one table of every image, the bias statistics, and the HTML report.


localrules:
    generator_branch,


rule table_build:
    input:
        parts=classified_tables(),
    output:
        table="results/table.parquet",
    log:
        "logs/report/table.log",
    benchmark:
        "results/benchmarks/report/table.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/table_build.py"


rule bias_compute:
    input:
        table="results/table.parquet",
    output:
        bias="results/bias.parquet",
    params:
        settings=config["report"],
    log:
        "logs/report/bias.log",
    benchmark:
        "results/benchmarks/report/bias.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/bias_compute.py"


rule report_html:
    input:
        table="results/table.parquet",
        bias="results/bias.parquet",
        judge="results/classifier/metrics.json",
        samples=expand("results/generators/{generator}/samples.png", generator=GENERATORS),
        histories=expand(
            "results/search/{generator}/{prompt}/history.csv",
            generator=GENERATORS,
            prompt=PROMPTS,
        ),
        clip=["results/clip/metrics.json"] if CLIP_TRAINED else [],
    output:
        html="results/report/index.html",
    params:
        generators=GENERATORS,
        prompts=PROMPTS,
    log:
        "logs/report/html.log",
    benchmark:
        "results/benchmarks/report/html.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/report_html.py"


rule generator_branch:
    """One generator's branch up to its classified images (a named target for partial runs)."""
    input:
        lambda wc: classified_tables([wc.generator]),
    output:
        touch("results/classified/{generator}.done"),
    log:
        "logs/report/branch_{generator}.log",
