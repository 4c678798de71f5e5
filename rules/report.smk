# Stage 6: one table of every image, the bias statistics, and the HTML report.


localrules:
    generator_branch,


rule table_build:
    input:
        parts=classified_tables(),
    output:
        table=run_path("table.parquet"),
    params:
        classes=config["classes"],
        judges=JUDGES,
    log:
        run_log("report/table.log"),
    benchmark:
        run_path("benchmarks/report/table.tsv")
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/table_build.py"


rule bias_compute:
    input:
        table=run_path("table.parquet"),
    output:
        bias=report(run_path("bias.parquet"), category="Bias", caption="captions/bias.rst"),
        truth=run_path("bias_truth.parquet"),
        judges=run_path("bias_judges.parquet"),
        agreement=run_path("judge_agreement.parquet"),
    params:
        bias=config["bias"],
        classes=config["classes"],
        seed=run_seed,
        judges=JUDGES,
    log:
        run_log("report/bias.log"),
    benchmark:
        run_path("benchmarks/report/bias.tsv")
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/bias_compute.py"


rule report_html:
    input:
        table=run_path("table.parquet"),
        bias=run_path("bias.parquet"),
        truth=run_path("bias_truth.parquet"),
        judges=run_path("bias_judges.parquet"),
        agreement=run_path("judge_agreement.parquet"),
        judge_metrics=run_path("judge/metrics.json"),
        confusion=run_path("judge/confusion.png"),
        samples=run_files(SAMPLES_PATH, generator=GENERATORS),
        histories=run_files(HISTORY_PATH, generator=GENERATORS, prompt=SEARCHED),
        images=image_folders(),
        clip_metrics=[run_path("clip/metrics.json")] if CLIP_TRAINED else [],
        audit_shares=AUDIT_CORRECTED[:1] if AUDIT_LABELS else [],
        audit_findings=AUDIT_CORRECTED[1:] if AUDIT_LABELS else [],
        benchmarks=benchmark_files(),
        datasets=[dataset_dir(d) for d in sorted(set(TRAINED_DATASETS.values()))],
    output:
        html=report(run_path("report/index.html"), category="Bias", caption="captions/report.rst"),
        effects=report(run_path("report/figures/effects.png"), category="Bias", caption="captions/effects.rst"),
    params:
        study=config["study"],
        seed=run_seed,
        classes=config["classes"],
        bias=config["bias"],
        judges=JUDGES,
        samples_pattern=lambda wc: SAMPLES_PATH,  # a function: the braces are not wildcards here
        histories_pattern=lambda wc: HISTORY_PATH,
        generator_datasets={g: dataset_dir(d) for g, d in TRAINED_DATASETS.items()},
    log:
        run_log("report/html.log"),
    benchmark:
        run_path("benchmarks/report/html.tsv")
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/report_html.py"


rule generator_branch:
    """One generator's branch up to its classified images (a named target for partial runs)."""
    input:
        branch_tables,
    output:
        touch(run_path("classified/{generator}.done")),
    log:
        run_log("report/branch_{generator}.log"),
