"""Which classes does the guided search favour? Exact intervals, exact tests, false discoveries controlled.

Each comparison sets the class counts of a prompt's guided images against a baseline: the same
generator's unguided samples, and optionally a control prompt's guided images. Every number
here holds at the study's small counts (24 to 256 images a set):

Per class (a 2 x 2 table: this class against the rest, guided against baseline)
- shares with Clopper-Pearson intervals, which do not collapse at 0/n or n/n;
- the effect: the log of the conditional maximum-likelihood odds ratio, with its exact interval
  (scipy). It is defined at zero counts (-inf or +inf: "never" or "always" in one set), and null
  only when the class has no image in either set, or every image;
- the central Fisher exact p-value (twice the smaller one-sided p), the very test the interval
  inverts: the interval excludes 0 exactly when p < 1 - confidence;
- a Benjamini-Hochberg q-value over every per-class row of the study;
- the guided share the class needs to be a finding of the study (q < fdr, were it the only
  effect) with `power`, at these counts and this baseline share.

Per comparison
- a permutation chi-square test of the whole class mix, and its q-value over the study's
  comparisons. Shuffling image labels keeps the class totals, so the guided counts of a shuffle
  are one multivariate hypergeometric draw;
- what noise alone makes of the headline statistic (the largest lower bound of a class's effect):
  its `confidence` quantile over the same shuffles.

The headline of a comparison is the class with the largest lower bound among the classes with
q < fdr and a lower bound above 0. With none, no class stands out. The ranking is on the odds
scale, which weighs a rise from a rare baseline class more than the same gain in share from a
common one; and the headline's interval is not widened for having been selected.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import odds_ratio

from clipgan.seeds import derive_seed
from clipgan.table import PROMPT_FREE

COMPARISON = ["generator", "prompt_id", "baseline"]


@dataclass
class BiasConfig:
    n_permutations: int = 2000  # label shuffles: the omnibus test and the no-bias headline distribution
    confidence: float = 0.95  # every interval
    fdr: float = 0.05  # a finding has q < fdr (Benjamini-Hochberg over the study)
    power: float = 0.8  # of the detectable share
    seed: int = 0
    control_prompt: str = ""  # prompt id compared against every other prompt (both guided)


def class_counts(predicted: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros(len(classes), int)
    for p in predicted:
        counts[index[p]] += 1
    return counts


def share_interval(counts: np.ndarray, n: int, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson interval of each count's share of n (NaN when n is 0)."""
    if n == 0:
        nan = np.full(len(counts), np.nan)
        return nan, nan.copy()
    cis = [stats.binomtest(int(k), n).proportion_ci(confidence, method="exact") for k in counts]
    return np.array([c.low for c in cis]), np.array([c.high for c in cis])


def has_estimate(totals: np.ndarray, n: int) -> np.ndarray:
    """A class has an effect only when some images, but not all, are of it."""
    return (totals > 0) & (totals < n)


def central_fisher_p(guided: np.ndarray, totals: np.ndarray, n_guided: int, n_baseline: int) -> np.ndarray:
    """Twice the smaller one-sided Fisher exact p-value per class (capped at 1): this class vs the rest.

    Given the class total, the guided count is hypergeometric under no bias. This is the test the
    exact odds-ratio interval inverts (scipy's default two-sided Fisher p sums tables by likelihood
    instead, and can disagree with the interval).
    """
    n = n_guided + n_baseline
    greater = stats.hypergeom.sf(guided - 1, n, totals, n_guided)
    less = stats.hypergeom.cdf(guided, n, totals, n_guided)
    return np.minimum(1.0, 2 * np.minimum(greater, less))


