"""The study's tables: one explicit pyarrow schema each, written atomically with provenance.

images table (results/table.parquet): one row per image, guided and unguided.
bias table   (results/bias.parquet):  one row per (generator, prompt, baseline, class).
Per-stage files (search metrics, classified images) use the leading part of the images schema.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from typing import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clipgan.io import atomic_path

SEARCH_FIELDS = [
    pa.field("generator", pa.string(), nullable=False),
    pa.field("prompt_id", pa.string()),  # "" for unguided rows
    pa.field("prompt", pa.string()),  # "" for unguided rows
    pa.field("condition", pa.string(), nullable=False),  # "guided" | "unguided"
    pa.field("restart", pa.int32(), nullable=False),  # restart (guided) or sample index (unguided)
    pa.field("seed", pa.int64(), nullable=False),  # seed of that restart / of the unguided draw
    pa.field("image_path", pa.string(), nullable=False),  # relative to the study directory
    pa.field("true_class", pa.string()),  # the class the generator drew, where known by construction (renderer)
    pa.field("clip_score", pa.float64()),  # plain CLIP cosine to the prompt; null when unguided
    pa.field("clip_score_augmented", pa.float64()),  # CLIP cosine averaged over random views
    pa.field("initial_clip_score", pa.float64()),  # best cosine in the restart's first population
    pa.field("realism", pa.float64()),  # lower is more realistic
    pa.field("n_evals", pa.int64()),  # generator + CLIP evaluations spent on this image
    pa.field("search_s", pa.float64()),  # wall seconds of the search / restarts (timing column)
]
TIMING_COLUMNS = ("search_s",)
# the prompt-free search (search.prompt_free): a guided set with this prompt id, searched for a random text
# direction per restart instead of a prompt; a baseline of every prompt (what the search does with no meaning)
PROMPT_FREE = "prompt_free"
PROMPT_FREE_TEXT = "(no prompt)"
CONDITIONS = ("guided", "unguided")


def judge_fields(classes: Sequence[str]) -> list[pa.Field]:
    return [pa.field("judge", pa.string(), nullable=False)] + \
        [pa.field(f"prob_{c}", pa.float64(), nullable=False) for c in classes] + \
        [pa.field("predicted", pa.string(), nullable=False)]


def search_schema() -> pa.Schema:
    return pa.schema(SEARCH_FIELDS)


def second_judge_fields(classes: Sequence[str], judge_id: str) -> list[pa.Field]:
    """A second judge's (judges.<id>) label and probabilities: predicted_<id>, prob_<id>_<class>."""
    return [pa.field(f"prob_{judge_id}_{c}", pa.float64(), nullable=False) for c in classes] + \
        [pa.field(f"predicted_{judge_id}", pa.string(), nullable=False)]


def image_schema(classes: Sequence[str], judges: Sequence[str] = ()) -> pa.Schema:
    """`judges`: the ids of the second judges (the primary's columns are `predicted` and `prob_<class>`)."""
    others = [f for judge in judges for f in second_judge_fields(classes, judge)]
    return pa.schema(SEARCH_FIELDS + judge_fields(classes) + others)


