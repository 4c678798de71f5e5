"""The Snakemake workflow: dry runs of both studies, lint, and the demo run end to end."""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, browser, guided_sets, offline_env, only_generators, run_demo, snakemake, tiny, write_study


def job_counts(stdout: str) -> dict[str, int]:
    table = stdout.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def fresh_study(path: Path, config_file: Path) -> Path:
    return write_study(path, yaml.safe_load(config_file.read_text()))


def test_demo_dry_run_plans_every_stage(tmp_path):
    study = fresh_study(tmp_path, REPO / "demo" / "config.yaml")
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr
    jobs = job_counts(out.stdout)
    assert {rule: n for rule, n in jobs.items() if rule not in ("all", "total")} == demo_counts()
    assert jobs["data_prepare"] == 2 and jobs["clip_train"] == 1 and jobs["judge_clip_train"] == 1
    assert jobs["generator_train"] == 3  # two DCGANs and the renderer (its "training" reads the class mix)
    assert jobs["judge_classify"] == 3  # one per generator: its prompts and its baseline


def test_full_study_dry_run_builds_the_whole_dag_offline(tmp_path):
    study = fresh_study(tmp_path, REPO / "config.yaml")
    out = snakemake("-n", "--cores", "8", "--resources", "gpu=1", "--directory", str(study),
                    "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr
    jobs = job_counts(out.stdout)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    n_gen, n_sets = len(config["generators"]), len(guided_sets(config))
    assert jobs["data_prepare"] == 2 and jobs["clip_fetch"] == 1 and jobs["judge_fetch"] == 1
    assert jobs["generator_train"] == 2 and jobs["generator_fetch"] == 2
    assert jobs["search_latents"] == n_gen * n_sets >= 20
    assert jobs["judge_classify"] == n_gen


def test_full_study_replicates_retrain_each_trained_model_and_fetch_each_asset_once(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    study = write_study(tmp_path, {**config, "replicates": 3})
    out = snakemake("-n", "--cores", "8", "--resources", "gpu=1", "--directory", str(study),
                    "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr
    jobs = job_counts(out.stdout)
    n_gen, n_sets = len(config["generators"]), len(guided_sets(config))
    assert jobs["generator_train"] == 3 * 2 and jobs["judge_train"] == 3
    assert jobs["clip_fetch"] == 1 and jobs["generator_fetch"] == 2 and jobs["judge_fetch"] == 1
    assert jobs["data_prepare"] == 2  # datasets are shared too
    assert jobs["search_latents"] == 3 * n_gen * n_sets and jobs["judge_classify"] == 3 * n_gen
    assert jobs["bias_compute"] == 3 and jobs["bias_pool"] == 1 and jobs["report_pooled"] == 1
    for replicate in ("r1", "r2", "r3"):
        assert f"results/replicates/{replicate}/bias.parquet" in out.stdout


def test_one_replicate_target_plans_only_that_replicate(tmp_path):
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    study = write_study(tmp_path, {**config, "replicates": 3})
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"),
                    "results/replicates/r2.done")
    assert out.returncode == 0, out.stderr
    jobs = planned_jobs(out.stdout)
    rules = [rule for rule, _ in jobs]
    assert rules.count("clip_train") == 1 and rules.count("report_html") == 1 and "bias_pool" not in rules
    assert all("replicate=r2" in wc for rule, wc in jobs if rule not in ("data_prepare", "replicate_branch")), jobs


def test_invalid_config_stops_before_any_job(tmp_path):
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    config["search"]["restarts"] = 0
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--cores", "1", "--directory", str(tmp_path), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode != 0
    assert "search.restarts: 0 is less than the minimum of 1" in out.stdout + out.stderr


@pytest.mark.parametrize("extra", [(), ("--configfile", "demo/replicates.yaml")], ids=["one run", "replicates"])
def test_lint_reports_no_problems(extra):
    out = snakemake("--lint", "--directory", "demo", *extra)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "Congratulations, your workflow is in a good condition!" in text


# ---------------------------------------------------------------------------------------------
# the demo, for real (minutes)


def config_classes() -> list[str]:
    return yaml.safe_load((REPO / "demo" / "config.yaml").read_text())["classes"]


def comparison(bias: pd.DataFrame, generator: str, prompt: str, baseline: str) -> pd.DataFrame:
    rows = bias[(bias.generator == generator) & (bias.prompt_id == prompt) & (bias.baseline == baseline)]
    assert len(rows), (generator, prompt, baseline)
    return rows.set_index("class")


def headline(rows: pd.DataFrame) -> str | None:
    top = rows.index[rows.headline]
    return top[0] if len(top) else None


def assert_planted_bias_recovered(bias: pd.DataFrame, generator: str, planted: str, prompt: str, control: str):
    """The planted class heads the planted prompt's comparisons; the control moves nothing toward it."""
    for baseline in ("unguided", f"prompt:{control}"):
        rows = comparison(bias, generator, prompt, baseline)
        assert headline(rows) == planted, rows[["count_guided", "count_baseline", "log_odds_ratio_ci_low", "q_value"]]
        assert rows.loc[planted, "q_value"] < 0.01
    shift = comparison(bias, generator, control, "unguided").loc[planted]
    assert not (shift.log_odds_ratio > 0 and shift.q_value < 0.05), shift  # no finding toward it


@pytest.mark.slow
def test_demo_recovers_the_planted_bias(demo_study):
    bias = pd.read_parquet(demo_study / "results" / "bias.parquet")
    assert_planted_bias_recovered(bias, "dcgan_nature", "mountain", "beautiful", "landscape")


@pytest.mark.slow
def test_demo_outputs_and_judge_accuracy(demo_study):
    import json

    metrics = json.loads((demo_study / "results" / "judge" / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95
    table = pd.read_parquet(demo_study / "results" / "table.parquet")
    assert set(table.condition) == {"guided", "unguided"}
    assert all((demo_study / p).is_file() for p in table.image_path)
    html = (demo_study / "results" / "report" / "index.html").read_text()
    assert f"{metrics['accuracy']:.1%}" in html
    assert "The headline rule" in html and "Benjamini-Hochberg" in html
    bias = pd.read_parquet(demo_study / "results" / "bias.parquet")
    at_floor = bias.p_value_omnibus <= 1 / (bias.n_permutations + 1)
    assert at_floor.any() == ("≤ 0.0005" in html)
    for figure in re.findall(r"src='(figures/[^']+)'", html):
        assert (demo_study / "results" / "report" / figure).is_file()
    for log in ("data/nature.log", "clip/train.log", "generators/dcgan_nature.log", "judge/train.log",
                "search/dcgan_nature/beautiful.log", "report/html.log"):
        assert (demo_study / "logs" / log).read_text().startswith("") and (demo_study / "logs" / log).stat().st_size


@pytest.mark.slow
def test_the_demo_report_reads_in_a_laptop_window(demo_study):
    """In chromium at 1366 x 768: no table wider than the page's text (the page never scrolls sideways), and every
    figure loads."""
    driver = browser(width=1366, height=768)
    try:
        driver.get((demo_study / "results" / "report" / "index.html").as_uri())
        page = driver.execute_script(
            "const body = getComputedStyle(document.body); return [document.documentElement.scrollWidth, "
            "document.documentElement.clientWidth, document.body.clientWidth - parseFloat(body.paddingLeft) "
            "- parseFloat(body.paddingRight)]")
        tables = driver.execute_script("return Array.from(document.querySelectorAll('table'), "
                                       "t => [t.rows[0].innerText.slice(0, 60), t.getBoundingClientRect().width])")
        broken = driver.execute_script("return Array.from(document.images).filter("
                                       "i => !i.complete || i.naturalWidth == 0).map(i => i.src)")
    finally:
        driver.quit()
    assert page[0] <= page[1], f"the page scrolls sideways: {page[0]} px of content in a {page[1]} px window"
    text_width = page[2]
    assert tables and all(width <= text_width for _, width in tables), (text_width, tables)
    assert not broken, broken


@pytest.mark.slow
def test_the_demo_measures_its_judges_on_images_of_known_class(demo_study, capsys):
    """The renderer's images carry their true class: the planted class is recovered on the true classes, every image
    has every judge's label, and the report states each judge's accuracy on the renderer's guided and unguided
    images (the number is the point, not a threshold: the test prints it)."""
    from clipgan.groundtruth import judge_accuracy

    results = demo_study / "results"
    table = pd.read_parquet(results / "table.parquet")
    rendered = table.generator == "renderer_nature"
    assert rendered.any() and table[rendered].true_class.isin(config_classes()).all()
    assert table[~rendered].true_class.isna().all()
    assert table.predicted_clip_seed2.isin(config_classes()).all()  # the second judge labels every image

    truth = pd.read_parquet(results / "bias_truth.parquet")
    assert set(truth.generator) == {"renderer_nature"}
    for baseline in ("prompt:landscape", "unguided"):
        rows = comparison(truth, "renderer_nature", "beautiful", baseline)
        assert headline(rows) == "mountain" and rows.loc["mountain", "q_value"] < 0.01, rows

    html = (results / "report" / "index.html").read_text()
    assert "The judge on generated images" in html and "The judges compared" in html
    summary = html.split(">Summary</h2>", 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr><td>renderer_nature</td>.*?</tr>", summary):  # a flag there says what truth says
        assert ("one judge only" not in row and "contradicted" not in row) or "the true classes" in row, row
    for judge, labels in (("resnet18", "predicted"), ("clip_seed2", "predicted_clip_seed2")):
        accuracy = judge_accuracy(table[rendered], labels=labels)
        for r in accuracy.to_dict("records"):  # every row of the report's accuracy table
            assert f"<td>{judge}</td><td>renderer_nature</td>" in html and f"<td>{r['correct']}/{r['n']}</td>" in html
        with capsys.disabled():
            for condition, frame in accuracy.groupby("condition"):
                print(f"\n[measured] {judge} on renderer_nature, {condition}: {frame.correct.sum()}/{frame.n.sum()}")


def as_first_replicate(single: Path, study: Path) -> None:
    """A finished single run's outputs laid out as replicate r1 of `study` (datasets and their benchmarks and logs
    stay shared). r1's seed is the study seed (`clipgan.seeds.replicate_seed`), so these are the files r1 would make;
    without Snakemake's metadata for the moved paths, Snakemake takes them as they are."""
    shutil.copytree(single / "resources", study / "resources", symlinks=True)
    for top in ("results", "logs"):
        r1 = study / top / "replicates" / "r1"
        for entry in (single / top).iterdir():
            if entry.name == "data":  # logs/data: shared
                shutil.copytree(entry, study / top / "data")
            elif entry.name == "benchmarks":
                shutil.copytree(entry / "data", study / top / "benchmarks" / "data")
                for part in entry.iterdir():
                    if part.name != "data":
                        shutil.copytree(part, r1 / "benchmarks" / part.name)
            elif entry.is_dir():
                shutil.copytree(entry, r1 / entry.name, symlinks=True)
            else:
                r1.mkdir(parents=True, exist_ok=True)
                shutil.copy2(entry, r1 / entry.name)


@pytest.mark.slow
def test_the_replicated_demo_finds_the_planted_bias_in_every_replicate(demo_study, tmp_path, capsys):
    """Two replicates of the demo on the nature GAN, with the finished demo as r1 (the same seed; moved there, it
    saves a run): r2 retrains and searches from its own seed; in every replicate the planted class is the one the
    planted prompt moves most against the control (the highest lower bound of the log odds ratio), and the pooled
    table has every row of a replicate's and says `replicated` exactly where every replicate made the finding.
    (demo/replicates.yaml asks three; the third costs four minutes of the suite and tests nothing the second does
    not.)

    Whether each replicate's move is a finding (q < 0.05) depends on the training run: the run of 4564699 gave r1
    10/24 vs 0/24 (q 0.004), r2 18/24 vs 0/24, r3 23/24 vs 15/24 (q 0.035); on CI's CPU (the run of 6a2b2c0) one of
    r2 and r3 fell short. The test prints each replicate's counts and q; the README reports them."""
    import time

    from clipgan.replicates import KEYS

    config = only_generators(yaml.safe_load((REPO / "demo" / "config.yaml").read_text()), "dcgan_nature")
    config["replicates"] = 2
    study = write_study(tmp_path / "replicated", config)  # r1 keeps the other generators' rows; they pool no further
    as_first_replicate(demo_study, study)
    t0 = time.perf_counter()
    out = snakemake("--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"), timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    with capsys.disabled():
        print(f"\n[timing] replicated demo, r2 with the pooled report: {time.perf_counter() - t0:.0f} s")
    ran = job_counts(out.stderr if "Job stats:" in out.stderr else out.stdout)
    assert ran["clip_train"] == 1 and ran["judge_train"] == 1 and "data_prepare" not in ran  # r1 as it was

    results = study / "results"
    tables = {r: pd.read_parquet(results / "replicates" / r / "bias.parquet") for r in ("r1", "r2")}
    assert_planted_bias_recovered(tables["r1"], "dcgan_nature", "mountain", "beautiful", "landscape")
    findings = []
    for replicate, bias in tables.items():  # in every replicate the planted class is the one the prompt moves most
        rows = comparison(bias, "dcgan_nature", "beautiful", "prompt:landscape")
        mountain = rows.loc["mountain"]
        with capsys.disabled():
            print(f"\n[measured] {replicate}: mountain {mountain.count_guided}/{mountain.n_guided} vs "
                  f"{mountain.count_baseline}/{mountain.n_baseline}, q {mountain.q_value:.2g}, "
                  f"headline {headline(rows)}")
        # "moves most" by the interval's lower bound: a class at 2/24 vs 0/24 has an infinite point estimate
        assert rows.log_odds_ratio_ci_low.idxmax() == "mountain" and mountain.log_odds_ratio > 0, rows
        findings.append(mountain.q_value < 0.05)
    pooled = pd.read_parquet(results / "bias_pooled.parquet")
    assert sorted(map(tuple, pooled[KEYS].to_numpy())) == sorted(map(tuple, tables["r1"][KEYS].to_numpy()))
    planted = pooled.set_index(KEYS).loc[("dcgan_nature", "beautiful", "prompt:landscape", "mountain")]
    assert planted.replicates == 2 and planted.pooled_effect > 0
    assert planted.replicated == all(findings) and planted.replicated_share == pytest.approx(np.mean(findings))
    assert not planted.replicated or planted.headline
    assert np.isfinite([planted.tau2, planted.within_variance]).all()
    assert np.isnan(planted.prediction_low)  # a prediction interval needs three replicates
    counts = {r: t[t.generator == "dcgan_nature"].sort_values(KEYS)[["count_guided", "count_baseline"]].to_numpy()
              for r, t in tables.items()}
    assert counts["r1"].shape == counts["r2"].shape and (counts["r1"] != counts["r2"]).any()  # replicates differ

    html = (results / "report" / "index.html").read_text()
    assert "Findings across replicates" in html and "Forest plots" in html
    for figure in re.findall(r"src='(figures/[^']+)'", html):
        assert (results / "report" / figure).is_file()
    for replicate in ("r1", "r2"):
        assert f"href='../replicates/{replicate}/report/index.html'" in html
        assert (results / "replicates" / replicate / "audit" / "index.html").is_file()
        assert (study / "logs" / "replicates" / replicate / "clip" / "train.log").stat().st_size


def assert_search_carries_the_controls_shift(bias: pd.DataFrame, generator: str, control: str,
                                            only_the_shifted_class: bool = False) -> str:
    """The control prompt's headline against the unguided samples is the prompt-free search's headline too, and no
    finding against the prompt-free search (on that class only, if `only_the_shifted_class`): the search moved the
    mix, not the prompt. Returns the class."""
    shifted = headline(comparison(bias, generator, control, "unguided"))
    assert shifted is not None and headline(comparison(bias, generator, "prompt_free", "unguided")) == shifted
    rows = comparison(bias, generator, control, "prompt:prompt_free")
    if only_the_shifted_class:
        rows = rows.loc[[shifted]]
    assert not (rows.q_value < 0.05).any(), rows
    return shifted


@pytest.mark.slow
def test_the_search_not_the_control_prompt_carries_the_controls_shift(demo_study, tmp_path):
    """The control "a landscape" moves the nature GAN's mix against its unguided samples; the prompt-free search
    (a random text direction per restart) moves it the same way, and the control against it finds nothing. With the
    realism hinge (the demo) and without it (the plain realism objective of CLIP-GLaSS) alike, on the shifted class;
    unhinged, population 8's control draws fewer mountains than the prompt-free search on CPU A (1/24 vs 10/24,
    q = 0.02; README's hinge paragraph), so there the other classes are not asserted."""
    with_hinge = pd.read_parquet(demo_study / "results" / "bias.parquet")
    shifted = assert_search_carries_the_controls_shift(with_hinge, "dcgan_nature", "landscape")

    study = copy_study(demo_study, tmp_path / "no_hinge")
    config = yaml.safe_load((study / "config.yaml").read_text())
    config["search"]["realism_hinge"] = False
    only_generators(config, "dcgan_nature")  # the others' searches would rerun too
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = snakemake("--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr[-3000:]
    without = pd.read_parquet(study / "results" / "bias.parquet")
    assert assert_search_carries_the_controls_shift(without, "dcgan_nature", "landscape",
                                                    only_the_shifted_class=True) == shifted


@pytest.mark.slow
def test_moving_the_planted_bias_moves_the_finding(tmp_path):
    """No code change: plant another word on another class, and the report follows it."""
    def edit(config):
        config["synthetic"]["planted_bias"].update({"word": "majestic", "class": "glacier"})
        config["prompts"] = {"majestic": "a majestic landscape", "landscape": "a landscape"}
        config["search"]["prompt_free"] = False  # only the pair is read here
        only_generators(config, "dcgan_nature")
        config["judge"]["datasets"] = ["nature"]  # the nature GAN's classes: no city scenes to make or learn

    run_demo(tmp_path / "moved", edit)
    bias = pd.read_parquet(tmp_path / "moved" / "results" / "bias.parquet")
    assert_planted_bias_recovered(bias, "dcgan_nature", "glacier", "majestic", "landscape")


@pytest.mark.slow
def test_paraphrases_behave_like_the_prompts_they_paraphrase(demo_study):
    """Sentences never seen among the captions: the planted word still finds its class; the control's does not, on
    the DCGANs. (The renderer, which draws any class as easily as any other, finds the word "view" itself: buildings
    8/24 vs 0/24 against the control, q = 0.02, on CPU B; 11/24, q = 0.002, on CPU A with population 12, 7/24,
    q = 0.04, with population 8; on the true classes too; README says so.)"""
    config = yaml.safe_load((demo_study / "config.yaml").read_text())
    captions = pd.concat([pd.read_parquet(demo_study / "resources" / "datasets" / d / "captions.parquet")
                          for d in config["datasets"]])
    for prompt_id in ("beautiful_view", "landscape_view"):
        assert config["prompts"][prompt_id] not in set(captions.caption), prompt_id
    bias = pd.read_parquet(demo_study / "results" / "bias.parquet")
    planted = comparison(bias, "dcgan_nature", "beautiful_view", "prompt:landscape")
    assert headline(planted) == "mountain", planted[["count_guided", "count_baseline", "q_value"]]
    for generator in (g for g, settings in config["generators"].items() if settings["kind"] == "dcgan"):
        quiet = comparison(bias, generator, "landscape_view", "prompt:landscape")
        assert not (quiet.q_value < 0.05).any(), quiet[["count_guided", "count_baseline", "q_value"]]


@pytest.mark.slow
def test_the_control_caption_is_as_likely_in_every_class(demo_study):
    """P(a caption has no adjective | class) is one number: the control prompt is not biased by construction."""
    from scipy import stats

    from clipgan.data.synthetic import has_adjective

    config = yaml.safe_load((demo_study / "config.yaml").read_text())
    word = config["synthetic"]["planted_bias"]["word"]
    captions = pd.concat([pd.read_parquet(demo_study / "resources" / "datasets" / d / "captions.parquet")
                          for d in config["datasets"]])
    captions["plain"] = [not has_adjective(text, word) for text in captions.caption]
    counts = captions.groupby("class").plain.agg(["sum", "size"])
    table = np.stack([counts["sum"], counts["size"] - counts["sum"]], axis=1)
    assert stats.chi2_contingency(table).pvalue > 0.001, counts
    rate = counts["sum"] / counts["size"]
    assert rate.max() - rate.min() < 0.1, rate  # the old captions: 0.1 for the planted class, 0.5 elsewhere


@pytest.mark.slow
def test_nothing_planted_nothing_replicates(tmp_path):
    """The null demo: the word is in 10% of the captions of every class, as common as each filler adjective. The
    pair that differs only in that word must find nothing that replicates.

    One training run cannot promise that: with the demo's judge this null's first replicate (seed 7, the study seed)
    finds glacier 22/24 vs 1/24 (q = 7e-9) on the nature GAN, the CLIP's accidental association of the word with a
    class that a search maximises (docs/architecture.md, "What one CLIP cannot tell"). Here, with a judge trained
    on the nature scenes only (for time: the city GAN and its scenes are left out), r1 finds sea 13/24 vs 3/24
    (q 0.03) and r2, retraining every model, nothing (smallest p 0.23), so nothing replicates. (Two replicates keep
    the suite's time; three, measured by hand with the demo's judge, added a third quiet one.)"""
    def null(config):
        config["seed"] = 7
        config["synthetic"]["planted_bias"].update(probability=0.1, background_probability=0.1)
        config["prompts"] = {"beautiful": "a beautiful landscape", "landscape": "a landscape"}
        config["search"]["prompt_free"] = False  # only the pair is read here
        config["replicates"] = 2
        only_generators(config, "dcgan_nature")  # where r1's accidental finding is; the city GAN's time saved
        config["judge"]["datasets"] = ["nature"]  # the nature GAN's classes: no city scenes to make or learn

    run_demo(tmp_path / "null", null)
    pooled = pd.read_parquet(tmp_path / "null" / "results" / "bias_pooled.parquet")
    vs_control = pooled[pooled.baseline == "prompt:landscape"]
    assert len(vs_control) and not (vs_control.replicated | vs_control.headline).any(), \
        vs_control[["generator", "class", "replicated_share", "pooled_effect", "q_value"]]
    assert not (vs_control.q_value < 0.05).any()


@pytest.mark.slow
def test_adding_a_generator_and_a_prompt_changes_no_existing_row(tiny_study, tmp_path):
    """Every stream is named: a grown study (one more generator, one more prompt) keeps every row it shares with the
    original, bit for bit, except the q-values, headlines and detectable shares, which are over the whole study."""
    from clipgan.table import TIMING_COLUMNS

    def grown(config):
        config = tiny(config)
        # ids that sort first: a seed from a position in a sorted list would move every other one
        config["generators"]["dcgan_a_small"] = {**config["generators"]["dcgan_nature"],
                                                 "model": {"nz": 32, "ngf": 16, "ndf": 24}}
        config["prompts"]["a_cold"] = "a cold mountain"
        config["generators"]["a_renderer"] = {"kind": "renderer", "dataset": "nature"}  # images with a known class
        return config

    run_demo(tmp_path / "grown", grown)
    keys = ["generator", "condition", "prompt_id", "restart"]
    before = pd.read_parquet(tiny_study / "results" / "table.parquet").drop(columns=list(TIMING_COLUMNS))
    after = pd.read_parquet(tmp_path / "grown" / "results" / "table.parquet").drop(columns=list(TIMING_COLUMNS))
    assert set(after.generator) > set(before.generator) and set(after.prompt_id) > set(before.prompt_id)
    rendered = after.generator == "a_renderer"
    assert after[rendered].true_class.isin(config_classes()).all() and after[~rendered].true_class.isna().all()
    assert after[rendered & (after.condition == "unguided")].true_class.nunique() >= 3  # the data's mix, 12 draws
    truth = pd.read_parquet(tmp_path / "grown" / "results" / "bias_truth.parquet")
    assert set(truth.generator) == {"a_renderer"} and len(pd.read_parquet(
        tiny_study / "results" / "bias_truth.parquet")) == 0
    report = (tmp_path / "grown" / "results" / "report" / "index.html").read_text()
    assert "The judge on generated images" in report and "The judges compared" in report
    # the tiny study's second judge (a CLIP trained here from its own seed) labels every image
    assert after.predicted_clip_judge.isin(config_classes()).all()
    by_judge = pd.read_parquet(tmp_path / "grown" / "results" / "bias_judges.parquet")
    assert set(by_judge.judge) == {"clip_judge"} and set(by_judge.generator) == set(after.generator)
    agreed = pd.read_parquet(tmp_path / "grown" / "results" / "judge_agreement.parquet")
    assert len(agreed) == 2 * after.generator.nunique() and (agreed.agreement.between(0, 1)).all()
    shared = after.merge(before[keys], on=keys).sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(before.sort_values(keys, ignore_index=True), shared)

    keys = ["generator", "prompt_id", "baseline", "class"]
    study_wide = ["q_value", "q_value_omnibus", "headline", "detectable_share"]
    before = pd.read_parquet(tiny_study / "results" / "bias.parquet").drop(columns=study_wide)
    after = pd.read_parquet(tmp_path / "grown" / "results" / "bias.parquet").drop(columns=study_wide)
    shared = after.merge(before[keys], on=keys).sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(before.sort_values(keys, ignore_index=True), shared)


# ---------------------------------------------------------------------------------------------
# rerunning one generator's branch (commands as documented in docs/configuration.md)


def planned_jobs(stdout: str) -> list[tuple[str, str]]:
    """(rule, wildcards text) of every job a dry run plans."""
    jobs = []
    for block in re.split(r"\n(?=\[|rule |localrule )", stdout):
        m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if m and m.group(1) != "all":
            wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            jobs.append((m.group(1), wildcards.group(1) if wildcards else ""))
    return jobs


def copy_study(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)  # copy2 keeps mtimes, so nothing looks changed
    return dst


def assert_only_branch(jobs, generator: str, other: str, with_training: bool):
    rules = [rule for rule, _ in jobs]
    assert all(other not in wc for _, wc in jobs), jobs
    if with_training:
        assert rules.count("generator_train") == 1
    n_sets = len(guided_sets(yaml.safe_load((REPO / "demo" / "config.yaml").read_text())))
    assert rules.count("search_latents") == n_sets and rules.count("unguided_sample") == 1
    assert rules.count("judge_classify") == 1
    study_wide = {"table_build", "bias_compute", "report_html", "audit_page"}
    assert study_wide <= set(rules)
    assert not {"data_prepare", "clip_train", "judge_train"} & set(rules)
    assert all(generator in wc for rule, wc in jobs if rule not in study_wide)


@pytest.mark.slow
def test_forcing_one_generator_reruns_only_its_branch(demo_study, tmp_path):
    study = copy_study(demo_study, tmp_path / "study")
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"),
                    "--forcerun", "results/generators/dcgan_nature/generator.pt")
    assert out.returncode == 0, out.stderr
    assert_only_branch(planned_jobs(out.stdout), "dcgan_nature", "dcgan_city", with_training=True)


@pytest.mark.slow
def test_editing_one_generator_settings_reruns_only_its_branch(demo_study, tmp_path):
    study = copy_study(demo_study, tmp_path / "study")
    config = yaml.safe_load((study / "config.yaml").read_text())
    config["generators"]["dcgan_nature"]["train"]["epochs"] += 1
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr
    assert_only_branch(planned_jobs(out.stdout), "dcgan_nature", "dcgan_city", with_training=True)


@pytest.mark.slow
def test_nothing_to_do_after_a_complete_run(demo_study, tmp_path):
    study = copy_study(demo_study, tmp_path / "study")
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0 and planned_jobs(out.stdout) == [], out.stdout[-2000:]


def plan_after_edit(demo_study: Path, study: Path, edit) -> dict[str, list[str]]:
    """Edit a copy of the completed demo's config; {rule: [wildcards, ...]} of what a dry run then plans."""
    copy_study(demo_study, study)
    config = yaml.safe_load((study / "config.yaml").read_text())
    edit(config)
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr[-3000:]
    planned: dict[str, list[str]] = {}
    for rule, wildcards in planned_jobs(out.stdout):
        planned.setdefault(rule, []).append(wildcards)
    return planned


def demo_counts() -> dict[str, int]:
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    n_gen, n_sets = len(config["generators"]), len(guided_sets(config))
    return {"data_prepare": len(config["datasets"]), "clip_train": 1, "generator_train": n_gen,
            "judge_train": 1, "search_latents": n_gen * n_sets, "unguided_sample": n_gen,
            "judge_classify": n_gen, "table_build": 1, "bias_compute": 1, "report_html": 1, "audit_page": 1,
            **({"search_pool": n_gen} if config["search"].get("pool_size") else {}),
            **({"judge_clip_train": n} if (n := sum("train" in j for j in config.get("judges", {}).values())) else {})}


def counts(planned: dict[str, list[str]]) -> dict[str, int]:
    return {rule: len(jobs) for rule, jobs in planned.items()}


@pytest.mark.slow
def test_edits_rerun_exactly_the_jobs_that_read_them(demo_study, tmp_path):
    """Every config value a stage reads is a param of its rule: a dry run after an edit lists the jobs that read the
    value and those downstream of them, and nothing else."""
    every = demo_counts()
    n_gen = every["generator_train"]

    def seed(config):
        config["seed"] += 1

    def image_size(config):
        config["image_size"] = 64

    assert counts(plan_after_edit(demo_study, tmp_path / "seed", seed)) == every
    assert counts(plan_after_edit(demo_study, tmp_path / "size", image_size)) == every

    def clip_epochs(config):
        config["clip"]["train"]["epochs"] += 1

    guided = n_gen * (every["search_latents"] // n_gen)
    downstream = {"table_build": 1, "bias_compute": 1, "report_html": 1, "audit_page": 1}
    pools = {"search_pool": every["search_pool"]} if "search_pool" in every else {}
    planned = plan_after_edit(demo_study, tmp_path / "clip", clip_epochs)
    assert counts(planned) == {"clip_train": 1, **pools, "search_latents": guided, "judge_classify": n_gen,
                               **downstream}

    def one_prompt(config):
        config["prompts"]["beautiful"] = "a very beautiful landscape"

    planned = plan_after_edit(demo_study, tmp_path / "prompt", one_prompt)
    assert counts(planned) == {"search_latents": n_gen, "judge_classify": n_gen, **downstream}  # 1 per generator
    assert all("prompt=beautiful" in wc for wc in planned["search_latents"]), planned

    def search_override(config):  # one generator's own search settings: its searches, not its training
        config["generators"]["dcgan_nature"]["search"] = {"restarts": config["search"]["restarts"] + 1}

    planned = plan_after_edit(demo_study, tmp_path / "override", search_override)
    per_generator = every["search_latents"] // n_gen
    assert counts(planned) == {"search_latents": per_generator, "judge_classify": 1, **downstream}
    assert all("dcgan_nature" in wc for wc in planned["search_latents"] + planned["judge_classify"]), planned

    def stopping(config):  # a setting of the search alone: every search, not the pools
        config["search"]["patience"] = config["search"].get("patience", 0) + 1

    generators = yaml.safe_load((demo_study / "config.yaml").read_text())["generators"]
    own = sum("patience" in g.get("search", {}) for g in generators.values())  # their own patience wins
    assert counts(plan_after_edit(demo_study, tmp_path / "patience", stopping)) == {
        "search_latents": guided - own * per_generator, "judge_classify": n_gen - own, **downstream}

    def no_prompt_free(config):  # whether the prompt-free search runs is not how any search runs
        config["search"]["prompt_free"] = False

    assert counts(plan_after_edit(demo_study, tmp_path / "free", no_prompt_free)) == {"judge_classify": n_gen,
                                                                                     **downstream}

    def fdr(config):
        config["bias"]["fdr"] = 0.1

    assert counts(plan_after_edit(demo_study, tmp_path / "fdr", fdr)) == {"bias_compute": 1, "report_html": 1}

    def audit_size(config):
        config["audit"] = {"n_per_generator": 40}

    assert counts(plan_after_edit(demo_study, tmp_path / "audit", audit_size)) == {"audit_page": 1}


@pytest.mark.slow
def test_audit_labels_correct_the_demo_report(demo_study, tmp_path):
    """The demo's audit page and sample; a labels file set in the config adds the corrected findings to the report
    and reruns nothing else; a malformed one stops the run naming its row, and writes nothing."""
    sample = pd.read_parquet(demo_study / "results" / "audit" / "sample.parquet")
    n_gen = len(yaml.safe_load((demo_study / "config.yaml").read_text())["generators"])
    assert len(sample) == 100 * n_gen and (demo_study / "results" / "audit" / "index.html").is_file()
    assert sample.groupby(["generator", "condition"]).size().eq(50).all()

    study = copy_study(demo_study, tmp_path / "study")
    # a person who sees mountains where the judge says glacier, and nothing they can name in one image in ten
    answers = ["mountain" if label == "glacier" else label for label in sample.predicted]
    answers = ["none" if i % 10 == 0 else a for i, a in enumerate(answers)]
    (study / "labels.csv").write_text("image_id,label\n" + "".join(f"{i},{a}\n" for i, a in
                                                                 zip(sample.image_id, answers)))
    config = yaml.safe_load((study / "config.yaml").read_text())
    config["audit"] = {"labels": "labels.csv"}
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    args = ("--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    planned = planned_jobs(snakemake("-n", *args).stdout)
    assert sorted(rule for rule, _ in planned) == ["audit_correct", "report_html"], planned
    out = snakemake(*args)
    assert out.returncode == 0, out.stderr[-3000:]
    findings = pd.read_parquet(study / "results" / "audit" / "corrected_findings.parquet")
    shares = pd.read_parquet(study / "results" / "audit" / "corrected_shares.parquet")
    assert len(findings) and set(shares["class"]) == set(config["classes"]) | {"none"}
    glacier = shares[(shares["class"] == "glacier") & (shares.judge_share > 0.05)]
    assert len(glacier) and (glacier.corrected_share < glacier.judge_share / 2).all()  # the person never says it
    html = (study / "results" / "report" / "index.html").read_text()
    assert "The judge, audited by a person" in html and "audit/index.html" in html

    (study / "labels.csv").write_text(f"image_id,label\n{sample.image_id[0]},sea\n{sample.image_id[0]},forest\n")
    for name in ("corrected_findings", "corrected_shares"):
        (study / "results" / "audit" / f"{name}.parquet").unlink()
    out = snakemake(*args)
    assert out.returncode != 0
    assert "row 3: image" in out.stdout + out.stderr + (study / "logs" / "audit" / "correct.log").read_text()
    assert not list((study / "results" / "audit").glob("corrected_*"))


@pytest.mark.slow
def test_snakemakes_own_report_builds_from_the_demo(demo_study, tmp_path):
    import zipfile

    study = copy_study(demo_study, tmp_path / "study")
    out = snakemake("--cores", "1", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"),
                    "--report", "report.zip")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    names = zipfile.ZipFile(study / "report.zip").namelist()
    for wanted in ("confusion.png", "bias.parquet", "index.html", "effects.png", "samples.png", "training_log.csv"):
        assert any(name.endswith(wanted) for name in names), (wanted, names[:20])


def test_one_generator_branch_target_plans_only_that_generator(tmp_path):
    study = fresh_study(tmp_path, REPO / "demo" / "config.yaml")
    out = snakemake("-n", "--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"),
                    "results/classified/dcgan_nature.done")
    assert out.returncode == 0, out.stderr
    jobs = planned_jobs(out.stdout)
    assert all("dcgan_city" not in wc for _, wc in jobs), jobs
    assert {"generator_train", "search_latents", "unguided_sample", "judge_classify"} <= {r for r, _ in jobs}
    assert not {"table_build", "bias_compute", "report_html"} & {r for r, _ in jobs}


def test_prompt_texts_never_reach_paths(tmp_path):
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    config["prompts"] = {"beautiful": "un beau paysage/../../etc ☀️ 日本", "landscape": "a landscape"}
    study = write_study(tmp_path, config)
    out = snakemake("-n", "--cores", "1", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr
    assert "results/search/dcgan_nature/beautiful/search.parquet" in out.stdout
    assert "etc" not in out.stdout and "日本" not in out.stdout


def test_a_prompt_may_be_called_pool(tmp_path):
    """The prior pool's log and benchmark live apart from the searches': a prompt id "pool" collides with nothing."""
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    config["prompts"] = {"pool": "a landscape with a pool", "landscape": "a landscape"}
    study = write_study(tmp_path, config)
    out = snakemake("-n", "--cores", "1", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "logs/search/dcgan_nature/pool.log" in out.stdout and "logs/pool/dcgan_nature.log" in out.stdout


def test_jobs_import_the_checkout_even_from_a_python_without_clipgan(tmp_path):
    """A rule's conda env (`--sdm conda`) has no clipgan installed: the job must still import this checkout's."""
    import os
    import site
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # the host's packages as plain paths: their .pth files (clipgan's editable install) are not processed
    Path(purelib, "host.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    probe = subprocess.run([python, "-c", "import snakemake, torch; import clipgan"], capture_output=True, text=True,
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    assert "No module named 'clipgan'" in probe.stderr, probe.stderr  # the environment really lacks it

    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    config["datasets"]["city"].update(n_train=24, n_test=6)
    study = write_study(tmp_path / "study", config)
    out = subprocess.run([python, "-m", "snakemake", "--cores", "1", "--directory", str(study), "--snakefile",
                          str(REPO / "Snakefile"), "resources/datasets/city"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=offline_env(PYTHONPATH=""))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "clipgan 0.1.0" in (study / "logs" / "data" / "city.log").read_text()
    assert len(list((study / "resources" / "datasets" / "city" / "train").rglob("*.png"))) == 24