@functools.lru_cache(maxsize=None)
def log_odds_ratio(a: int, n_guided: int, total: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """log conditional-MLE odds ratio of a class and its exact interval; NaN when there is no estimate.

    `a` guided images of the class among `n_guided`, `total` of the class among all `n` images.
    """
    if not 0 < total < n or not 0 < n_guided < n:
        return (np.nan, np.nan, np.nan)
    table = [[a, n_guided - a], [total - a, n - n_guided - total + a]]
    result = odds_ratio(table, kind="conditional")
    ci = result.confidence_interval(confidence)
    with np.errstate(divide="ignore"):
        return tuple(float(v) for v in np.log([result.statistic, ci.low, ci.high]))


def chi2_statistics(guided: np.ndarray, totals: np.ndarray, n_guided: int, n_baseline: int) -> np.ndarray:
    """Pearson's chi-square of the 2 x K tables whose guided rows are `guided` (..., K), over classes with images."""
    keep = totals > 0
    g, t = guided[..., keep], totals[keep]
    n = n_guided + n_baseline
    expected_g, expected_b = n_guided * t / n, n_baseline * t / n
    return ((g - expected_g) ** 2 / expected_g + (t - g - expected_b) ** 2 / expected_b).sum(-1)


def shuffles(totals: np.ndarray, n_guided: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, K) guided counts after shuffling which images are guided: class totals stay fixed."""
    return rng.multivariate_hypergeometric(totals, n_guided, size=n)


def permutation_p(observed: float, null: np.ndarray) -> float:
    """Share of shuffles at least as extreme, with the +1 correction: never below 1 / (len(null) + 1)."""
    return float((1 + np.sum(null >= observed - 1e-9)) / (len(null) + 1))


def largest_lower_bound(guided: np.ndarray, totals: np.ndarray, n_guided: int, n: int,
                        confidence: float = 0.95) -> np.ndarray:
    """The headline statistic of each row of guided counts (..., K): the largest lower bound of a class's effect."""
    guided = np.asarray(guided)
    bounds = np.full(guided.shape, -np.inf)
    for k in np.flatnonzero(has_estimate(totals, n)):
        values, inverse = np.unique(guided[..., k], return_inverse=True)
        lower = np.array([log_odds_ratio(int(a), n_guided, int(totals[k]), n, confidence)[1] for a in values])
        bounds[..., k] = lower[inverse].reshape(guided[..., k].shape)
    return bounds.max(-1)


@functools.lru_cache(maxsize=64)
def _upper_rejections(n_guided: int, n_baseline: int, alpha: float) -> np.ndarray:
    """(n_guided + 1, n_baseline + 1): the central Fisher test rejects, with the guided share the larger."""
    kg = np.arange(n_guided + 1)[:, None]
    kb = np.arange(n_baseline + 1)[None, :]
    p = central_fisher_p(kg, kg + kb, n_guided, n_baseline)
    return ((p < alpha) & (kg * n_baseline > kb * n_guided)).astype(float)


def detection_power(n_guided: int, n_baseline: int, share_guided: np.ndarray, share_baseline: float,
                    alpha: float = 0.05) -> np.ndarray:
    """Exact probability that the per-class test rejects (p < alpha, guided share the larger) at these true shares."""
    reject = _upper_rejections(n_guided, n_baseline, alpha)
    pmf_guided = stats.binom.pmf(np.arange(n_guided + 1)[:, None], n_guided, np.atleast_1d(share_guided)[None, :])
    pmf_baseline = stats.binom.pmf(np.arange(n_baseline + 1), n_baseline, share_baseline)
    return pmf_guided.T @ (reject @ pmf_baseline)


def detectable_share(n_guided: int, n_baseline: int, share_baseline: np.ndarray, alpha: float = 0.05,
                     power: float = 0.8, resolution: int = 400) -> np.ndarray:
    """The smallest guided share (on a grid of 1/resolution) the per-class test detects at p < alpha with `power`.

    Exact: binomial counts in both sets, summed over the test's rejection region. NaN where no
    share up to 1 reaches that power at these counts.
    """
    grid = np.linspace(0, 1, resolution + 1)
    out = np.full(len(share_baseline), np.nan)
    for i, share in enumerate(share_baseline):
        ok = (grid > share) & (detection_power(n_guided, n_baseline, grid, share, alpha) >= power)
        if ok.any():
            out[i] = grid[ok.argmax()]
    return out


def compare(guided: np.ndarray, baseline: np.ndarray, cfg: BiasConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Per-class statistics of guided counts against baseline counts (both (K,) arrays)."""
    n_g, n_b = int(guided.sum()), int(baseline.sum())
    n = n_g + n_b
    totals = guided + baseline
    estimable = has_estimate(totals, n) & (n_g > 0) & (n_b > 0)
    effects = np.array([log_odds_ratio(int(a), n_g, int(t), n, cfg.confidence) for a, t in zip(guided, totals)])
    p_value = np.where(estimable, central_fisher_p(guided, totals, n_g, n_b), np.nan)
    draws = shuffles(totals, n_g, cfg.n_permutations, rng)
    if estimable.any():
        omnibus = permutation_p(chi2_statistics(guided, totals, n_g, n_b), chi2_statistics(draws, totals, n_g, n_b))
        noise = np.quantile(largest_lower_bound(draws, totals, n_g, n, cfg.confidence), cfg.confidence,
                            method="higher")
    else:
        omnibus, noise = 1.0, np.nan
    g_low, g_high = share_interval(guided, n_g, cfg.confidence)
    b_low, b_high = share_interval(baseline, n_b, cfg.confidence)
    share = lambda c, total: c / total if total else np.full(len(c), np.nan)  # noqa: E731
    return pd.DataFrame({
        "n_guided": n_g, "count_guided": guided, "share_guided": share(guided, n_g),
        "share_guided_ci_low": g_low, "share_guided_ci_high": g_high,
        "n_baseline": n_b, "count_baseline": baseline, "share_baseline": share(baseline, n_b),
        "share_baseline_ci_low": b_low, "share_baseline_ci_high": b_high,
        "log_odds_ratio": effects[:, 0], "log_odds_ratio_ci_low": effects[:, 1],
        "log_odds_ratio_ci_high": effects[:, 2], "p_value": p_value,
        "p_value_omnibus": omnibus, "n_permutations": cfg.n_permutations, "noise_lower_bound": noise,
    })


def comparisons(images: pd.DataFrame, classes: Sequence[str], control_prompt: str = "") -> Iterator[tuple]:
    """(generator, prompt_id, prompt, baseline, guided counts, baseline counts) of every comparison: each guided set
    against the unguided samples; each prompt also against the control prompt and the prompt-free search."""
    for generator, frame in images.groupby("generator", sort=True):
        unguided = class_counts(frame.loc[frame.condition == "unguided", "predicted"], classes)
        guided = frame[frame.condition == "guided"]
        counts = {pid: class_counts(g.predicted, classes) for pid, g in guided.groupby("prompt_id", sort=True)}
        texts = guided.groupby("prompt_id").prompt.first().to_dict()
        for prompt_id, g_counts in counts.items():
            yield generator, prompt_id, texts[prompt_id], "unguided", g_counts, unguided
            if prompt_id == PROMPT_FREE:  # a baseline itself: only against the unguided samples
                continue
            if control_prompt and control_prompt in counts and prompt_id != control_prompt:
                control = counts[control_prompt]
                yield generator, prompt_id, texts[prompt_id], f"prompt:{control_prompt}", g_counts, control
            if PROMPT_FREE in counts:
                yield generator, prompt_id, texts[prompt_id], f"prompt:{PROMPT_FREE}", g_counts, counts[PROMPT_FREE]


def add_q_values(bias: pd.DataFrame) -> pd.DataFrame:
    """Benjamini-Hochberg q-values over the study: every tested per-class row, and every comparison's omnibus test."""
    bias["q_value"] = np.nan
    tested = bias.p_value.notna()
    if tested.any():
        bias.loc[tested, "q_value"] = stats.false_discovery_control(bias.loc[tested, "p_value"].to_numpy())
    omnibus = bias.groupby(COMPARISON, sort=False).p_value_omnibus.first()
    q = pd.Series(stats.false_discovery_control(omnibus.to_numpy()), index=omnibus.index, name="q_value_omnibus")
    return bias.drop(columns="q_value_omnibus", errors="ignore").join(q, on=COMPARISON)


def mark_headlines(bias: pd.DataFrame, fdr: float) -> pd.DataFrame:
    """`headline`: per comparison, the class with the largest lower bound among findings that favour it."""
    favoured = (bias.q_value < fdr) & (bias.log_odds_ratio_ci_low > 0)
    bias["headline"] = False
    best = bias[favoured].groupby(COMPARISON, sort=False).log_odds_ratio_ci_low.idxmax()
    bias.loc[best.to_numpy(), "headline"] = True
    return bias


def headlines(bias: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison: its headline class's row, or, with `class` None, "no class stands out"."""
    per_comparison = COMPARISON + ["prompt", "n_guided", "n_baseline", "p_value_omnibus", "q_value_omnibus",
                                   "n_permutations", "noise_lower_bound"]
    rows = []
    for _, frame in bias.groupby(COMPARISON, sort=True):
        top = frame[frame.headline]
        rows.append(top.iloc[0].to_dict() if len(top) else
                    {**frame.iloc[0][per_comparison].to_dict(), "class": None, "headline": False})
    out = pd.DataFrame(rows, columns=bias.columns)
    out["class"] = pd.Series([row["class"] for row in rows], dtype=object)  # None stays None, not NaN
    return out


def add_detectable_shares(bias: pd.DataFrame, fdr: float, power: float) -> pd.DataFrame:
    """`detectable_share`: the guided share a class needs to be a finding of this study (q < fdr) with `power`,
    were it the study's only effect: the per-class test at p < fdr / m, m the study's tested rows."""
    level = fdr / max(int(bias.p_value.notna().sum()), 1)
    bias["detectable_share"] = np.nan
    for (n_g, n_b), rows in bias.groupby(["n_guided", "n_baseline"]):
        if n_g and n_b:
            bias.loc[rows.index, "detectable_share"] = detectable_share(int(n_g), int(n_b),
                                                                        rows.share_baseline.to_numpy(), level, power)
    return bias


def bias_table(images: pd.DataFrame, classes: Sequence[str], cfg: BiasConfig) -> pd.DataFrame:
    """One row per (generator, prompt, baseline, class) from the images table.

    Each comparison's shuffles have their own seed, named by the study seed and the comparison's ids,
    so adding a generator or a prompt changes no other comparison's numbers, only the study-wide
    ones (q-values, headlines, detectable shares).
    """
    rows = []
    for generator, prompt_id, prompt, baseline, g_counts, b_counts in comparisons(images, classes, cfg.control_prompt):
        rng = np.random.default_rng(derive_seed(cfg.seed, "bias", generator, prompt_id, baseline))
        per_class = compare(g_counts, b_counts, cfg, rng)
        per_class.insert(0, "class", list(classes))
        for name, value in reversed(list(zip(["generator", "prompt_id", "prompt", "baseline"],
                                             [generator, prompt_id, prompt, baseline]))):
            per_class.insert(0, name, value)
        rows.append(per_class)
    if not rows:
        raise ValueError("no guided images in the table: nothing to compare")
    bias = add_q_values(pd.concat(rows, ignore_index=True))
    bias = add_detectable_shares(bias, cfg.fdr, cfg.power)
    return mark_headlines(bias, cfg.fdr)
