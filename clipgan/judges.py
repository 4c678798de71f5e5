"""Second judges: how far the primary judge's labels agree with independent ones, and which findings hold
under every judge.

A finding (a class row with q < fdr) that only one judge makes may be that judge's error on generated images
rather than the generator's bias: the search can find exactly the images one classifier gets wrong. Agreement
is measured per generator and condition (guided vs unguided) because that is where it can differ.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from clipgan.bias import BiasConfig, bias_table
from clipgan.seeds import derive_seed

KEY = ["generator", "prompt_id", "baseline", "class"]


def bias_by_judge(images: pd.DataFrame, judges: Sequence[str], classes: Sequence[str],
                  cfg: BiasConfig) -> pd.DataFrame:
    """The bias table under each second judge's labels (predicted_<id>), stacked with a leading `judge` column;
    each judge's q-values are over its own tests, as the primary's are. Empty when there are no second judges."""
    blocks = []
    for judge in judges:
        block = bias_table(images.assign(predicted=images[f"predicted_{judge}"]), classes, cfg)
        block.insert(0, "judge", judge)
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


def kappas(first: np.ndarray, second: np.ndarray, n_classes: int) -> np.ndarray:
    """Cohen's kappa of each row pair of integer labels (B, n) in [0, n_classes): the bootstrap's thousands of
    resamples at once (scikit-learn's `cohen_kappa_score` takes one pair; tests check the two agree).
    NaN where kappa is undefined (chance agreement 1: both give one and the same class to every image)."""
    first, second = np.atleast_2d(first), np.atleast_2d(second)
    b, n = first.shape
    cells = (np.arange(b)[:, None] * n_classes * n_classes + first * n_classes + second).ravel()
    counts = np.bincount(cells, minlength=b * n_classes * n_classes).reshape(b, n_classes, n_classes) / n
    observed = np.trace(counts, axis1=1, axis2=2)
    chance = (counts.sum(2) * counts.sum(1)).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)


def agreement(images: pd.DataFrame, judges: Sequence[str], classes: Sequence[str], *, confidence: float = 0.95,
              seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Per (generator, condition, second judge): how often it gives the primary judge's label (an exact interval)
    and Cohen's kappa (scikit-learn) with a percentile bootstrap interval over the images, seeded by the ids.
    Kappa is null where it is undefined (both judges give one and the same class to every image)."""
    from sklearn.metrics import cohen_kappa_score

    index = {c: i for i, c in enumerate(classes)}
    rows = []
    for (generator, condition), frame in images.groupby(["generator", "condition"], sort=True):
        primary = frame.predicted.map(index).to_numpy()
        for judge in judges:
            other = frame[f"predicted_{judge}"].map(index).to_numpy()
            n, agree = len(frame), int((primary == other).sum())
            share_ci = stats.binomtest(agree, n).proportion_ci(confidence, method="exact")
            with warnings.catch_warnings():  # undefined kappa: NaN, said in the report as "—"
                warnings.simplefilter("ignore")
                kappa = float(cohen_kappa_score(primary, other, labels=list(range(len(classes))),
                                                replace_undefined_by=np.nan))
            rng = np.random.default_rng(derive_seed(seed, "kappa", generator, condition, judge))
            draws = rng.integers(0, n, size=(n_boot, n))
            boot = kappas(primary[draws], other[draws], len(classes))
            boot = boot[np.isfinite(boot)]
            tail = (1 - confidence) / 2
            low, high = np.quantile(boot, [tail, 1 - tail]) if len(boot) else (np.nan, np.nan)
            rows.append({"generator": generator, "condition": condition, "judge": judge, "n": n, "agree": agree,
                         "agreement": agree / n, "agreement_ci_low": share_ci.low,
                         "agreement_ci_high": share_ci.high, "kappa": kappa if np.isfinite(kappa) else np.nan,
                         "kappa_ci_low": float(low), "kappa_ci_high": float(high)})
    return pd.DataFrame(rows, columns=["generator", "condition", "judge", "n", "agree", "agreement",
                                       "agreement_ci_low", "agreement_ci_high", "kappa", "kappa_ci_low",
                                       "kappa_ci_high"])


def findings_across_judges(bias: pd.DataFrame, by_judge: pd.DataFrame, primary: str, fdr: float) -> pd.DataFrame:
    """Every class row that is a finding (q < fdr) under at least one judge, with its effect and q under each.

    One row per (generator, prompt_id, baseline, class) and judge (`primary` names the primary judge); `holds`:
    a finding under that judge in the same direction as the first judge that makes it; `holding_judges`: how
    many judges make it; `one_judge_only`: the flag for a finding that rests on one judge's labels."""
    columns = KEY + ["prompt", "count_guided", "n_guided", "count_baseline", "n_baseline", "log_odds_ratio",
                     "q_value"]
    stacked = pd.concat([bias[columns].assign(judge=primary)] +
                        ([by_judge[["judge"] + columns]] if len(by_judge) else []), ignore_index=True)
    stacked["finding"] = stacked.q_value < fdr
    keys = stacked[stacked.finding][KEY].drop_duplicates()
    out = stacked.merge(keys, on=KEY)
    if not len(out):
        return out.assign(holds=pd.Series(dtype=bool), holding_judges=pd.Series(dtype=int),
                          one_judge_only=pd.Series(dtype=bool))
    judges = [primary] + sorted(set(out.judge) - {primary})
    out["judge_order"] = out.judge.map({j: i for i, j in enumerate(judges)})
    out = out.sort_values(KEY + ["judge_order"], ignore_index=True)
    direction = out[out.finding].groupby(KEY).log_odds_ratio.first().gt(0).rename("favoured").reset_index()
    out = out.merge(direction, on=KEY)
    out["holds"] = out.finding & (out.log_odds_ratio.gt(0) == out.favoured)
    out["holding_judges"] = out.groupby(KEY).holds.transform("sum").astype(int)
    out["one_judge_only"] = (out.holding_judges == 1) & (out.groupby(KEY).judge.transform("size") > 1)
    return out.drop(columns=["judge_order"])
