"""Rule file rules/replicates.smk (replicates: N > 1): the replicates' findings pooled, and their report."""

from __future__ import annotations

from clipgan.stages.common import log
from clipgan.stages.job import Job, stage


def _stacked(job: Job):
    from clipgan.replicates import stack_replicates
    from clipgan.table import read_table

    return stack_replicates({r: read_table(path) for r, path in zip(job.params.replicates, job.input.bias)})


@stage
def bias_pool(job: Job) -> None:
    """Each (generator, prompt, baseline, class) pooled over the replicates' bias tables (random effects).

    input: bias (one per replicate, in params.replicates order). params: replicates, bias, seed."""
    from clipgan import config as cfgs
    from clipgan.replicates import pool_replicates
    from clipgan.table import pooled_schema, write_table

    settings = cfgs.bias_config(job.params.bias, job.params.seed)
    pooled = pool_replicates(_stacked(job), fdr=settings.fdr, confidence=settings.confidence)
    write_table(pooled, job.output.pooled, pooled_schema(), job.provenance())
    for r in pooled[pooled.headline].to_dict("records"):
        log.info("%s / %s vs %s: %s pooled over %d replicates %.2f [%.2f, %.2f], tau2 %.2f, replicated in %.0f%%, "
                 "q %.2g", r["generator"], r["prompt_id"], r["baseline"], r["class"], r["replicates"],
                 r["pooled_effect"], r["pooled_ci_low"], r["pooled_ci_high"], r["tau2"],
                 100 * r["replicated_share"], r["q_value"])
    log.info("%d pooled rows, %d pooled headlines", len(pooled), int(pooled.headline.sum()))


@stage
def report_pooled(job: Job) -> None:
    """The replicated study's report: pooled findings, forest plots, the variance split, links to each replicate's.

    input: pooled, bias (one per replicate), reports (one per replicate). params: replicates, study, seed, bias."""
    from clipgan import config as cfgs
    from clipgan.report.pooled import write_pooled_report
    from clipgan.table import read_table

    settings = cfgs.bias_config(job.params.bias, job.params.seed)
    write_pooled_report(read_table(job.input.pooled), _stacked(job), job.output.html,
                        dict(zip(job.params.replicates, job.input.reports)),
                        title=f"clipgan · {job.params.study} · {len(job.params.replicates)} replicates",
                        seed=job.params.seed, fdr=settings.fdr, confidence=settings.confidence)
    log.info("pooled report written to %s", job.output.html)
