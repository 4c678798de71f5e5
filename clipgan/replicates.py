"""Findings across replicates: how much of a finding survives another training run.

Every interval of one study is conditional on its CLIP, its GANs and its judge. A replicate retrains them from
other seeds; a finding that holds in one replicate and not in another is a property of a training run, not of the
method or the data. Per (generator, prompt, baseline, class), the replicates' log odds ratios are pooled with a
random-effects model (statsmodels' `combine_effects`, Paule-Mandel between-replicate variance tau²). The
interval is the random-effects one on a t distribution with k - 1 degrees of freedom, with the
Hartung-Knapp-Sidik-Jonkman variance where it is larger (with Paule-Mandel it equals the plain one whenever
tau² > 0): conservative at few replicates, covering the mean effect in 97-100% of simulated studies. Beside it:
an approximate prediction interval for the effect in a new replicate (Higgins, Thompson and Spiegelhalter 2009:
t on k - 2 degrees of freedom, so k >= 3; it covered a new replicate's effect 90-92% of the time at k = 5, below
its nominal level, since few replicates estimate tau² poorly), and the share of replicates in which the row is a
finding in the pooled direction. The variance of an effect splits into the within-replicate (sampling) variance,
`within_variance` (the mean of the replicates' own), and the between-replicate variance tau²; `between_share` is
tau² / (tau² + within_variance), the part of a new replicate's variance that the training run adds (an I²-like
share, from the mean within variance rather than Higgins and Thompson's typical one).

A replicate's log odds ratio adds 0.5 to every cell of its 2 x 2 table when one is zero (Haldane-Anscombe), so
that it and its variance are finite; such a replicate has a large variance and little weight, so an extreme
effect (24/24 vs 0/24) is pulled toward the moderate replicates. A replicate with no image of the class in either
set has no estimate and is left out of that row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

KEYS = ["generator", "prompt_id", "baseline", "class"]
POOLED_COLUMNS = KEYS + ["prompt", "replicates", "pooled_effect", "pooled_ci_low", "pooled_ci_high", "tau2",
                         "within_variance", "between_share", "prediction_low", "prediction_high", "replicated_share",
                         "replicated", "p_value", "q_value", "headline"]


def log_odds_ratios(count_guided, n_guided, count_baseline, n_baseline) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate: the log odds ratio and its (Woolf) variance, 0.5 added to every cell of a table with a zero.
    (statsmodels' `effectsize_2proportions(zero_correction=0.5)` adds 0.5 to the counts of every table but enlarges
    the totals only of those with a zero, which biases tables without one: 12/24 vs 24/96 gives 1.154, not 1.099.)"""
    a, n1 = np.asarray(count_guided, float), np.asarray(n_guided, float)
    c, n2 = np.asarray(count_baseline, float), np.asarray(n_baseline, float)
    b, d = n1 - a, n2 - c
    half = 0.5 * ((a == 0) | (b == 0) | (c == 0) | (d == 0))
    a, b, c, d = a + half, b + half, c + half, d + half
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


def pool_row(count_guided, n_guided, count_baseline, n_baseline, findings, confidence: float = 0.95) -> dict:
    """Pool one row over its replicates (arrays, one entry per replicate with an estimate). `findings`: +1 where a
    replicate finds the class favoured (q < fdr), -1 disfavoured, 0 otherwise."""
    from statsmodels.stats.meta_analysis import combine_effects

    k = len(count_guided)
    out = {"replicates": k}
    if k < 2:
        return {**out, **{c: np.nan for c in POOLED_COLUMNS[6:]}}
    effect, variance = log_odds_ratios(count_guided, n_guided, count_baseline, n_baseline)
    alpha = 1 - confidence
    result = combine_effects(effect, variance, method_re="iterated", use_t=True, alpha=alpha)
    # the HKSJ variance, never below the plain random-effects one (the "ad hoc" correction of Knapp-Hartung)
    mean, se = float(result.mean_effect_re), float(np.sqrt(max(result.var_hksj_re, result.var_eff_w_re)))
    t = stats.t.ppf(1 - alpha / 2, k - 1)
    if k >= 3:
        spread = stats.t.ppf(1 - alpha / 2, k - 2) * np.sqrt(result.tau2 + result.var_eff_w_re)
        prediction = (mean - spread, mean + spread)
    else:
        prediction = (np.nan, np.nan)
    direction = np.sign(mean)
    return {**out, "pooled_effect": mean, "pooled_ci_low": mean - t * se, "pooled_ci_high": mean + t * se,
            "tau2": float(result.tau2), "within_variance": float(np.mean(variance)),
            "between_share": float(result.tau2 / (result.tau2 + np.mean(variance))),
            "prediction_low": prediction[0], "prediction_high": prediction[1],
            "replicated_share": float(np.mean(np.asarray(findings) == direction)) if direction else 0.0,
            "p_value": float(2 * stats.t.sf(abs(mean) / se, k - 1)) if se > 0 else (1.0 if mean == 0 else 0.0)}