def agreement_schema() -> pa.Schema:
    """results/judge_agreement.parquet: each second judge against the primary, per generator and condition
    (`clipgan.judges.agreement`); intervals resample restarts."""
    return pa.schema([
        pa.field("generator", pa.string(), nullable=False),
        pa.field("condition", pa.string(), nullable=False),
        pa.field("judge", pa.string(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),  # images
        pa.field("clusters", pa.int64(), nullable=False),  # restarts (guided) or samples (unguided) resampled
        pa.field("agree", pa.int64(), nullable=False),  # images given the primary's label
        pa.field("agreement", pa.float64(), nullable=False),
        pa.field("agreement_ci_low", pa.float64()),
        pa.field("agreement_ci_high", pa.float64()),
        pa.field("kappa", pa.float64()),  # Cohen's kappa; null where undefined
        pa.field("kappa_ci_low", pa.float64()),
        pa.field("kappa_ci_high", pa.float64()),
    ])


def judge_bias_schema() -> pa.Schema:
    """results/bias_judges.parquet: the bias table under each second judge's labels, one `judge` per block."""
    return pa.schema([pa.field("judge", pa.string(), nullable=False)] + list(bias_schema()))


def audit_sample_schema() -> pa.Schema:
    """results/audit/sample.parquet: the images of the audit page (`clipgan.audit.audit_sample`), in page order."""
    return pa.schema([
        pa.field("image_id", pa.string(), nullable=False),  # what labels.csv names; a hash of image_path
        pa.field("position", pa.int64(), nullable=False),  # place on the page
        pa.field("generator", pa.string(), nullable=False),
        pa.field("condition", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),  # "" for unguided images
        pa.field("image_path", pa.string(), nullable=False),
        pa.field("predicted", pa.string(), nullable=False),  # the primary judge's label
        pa.field("true_class", pa.string()),  # where the generator knows it
    ])


def corrected_shares_schema() -> pa.Schema:
    """results/audit/corrected_shares.parquet: per image set and answer (a class or "none"), the judge's share
    beside the share corrected for the judge's error measured by the audit (`clipgan.audit.corrected_shares`)."""
    return pa.schema([
        pa.field("generator", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),
        pa.field("condition", pa.string(), nullable=False),
        pa.field("class", pa.string(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),  # images in the set
        pa.field("n_audited", pa.int64(), nullable=False),  # audited images of its generator and condition
        pa.field("judge_share", pa.float64(), nullable=False),
        pa.field("corrected_share", pa.float64(), nullable=False),  # posterior median
        pa.field("corrected_ci_low", pa.float64(), nullable=False),  # equal-tailed posterior interval
        pa.field("corrected_ci_high", pa.float64(), nullable=False),
    ])


def corrected_findings_schema() -> pa.Schema:
    """results/audit/corrected_findings.parquet: each per-class comparison, the judge's finding beside the
    audit-corrected one (`clipgan.audit.corrected_findings`)."""
    return pa.schema([
        pa.field("generator", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("baseline", pa.string(), nullable=False),
        pa.field("class", pa.string(), nullable=False),
        pa.field("share_guided", pa.float64()),
        pa.field("share_baseline", pa.float64()),
        pa.field("log_odds_ratio", pa.float64()),
        pa.field("q_value", pa.float64()),  # the study's (bias.parquet)
        pa.field("finding", pa.bool_(), nullable=False),  # q_value < bias.fdr
        pa.field("judge_q_value", pa.float64(), nullable=False),  # the posterior test on the judge's labels
        pa.field("corrected_share_guided", pa.float64(), nullable=False),
        pa.field("corrected_share_baseline", pa.float64(), nullable=False),
        pa.field("corrected_difference", pa.float64(), nullable=False),  # true share, guided minus baseline
        pa.field("corrected_difference_ci_low", pa.float64(), nullable=False),
        pa.field("corrected_difference_ci_high", pa.float64(), nullable=False),
        pa.field("corrected_q_value", pa.float64(), nullable=False),
        pa.field("corrected_finding", pa.bool_(), nullable=False),
        pa.field("change", pa.string(), nullable=False),  # "lost", "gained", "reversed" or "" (see clipgan.audit)
        pa.field("changed", pa.bool_(), nullable=False),  # change != ""
    ])


def bias_schema() -> pa.Schema:
    """Statistics in `clipgan.bias`; null where a class has no estimate (no image in either set, or every image)."""
    return pa.schema([
        pa.field("generator", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("baseline", pa.string(), nullable=False),  # "unguided" or "prompt:<id>" (guided control)
        pa.field("class", pa.string(), nullable=False),
        pa.field("n_guided", pa.int64(), nullable=False),
        pa.field("count_guided", pa.int64(), nullable=False),
        pa.field("share_guided", pa.float64()),  # shares: null only for an empty set
        pa.field("share_guided_ci_low", pa.float64()),  # Clopper-Pearson (exact)
        pa.field("share_guided_ci_high", pa.float64()),
        pa.field("n_baseline", pa.int64(), nullable=False),
        pa.field("count_baseline", pa.int64(), nullable=False),
        pa.field("share_baseline", pa.float64()),
        pa.field("share_baseline_ci_low", pa.float64()),
        pa.field("share_baseline_ci_high", pa.float64()),
        pa.field("log_odds_ratio", pa.float64()),  # log conditional-MLE odds ratio; may be -inf / +inf
        pa.field("log_odds_ratio_ci_low", pa.float64()),  # exact interval, inverts p_value's test
        pa.field("log_odds_ratio_ci_high", pa.float64()),
        pa.field("p_value", pa.float64()),  # central Fisher exact, this class vs the rest
        pa.field("q_value", pa.float64()),  # Benjamini-Hochberg over every tested per-class row of the study
        pa.field("detectable_share", pa.float64()),  # guided share needed for q < fdr with 80% power, alone
        pa.field("headline", pa.bool_(), nullable=False),  # the comparison's headline class (at most one)
        pa.field("p_value_omnibus", pa.float64(), nullable=False),  # all classes at once (permutation chi2)
        pa.field("n_permutations", pa.int64(), nullable=False),  # p_value_omnibus >= 1 / (n_permutations + 1)
        pa.field("q_value_omnibus", pa.float64(), nullable=False),  # Benjamini-Hochberg over the comparisons
        pa.field("noise_lower_bound", pa.float64()),  # what no bias makes of the headline statistic (quantile)
    ])


def pooled_schema() -> pa.Schema:
    """results/bias_pooled.parquet: one row per (generator, prompt, baseline, class) pooled over the replicates'
    bias tables (`clipgan.replicates.pool_replicates`); effects are log odds ratios."""
    return pa.schema([
        pa.field("generator", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),
        pa.field("baseline", pa.string(), nullable=False),
        pa.field("class", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("replicates", pa.int64(), nullable=False),  # replicates with an estimate (an image of the class)
        pa.field("pooled_effect", pa.float64()),  # random-effects mean; null below two replicates
        pa.field("pooled_ci_low", pa.float64()),  # t interval on replicates - 1 degrees of freedom
        pa.field("pooled_ci_high", pa.float64()),
        pa.field("tau2", pa.float64()),  # between-replicate variance (Paule-Mandel)
        pa.field("within_variance", pa.float64()),  # mean sampling variance of a replicate's effect
        pa.field("between_share", pa.float64()),  # tau2 / (tau2 + within_variance)
        pa.field("prediction_low", pa.float64()),  # where a new replicate's effect falls; null below three
        pa.field("prediction_high", pa.float64()),
        pa.field("replicated_share", pa.float64()),  # replicates whose own finding (q < fdr) has the pooled sign
        pa.field("replicated", pa.bool_(), nullable=False),  # a finding in the same direction in every replicate
        pa.field("p_value", pa.float64()),
        pa.field("q_value", pa.float64()),  # Benjamini-Hochberg over the pooled rows
        pa.field("headline", pa.bool_(), nullable=False),  # per comparison: replicated or pooled finding (at most one)
    ])


def package_versions() -> dict[str, str]:
    out = {}
    for name in ("clipgan", "torch", "torchvision", "open_clip_torch", "pymoo", "pandas", "pyarrow", "numpy"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_table(df: pd.DataFrame, path: str | os.PathLike, schema: pa.Schema, metadata: dict | None = None) -> None:
    """Cast `df` to `schema` (missing or extra columns are an error) and write it atomically."""
    missing = [n for n in schema.names if n not in df.columns]
    extra = [c for c in df.columns if c not in schema.names]
    if missing or extra:
        raise ValueError(f"table for {path} does not match its schema: missing {missing}, unexpected {extra}")
    table = pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)
    meta = {b"clipgan": json.dumps({"versions": package_versions(), **(metadata or {})}, sort_keys=True).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def read_metadata(path: str | os.PathLike) -> dict:
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(b"clipgan", b"{}"))
