"""The aggregated report: one self-contained folder with index.html and its figures."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from clipgan.bias import headlines
from clipgan.io import atomic_path, write_text
from clipgan.report import figures
from clipgan.table import read_metadata, read_table

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1320px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em} h3{margin-bottom:.3em}
table{border-collapse:collapse;font-size:.82em} td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}
td.num,td.sig{white-space:nowrap} td:nth-child(2){text-align:left} td.prompt{min-width:9em}
td.ci{white-space:normal} td.ci span{white-space:nowrap} .wide{overflow-x:auto}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start} img{max-width:100%}
.note{color:#555;font-size:.9em} .sig{font-weight:bold;color:#b00} .quiet{color:#777;text-align:center}
"""


def _copy(src: str, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def format_p(p: float, n_permutations: int | None = None) -> str:
    """A p- or q-value; a permutation p-value at its floor 1 / (B + 1) reads "≤ floor"."""
    if p is None or np.isnan(p):
        return "—"
    if n_permutations and p <= 1 / (n_permutations + 1) + 1e-12:
        return f"≤ {1 / (n_permutations + 1):.1g}"
    return f"{p:.2g}"


def _ci_cell(value: str, interval: str) -> str:
    """A value and its interval, which moves to a line of its own when the window is narrow."""
    return f"<td class='ci'><span>{value}</span> <span>{interval}</span></td>"


def _share_cell(r: dict, which: str) -> str:
    """"k/n = share [low, high]" of the guided or the baseline set."""
    return _ci_cell(f"{int(r[f'count_{which}'])}/{int(r[f'n_{which}'])} = {r[f'share_{which}']:.2f}",
                    f"[{r[f'share_{which}_ci_low']:.2f}, {r[f'share_{which}_ci_high']:.2f}]")


def _share(value: float) -> str:
    return "—" if value is None or np.isnan(value) else f"{value:.2f}"


def _effect_cell(r: dict) -> str:
    return _ci_cell(figures.format_effect(r["log_odds_ratio"]),
                    figures.format_effect_interval(r["log_odds_ratio_ci_low"], r["log_odds_ratio_ci_high"]))


def _summary_table(bias: pd.DataFrame, fdr: float, ci: str = "95%", flagged: dict | None = None) -> str:
    """One row per (generator, prompt, baseline): its headline class, or "no class stands out".

    `flagged`: {(generator, prompt_id, baseline, class): why} for findings the other judges do not confirm."""
    out = ["<div class='wide'><table><tr><th>generator</th><th>prompt</th><th>against</th><th>headline class</th>"
           f"<th>guided [{ci} CI]</th><th>baseline [{ci} CI]</th><th>log odds ratio [{ci} CI]</th><th>q (class)</th>"
           "<th>detectable share</th><th>noise reaches</th><th>p (whole mix)</th><th>q (whole mix)</th></tr>"]
    for r in headlines(bias).to_dict("records"):
        common = (f"<tr><td>{html.escape(r['generator'])}</td><td class='prompt'>{html.escape(r['prompt'])}</td>"
                  f"<td>{html.escape(r['baseline'])}</td>")
        tail = (f"<td>{figures.format_effect(r['noise_lower_bound'])}</td>"
                f"<td>{format_p(r['p_value_omnibus'], r['n_permutations'])}</td>"
                f"<td{' class=sig' if r['q_value_omnibus'] < fdr else ''}>{format_p(r['q_value_omnibus'])}</td></tr>")
        if r["class"] is None:
            rows = bias[(bias.generator == r["generator"]) & (bias.prompt_id == r["prompt_id"])
                        & (bias.baseline == r["baseline"])]
            detectable = rows.detectable_share.dropna()
            notes = [f"detectable shares {detectable.min():.2f}–{detectable.max():.2f}"] if len(detectable) else []
            fewer = rows[(rows.q_value < fdr) & (rows.log_odds_ratio_ci_high < 0)]
            notes += [f"fewer {html.escape(f['class'])}: {int(f['count_guided'])}/{int(f['n_guided'])} vs "
                      f"{int(f['count_baseline'])}/{int(f['n_baseline'])}, q {format_p(f['q_value'])}"
                      for f in fewer.to_dict("records")]
            reach = f" ({'; '.join(notes)})" if notes else ""
            out.append(common + f"<td class='quiet' colspan='6'>no class stands out{reach}</td>" + tail)
            continue
        why = (flagged or {}).get((r["generator"], r["prompt_id"], r["baseline"], r["class"]))
        flag = f" <span class='sig'>({why})</span>" if why else ""
        out.append(common + f"<td><b>{html.escape(r['class'])}</b>{flag}</td>" + _share_cell(r, "guided")
                   + _share_cell(r, "baseline") + _effect_cell(r)
                   + f"<td class='sig'>{format_p(r['q_value'])}</td><td>{_share(r['detectable_share'])}</td>" + tail)
    out.append("</table></div>")
    return "\n".join(out)


def _ground_truth_section(table: pd.DataFrame, bias: pd.DataFrame, truth: pd.DataFrame, classes: list[str],
                          fig_dir: Path, fdr: float, ci: str, judges: list[str] | None = None) -> str:
    """The judge on generated images whose class is known (renderer generators); "" when there are none. Second
    judges (`judges`) are measured on the same images, below the primary."""
    from clipgan.groundtruth import judge_accuracy, judge_against_truth, with_truth
    from clipgan.judge import confusion_matrix

    known = with_truth(table)
    if not len(known):
        return ""
    out = ["<h2>The judge on generated images</h2><p>These generators draw every image from a known class, so the "
           "judge's error is measured on the study's own images: its accuracy on the unguided samples and on each "
           "prompt's guided images (a search can find exactly the images a judge gets wrong), and each comparison's "
           "headline from the judge's labels beside the one from the true classes.</p>",
           f"<table><tr><th>judge</th><th>generator</th><th>images</th><th>correct</th><th>accuracy [{ci} CI]</th>"
           "<th>p (vs unguided, Fisher)</th></tr>"]
    primary = str(table.judge.iloc[0])
    for name, labels in [(primary, "predicted")] + [(j, f"predicted_{j}") for j in judges or []]:
        for r in judge_accuracy(known, labels=labels).to_dict("records"):
            label = "unguided" if r["condition"] == "unguided" else f"guided: {html.escape(r['prompt'])}"
            out.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(r['generator'])}</td><td>{label}</td>"
                       f"<td>{r['correct']}/{r['n']}</td><td class='num'>{r['accuracy']:.2f} "
                       f"[{r['accuracy_ci_low']:.2f}, {r['accuracy_ci_high']:.2f}]</td>"
                       f"<td>{format_p(r['p_vs_unguided'])}</td></tr>")
    out.append("</table><div class='row'>")
    index = {c: i for i, c in enumerate(classes)}
    for (generator, condition), frame in known.groupby(["generator", "condition"], sort=True):
        cm = confusion_matrix(frame.true_class.map(index).to_numpy(), frame.predicted.map(index).to_numpy(),
                              len(classes))
        name = f"truth_{generator}_{condition}.png"
        figures.confusion_figure(cm, classes, str(fig_dir / name), title=f"{generator}, {condition}: true vs judged")
        out.append(f"<div><img src='figures/{name}' width='340' alt='confusion on {html.escape(condition)} "
                   f"images of {html.escape(generator)}'></div>")
    out.append("</div><table><tr><th>generator</th><th>prompt</th><th>against</th><th>headline (judge)</th>"
               "<th>headline (true classes)</th><th>judge vs truth</th></tr>")
    for r in judge_against_truth(bias, truth).to_dict("records"):
        flag = "same" if r["agree"] else "<span class='sig'>the judge changes the finding</span>"
        out.append(f"<tr><td>{html.escape(r['generator'])}</td><td>{html.escape(r['prompt'])}</td>"
                   f"<td>{html.escape(r['baseline'])}</td><td>{html.escape(r['judge_headline'] or 'none')}</td>"
                   f"<td>{html.escape(r['true_headline'] or 'none')}</td><td>{flag}</td></tr>")
    out.append(f"</table><p class='note'>A headline is the favoured class with the largest lower bound among findings "
               f"(q &lt; {fdr}); the true-class q-values are over the same tests as the judge's (the other "
               "generators' rows as the judge labelled them), so the two headlines differ only where labels do.</p>")
    return "\n".join(out)


