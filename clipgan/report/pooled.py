"""The report of a replicated study (replicates: N > 1): which findings hold across training runs.

One page beside the replicates' own reports: per comparison its pooled headline class with each replicate's
counts, the pooled effect, the prediction interval for a new replicate and the share of replicates that find it;
a forest plot per headline (pooled, or of any one replicate, so a finding one run makes and the others do not is
seen too); and the split of each headline's variance into within- and between-replicate parts.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from clipgan.io import write_text
from clipgan.replicates import KEYS, replicate_effects
from clipgan.report import figures
from clipgan.report.html import _CSS, format_p

COMPARISON = KEYS[:3]


def _select(frame: pd.DataFrame, key: tuple) -> pd.DataFrame:
    """The rows of `frame` whose leading KEYS columns equal `key` (a comparison or a comparison and class)."""
    columns = KEYS[:len(key)]
    return frame[(frame[columns] == pd.Series(dict(zip(columns, key)))).all(axis=1)]


def _per_replicate(stacked: pd.DataFrame, key: tuple, fdr: float) -> str:
    """"r1 22/24 vs 3/24 (q 5e-07)" for each replicate, findings in bold."""
    cells = []
    for r in _select(stacked, key).sort_values("replicate").to_dict("records"):
        text = (f"{html.escape(r['replicate'])} {int(r['count_guided'])}/{int(r['n_guided'])} vs "
                f"{int(r['count_baseline'])}/{int(r['n_baseline'])} (q {format_p(r['q_value'])})")
        cells.append(f"<b>{text}</b>" if r["q_value"] < fdr else text)
    return "<br>".join(cells)


def forest_keys(pooled: pd.DataFrame, stacked: pd.DataFrame) -> list[tuple]:
    """The (generator, prompt_id, baseline, class) rows drawn as forest plots: the pooled headlines, then the other
    headlines of single replicates, each in table order."""
    headlines = sorted(tuple(r) for r in pooled.loc[pooled.headline, KEYS].itertuples(index=False))
    single = {tuple(r) for r in stacked.loc[stacked.headline, KEYS].itertuples(index=False)}
    return headlines + sorted(single - set(headlines))


def write_pooled_report(pooled: pd.DataFrame, stacked: pd.DataFrame, out_html: str, replicate_reports: dict[str, str],
                        title: str = "clipgan report", seed: int | None = None, fdr: float = 0.05,
                        confidence: float = 0.95) -> None:
    """`pooled`: bias_pooled.parquet; `stacked`: the replicates' bias tables with a `replicate` column
    (`clipgan.replicates.stack_replicates`); `replicate_reports`: {replicate: path of its report}."""
    out_dir = Path(out_html).parent
    fig_dir = out_dir / "figures"
    ci = f"{confidence:.0%}"
    k = stacked.replicate.nunique()
    links = ", ".join(f"<a href='{html.escape(_relative(path, out_dir))}'>{html.escape(r)}</a>"
                      for r, path in sorted(replicate_reports.items()))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='note'>{'' if seed is None else f'study seed {seed} · '}{k} replicates, each retraining "
             f"what the study trains and rerunning every search from its own seed. Each replicate's own report: "
             f"{links}.</p>",
             "<h2>Findings across replicates</h2>",
             f"<p>Per comparison, the class the replicates favour: <b>replicated</b> (a finding, q &lt; {fdr}, in "
             f"every replicate's own report) or a <b>pooled finding</b> (each replicate's log odds ratio pooled with "
             f"a random-effects model, q &lt; {fdr} over the {int(pooled.p_value.notna().sum())} pooled rows); of "
             f"several, the one with the largest pooled lower bound. The pooled interval widens with the spread "
             f"between replicates beyond sampling error (τ²) and uses a t distribution on {k - 1} degrees of freedom: "
             f"with few replicates it is wide and the pooled test rarely passes, so replication is the criterion to "
             f"read first. <i>New replicate</i> is where another training run's effect would fall ({ci} prediction "
             f"interval; it needs three replicates). Each replicate's counts are shown, its own findings in bold.</p>"]
    parts.append(_summary(pooled, stacked, fdr, ci, k))
    keys = forest_keys(pooled, stacked)
    if keys:
        parts.append("<h2>Forest plots</h2><p>The headlines across replicates first, then every other headline of a "
                     f"single replicate: each replicate's effect ({ci} interval; 0.5 added to every cell of a table "
                     "with a zero), the pooled effect (diamond) and where a new replicate would fall (bar; its ends "
                     "written out when it is wider than the plot). A finding whose replicates disagree has a wide "
                     "diamond and a wider bar.</p><div class='row'>")
        effects = replicate_effects(stacked, confidence)
        indexed = pooled.set_index(KEYS)
        for i, key in enumerate(keys):
            generator, prompt_id, baseline, cls = key
            rows = _select(effects, key)
            row = indexed.loc[key].to_dict() if key in indexed.index else {}
            row = {c: row.get(c, np.nan) for c in ("pooled_effect", "pooled_ci_low", "pooled_ci_high",
                                                   "prediction_low", "prediction_high")}
            name = f"forest_{i:02d}.png"
            figures.forest_plot(rows, row, str(fig_dir / name), confidence=ci,
                                title=f"{generator} / {prompt_id} vs {baseline}: {cls}")
            parts.append(f"<img src='figures/{name}' width='420' alt='forest plot of {html.escape(cls)} for "
                         f"{html.escape(generator)} / {html.escape(prompt_id)} against {html.escape(baseline)}'>")
        parts.append("</div>")
        parts.append(_variance_table(pooled, keys))
    parts.append("<h2>How to read this</h2><p class='note'>A replicate's interval says how sure one training run "
                 "is of its own effect; the spread between replicates says how much the effect depends on the "
                 "training run. A finding that holds in one replicate only is a property of that run (its CLIP, its "
                 "GAN, its judge), not of the method or the data. With few replicates the pooled interval uses a "
                 f"t distribution on {k - 1} degrees of freedom and is wide on purpose.</p></body></html>")
    write_text("\n".join(parts), out_html)


def _relative(path: str, start: Path) -> str:
    import os

    return Path(os.path.relpath(path, start)).as_posix()


def _summary(pooled: pd.DataFrame, stacked: pd.DataFrame, fdr: float, ci: str, k: int) -> str:
    out = ["<table><tr><th>generator</th><th>prompt</th><th>against</th><th>headline class</th>"
           "<th>each replicate</th>"
           f"<th>pooled log odds ratio [{ci} CI]</th><th>new replicate [{ci}]</th><th>τ² (between)</th>"
           "<th>replicated</th><th>q (pooled)</th></tr>"]
    for comparison, frame in pooled.groupby(COMPARISON, sort=True):
        generator, prompt_id, baseline = comparison
        common = (f"<tr><td>{html.escape(generator)}</td><td>{html.escape(frame.prompt.iloc[0])}</td>"
                  f"<td>{html.escape(baseline)}</td>")
        top = frame[frame.headline]
        if not len(top):
            own = _select(stacked, comparison)
            own = own[own.headline]
            alone = "; ".join(f"{html.escape(r['replicate'])}: {html.escape(r['class'])}"
                              for r in own.sort_values("replicate").to_dict("records"))
            note = f" (headlines of single replicates: {alone})" if alone else ""
            out.append(common + f"<td class='quiet' colspan='7'>no class replicates{note}</td></tr>")
            continue
        r = top.iloc[0].to_dict()
        key = (generator, prompt_id, baseline, r["class"])
        out.append(common + f"<td><b>{html.escape(r['class'])}</b></td>"
                   f"<td class='num'>{_per_replicate(stacked, key, fdr)}</td>"
                   f"<td class='num'>{figures.format_effect(r['pooled_effect'])} "
                   f"{figures.format_effect_interval(r['pooled_ci_low'], r['pooled_ci_high'])}</td>"
                   f"<td class='num'>{figures.format_effect_interval(r['prediction_low'], r['prediction_high'])}</td>"
                   f"<td>{r['tau2']:.2f}</td><td{' class=sig' if r['replicated'] else ''}>"
                   f"{round(r['replicated_share'] * r['replicates'])}/{k}</td>"
                   f"<td{' class=sig' if r['q_value'] < fdr else ''}>{format_p(r['q_value'])}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _variance_table(pooled: pd.DataFrame, keys: list[tuple]) -> str:
    """Where each plotted effect's variance comes from: sampling within a replicate, or the training run."""
    indexed = pooled.set_index(KEYS)
    out = ["<h3>Within and between replicates</h3><p class='note'>Per plotted row: the mean sampling variance of "
           "one replicate's log odds ratio (what its own interval reflects), the between-replicate variance τ² "
           "(what a new training run adds) and the share of their sum that is between replicates (like I²).</p>",
           "<table><tr><th>generator</th><th>prompt</th><th>against</th><th>class</th><th>replicates</th>"
           "<th>within (sampling)</th><th>τ² (between)</th><th>between share</th></tr>"]
    for key in keys:
        if key not in indexed.index:
            continue
        r = indexed.loc[key].to_dict()
        generator, prompt_id, baseline, cls = key
        out.append(f"<tr><td>{html.escape(generator)}</td><td>{html.escape(prompt_id)}</td>"
                   f"<td>{html.escape(baseline)}</td><td>{html.escape(cls)}</td><td>{int(r['replicates'])}</td>"
                   f"<td>{_number(r['within_variance'])}</td><td>{_number(r['tau2'])}</td>"
                   f"<td>{_number(r['between_share'], percent=True)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _number(value: float, percent: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value:.0%}" if percent else f"{value:.2f}"
