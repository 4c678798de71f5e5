"""One contract per stage: each rule has a stage function of its name, a one-line script, and a stage
sees nothing but what its rule declares."""

import ast
import re

import pytest

from conftest import REPO


def rules_and_scripts() -> dict[str, str]:
    """{rule: script path} over rules/*.smk (rules without a script, like generator_branch, are left out)."""
    found = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            script = re.search(r"^\s+script:\s*\n\s+\"([^\"]+)\"", block, re.M)
            if script:
                found[name] = script.group(1)
    return found


def test_every_rule_runs_the_stage_of_its_name_from_a_one_line_script():
    from clipgan.stages import STAGES

    rules = rules_and_scripts()
    assert len(rules) >= 14
    assert set(rules) == set(STAGES), set(rules) ^ set(STAGES)
    for rule, script in rules.items():
        path = (REPO / "rules" / script).resolve()
        assert path.name == f"{rule}.py", (rule, script)
        code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith('"""')]
        assert code == ["from clipgan.stages import run; run(snakemake)  # noqa: E702, F821  (the stage named after "
                        "the rule)"], (rule, code)


def test_no_stage_reads_the_config_or_globs_results():
    """Config values arrive as params and files as declared inputs: the library never sees snakemake.config and
    never looks for files by pattern under results/."""
    for path in sorted((REPO / "clipgan").rglob("*.py")):
        text = path.read_text()
        assert "snakemake.config" not in text and "import snakemake" not in text, path
        assert not re.search(r"""(r?glob)\(\s*["'].*results""", text) and 'Path("results' not in text, path


def test_every_torch_load_is_in_the_checkpoints_module():
    calls = []
    for path in sorted((REPO / "clipgan").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "load" and getattr(node.value, "id", "") == "torch":
                calls.append(path.relative_to(REPO).as_posix())
    assert calls == ["clipgan/checkpoints.py"], calls


def test_jobs_that_build_no_resnet_do_not_import_torchvision():
    """torchvision imports torch._dynamo (seconds per job start); only the judge's and CLIP's jobs need it."""
    import subprocess
    import sys

    code = ("import sys, clipgan.stages, clipgan.config, clipgan.bias, clipgan.table, clipgan.report.html; "
            "print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_job_names_what_it_lacks():
    from clipgan.stages import Job

    job = Job(input={"table": "t.parquet"}, params={"classes": ["a"]})
    assert job.input.table == "t.parquet" and job.params["classes"] == ["a"]
    with pytest.raises(AttributeError, match=r"no 'bias' here; the rule declares \['table'\]"):
        print(job.input.bias)
    assert Job(input={"model_config": []}).optional_input("model_config") == ""
    assert Job(input={"model_config": ["m.json"]}).optional_input("model_config") == "m.json"


def test_files_pair_with_their_wildcards_by_name_not_by_order():
    from clipgan.stages import by_wildcards

    pattern = "results/search/{generator}/{prompt}/history.csv"
    paths = ["results/search/g_b/p1/history.csv", "results/search/g_a/p-2/history.csv"]
    assert by_wildcards(paths, pattern) == {("g_b", "p1"): paths[0], ("g_a", "p-2"): paths[1]}
    assert by_wildcards(list(reversed(paths)), pattern) == by_wildcards(paths, pattern)
    with pytest.raises(ValueError, match="does not match"):
        by_wildcards(["results/search/g/history.csv"], pattern)


@pytest.mark.slow
def test_the_report_reads_only_its_declared_inputs(demo_study, tmp_path, monkeypatch):
    """The report stage in a folder that holds exactly the files Snakemake recorded as its inputs in the demo (no
    benchmarks of other jobs, no file beside a declared one): it writes the same page."""
    import base64
    import json
    import shutil

    import yaml

    from clipgan.stages import Job, report_html

    key = base64.b64encode(b"results/report/index.html").decode()
    declared = json.loads((demo_study / ".snakemake" / "metadata" / key).read_text())["input"]
    for path in declared:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if (demo_study / path).is_dir() else shutil.copy2
        copy(demo_study / path, tmp_path / path)
    config = yaml.safe_load((demo_study / "config.yaml").read_text())

    def named(pattern):
        return sorted(p for p in declared if re.fullmatch(pattern, p))

    monkeypatch.chdir(tmp_path)
    report_html(Job(
        input={"table": "results/table.parquet", "bias": "results/bias.parquet", "truth": "results/bias_truth.parquet",
               "judges": "results/bias_judges.parquet", "agreement": "results/judge_agreement.parquet",
               "judge_metrics": "results/judge/metrics.json", "confusion": "results/judge/confusion.png",
               "samples": named(r"results/generators/[^/]+/samples\.png"),
               "histories": named(r"results/search/[^/]+/[^/]+/history\.csv"),
               "images": named(r"results/(search|unguided)/.*/images"),
               "clip_metrics": named(r"results/clip/metrics\.json"), "benchmarks": named(r"results/benchmarks/.*"),
               "datasets": named(r"resources/datasets/[^/]+")},
        output={"html": "results/report/index.html", "effects": "results/report/figures/effects.png"},
        params={"study": config["study"], "seed": config["seed"], "classes": config["classes"], "bias": config["bias"],
                "judges": sorted(config.get("judges", {})),
                "samples_pattern": "results/generators/{generator}/samples.png",
                "histories_pattern": "results/search/{generator}/{prompt}/history.csv",
                "generator_datasets": {g: f"resources/datasets/{c['dataset']}"
                                       for g, c in config["generators"].items() if c["kind"] == "dcgan"}}))
    ours = (tmp_path / "results" / "report" / "index.html").read_text()
    theirs = (demo_study / "results" / "report" / "index.html").read_text()
    assert len(named(r"results/benchmarks/.*")) > 20 and len(named(r"resources/datasets/[^/]+")) == 2
    assert "confusion matrix" in ours and "From the training data to the prompt" in ours
    assert (tmp_path / "results" / "report" / "figures" / "steps_dcgan_nature.png").is_file()
    assert ours == theirs
