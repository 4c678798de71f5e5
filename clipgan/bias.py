"""Which classes does the guided search favour? Shares, bootstrap CIs, log-ratios and tests.

For each (generator, prompt) the guided images' class counts are compared with a baseline:
the same generator's unguided samples, and optionally a control prompt's guided images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class BiasConfig:
    n_bootstrap: int = 2000
    n_permutations: int = 2000
    smoothing: float = 0.5  # pseudo-count per class in log-ratios, so empty classes stay finite
    seed: int = 0
    control_prompt: str = ""  # prompt id compared against every other prompt (both guided)


def class_counts(predicted: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros(len(classes), int)
    for p in predicted:
        counts[index[p]] += 1
    return counts


def log_ratio(guided: np.ndarray, baseline: np.ndarray, smoothing: float = 0.5) -> np.ndarray:
    """log of smoothed guided share over smoothed baseline share, per class (last axis)."""
    k = guided.shape[-1]
    g = (guided + smoothing) / (guided.sum(-1, keepdims=True) + k * smoothing)
    b = (baseline + smoothing) / (baseline.sum(-1, keepdims=True) + k * smoothing)
    return np.log(g) - np.log(b)


def bootstrap_counts(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, K) class counts of resampled image sets (multinomial on the observed shares)."""
    n = counts.sum()
    if n == 0:
        return np.zeros((n_boot, len(counts)), int)
    return rng.multinomial(n, counts / n, size=n_boot)


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    return np.quantile(samples, alpha, axis=0), np.quantile(samples, 1 - alpha, axis=0)


def fisher_per_class(guided: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Two-sided Fisher exact p-value per class: this class vs all others, guided vs baseline."""
    out = np.empty(len(guided))
    for k in range(len(guided)):
        table = [[guided[k], guided.sum() - guided[k]], [baseline[k], baseline.sum() - baseline[k]]]
        out[k] = stats.fisher_exact(table, alternative="two-sided").pvalue
    return out


def chi2_statistic(table: np.ndarray) -> float:
    """Pearson's chi-square of a 2 x K table, over the columns with any count."""
    table = table[:, table.sum(0) > 0]
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    return float(((table - expected) ** 2 / expected).sum())


def permutation_chi2(guided: np.ndarray, baseline: np.ndarray, n_perm: int, rng: np.random.Generator) -> float:
    """p-value of homogeneity of two class-count vectors, by permuting image labels.

    Exact for small counts, where the chi-square approximation is not: the share of label
    shuffles whose chi-square is at least the observed one (with the +1 correction).
    """
    if guided.sum() == 0 or baseline.sum() == 0:
        return 1.0
    observed = chi2_statistic(np.stack([guided, baseline]))
    labels = np.repeat(np.arange(len(guided)), guided + baseline)
    n_g = guided.sum()
    hits = 0
    for _ in range(n_perm):
        perm = rng.permutation(labels)
        g = np.bincount(perm[:n_g], minlength=len(guided))
        hits += chi2_statistic(np.stack([g, guided + baseline - g])) >= observed - 1e-9
    return (hits + 1) / (n_perm + 1)


def compare(guided: np.ndarray, baseline: np.ndarray, cfg: BiasConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Per-class statistics of guided counts against baseline counts (both (K,) arrays)."""
    boot_g = bootstrap_counts(guided, cfg.n_bootstrap, rng)
    boot_b = bootstrap_counts(baseline, cfg.n_bootstrap, rng)
    share = lambda c: c / max(c.sum(), 1)  # noqa: E731
    g_low, g_high = percentile_ci(boot_g / max(guided.sum(), 1))
    b_low, b_high = percentile_ci(boot_b / max(baseline.sum(), 1))
    lr_low, lr_high = percentile_ci(log_ratio(boot_g, boot_b, cfg.smoothing))
    return pd.DataFrame({
        "n_guided": guided.sum(), "count_guided": guided, "share_guided": share(guided),
        "share_guided_ci_low": g_low, "share_guided_ci_high": g_high,
        "n_baseline": baseline.sum(), "count_baseline": baseline, "share_baseline": share(baseline),
        "share_baseline_ci_low": b_low, "share_baseline_ci_high": b_high,
        "log_ratio": log_ratio(guided, baseline, cfg.smoothing), "log_ratio_ci_low": lr_low,
        "log_ratio_ci_high": lr_high, "p_value": fisher_per_class(guided, baseline),
        "p_value_omnibus": permutation_chi2(guided, baseline, cfg.n_permutations, rng),
    })


def bias_table(images: pd.DataFrame, classes: Sequence[str], cfg: BiasConfig) -> pd.DataFrame:
    """One row per (generator, prompt, baseline, class) from the images table."""
    rng = np.random.default_rng(cfg.seed)
    rows = []
    for generator, frame in images.groupby("generator", sort=True):
        unguided = class_counts(frame.loc[frame.condition == "unguided", "predicted"], classes)
        guided = frame[frame.condition == "guided"]
        counts = {pid: class_counts(g.predicted, classes) for pid, g in guided.groupby("prompt_id", sort=True)}
        texts = guided.groupby("prompt_id").prompt.first().to_dict()
        for prompt_id, g_counts in counts.items():
            baselines = [("unguided", unguided)]
            if cfg.control_prompt and cfg.control_prompt in counts and prompt_id != cfg.control_prompt:
                baselines.append((f"prompt:{cfg.control_prompt}", counts[cfg.control_prompt]))
            for name, b_counts in baselines:
                per_class = compare(g_counts, b_counts, cfg, rng)
                per_class.insert(0, "class", list(classes))
                per_class.insert(0, "baseline", name)
                per_class.insert(0, "prompt", texts[prompt_id])
                per_class.insert(0, "prompt_id", prompt_id)
                per_class.insert(0, "generator", generator)
                rows.append(per_class)
    if not rows:
        raise ValueError("no guided images in the table: nothing to compare")
    return pd.concat(rows, ignore_index=True)
