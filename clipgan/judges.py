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


def _cluster_rows(clusters: np.ndarray) -> list[np.ndarray]:
    """Row indices of each cluster (a restart: its images under every prompt share the restart's pool slice)."""
    order = np.argsort(clusters, kind="stable")
    _, starts = np.unique(clusters[order], return_index=True)
    return np.split(order, starts[1:])


def agreement(images: pd.DataFrame, judges: Sequence[str], classes: Sequence[str], *, confidence: float = 0.95,
              seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Per (generator, condition, second judge): how often it gives the primary judge's label, and Cohen's kappa
    (scikit-learn), each with a percentile bootstrap interval seeded by the ids.

    The bootstrap resamples restarts, not images: the guided images of one restart index (one per prompt) start
    from the same slice of the generator's prior pool, so they are not independent (an unguided sample is its
    own cluster). Kappa is null where it is undefined (both judges give one and the same class to every image);
    it depends on the class mix, so compare the share of same labels between conditions first."""
    from sklearn.metrics import cohen_kappa_score

    index = {c: i for i, c in enumerate(classes)}
    tail = (1 - confidence) / 2
    rows = []
    for (generator, condition), frame in images.groupby(["generator", "condition"], sort=True):
        primary = frame.predicted.map(index).to_numpy()
        clusters = _cluster_rows(frame.restart.to_numpy())
        rng_seed = derive_seed(seed, "agreement", generator, condition)
        for judge in judges:
            other = frame[f"predicted_{judge}"].map(index).to_numpy()
            n, agree = len(frame), int((primary == other).sum())
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")  # undefined kappa: NaN, shown as "—"
                kappa = float(cohen_kappa_score(primary, other, labels=list(range(len(classes)))))
            rng = np.random.default_rng(derive_seed(rng_seed, judge))
            picks = rng.integers(0, len(clusters), size=(n_boot, len(clusters)))
            sizes = {len(c) for c in clusters}
            if len(sizes) == 1:  # every restart has an image per prompt: one array operation
                draws = np.stack(clusters)[picks].reshape(n_boot, -1)
                boot_kappa = kappas(primary[draws], other[draws], len(classes))
                boot_share = (primary[draws] == other[draws]).mean(1)
            else:
                draws = [np.concatenate([clusters[i] for i in row]) for row in picks]
                boot_kappa = np.array([kappas(primary[d], other[d], len(classes))[0] for d in draws])
                boot_share = np.array([(primary[d] == other[d]).mean() for d in draws])
            boot_kappa = boot_kappa[np.isfinite(boot_kappa)]
            k_low, k_high = np.quantile(boot_kappa, [tail, 1 - tail]) if len(boot_kappa) else (np.nan, np.nan)
            s_low, s_high = np.quantile(boot_share, [tail, 1 - tail])
            rows.append({"generator": generator, "condition": condition, "judge": judge, "n": n,
                         "clusters": len(clusters), "agree": agree, "agreement": agree / n,
                         "agreement_ci_low": float(s_low), "agreement_ci_high": float(s_high),
                         "kappa": kappa if np.isfinite(kappa) else np.nan,
                         "kappa_ci_low": float(k_low), "kappa_ci_high": float(k_high)})
    return pd.DataFrame(rows, columns=["generator", "condition", "judge", "n", "clusters", "agree", "agreement",
                                       "agreement_ci_low", "agreement_ci_high", "kappa", "kappa_ci_low",
                                       "kappa_ci_high"])


def findings_across_judges(bias: pd.DataFrame, by_judge: pd.DataFrame, primary: str, fdr: float) -> pd.DataFrame:
    """Every class row that is a finding (q < fdr) under at least one judge, with its effect and q under each.

    One row per (generator, prompt_id, baseline, class) and judge (`primary` names the primary judge, listed
    first). The direction of a finding is the primary's where it makes one, else the first second judge's (by
    id). `holds`: a finding under that judge in that direction; `holding_judges`: how many judges make it;
    `contradicted`: some judge makes it in the opposite direction; `one_judge_only`: one judge makes it and none
    contradicts it (the others' q is above fdr, which may be low power as well as disagreement: their effects
    and q-values are in the rows)."""
    columns = KEY + ["prompt", "count_guided", "n_guided", "count_baseline", "n_baseline", "log_odds_ratio",
                     "q_value"]
    stacked = pd.concat([bias[columns].assign(judge=primary)] +
                        ([by_judge[["judge"] + columns]] if len(by_judge) else []), ignore_index=True)
    stacked["finding"] = stacked.q_value < fdr
    keys = stacked[stacked.finding][KEY].drop_duplicates()
    out = stacked.merge(keys, on=KEY)
    if not len(out):
        return out.assign(holds=pd.Series(dtype=bool), holding_judges=pd.Series(dtype=int),
                          contradicted=pd.Series(dtype=bool), one_judge_only=pd.Series(dtype=bool))
    judges = [primary] + sorted(set(out.judge) - {primary})
    out["judge_order"] = out.judge.map({j: i for i, j in enumerate(judges)})
    out = out.sort_values(KEY + ["judge_order"], ignore_index=True)
    direction = out[out.finding].groupby(KEY).log_odds_ratio.first().gt(0).rename("favoured").reset_index()
    out = out.merge(direction, on=KEY)
    same_way = out.log_odds_ratio.gt(0) == out.favoured
    out["holds"] = out.finding & same_way
    out["holding_judges"] = out.groupby(KEY).holds.transform("sum").astype(int)
    out["contradicted"] = (out.finding & ~same_way).groupby([out[k] for k in KEY]).transform("any").astype(bool)
    several = out.groupby(KEY).judge.transform("size") > 1
    out["one_judge_only"] = (out.holding_judges == 1) & ~out.contradicted & several
    return out.drop(columns=["judge_order", "favoured"])
