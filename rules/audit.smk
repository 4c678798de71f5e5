# Stage 7: a person checks the judge. The audit page always; with audit.labels, the study's shares and findings
# corrected for the judge's error measured on the labelled images.


rule audit_page:
    input:
        table=run_path("table.parquet"),
    output:
        sample=run_path("audit/sample.parquet"),
        page=run_path("audit/index.html"),
    params:
        audit=AUDIT_PAGE,
        classes=config["classes"],
        seed=run_seed,
        study=config["study"],
    log:
        run_log("audit/page.log"),
    benchmark:
        run_path("benchmarks/audit/page.tsv")
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/audit_page.py"


rule audit_correct:
    input:
        table=run_path("table.parquet"),
        bias=run_path("bias.parquet"),
        sample=run_path("audit/sample.parquet"),
        labels=[AUDIT_LABELS] if AUDIT_LABELS else [],
    output:
        shares=run_path("audit/corrected_shares.parquet"),
        findings=run_path("audit/corrected_findings.parquet"),
    params:
        audit=AUDIT,
        classes=config["classes"],
        seed=run_seed,
        bias=config["bias"],
    log:
        run_log("audit/correct.log"),
    benchmark:
        run_path("benchmarks/audit/correct.tsv")
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/audit_correct.py"
