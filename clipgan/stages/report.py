"""Rule file rules/report.smk: one table of every image, the bias statistics, and the HTML report."""

from __future__ import annotations

import pandas as pd

from clipgan.stages.common import log
from clipgan.stages.job import Job, by_wildcards, stage


@stage
def table_build(job: Job) -> None:
    """Every classified image of the study in one table. input: parts. params: classes, judges (second judges' ids)."""
    from clipgan.table import image_schema, read_table, write_table

    table = pd.concat([read_table(path) for path in job.input.parts], ignore_index=True)
    table = table.sort_values(["generator", "condition", "prompt_id", "restart"], kind="stable", ignore_index=True)
    write_table(table, job.output.table, image_schema(job.params.classes, job.params.judges), job.provenance())
    log.info("table: %d rows (%s)", len(table), table.groupby(["generator", "condition"]).size().to_dict())


@stage
def bias_compute(job: Job) -> None:
    """Class shares with exact intervals, odds ratios, tests and q-values per comparison; the same from the true
    classes of the generators that know them (output truth, empty when none does), and under each second judge's
    labels (output judges) with its agreement with the primary (output agreement; both empty without second
    judges).

    input: table. params: bias, classes, seed, judges (second judges' ids)."""
    from clipgan import config as cfgs
    from clipgan.bias import bias_table, headlines
    from clipgan.groundtruth import truth_bias
    from clipgan.judges import agreement, bias_by_judge
    from clipgan.table import agreement_schema, bias_schema, judge_bias_schema, read_table, write_table

    settings = cfgs.bias_config(job.params.bias, job.params.seed)
    images = read_table(job.input.table)
    bias = bias_table(images, job.params.classes, settings)
    write_table(bias, job.output.bias, bias_schema(), job.provenance())
    truth = truth_bias(images, job.params.classes, settings, bias)  # empty when no generator knows its classes
    write_table(truth if len(truth) else pd.DataFrame(columns=bias_schema().names), job.output.truth, bias_schema(),
                job.provenance())
    others = bias_by_judge(images, job.params.judges, job.params.classes, settings)
    write_table(others if len(others) else pd.DataFrame(columns=judge_bias_schema().names), job.output.judges,
                judge_bias_schema(), job.provenance())
    agreed = agreement(images, job.params.judges, job.params.classes, confidence=settings.confidence,
                       seed=settings.seed)
    write_table(agreed, job.output.agreement, agreement_schema(), job.provenance())
    for row in headlines(bias).to_dict("records"):
        if row["class"] is None:
            log.info("%s / %s vs %s: no class stands out (omnibus p %.2g)", row["generator"], row["prompt_id"],
                     row["baseline"], row["p_value_omnibus"])
        else:
            log.info("%s / %s vs %s: %s %d/%d vs %d/%d, log odds ratio %.2f [%.2f, %.2f], q %.2g",
                     row["generator"], row["prompt_id"], row["baseline"], row["class"], row["count_guided"],
                     row["n_guided"], row["count_baseline"], row["n_baseline"], row["log_odds_ratio"],
                     row["log_odds_ratio_ci_low"], row["log_odds_ratio_ci_high"], row["q_value"])


@stage
def report_html(job: Job) -> None:
    """The aggregated report with its figures.

    input: table, bias, truth (bias from true classes), judges (bias under second judges), agreement, judge_metrics,
    confusion, samples, histories, images (the folders the table's image_path points into), clip_metrics (if
    trained), audit_shares and audit_findings (with audit.labels), benchmarks, datasets (the folders trained generators
    learned from, which params.generator_datasets names: the report shows their class mix).
    params: study, seed, classes, bias, judges (second judges' ids), samples_pattern, histories_pattern (how the
    files name their wildcards), generator_datasets ({trained generator: its dataset's folder})."""
    from clipgan import config as cfgs
    from clipgan.data.folders import class_mix
    from clipgan.report.html import read_benchmarks, write_report

    inp, p = job.input, job.params
    samples = {g: path for (g,), path in by_wildcards(list(inp.samples), p.samples_pattern).items()}
    histories = {f"{g}/{prompt}": path for (g, prompt), path in
                 by_wildcards(list(inp.histories), p.histories_pattern).items()}
    settings = cfgs.bias_config(p.bias, p.seed)
    mixes = {g: class_mix(folder, list(p.classes)) for g, folder in p.generator_datasets.items()}
    write_report(inp.table, inp.bias, inp.judge_metrics, samples, histories, job.output.html, list(p.classes),
                 title=f"clipgan · {p.study}", timings=read_benchmarks(sorted(inp.benchmarks)),
                 clip_metrics=job.optional_input("clip_metrics"), confusion=inp.confusion, seed=p.seed,
                 truth=inp.truth, judges_bias=inp.judges, agreement=inp.agreement, judges=list(p.judges),
                 fdr=settings.fdr, power=settings.power, confidence=settings.confidence,
                 audit_shares=job.optional_input("audit_shares"), audit_findings=job.optional_input("audit_findings"),
                 training_mixes={g: mix for g, mix in mixes.items() if mix})
    log.info("report written to %s", job.output.html)
