"""The judge checked on the study's own images, where a generator knows their true class.

A renderer generator (`clipgan.generators.renderer`) draws every image from a known class, so for
its images the judge's error is measured, not assumed: its accuracy on guided and on unguided
images separately (the search can find exactly the images a judge gets wrong), and the bias
statistics recomputed from the true classes, to set beside the judge's.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from clipgan.bias import BiasConfig, add_detectable_shares, add_q_values, bias_table, headlines, mark_headlines

_KEYS = ["generator", "condition", "prompt_id"]


def with_truth(table: pd.DataFrame) -> pd.DataFrame:
    """The rows whose true class is known."""
    if "true_class" not in table:
        return table.iloc[:0]
    return table[table.true_class.notna()]


def judge_accuracy(table: pd.DataFrame, confidence: float = 0.95, labels: str = "predicted") -> pd.DataFrame:
    """Per (generator, condition, prompt_id) with known truth: the judge's correct labels with an exact interval,
    and, for each guided set, Fisher's exact test of its accuracy against the same generator's unguided images.
    `labels` is the judge's column: `predicted` (the primary judge) or a second judge's `predicted_<id>`."""
    known = with_truth(table)
    rows = []
    for (generator, condition, prompt_id), frame in known.groupby(_KEYS, sort=True):
        correct, n = int((frame[labels] == frame.true_class).sum()), len(frame)
        ci = stats.binomtest(correct, n).proportion_ci(confidence, method="exact")
        rows.append({"generator": generator, "condition": condition, "prompt_id": prompt_id,
                     "prompt": frame.prompt.iloc[0], "n": n, "correct": correct, "accuracy": correct / n,
                     "accuracy_ci_low": ci.low, "accuracy_ci_high": ci.high})
    out = pd.DataFrame(rows, columns=_KEYS + ["prompt", "n", "correct", "accuracy", "accuracy_ci_low",
                                              "accuracy_ci_high"])
    out["p_vs_unguided"] = np.nan
    for _, frame in out.groupby("generator"):
        unguided = frame[frame.condition == "unguided"]
        if not len(unguided):
            continue
        u = unguided.iloc[0]
        for i, r in frame[frame.condition == "guided"].iterrows():
            table_2x2 = [[r.correct, r.n - r.correct], [u.correct, u.n - u.correct]]
            out.loc[i, "p_vs_unguided"] = stats.fisher_exact(table_2x2).pvalue
    return out


def truth_bias(table: pd.DataFrame, classes: Sequence[str], cfg: BiasConfig,
               study: pd.DataFrame | None = None) -> pd.DataFrame:
    """The bias table of the generators with known truth, computed from their true classes instead of the judge's
    labels.

    With `study`, the judge's bias table of the whole study, the q-values, detectable shares and headlines are over
    the same tests as the judge's (the other generators' rows as the judge labelled them), so a headline differs
    from the judge's only where the labels do. Without it, they are over these generators' comparisons only."""
    known = with_truth(table)
    if not len(known):
        return pd.DataFrame()
    truth = bias_table(known.assign(predicted=known.true_class), classes, cfg)
    if study is None:
        return truth
    with_truth_ids = set(truth.generator)
    family = pd.concat([study[~study.generator.isin(with_truth_ids)], truth], ignore_index=True)
    family = mark_headlines(add_detectable_shares(add_q_values(family), cfg.fdr, cfg.power), cfg.fdr)
    return family[family.generator.isin(with_truth_ids)][truth.columns].reset_index(drop=True)


def truth_verdicts(judged: pd.DataFrame, truth: pd.DataFrame, keys: Sequence[tuple], fdr: float) -> dict[tuple, str]:
    """For findings of the judge's bias table (`keys`: (generator, prompt_id, baseline, class)) on generators with
    truth: whether the true classes make the same finding (q < fdr, the same direction). Keys of other generators
    are left out."""
    index = ["generator", "prompt_id", "baseline", "class"]
    if not len(truth):
        return {}
    true_rows, judged_rows = truth.set_index(index), judged.set_index(index)
    out = {}
    for key in keys:
        if key not in true_rows.index:
            continue
        t, j = true_rows.loc[key], judged_rows.loc[key]
        same = t.q_value < fdr and np.sign(t.log_odds_ratio) == np.sign(j.log_odds_ratio)
        out[key] = "the true classes confirm it" if same else "the true classes do not show it"
    return out


def judge_against_truth(judged: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per comparison of the generators with truth: the headline class under the judge's labels and under the true
    classes, side by side; `agree` is False where the judge made (or hid) the finding."""
    keys = ["generator", "prompt_id", "baseline"]
    if not len(truth):
        return pd.DataFrame(columns=keys + ["prompt", "judge_headline", "true_headline", "agree"])
    mine = headlines(judged[judged.generator.isin(set(truth.generator))])[keys + ["prompt", "class"]]
    theirs = headlines(truth)[keys + ["class"]]
    both = mine.merge(theirs, on=keys, suffixes=("_judge", "_truth"))
    both = both.rename(columns={"class_judge": "judge_headline", "class_truth": "true_headline"})
    both["agree"] = [a == b for a, b in zip(both.judge_headline, both.true_headline)]
    return both
