"""Figures of the report. Each function draws one figure from measured data and saves it."""

from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from clipgan.io import save_figure  # noqa: E402

CLASS_COLORS = {"buildings": "#8c6d5a", "forest": "#2e7d32", "glacier": "#7fc8e8", "mountain": "#6d6875",
                "sea": "#1f5fa8", "street": "#e0a030"}


def _color(cls: str, i: int) -> str:
    return CLASS_COLORS.get(cls, plt.cm.tab10(i % 10))


def image_grid(images: torch.Tensor | np.ndarray, path: str, ncol: int = 8, title: str = "",
               captions: Sequence[str] | None = None, cell: float = 1.1) -> None:
    """Images in [-1, 1] (N, 3, H, W) or uint8 (N, H, W, 3), in a grid, with optional captions above each.

    One axes in figure inches holds every image: a subplot per image (and tight_layout over them)
    cost seconds per grid, and the report draws one grid per (generator, prompt)."""
    if isinstance(images, torch.Tensor):
        from clipgan.data.augment import to_uint8_images

        images = to_uint8_images(images)
    n = len(images)
    ncol = max(1, min(ncol, n))
    nrow = max(1, -(-n // ncol))
    caption_h, title_h, pad = (0.28 if captions else 0.0), (0.3 if title else 0.0), 0.04
    width, height = ncol * cell, title_h + nrow * (cell + caption_h)
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    for i in range(n):
        row, col = divmod(i, ncol)
        left, top = col * cell + pad, title_h + row * (cell + caption_h) + caption_h + pad
        ax.imshow(images[i], interpolation="nearest", aspect="auto",
                  extent=(left, left + cell - 2 * pad, top + cell - 2 * pad, top))
        if captions:
            ax.text(left + cell / 2 - pad, top - pad - caption_h / 2, captions[i], fontsize=8, ha="center",
                    va="center")
    if title:
        ax.text(width / 2, title_h / 2, title, fontsize=10, ha="center", va="center")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # rows run down the page
    ax.axis("off")
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def confusion_figure(cm: np.ndarray, classes: Sequence[str], path: str, title: str = "") -> None:
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def share_bars(rows: pd.DataFrame, path: str, title: str = "", baseline_label: str = "unguided",
               fdr: float = 0.05) -> None:
    """Guided vs baseline class shares with exact 95% CIs; rows: one (generator, prompt, baseline); * where q < fdr."""
    classes = list(rows["class"])
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(5.2, 2.6))
    for offset, prefix, label, hatch in ((-0.2, "share_guided", "guided", ""),
                                         (0.2, "share_baseline", baseline_label, "//")):
        share = rows[prefix].to_numpy()
        err = np.stack([share - rows[f"{prefix}_ci_low"].to_numpy(), rows[f"{prefix}_ci_high"].to_numpy() - share])
        ax.bar(x + offset, share, 0.38, yerr=np.clip(err, 0, None), capsize=2, label=label, hatch=hatch,
               color=[_color(c, i) for i, c in enumerate(classes)], edgecolor="black", linewidth=0.5,
               alpha=1.0 if prefix == "share_guided" else 0.45)
    for xi, q in zip(x, rows["q_value"]):
        if q < fdr:
            ax.text(xi, 1.02, "*", ha="center", fontsize=9)
    ax.set_xticks(x, classes, fontsize=7)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of images", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    # grey keys, outside the axes: the bars' colours are the classes', and a legend inside covered the last class
    keys = [Patch(facecolor="0.35", edgecolor="black", linewidth=0.5, label="guided"),
            Patch(facecolor="0.35", alpha=0.45, hatch="//", edgecolor="black", linewidth=0.5, label=baseline_label)]
    ax.legend(handles=keys, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def audit_shares(shares: pd.DataFrame, path: str, confidence: str = "95%") -> None:
    """The judge's share (grey) beside the audit-corrected share (red, with its interval) of every class and "none",
    one panel per (generator, image set); `shares` as clipgan.audit.corrected_shares writes it."""
    panels = list(shares.groupby(["generator", "prompt_id"], sort=True))
    ncol = min(len(panels), 5)
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.3 * ncol, 0.25 * 7 * nrow + 0.9), sharex=True, sharey=True,
                             squeeze=False)
    for ax, ((generator, prompt_id), frame) in zip(axes.flat, panels):
        y = np.arange(len(frame))[::-1]
        ax.hlines(y, frame.corrected_ci_low, frame.corrected_ci_high, color="#b00020", linewidth=1.2)
        ax.plot(frame.corrected_share, y, "o", color="#b00020", markersize=3.5, label="corrected")
        ax.plot(frame.judge_share, y, "D", color="#777777", markersize=3, label="judge", alpha=0.8)
        ax.set_yticks(y, list(frame["class"]), fontsize=7)
        ax.set_title(f"{generator}\n{prompt_id or 'unguided'} (n={int(frame.n.iloc[0])})", fontsize=7)
        ax.set_xlim(-0.02, 1.02)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", linewidth=0.3, alpha=0.5)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, frameon=False, loc="lower right")
    fig.supxlabel(f"share of the set's images (corrected: {confidence} posterior interval)", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def format_effect(value: float) -> str:
    """A log odds ratio for a reader: signed, infinite ones as ±∞, none as —."""
    if value is None or np.isnan(value):
        return "—"
    if np.isinf(value):
        return "+∞" if value > 0 else "−∞"
    return f"{value:+.2f}"


def format_effect_interval(low: float, high: float) -> str:
    """An interval of log odds ratios, "[low, high]", each end as `format_effect` writes it."""
    return f"[{format_effect(low)}, {format_effect(high)}]"


def effect_heatmap(bias: pd.DataFrame, path: str, title: str = "", fdr: float = 0.05) -> None:
    """Rows (generator / prompt) x classes, colour = log odds ratio over unguided, * where q < fdr.

    Findings (q < fdr) are in full colour, the rest faded: an infinite effect from 0 images of 24
    is not a finding until its test says so. Infinite effects take the colour of the largest
    finite one; classes with no estimate are grey and marked —.
    """
    frame = bias[bias.baseline == "unguided"]
    pivot = frame.pivot_table(index=["generator", "prompt_id"], columns="class", values="log_odds_ratio", sort=False,
                              dropna=False)
    qvals = frame.pivot_table(index=["generator", "prompt_id"], columns="class", values="q_value", sort=False,
                              dropna=False).reindex_like(pivot).to_numpy(float)
    values = pivot.to_numpy(float)
    finite = np.abs(values[np.isfinite(values)])
    limit = max(float(finite.max()) if finite.size else 0.0, 1.0)
    cmap = plt.get_cmap("RdBu_r")
    norm = matplotlib.colors.Normalize(-limit, limit)
    colors = cmap(norm(np.clip(np.nan_to_num(values, nan=0.0, posinf=limit, neginf=-limit), -limit, limit)))[..., :3]
    finding = qvals < fdr  # NaN compares False
    colors[~finding] = 0.3 * colors[~finding] + 0.7  # faded toward white
    colors[np.isnan(values)] = 0.87
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * pivot.shape[1], 0.8 + 0.42 * pivot.shape[0]))
    ax.imshow(colors, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        dark = finding[i, j] and abs(norm(np.clip(v, -limit, limit)) - 0.5) > 0.3
        ax.text(j, i, format_effect(v) + ("*" if finding[i, j] else ""), ha="center", va="center", fontsize=7,
                color="white" if dark else "black", fontweight="bold" if finding[i, j] else "normal")
    ax.set_xticks(range(pivot.shape[1]), pivot.columns, fontsize=7, rotation=30, ha="right")
    ax.set_yticks(range(pivot.shape[0]), [f"{g} / {p}" for g, p in pivot.index], fontsize=7)
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8)
    bar.set_label("log odds ratio, guided vs unguided\n(faded: not a finding)", fontsize=7)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def search_curves(histories: dict[str, pd.DataFrame], path: str) -> None:
    """Mean and best CLIP score per generation: one panel per generator, one colour per prompt (keys
    "generator/prompt")."""
    by_generator: dict[str, dict[str, pd.DataFrame]] = {}
    for key, h in histories.items():
        generator, _, prompt = key.partition("/")
        by_generator.setdefault(generator, {})[prompt or key] = h
    prompts = sorted({prompt for runs in by_generator.values() for prompt in runs})
    colors = {prompt: plt.cm.tab10(i % 10) for i, prompt in enumerate(prompts)}
    fig, axes = plt.subplots(1, len(by_generator), figsize=(2.6 * len(by_generator) + 1.6, 2.6), sharey=True,
                             squeeze=False)
    for ax, (generator, runs) in zip(axes[0], sorted(by_generator.items())):
        for prompt, h in sorted(runs.items()):
            ax.plot(h.generation, h.mean_clip, color=colors[prompt], linewidth=1)
            ax.plot(h.generation, h.best_clip, color=colors[prompt], linewidth=1, linestyle=":")
        ax.set_title(generator, fontsize=8)
        ax.set_xlabel("generation", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("CLIP cosine (solid mean, dotted best)", fontsize=7)
    keys = [Line2D([], [], color=colors[prompt], label=prompt) for prompt in prompts]
    axes[0, -1].legend(handles=keys, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def forest_plot(effects: pd.DataFrame, pooled: dict, path: str, title: str = "", confidence: str = "95%") -> None:
    """One finding over replicates: each replicate's log odds ratio with its interval (`effects`: replicate, effect,
    effect_ci_low, effect_ci_high), the pooled effect as a diamond spanning its interval, and the prediction
    interval for a new replicate as a bar under it (`pooled`: a row of bias_pooled.parquet)."""
    effects = effects.sort_values("replicate", ascending=False)
    k = len(effects)
    fig, ax = plt.subplots(figsize=(4.2, 0.9 + 0.28 * (k + 2)))
    y = np.arange(k) + 2
    ax.hlines(y, effects.effect_ci_low, effects.effect_ci_high, color="#333333", linewidth=1)
    ax.plot(effects.effect, y, "s", color="#333333", markersize=4)
    low, mid, high = pooled["pooled_ci_low"], pooled["pooled_effect"], pooled["pooled_ci_high"]
    if np.isfinite(mid):
        ax.fill([low, mid, high, mid], [1, 1.25, 1, 0.75], color="#b00020")
    # the axis spans the replicates and the pooled interval (and 0); a prediction interval wider than that (t on
    # k - 2 degrees of freedom: very wide at three replicates) is drawn to the edge and its ends written out
    ends = np.concatenate([effects.effect_ci_low, effects.effect_ci_high, [low, high, 0.0]])
    ends = ends[np.isfinite(ends)]
    pad = 0.08 * max(float(ends.max() - ends.min()), 1.0)
    lo, hi = float(ends.min()) - pad, float(ends.max()) + pad
    p_low, p_high = pooled.get("prediction_low", np.nan), pooled.get("prediction_high", np.nan)
    if np.isfinite(p_low):
        ax.hlines(0.3, max(p_low, lo), min(p_high, hi), color="#b00020", linewidth=2, alpha=0.5)
        if p_low < lo or p_high > hi:
            ax.text(hi, 0.55, f"[{p_low:+.1f}, {p_high:+.1f}]", ha="right", va="center", fontsize=6, color="#b00020")
    ax.set_xlim(lo, hi)
    ax.axvline(0, color="#999999", linewidth=0.6, linestyle="--")
    ax.set_yticks([0.3, 1, *y], ["new replicate", "pooled", *effects.replicate], fontsize=7)
    ax.set_ylim(-0.3, k + 2.6)
    ax.set_xlabel(f"log odds ratio ({confidence} intervals)", fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def mix_steps(steps: list[tuple[str, dict[str, float], int]], classes: Sequence[str], path: str,
              title: str = "") -> None:
    """One generator's class mix at each step, as stacked bars: `steps` are (label, {class: share}, n images),
    top to bottom (the training data, the unguided samples, the prompt-free search, each prompt)."""
    fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.32 * len(steps)))
    y = np.arange(len(steps))[::-1]
    left = np.zeros(len(steps))
    for i, cls in enumerate(classes):
        share = np.array([mix.get(cls, 0.0) for _, mix, _ in steps])
        ax.barh(y, share, left=left, color=_color(cls, i), edgecolor="white", linewidth=0.5, label=cls)
        for yi, width, start in zip(y, share, left):
            if width >= 0.08:
                ax.text(start + width / 2, yi, f"{width:.0%}", ha="center", va="center", fontsize=6, color="white")
        left += share
    ax.set_yticks(y, [f"{label} (n={n})" for label, _, n in steps], fontsize=7)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("share of images", fontsize=7)
    ax.legend(fontsize=6, frameon=False, ncol=len(classes), loc="lower center", bbox_to_anchor=(0.5, 1.0))
    ax.set_title(title, fontsize=8, pad=18)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
