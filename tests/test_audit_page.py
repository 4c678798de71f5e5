"""The audit page in a real browser (Debian's chromium, headless, driven by selenium through Debian's chromedriver):
label by key presses, undo, reload and find the work kept, download labels.csv, and correct the study with it."""

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clipgan.io import write_image
from clipgan.stages import Job, audit_correct, audit_page
from conftest import browser

CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


def make_study(root: Path) -> Path:
    """A study folder with 2 generators' images (guided under two prompts, and unguided) and their table."""
    rng = np.random.default_rng(0)
    rows = []
    for generator in ("gan_a", "gan_b"):
        for prompt_id, n in (("p1", 6), ("p2", 6), ("", 8)):
            for i in range(n):
                folder = f"search/{generator}/{prompt_id}" if prompt_id else f"unguided/{generator}"
                path = f"results/{folder}/{i:03d}.png"
                write_image((rng.random((32, 32, 3)) * 255).astype(np.uint8), root / path)
                rows.append({"generator": generator, "prompt_id": prompt_id, "prompt": prompt_id,
                             "condition": "guided" if prompt_id else "unguided", "restart": i, "image_path": path,
                             "predicted": CLASSES[(i + len(prompt_id)) % 6], "true_class": None})
    pd.DataFrame(rows).to_parquet(root / "results" / "table.parquet")
    return root


def test_label_undo_reload_download_and_correct(tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    study = make_study(tmp_path / "study")
    monkeypatch.chdir(study)  # a rule's job runs in the study folder; image paths are relative to it
    audit = {"n_per_generator": 10}
    audit_page(Job(input={"table": "results/table.parquet"},
                   output={"sample": "results/audit/sample.parquet", "page": "results/audit/index.html"},
                   params={"audit": audit, "classes": CLASSES, "seed": 0, "study": "browser test"}))
    sample = pd.read_parquet("results/audit/sample.parquet")
    assert len(sample) == 20

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = browser(downloads)
    try:
        driver.get((study / "results" / "audit" / "index.html").as_uri())
        counter = lambda: driver.find_element(By.ID, "counter").text  # noqa: E731
        shown = lambda: driver.find_element(By.ID, "image").get_attribute("data-id")  # noqa: E731
        assert counter() == "0 of 20 labelled"
        image = driver.find_element(By.ID, "image")
        assert image.size["width"] >= 400, image.size  # large enough to judge on a laptop screen
        assert shown() == sample.image_id[0]  # the page's order is the sample's
        page_text = driver.find_element(By.TAG_NAME, "body").text
        assert not any(word in page_text for word in ("unguided", "gan_a", "p1"))  # nothing tells the condition

        body = driver.find_element(By.TAG_NAME, "body")
        labelled = {}
        for key, label in (("1", "buildings"), ("2", "forest"), ("7", "none")):
            labelled[shown()] = label
            body.send_keys(key)
        assert counter() == "3 of 20 labelled"
        body.send_keys("u")  # undo the last: the same image comes back
        undone = list(labelled)[-1]
        del labelled[undone]
        assert counter() == "2 of 20 labelled" and shown() == undone
        body.send_keys("9")  # not an answer: nothing happens
        assert counter() == "2 of 20 labelled"
        labelled[shown()] = "glacier"
        driver.find_element(By.CSS_SELECTOR, "button[data-label='glacier']").click()  # a click works as a key
        assert counter() == "3 of 20 labelled"

        driver.refresh()  # the work is kept in the browser
        assert counter() == "3 of 20 labelled" and shown() == sample.image_id[3]

        driver.find_element(By.ID, "download").click()
        target = downloads / "labels.csv"
        for _ in range(100):
            if target.is_file() and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.1)
        rows = target.read_text().splitlines()
    finally:
        driver.quit()
    assert rows[0] == "image_id,label"
    assert dict(row.split(",") for row in rows[1:]) == labelled

    # the correction rule's stage, on the downloaded file
    from clipgan.bias import BiasConfig, bias_table
    from clipgan.table import bias_schema, write_table

    table = pd.read_parquet("results/table.parquet")
    write_table(bias_table(table, CLASSES, BiasConfig(n_permutations=99)), "results/bias.parquet", bias_schema())
    audit_correct(Job(input={"table": "results/table.parquet", "bias": "results/bias.parquet",
                             "sample": "results/audit/sample.parquet", "labels": str(target)},
                      output={"shares": "results/audit/corrected_shares.parquet",
                              "findings": "results/audit/corrected_findings.parquet"},
                      params={"audit": {**audit, "draws": 500}, "classes": CLASSES, "seed": 0, "bias": {}}))
    shares = pd.read_parquet("results/audit/corrected_shares.parquet")
    assert shares.n_audited.sum() > 0 and set(shares["class"]) == set(CLASSES) | {"none"}
    assert json.loads(json.dumps(list(pd.read_parquet("results/audit/corrected_findings.parquet").columns)))


def test_a_bad_labels_file_writes_nothing(tmp_path, monkeypatch):
    from clipgan.audit import AuditLabelsError

    study = make_study(tmp_path / "study")
    monkeypatch.chdir(study)
    audit_page(Job(input={"table": "results/table.parquet"},
                   output={"sample": "results/audit/sample.parquet", "page": "results/audit/index.html"},
                   params={"audit": {"n_per_generator": 4}, "classes": CLASSES, "seed": 0, "study": "t"}))
    sample = pd.read_parquet("results/audit/sample.parquet")
    Path("labels.csv").write_text(f"image_id,label\n{sample.image_id[0]},sea\n{sample.image_id[1]},lake\n")
    pd.DataFrame().to_parquet("results/bias.parquet")
    with pytest.raises(AuditLabelsError, match="row 3: label 'lake'"):
        audit_correct(Job(input={"table": "results/table.parquet", "bias": "results/bias.parquet",
                                 "sample": "results/audit/sample.parquet", "labels": "labels.csv"},
                          output={"shares": "results/audit/corrected_shares.parquet",
                                  "findings": "results/audit/corrected_findings.parquet"},
                          params={"audit": {}, "classes": CLASSES, "seed": 0, "bias": {}}))
    assert not list(Path("results/audit").glob("corrected_*"))