def _judges_section(agreed: pd.DataFrame, findings: pd.DataFrame, judges: list[str], primary: str, ci: str,
                    fdr: float) -> str:
    """Second judges: agreement with the primary per generator and condition, and every finding under every
    judge; "" when there are none."""
    if not judges:
        return ""
    out = [f"<h2>The judges compared</h2><p>Beside the primary judge ({html.escape(primary)}), "
           f"{', '.join(html.escape(j) for j in judges)} labelled every image too (zero-shot CLIP with weights of "
           "its own; one trained on the same captions as the guiding CLIP shares what that data taught it). "
           "Agreement is measured per condition: a search can find the images one judge gets wrong, so guided "
           "images can disagree more than unguided ones. Intervals resample restarts (a restart's images under "
           "every prompt share its start); kappa depends on the class mix, so compare the share of same labels "
           "between conditions first.</p>",
           f"<table><tr><th>generator</th><th>images</th><th>judge</th><th>same label [{ci} CI]</th>"
           f"<th>Cohen's kappa [{ci} CI]</th></tr>"]
    for r in agreed.to_dict("records"):
        kappa = "—" if pd.isna(r["kappa"]) else \
            f"{r['kappa']:.2f} [{r['kappa_ci_low']:.2f}, {r['kappa_ci_high']:.2f}]"
        out.append(f"<tr><td>{html.escape(r['generator'])}</td><td>{html.escape(r['condition'])}</td>"
                   f"<td>{html.escape(r['judge'])}</td><td class='num'>{r['agree']}/{r['n']} = {r['agreement']:.2f} "
                   f"[{r['agreement_ci_low']:.2f}, {r['agreement_ci_high']:.2f}]</td><td class='num'>{kappa}</td></tr>")
    out.append("</table>")
    if not len(findings):
        out.append(f"<p>No judge makes any finding (q &lt; {fdr}).</p>")
        return "\n".join(out)
    order = [primary] + judges
    out.append("<p>Every finding (a class with q &lt; " f"{fdr}" ") under any judge, under each judge (guided count "
               "vs baseline count, q over that judge's own tests). <span class='sig'>Flagged</span>: a finding "
               "that only one judge makes (the others' q is above the level: disagreement, or too few images to "
               "tell), or one that another judge makes in the opposite direction.</p>"
               "<table><tr><th>generator</th><th>prompt</th><th>against</th>"
               "<th>class</th>" + "".join(f"<th>{html.escape(j)}</th>" for j in order) + "<th>holds under</th></tr>")
    for key, frame in findings.groupby(["generator", "prompt_id", "baseline", "class"], sort=True):
        by = {r["judge"]: r for r in frame.to_dict("records")}
        first = frame.iloc[0]
        cells = []
        for j in order:
            r = by.get(j)
            cells.append("<td>—</td>" if r is None else
                         f"<td{' class=sig' if r['holds'] else ''}>{int(r['count_guided'])}/{int(r['n_guided'])} vs "
                         f"{int(r['count_baseline'])}/{int(r['n_baseline'])}, q {format_p(r['q_value'])}</td>")
        n_hold = int(first["holding_judges"])
        verdict = ("<span class='sig'>contradicted</span>" if bool(first["contradicted"]) else
                   "<span class='sig'>one judge only</span>" if bool(first["one_judge_only"])
                   else f"{n_hold} of {len(order)} judges")
        out.append(f"<tr><td>{html.escape(key[0])}</td><td>{html.escape(first['prompt'])}</td>"
                   f"<td>{html.escape(key[2])}</td><td>{html.escape(key[3])}</td>{''.join(cells)}<td>{verdict}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _audit_verdict(r: dict) -> str:
    flagged = {"lost": "lost: the judge's error made it", "gained": "gained: the judge's error hid it",
               "reversed": "reversed by the correction"}
    if r["changed"]:
        return f"<span class='sig'>{flagged[r['change']]}</span>"
    if r["corrected_finding"]:
        return "holds after correction"
    return "no credible change (near the level either way)"


def _audit_section(shares: pd.DataFrame, findings: pd.DataFrame, fdr: float, ci: str, fig_dir: Path) -> str:
    """The judge checked by a person (audit.labels): raw beside corrected, and the findings the correction changes."""
    audited = shares.drop_duplicates(["generator", "condition"])
    out = ["<h2>The judge, audited by a person</h2><p>A person labelled a sample of this study's own images on the "
           "audit page, without knowing their condition: "
           + ", ".join(f"{html.escape(r['generator'])} {html.escape(r['condition'])} {int(r['n_audited'])}"
                       for r in audited.to_dict("records"))
           + " images. From them, how often the judge gives each label to an image of each true class, per generator "
           "and condition (the same for every prompt's images); each set's true mix is estimated from its labelled "
           "images and the judge's labels of the rest (a Bayesian model, clipgan/audit.py). Intervals carry the "
           "audit sample's error as well as the "
           f"images' ({ci} posterior intervals). To tell what the judge's error does from what the choice of test "
           f"does, the verdict compares like with like: the same posterior test (q &lt; {fdr}, Benjamini-Hochberg) "
           "on the judge's labels and on the corrected mix. It is less conservative than the summary's Fisher test, "
           "whose q is shown in red where it makes a finding. <span class='sig'>Flagged</span>: the correction "
           "changes the finding's significance or sign, and moves the difference by more than the audit's own "
           "uncertainty (the interval of corrected minus judged difference excludes 0).</p>"]
    shown = findings[findings.finding | findings.corrected_finding | findings.changed]
    if not len(shown):
        out.append(f"<p>No comparison has a finding (q &lt; {fdr}) before or after the correction.</p>")
    else:
        out.append("<table><tr><th>generator</th><th>prompt</th><th>against</th><th>class</th>"
                   "<th>judge's shares</th><th>q (summary)</th><th>q (judge, posterior)</th><th>corrected shares</th>"
                   f"<th>corrected difference [{ci}]</th><th>q (corrected)</th><th>verdict</th></tr>")
        for r in shown.to_dict("records"):
            out.append(
                f"<tr><td>{html.escape(r['generator'])}</td><td>{html.escape(r['prompt'])}</td>"
                f"<td>{html.escape(r['baseline'])}</td><td>{html.escape(r['class'])}</td>"
                f"<td class='num'>{_share(r['share_guided'])} vs {_share(r['share_baseline'])}</td>"
                f"<td class='num{' sig' if r['finding'] else ''}'>{format_p(r['q_value'])}</td>"
                f"<td class='num'>{format_p(r['judge_q_value'])}</td>"
                f"<td class='num'>{r['corrected_share_guided']:.2f} vs {r['corrected_share_baseline']:.2f}</td>"
                f"<td class='num'>{r['corrected_difference']:+.2f} [{r['corrected_difference_ci_low']:+.2f}, "
                f"{r['corrected_difference_ci_high']:+.2f}]</td><td class='num'>{format_p(r['corrected_q_value'])}"
                f"</td><td>{_audit_verdict(r)}</td></tr>")
        out.append("</table>")
    figures.audit_shares(shares, str(fig_dir / "audit_shares.png"), ci)
    out.append("<p><img src='figures/audit_shares.png' alt='the judge's and the corrected share of every class, "
               "per image set'></p>")
    out.append(f"<details><summary>Every set's shares, the judge's and corrected [{ci}]</summary><table><tr>"
               "<th>generator</th><th>set</th><th>class</th><th>images</th><th>judge</th><th>corrected</th></tr>")
    for r in shares.to_dict("records"):
        out.append(f"<tr><td>{html.escape(r['generator'])}</td><td>{html.escape(r['prompt_id'] or 'unguided')}</td>"
                   f"<td>{html.escape(r['class'])}</td><td class='num'>{int(r['n'])}</td>"
                   f"<td class='num'>{r['judge_share']:.2f}</td><td class='num'>{r['corrected_share']:.2f} "
                   f"[{r['corrected_ci_low']:.2f}, {r['corrected_ci_high']:.2f}]</td></tr>")
    out.append("</table></details>")
    return "\n".join(out)


_SUMMARY_TEXT = """<p>For each generator and prompt, the class the CLIP-guided search favours over a baseline: the
generator's own unguided samples, and the control prompt's guided images where a control is configured.
<b>The headline rule:</b> among the classes whose q-value is below {fdr} (Benjamini-Hochberg over all {n_tests}
per-class tests of this study) and whose effect's {ci} interval lies above 0, the class with the largest lower bound;
when none qualifies, <i>no class stands out</i>. The effect is the log odds ratio of the class (conditional maximum
likelihood, exact interval; ±∞ when the class is never or always in one set); its test is the central Fisher exact
test, which the interval inverts, so they always agree. The odds scale weighs a rise from a rare class more than the
same gain in share from a common one, and a headline's interval is not widened for having been picked out.</p>
<p class='note'><b>What sampling alone produces.</b> <i>Detectable share</i>: the guided share the headline class
would need to be a finding of this study with {power:.0%} power, were it the study's only effect (the per-class
test at p &lt; {fdr}/{n_tests}); smaller effects can exist unseen. <i>Noise reaches</i>: with no bias at all (image
labels shuffled {n_perm} times), the largest lower bound over the classes of that comparison does not exceed this
value in {confidence:.0%} of shuffles; a headline whose lower bound is far above it is more than that comparison's
noise (a negative value: noise alone rarely lifts any class's lower bound above 0). <i>p (whole mix)</i>: a
permutation chi-square test of all classes at once; "≤" marks a p-value at its floor 1/(shuffles+1). A red q (whole
mix) beside <i>no class stands out</i> means the mix as a whole differs from the baseline's, but no single class by
enough to be a finding of its own.</p>
<p class='note'><b>Against unguided samples, every prompt moves the mix</b>: the search and the prompt's own meaning
(a landscape is not a street) do that, with or without a planted or learned bias. Against the prompt-free search
(<i>prompt:prompt_free</i>: the same search for a random text direction per restart) the search's own pull is
taken out; the comparison with the control prompt, which differs from the prompt only in its words, is the one that
isolates what a word adds.</p>"""


def _steps_section(table: pd.DataFrame, classes: list[str], training_mixes: dict[str, dict], fig_dir: Path) -> str:
    """Per generator, its class mix at each step: the training data (true labels, where the dataset has them), the
    unguided samples, the prompt-free search and each prompt (the judge's labels)."""
    from clipgan.table import PROMPT_FREE

    parts = ["<h2>From the training data to the prompt</h2><p>How far each step moves a generator's class mix: "
             "the data it learned from (true labels), its unguided samples, the search with no prompt's meaning "
             "(a random text direction per restart) and each prompt. The step from unguided to prompt-free is the "
             "search's own pull; only the step from prompt-free to a prompt is the prompt's. Every bar after the "
             "first is the judge's labels.</p><div class='row'>"]
    for generator, frame in table.groupby("generator", sort=True):
        steps = []
        mix = training_mixes.get(generator)
        if mix:
            steps.append(("training data", mix, int(mix["n"])))
        sets = [("unguided", frame[frame.condition == "unguided"])]
        guided = frame[frame.condition == "guided"]
        sets += [("prompt-free search", guided[guided.prompt_id == PROMPT_FREE])]
        sets += [(f"“{rows.prompt.iloc[0]}”", rows) for pid, rows in guided.groupby("prompt_id", sort=True)
                 if pid != PROMPT_FREE]
        for label, rows in sets:
            if len(rows):
                steps.append((label, rows.predicted.value_counts(normalize=True).to_dict(), len(rows)))
        name = f"steps_{generator}.png"
        figures.mix_steps(steps, classes, str(fig_dir / name), title=generator)
        parts.append(f"<img src='figures/{name}' width='620' alt='class mix of {html.escape(generator)} per step'>")
    return "\n".join(parts) + "</div>"


def write_report(table_path: str, bias_path: str, judge_metrics: str, sample_grids: dict[str, str],
                 histories: dict[str, str], out_html: str, classes: list[str], title: str = "clipgan report",
                 timings: pd.DataFrame | None = None, clip_metrics: str = "", confusion: str = "",
                 seed: int | None = None, truth: str = "", fdr: float = 0.05,
                 power: float = 0.8, confidence: float = 0.95, judges_bias: str = "", agreement: str = "",
                 judges: list[str] | None = None, audit_shares: str = "", audit_findings: str = "",
                 training_mixes: dict[str, dict] | None = None) -> None:
    out_dir = Path(out_html).parent
    fig_dir = out_dir / "figures"
    table, bias = read_table(table_path), read_table(bias_path)
    judge = json.loads(Path(judge_metrics).read_text())
    meta = read_metadata(table_path)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='note'>{'' if seed is None else f'study seed {seed} · '}"
             + ", ".join(f"{k} {v}" for k, v in sorted(meta.get("versions", {}).items())) + "</p>"]

    n_tests = int(bias.p_value.notna().sum())
    n_perm = int(bias.n_permutations.iloc[0])
    ci = f"{confidence:.0%}"
    parts.append("<h2>Summary</h2>" + _SUMMARY_TEXT.format(fdr=fdr, n_tests=n_tests, power=power, n_perm=n_perm,
                                                           ci=ci, confidence=confidence))
    judges = list(judges or [])
    findings = pd.DataFrame()
    if judges:
        from clipgan.judges import findings_across_judges

        findings = findings_across_judges(bias, read_table(judges_bias), table.judge.iloc[0], fdr)
    flagged = {} if not len(findings) else {
        tuple(r[k] for k in ("generator", "prompt_id", "baseline", "class")):
            "contradicted by another judge" if r["contradicted"] else "one judge only"
        for r in findings[findings.one_judge_only | findings.contradicted].to_dict("records")}
    if truth and flagged:  # a lone judge's finding on images of known class: the truth settles it
        from clipgan.groundtruth import truth_verdicts

        for key, verdict in truth_verdicts(bias, read_table(truth), list(flagged), fdr).items():
            flagged[key] = f"{flagged[key]}; {verdict}"
    audit = read_table(audit_findings) if audit_findings else pd.DataFrame()
    for r in (audit[audit.changed & (audit.finding | audit.corrected_finding)].to_dict("records") if len(audit)
              else []):
        key = tuple(r[k] for k in ("generator", "prompt_id", "baseline", "class"))
        flagged[key] = "; ".join(filter(None, [flagged.get(key, ""), "changed by the audit's correction"]))
    parts.append(_summary_table(bias, fdr, ci, flagged))
    if len(findings):
        lone = findings[findings.one_judge_only & findings.holds]
        by_whom = lone.groupby("judge").size().to_dict()
        if by_whom:
            parts.append("<p class='note'><span class='sig'>Findings that one judge alone makes</span>: " + ", ".join(
                f"{n} under {html.escape(j)}" for j, n in sorted(by_whom.items()))
                + " (see <i>The judges compared</i>). A finding of one judge only may be that judge's error on "
                "generated images rather than the generator's bias.</p>")
    figures.effect_heatmap(bias, str(fig_dir / "effects.png"), fdr=fdr,
                           title=f"log odds ratio of each class, guided vs unguided (* q < {fdr})")
    parts.append("<p><img src='figures/effects.png' alt='effect heatmap'></p>")
    parts.append(_steps_section(table, classes, training_mixes or {}, fig_dir))

    parts.append("<h2>The judge</h2>"
                 f"<p>{html.escape(judge['arch'])} labels every image with one of: {', '.join(classes)}. "
                 f"Held-out accuracy on {judge['n_test']} labelled scenes: <b>{judge['accuracy']:.1%}</b>.</p>")
    if confusion:
        _copy(confusion, fig_dir / "confusion.png")
        parts.append("<p><img src='figures/confusion.png' alt='confusion matrix' width='380'></p>")
    if clip_metrics and Path(clip_metrics).is_file():
        clip = json.loads(Path(clip_metrics).read_text())
        parts.append(f"<p>The study's CLIP was trained in the pipeline on {clip['n_train']} (image, caption) pairs; "
                     f"zero-shot accuracy on {clip['n_test']} held-out scenes: <b>{clip['zero_shot_accuracy']:.1%}</b>."
                     "</p>")

    parts.append("<p class='note'>To check the judge on this study's own images, label a sample of them on the "
                 "<a href='../audit/index.html'>audit page</a> and set <code>audit.labels</code> to the file it "
                 "downloads: the report then shows every finding corrected for the judge's error.</p>")
    if audit_findings:
        parts.append(_audit_section(read_table(audit_shares), audit, fdr, ci, fig_dir))
    if truth:
        parts.append(_ground_truth_section(table, bias, read_table(truth), classes, fig_dir, fdr, ci, judges))
    if judges:
        parts.append(_judges_section(read_table(agreement), findings, judges, table.judge.iloc[0], ci, fdr))

    parts.append("<h2>Generators</h2><p>Random samples of each generator, as trained or imported.</p><div class='row'>")
    for generator, grid in sorted(sample_grids.items()):
        _copy(grid, fig_dir / f"samples_{generator}.png")
        parts.append(f"<div><h3>{html.escape(generator)}</h3><img src='figures/samples_{generator}.png' "
                     f"width='440' alt='samples of {html.escape(generator)}'></div>")
    parts.append("</div>")

    for generator, frame in table.groupby("generator", sort=True):
        parts.append(f"<h2>{html.escape(generator)}</h2>")
        guided = frame[frame.condition == "guided"]
        for prompt_id, images in guided.groupby("prompt_id", sort=True):
            prompt = images.prompt.iloc[0]
            parts.append(f"<h3>“{html.escape(prompt)}” <span class='note'>({html.escape(prompt_id)}, "
                         f"{len(images)} images, mean CLIP {images.clip_score.mean():.3f})</span></h3>"
                         "<div class='row'>")
            for baseline, rows in bias[(bias.generator == generator) & (bias.prompt_id == prompt_id)].groupby(
                    "baseline", sort=False):
                name = f"bars_{generator}_{prompt_id}_{baseline.replace(':', '_')}.png"
                figures.share_bars(rows, str(fig_dir / name), title=f"guided vs {baseline} (* q < {fdr})",
                                   baseline_label=baseline, fdr=fdr)
                parts.append(f"<img src='figures/{name}' width='500' alt='class shares'>")
            name = f"grid_{generator}_{prompt_id}.png"
            captions = [f"{r['predicted']} {r['prob_' + r['predicted']]:.2f}" for r in images.to_dict("records")]
            figures.image_grid(_load(images.image_path), str(fig_dir / name), ncol=8, captions=captions)
            parts.append(f"<img src='figures/{name}' width='520' alt='guided images'></div>")
        unguided = frame[frame.condition == "unguided"].head(32)
        name = f"grid_{generator}_unguided.png"
        captions = [f"{r['predicted']} {r['prob_' + r['predicted']]:.2f}" for r in unguided.to_dict("records")]
        figures.image_grid(_load(unguided.image_path), str(fig_dir / name), ncol=8, captions=captions)
        parts.append(f"<h3>Unguided samples <span class='note'>(first {len(unguided)} of "
                     f"{int((frame.condition == 'unguided').sum())})</span></h3><img src='figures/{name}' width='520'>")

    if histories:
        figures.search_curves({k: pd.read_csv(v) for k, v in histories.items()}, str(fig_dir / "search.png"))
        parts.append("<h2>Search progress</h2><p>CLIP cosine per generation over all restarts.</p>"
                     "<img src='figures/search.png' width='900' alt='search curves'>")
    if timings is not None and len(timings):
        parts.append("<h2>Where the time went</h2><p>Wall time per job, from Snakemake's benchmark files.</p>")
        parts.append(timings.to_html(index=False, float_format=lambda v: f"{v:.1f}"))
    parts.append("<h2>How to read this</h2><p class='note'>Shares are the fraction of a set's images the judge "
                 f"assigns to each class, with exact (Clopper-Pearson) {ci} intervals, which stay honest at 0 of n and "
                 "n of n. A positive log odds ratio means the prompt-guided search returns that class more often than "
                 "the baseline; a finding needs its q-value below the study's false discovery rate, which accounts "
                 "for every class of every comparison being tested. A count of 9-12 images, as in the original "
                 "study, shows little: with six equally likely classes the most frequent one already holds at least "
                 "a third of 9 images with probability 0.84. A control prompt is not neutral: it shifts the mix too, "
                 "so compare a prompt with its control as well as with the unguided samples.</p></body></html>")
    write_text(_with_contents("\n".join(parts)), out_html)