def pool_replicates(bias: pd.DataFrame, fdr: float = 0.05, confidence: float = 0.95) -> pd.DataFrame:
    """`bias`: the bias tables of several replicates stacked, with a `replicate` column. One row per (generator,
    prompt_id, baseline, class); pooled where at least two replicates have an estimate; q-values (Benjamini-Hochberg)
    over the pooled rows. `replicated`: a finding (q < fdr) in the same direction in every replicate."""
    k_total = bias.replicate.nunique()
    rows = []
    for key, frame in bias.groupby(KEYS, sort=True):
        prompt = frame.prompt.iloc[0]
        frame = frame[(frame.count_guided + frame.count_baseline) > 0]  # no image of the class: no estimate
        findings = np.where(frame.q_value.fillna(1.0) < fdr, np.sign(frame.log_odds_ratio.fillna(0.0)), 0)
        pooled = pool_row(frame.count_guided, frame.n_guided, frame.count_baseline, frame.n_baseline, findings,
                          confidence)
        rows.append({**dict(zip(KEYS, key)), "prompt": prompt, **pooled})
    out = pd.DataFrame(rows, columns=POOLED_COLUMNS)
    out["replicated"] = (out.replicates == k_total) & (out.replicated_share == 1.0) & (out.pooled_effect != 0)
    tested = out.p_value.notna()
    out["q_value"] = np.nan
    if tested.any():
        out.loc[tested, "q_value"] = stats.false_discovery_control(out.loc[tested, "p_value"].to_numpy(), method="bh")
    return mark_pooled_headlines(out, fdr)


def mark_pooled_headlines(pooled: pd.DataFrame, fdr: float) -> pd.DataFrame:
    """`headline`: per comparison, of the classes the replicates favour, replicated (a finding in every replicate) or
    a pooled finding (q < fdr, interval above 0), the one with the largest pooled lower bound.

    Two rules, because few replicates cannot make a pooled finding: with three, the pooled t test has two degrees
    of freedom, and a finding in all three (22/24 vs 3/24, 8/24 vs 0/24, 20/24 vs 7/24 in the demo) pools to
    p = 0.03, far from q < 0.05 over a study's hundred-odd rows. A finding made in every replicate, each under
    its own false discovery control, is the replication a reader asks for; the pooled test is the stronger claim
    (the mean effect over training runs is not zero) and needs about five replicates."""
    favoured = (pooled.pooled_effect > 0) & (pooled.replicated | ((pooled.q_value < fdr) & (pooled.pooled_ci_low > 0)))
    pooled["headline"] = False
    best = pooled[favoured].groupby(KEYS[:3], sort=False).pooled_ci_low.idxmax()
    pooled.loc[best.to_numpy(), "headline"] = True
    return pooled


def stack_replicates(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Several replicates' bias tables as one, with a `replicate` column first."""
    frames = [table.assign(replicate=replicate) for replicate, table in tables.items()]
    stacked = pd.concat(frames, ignore_index=True)
    return stacked[["replicate"] + [c for c in stacked.columns if c != "replicate"]]


def replicate_effects(stacked: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Each replicate's row as it enters the pooling: its log odds ratio (0.5 added to a table with a zero) and
    Wald interval from the Woolf variance; rows with no image of the class in either set are left out."""
    rows = stacked[(stacked.count_guided + stacked.count_baseline) > 0].copy()
    effect, variance = log_odds_ratios(rows.count_guided, rows.n_guided, rows.count_baseline, rows.n_baseline)
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows["effect"], rows["variance"] = effect, variance
    rows["effect_ci_low"], rows["effect_ci_high"] = effect - z * np.sqrt(variance), effect + z * np.sqrt(variance)
    return rows
