# Stage 7: a person checks the judge. The audit page always; with audit.labels, the study's shares and findings
# corrected for the judge's error measured on the labelled images.


rule audit_page:
    input:
        table="results/table.parquet",
    output:
        sample="results/audit/sample.parquet",
        page="results/audit/index.html",
    params:
        audit=AUDIT_PAGE,
        classes=config["classes"],
        seed=config["seed"],
        study=config["study"],
    log:
        "logs/audit/page.log",
    benchmark:
        "results/benchmarks/audit/page.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/audit_page.py"


rule audit_correct:
    input:
        table="results/table.parquet",
        bias="results/bias.parquet",
        sample="results/audit/sample.parquet",
        labels=AUDIT_LABELS,
    output:
        shares="results/audit/corrected_shares.parquet",
        findings="results/audit/corrected_findings.parquet",
    params:
        audit=AUDIT,
        classes=config["classes"],
        seed=config["seed"],
        bias=config["bias"],
    log:
        "logs/audit/correct.log",
    benchmark:
        "results/benchmarks/audit/correct.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/audit_correct.py"
