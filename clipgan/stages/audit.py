"""Rule file rules/audit.smk: a person checks the judge on a sample of the study's images, and the study's shares
are corrected for the judge's measured error (`clipgan.audit`)."""

from __future__ import annotations

from pathlib import Path

from clipgan.stages.common import log
from clipgan.stages.job import Job, stage


@stage
def audit_page(job: Job) -> None:
    """The audit sample and its labelling page.

    input: table. params: audit (n_per_generator), classes, seed, study."""
    from clipgan import config as cfgs
    from clipgan.audit import audit_sample
    from clipgan.report.audit_page import write_audit_page
    from clipgan.table import audit_sample_schema, read_table, write_table

    p = job.params
    settings = cfgs.audit_config(p.audit)
    images = read_table(job.input.table)
    sample = audit_sample(images, settings.n_per_generator, p.seed)
    study_dir = Path(".")  # image paths in the table are relative to the study directory, the job's working dir
    write_audit_page(sample, study_dir, p.classes, p.study, job.output.page)
    write_table(sample, job.output.sample, audit_sample_schema(), job.provenance())
    counts = sample.groupby(["generator", "condition"]).size()
    log.info("audit page with %d images: %s", len(sample),
             ", ".join(f"{g} {c} {n}" for (g, c), n in counts.items()))


@stage
def audit_correct(job: Job) -> None:
    """The judge's error measured on the audited images, and the study's shares and findings corrected for it.

    input: table, bias, sample, labels. params: audit, classes, seed, bias."""
    from clipgan import config as cfgs
    from clipgan.audit import audited, corrected_findings, corrected_mixes, corrected_shares, read_labels
    from clipgan.table import corrected_findings_schema, corrected_shares_schema, read_table, write_table

    p = job.params
    settings = cfgs.audit_config(p.audit)
    bias_settings = cfgs.bias_config(p.bias, p.seed)
    images = read_table(job.input.table)
    sample = read_table(job.input.sample)
    # raises, naming the row, before anything is written
    labels = read_labels(job.optional_input("labels"), sample, p.classes)
    pairs = audited(sample, labels)
    log.info("%d of %d audit images labelled; the person agrees with the judge on %d", len(pairs), len(sample),
             int((pairs.label == pairs.predicted).sum()))
    mixes = corrected_mixes(images, pairs, p.classes, settings, p.seed)  # the Gibbs sampler, once for both tables
    shares = corrected_shares(images, pairs, p.classes, settings, p.seed, mixes)
    findings = corrected_findings(read_table(job.input.bias), mixes, p.classes, bias_settings.fdr,
                                  settings.confidence)
    write_table(shares, job.output.shares, corrected_shares_schema(), job.provenance())
    write_table(findings, job.output.findings, corrected_findings_schema(), job.provenance())
    for row in findings[findings.changed].to_dict("records"):
        log.info("changed by the audit: %s / %s vs %s, %s: judge q %.2g, corrected difference %+.2f [%+.2f, %+.2f], "
                 "q %.2g", row["generator"], row["prompt_id"], row["baseline"], row["class"], row["judge_q_value"],
                 row["corrected_difference"], row["corrected_difference_ci_low"],
                 row["corrected_difference_ci_high"], row["corrected_q_value"])
