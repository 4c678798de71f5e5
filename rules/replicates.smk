# Stage 8 (replicates: N > 1): each replicate's findings pooled over the replicates (random effects), and the
# report of what replicates. A replicate's own branch ends in its report (results/replicates/{replicate}/).


localrules:
    replicate_branch,


rule bias_pool:
    input:
        bias=expand(run_path("bias.parquet"), replicate=REPLICATE_IDS),
    output:
        pooled="results/bias_pooled.parquet",
    params:
        replicates=REPLICATE_IDS,
        bias=config["bias"],
        seed=config["seed"],
    log:
        "logs/replicates/pool.log",
    benchmark:
        "results/benchmarks/replicates/pool.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/bias_pool.py"


rule report_pooled:
    input:
        pooled="results/bias_pooled.parquet",
        bias=expand(run_path("bias.parquet"), replicate=REPLICATE_IDS),
        reports=expand(run_path("report/index.html"), replicate=REPLICATE_IDS),
    output:
        html="results/report/index.html",
    params:
        replicates=REPLICATE_IDS,
        study=config["study"],
        seed=config["seed"],
        bias=config["bias"],
    log:
        "logs/replicates/report.log",
    benchmark:
        "results/benchmarks/replicates/report.tsv"
    threads: 1
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/report_pooled.py"


rule replicate_branch:
    """One replicate's whole branch: its report, bias table and audit page (a named target)."""
    input:
        replicate_outputs(),
    output:
        touch("results/replicates/{replicate}.done"),
    log:
        "logs/replicates/branch_{replicate}.log",
