"""The stages of the DAG: one function per Snakemake rule, named after it, one module per rule file.

    data        data_prepare
    clip        clip_train, clip_fetch
    generators  generator_train, generator_fetch, generator_samples
    search      search_latents, unguided_sample
    judge       judge_fetch, judge_train, judge_classify
    report      table_build, bias_compute, report_html
    audit       audit_page, audit_correct
    replicates  bias_pool, report_pooled        (replicates: N > 1)

Each stage takes a `Job`: what its rule declares (named inputs, outputs, params, wildcards, the
log), under the same names. Every config value a stage reads is one of its rule's params and
every file it reads is a declared input, so Snakemake's rerun triggers are exact. A stage runs
without Snakemake too:

    from clipgan.stages import Job, data_prepare
    data_prepare(Job(output={"folder": "out/nature"}, wildcards={"dataset": "nature"}, params={...}))
"""

from clipgan.stages.job import STAGES, Job, by_wildcards, run
from clipgan.stages.data import data_prepare
from clipgan.stages.clip import clip_fetch, clip_train
from clipgan.stages.generators import generator_fetch, generator_samples, generator_train
from clipgan.stages.search import search_latents, unguided_sample
from clipgan.stages.judge import judge_classify, judge_fetch, judge_train
from clipgan.stages.report import bias_compute, report_html, table_build
from clipgan.stages.audit import audit_correct, audit_page
from clipgan.stages.replicates import bias_pool, report_pooled

__all__ = ["STAGES", "Job", "by_wildcards", "run", "data_prepare", "clip_fetch", "clip_train", "generator_fetch",
           "generator_samples", "generator_train", "search_latents", "unguided_sample", "judge_classify",
           "judge_fetch", "judge_train", "bias_compute", "report_html", "table_build", "audit_page", "audit_correct",
           "bias_pool", "report_pooled"]