def _with_contents(page: str) -> str:
    """The page with an id on every section heading and a line of links to them under the title: the report is
    long, and "How to read this" is last."""
    sections = []

    def anchor(match: re.Match) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", html.unescape(re.sub("<[^>]+>", "", match.group(1))).lower()).strip("-")
        slug = slug if slug not in {s for s, _ in sections} else f"{slug}-{len(sections)}"
        sections.append((slug, match.group(1)))
        return f"<h2 id='{slug}'>{match.group(1)}</h2>"

    page = re.sub(r"<h2>(.*?)</h2>", anchor, page)
    links = " · ".join(f"<a href='#{slug}'>{text}</a>" for slug, text in sections)
    head, _, body = page.partition("<h2 id=")
    return f"{head}<p class='note'>Contents: {links}</p>\n<h2 id={body}" if sections else page


def _load(paths) -> "object":
    from clipgan.data.folders import load_images

    return load_images(list(paths))


def read_benchmarks(paths: list[str]) -> pd.DataFrame:
    """Snakemake benchmark TSVs -> one row per job (job name from the file name)."""
    rows = []
    for path in paths:
        frame = pd.read_csv(path, sep="\t")
        rows.append({"job": Path(path).with_suffix("").as_posix().split("benchmarks/", 1)[-1],
                     "seconds": float(frame["s"].iloc[0]), "max_rss_mb": float(frame.get("max_rss", [0])[0] or 0)})
    return pd.DataFrame(rows).sort_values("job") if rows else pd.DataFrame()
