"""The audit page: one self-contained HTML file on which a person labels a sample of the study's images.

Everything is inside the file (images as data URIs, the script, the styles), so it opens from the file system,
needs no server, and can be sent to someone else. Nothing on the page tells an image's generator, prompt or
condition; its id is a hash of its path (`clipgan.audit.image_id`). Work is kept in the browser's local storage
under a key named by the sample, so closing the page loses nothing; "Download labels.csv" writes the labels so far.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from clipgan.audit import NONE_LABEL
from clipgan.io import write_text

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;padding:1em 1.5em;color:#222;background:#fafafa;line-height:1.4}
h1{font-size:1.3em;margin:0 0 .2em} p{margin:.3em 0}
.layout{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap;margin-top:1em}
#image{width:min(68vh,90vw,640px);height:min(68vh,90vw,640px);object-fit:contain;background:#222;
  border-radius:4px;display:block}
#choices{display:flex;flex-direction:column;gap:.45em;min-width:16em}
button{font-size:1.05em;padding:.5em .8em;border:1px solid #bbb;border-radius:4px;background:#fff;cursor:pointer;
  text-align:left}
button:hover{background:#eef4ff} button:disabled{opacity:.45;cursor:default}
kbd{display:inline-block;min-width:1.4em;text-align:center;border:1px solid #999;border-radius:3px;
  padding:0 .25em;margin-right:.5em;background:#f4f4f4;font-family:monospace}
#progressline{display:flex;align-items:center;gap:1em;margin:.4em 0} progress{width:22em;height:1em}
.actions{display:flex;gap:.5em;margin-top:1em} .note{color:#555;font-size:.9em} #done{color:#060;font-weight:bold}
"""

_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById("audit-data").textContent);
  const key = "clipgan-audit-" + data.key;
  let state = {labels: {}, history: []};
  try { state = JSON.parse(localStorage.getItem(key)) || state; } catch (e) { /* a fresh start */ }
  const image = document.getElementById("image");
  const counter = document.getElementById("counter");
  const bar = document.getElementById("bar");
  const done = document.getElementById("done");
  const undo = document.getElementById("undo");
  const buttons = Array.from(document.querySelectorAll("#choices button"));

  function save() { localStorage.setItem(key, JSON.stringify(state)); }
  function current() { return data.images.find(im => !(im.id in state.labels)); }
  function show() {
    const n = Object.keys(state.labels).length, total = data.images.length, next = current();
    counter.textContent = n + " of " + total + " labelled";
    bar.value = n; bar.max = total;
    undo.disabled = state.history.length === 0;
    buttons.forEach(b => { b.disabled = !next; });
    done.hidden = !!next;
    if (next) { image.src = next.src; image.dataset.id = next.id; image.hidden = false; }
    else { image.removeAttribute("src"); image.dataset.id = ""; image.hidden = true; }
  }
  function choose(label) {
    const next = current();
    if (!next) return;
    state.labels[next.id] = label; state.history.push(next.id); save(); show();
  }
  function takeBack() {
    const last = state.history.pop();
    if (last === undefined) return;
    delete state.labels[last]; save(); show();
  }
  function download() {
    const rows = ["image_id,label"];
    data.images.forEach(im => { if (im.id in state.labels) rows.push(im.id + "," + state.labels[im.id]); });
    const blob = new Blob([rows.join("\n") + "\n"], {type: "text/csv"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob); link.download = "labels.csv";
    document.body.appendChild(link); link.click(); link.remove();
  }
  buttons.forEach(b => b.addEventListener("click", () => choose(b.dataset.label)));
  undo.addEventListener("click", takeBack);
  document.getElementById("download").addEventListener("click", download);
  document.addEventListener("keydown", event => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const index = "1234567".indexOf(event.key);
    if (event.key.length === 1 && index >= 0 && index < buttons.length) { choose(buttons[index].dataset.label); }
    else if (event.key === "u" || event.key === "Backspace") { event.preventDefault(); takeBack(); }
  });
  show();
})();
"""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def audit_page(sample: pd.DataFrame, study_dir: str | Path, classes: Sequence[str], title: str) -> str:
    """The page's HTML for `sample` (clipgan.audit.audit_sample), images read from under `study_dir`."""
    study_dir = Path(study_dir)
    ordered = sample.sort_values("position")
    images = [{"id": image, "src": _data_uri(study_dir / path)} for image, path in zip(ordered.image_id,
                                                                                         ordered.image_path)]
    key = hashlib.blake2b(" ".join(ordered.image_id).encode(), digest_size=8).hexdigest()
    payload = json.dumps({"key": key, "images": images}).replace("</", "<\\/")
    answers = [(c, c) for c in classes] + [(NONE_LABEL, "none of these")]
    choices = "\n".join(f'<button data-label="{html.escape(label)}"><kbd>{i}</kbd>{html.escape(text)}</button>'
                        for i, (label, text) in enumerate(answers, start=1))
    n_generators = sample.generator.nunique()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit: {html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>Which scene is this? An audit of the judge, {html.escape(title)}</h1>
<p class="note">{len(images)} images from {n_generators} generator{'s' if n_generators != 1 else ''}, in random
order. Pick the class the image shows (click, or press 1&ndash;{len(answers)}); "none of these" when it shows none
of them or you cannot tell. U or Backspace undoes the last label. Your work is kept in this browser if you close
the page. When you are done (or want to stop), download labels.csv and set <code>audit.labels</code> in the study's
config to it.</p>
<div id="progressline"><progress id="bar" value="0" max="{len(images)}"></progress><span id="counter"></span></div>
<div class="layout">
<img id="image" alt="the image to label">
<div>
<div id="choices">
{choices}
</div>
<div class="actions"><button id="undo">Undo (U)</button><button id="download">Download labels.csv</button></div>
<p id="done" hidden>Every image is labelled. Download labels.csv.</p>
</div>
</div>
<script id="audit-data" type="application/json">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_audit_page(sample: pd.DataFrame, study_dir: str | Path, classes: Sequence[str], title: str,
                     path: str | Path) -> None:
    write_text(audit_page(sample, study_dir, classes, title), path)
