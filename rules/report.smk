# Stage 6: one table of every image, the bias statistics, and the HTML report.


localrules:
    generator_branch,


rule table_build:
    input:
        parts=classified_tables(),
    output:
        table="results/table.parquet",
    params:
        classes=config["classes"],
        judges=JUDGES,
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
        bias=report("results/bias.parquet", category="Bias", caption="captions/bias.rst"),
        truth="results/bias_truth.parquet",
        judges="results/bias_judges.parquet",
        agreement="results/judge_agreement.parquet",
    params:
        bias=config["bias"],
        classes=config["classes"],
        seed=config["seed"],
        judges=JUDGES,
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
        truth="results/bias_truth.parquet",
        judges="results/bias_judges.parquet",
        agreement="results/judge_agreement.parquet",
        judge_metrics="results/judge/metrics.json",
        confusion="results/judge/confusion.png",
        samples=expand(SAMPLES, generator=GENERATORS),
        histories=expand(HISTORY, generator=GENERATORS, prompt=PROMPTS),
        images=image_folders(),
        clip_metrics=["results/clip/metrics.json"] if CLIP_TRAINED else [],
        audit_shares=AUDIT_CORRECTED[:1] if AUDIT_LABELS else [],
        audit_findings=AUDIT_CORRECTED[1:] if AUDIT_LABELS else [],
        benchmarks=benchmark_files(),
    output:
        html=report("results/report/index.html", category="Bias", caption="captions/report.rst"),
        effects=report("results/report/figures/effects.png", category="Bias", caption="captions/effects.rst"),
    params:
        study=config["study"],
        seed=config["seed"],
        classes=config["classes"],
        bias=config["bias"],
        judges=JUDGES,
        samples_pattern=lambda wc: SAMPLES,  # a function: the braces are not wildcards here
        histories_pattern=lambda wc: HISTORY,
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
