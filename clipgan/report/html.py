"""The aggregated report: one self-contained folder with index.html and its figures."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pandas as pd

from clipgan.io import atomic_path, write_text
from clipgan.report import figures
from clipgan.table import read_metadata, read_table

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em} h3{margin-bottom:.3em}
table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start} img{max-width:100%}
.note{color:#555;font-size:.9em} .sig{font-weight:bold;color:#b00}
"""


def _copy(src: str, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def _headline_table(bias: pd.DataFrame) -> str:
    """Per (generator, prompt, baseline): the class with the largest log-ratio, with its CI and p."""
    out = ["<table><tr><th>generator</th><th>prompt</th><th>against</th><th>most favoured class</th>"
           "<th>guided share [95% CI]</th><th>baseline share</th><th>log-ratio [95% CI]</th><th>p (class)</th>"
           "<th>p (all classes)</th></tr>"]
    top = bias.sort_values("log_ratio", ascending=False).groupby(["generator", "prompt_id", "baseline"],
                                                                  sort=True).head(1)
    for r in top.sort_values(["generator", "prompt_id", "baseline"]).to_dict("records"):
        sig = ' class="sig"' if r["p_value"] < 0.01 else ""
        out.append(
            f"<tr><td>{html.escape(r['generator'])}</td><td>{html.escape(r['prompt'])}</td>"
            f"<td>{html.escape(r['baseline'])}</td><td>{html.escape(r['class'])}</td>"
            f"<td>{r['share_guided']:.2f} [{r['share_guided_ci_low']:.2f}, {r['share_guided_ci_high']:.2f}]</td>"
            f"<td>{r['share_baseline']:.2f}</td>"
            f"<td>{r['log_ratio']:+.2f} [{r['log_ratio_ci_low']:+.2f}, {r['log_ratio_ci_high']:+.2f}]</td>"
            f"<td{sig}>{r['p_value']:.2g}</td><td>{r['p_value_omnibus']:.2g}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def write_report(table_path: str, bias_path: str, judge_metrics: str, sample_grids: dict[str, str],
                 histories: dict[str, str], out_html: str, classes: list[str], title: str = "clipgan report",
                 timings: pd.DataFrame | None = None, clip_metrics: str = "") -> None:
    out_dir = Path(out_html).parent
    fig_dir = out_dir / "figures"
    table, bias = read_table(table_path), read_table(bias_path)
    judge = json.loads(Path(judge_metrics).read_text())
    meta = read_metadata(table_path)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='note'>config hash {meta.get('config_hash', '?')} · "
             + ", ".join(f"{k} {v}" for k, v in sorted(meta.get("versions", {}).items())) + "</p>"]

    parts.append("<h2>Summary</h2><p>For each generator and prompt, the class the CLIP-guided search favours most "
                 "over the generator's own unguided samples (and over the control prompt's guided images, where a "
                 "control is configured). The log-ratio is log(guided share / baseline share), smoothed; "
                 "<span class='sig'>red</span> p-values are below 0.01 (two-sided Fisher exact test of this class "
                 "against the rest).</p>")
    parts.append(_headline_table(bias))
    figures.log_ratio_heatmap(bias, str(fig_dir / "log_ratios.png"),
                              title="log-ratio of class shares, guided over unguided (** p < 0.01)")
    parts.append("<p><img src='figures/log_ratios.png' alt='log-ratio heatmap'></p>")

    parts.append("<h2>The judge</h2>"
                 f"<p>{html.escape(judge['arch'])} labels every image with one of: {', '.join(classes)}. "
                 f"Held-out accuracy on {judge['n_test']} labelled scenes: <b>{judge['accuracy']:.1%}</b>.</p>")
    _copy(str(Path(judge_metrics).with_name("confusion.png")), fig_dir / "confusion.png")
    parts.append("<p><img src='figures/confusion.png' alt='confusion matrix' width='380'></p>")
    if clip_metrics and Path(clip_metrics).is_file():
        clip = json.loads(Path(clip_metrics).read_text())
        parts.append(f"<p>The study's CLIP was trained in the pipeline on {clip['n_train']} (image, caption) pairs; "
                     f"zero-shot accuracy on {clip['n_test']} held-out scenes: <b>{clip['zero_shot_accuracy']:.1%}</b>."
                     "</p>")

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
                figures.share_bars(rows, str(fig_dir / name), title=f"guided vs {baseline}", baseline_label=baseline)
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
                     "<img src='figures/search.png' width='560' alt='search curves'>")
    if timings is not None and len(timings):
        parts.append("<h2>Where the time went</h2><p>Wall time per job, from Snakemake's benchmark files.</p>")
        parts.append(timings.to_html(index=False, float_format=lambda v: f"{v:.1f}"))
    parts.append("<h2>How to read this</h2><p class='note'>Shares are the fraction of a set's images the judge "
                 "assigns to each class; CIs come from resampling images (bootstrap). A positive log-ratio means the "
                 "prompt-guided search returns that class more often than the generator produces it unprompted. "
                 "A control prompt is not neutral: it shifts the mix too, so compare a prompt with its control as "
                 "well as with the unguided samples.</p></body></html>")
    write_text("\n".join(parts), out_html)


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
