"""The benchmark scripts run and print their tables (quick settings; the numbers are for people, not asserts)."""

import re
import subprocess
import sys

import pytest

from conftest import REPO, offline_env


def run(*args, timeout=900):
    env = offline_env(PYTHONPATH=str(REPO))  # the library, installed or not
    out = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    print(out.stdout)
    return out.stdout.strip().splitlines()


@pytest.mark.slow
def test_search_speed_prints_its_tracking_line():
    lines = run("benchmarks/search_speed.py", "--restarts", "2", "--pop", "4", "--generations", "2",
                "--seconds", "0.2")
    assert re.fullmatch(r"device=cpu search/limit=[\d.]+ search/reference=[\d.]+", lines[-1])
    for engine in ("batched", "pymoo"):
        assert any(re.match(rf"\| \(d\) search loop alone, models free, engine {engine} \| \d+ \| [\d,]+ \|$", line)
                   for line in lines), engine


@pytest.mark.slow
def test_gpu_check_runs_the_full_size_architectures():
    lines = run("benchmarks/gpu_check.py", "--device", "cpu", "--smoke")
    table = "\n".join(lines)
    for model in ("DCGAN-64", "BigGAN-deep-256", "StyleGAN2-church-256", "ResNet50 judge"):
        assert re.search(rf"^{re.escape(model)}\s+[\d.]+\s+\d+\s+[\d.]+", table, re.M), model
    assert lines[-1].startswith("device=cpu ")


@pytest.mark.slow
def test_search_quality_draws_curves_and_prints_its_tracking_line(demo_study, tmp_path):
    lines = run("benchmarks/search_quality.py", "--study", str(demo_study), "--budget", "96", "--restarts", "2",
                "--seeds", "1", "--prompts", "a landscape", "--out", str(tmp_path))
    table = "\n".join(lines)
    for variant in ("clipgan, full budget", "clipgan, pool", "clipgan, early stop", "clipgan, pool + early stop",
                    "clipgan, pool + early stop +aug", "CLIP-GLaSS GA", "CLIP-GLaSS GA +aug", "clipgan, pymoo engine"):
        assert re.search(rf"^{re.escape(variant)}\s+\d+\s+[\d.]+ \[", table, re.M), variant
    import pandas as pd

    curves = pd.read_csv(tmp_path / "curves.csv")
    assert set(curves.variant) == {"clipgan, full budget", "clipgan, pool", "clipgan, early stop",
                                   "clipgan, pool + early stop", "CLIP-GLaSS GA"}
    full = curves[curves.variant == "clipgan, full budget"]
    pop_size = __import__("yaml").safe_load((demo_study / "config.yaml").read_text())["search"]["pop_size"]
    assert len(full) == 96 // pop_size and full.evals.is_monotonic_increasing
    assert (tmp_path / "curves.png").is_file()
    assert re.fullmatch(r"evals_to_match_reference=(\d+\.\d{3}|inf)", lines[-1])

    # a chosen variant on fresh seeds (how a setting picked on some seeds is confirmed on others)
    lines = run("benchmarks/search_quality.py", "--study", str(demo_study), "--budget", "48", "--restarts", "2",
                "--seeds", "1", "--first-seed", "5", "--prompts", "a landscape", "--variants", "clipgan, pool",
                "--out", str(tmp_path / "one"))
    assert "done: 'a landscape' seed 5" in lines
    assert set(pd.read_csv(tmp_path / "one" / "curves.csv").variant) == {"clipgan, pool", "CLIP-GLaSS GA"}
    assert re.fullmatch(r"evals_to_match_reference=(\d+\.\d{3}|inf)", lines[-1])
    out = subprocess.run([sys.executable, "benchmarks/search_quality.py", "--study", str(demo_study), "--variants",
                          "clipgan, pool", "no such variant"], cwd=REPO, capture_output=True, text=True,
                         env=offline_env(PYTHONPATH=str(REPO)), timeout=300)
    assert out.returncode != 0 and "unknown variants ['no such variant']" in out.stderr


@pytest.mark.slow
def test_calibration_sweeps_the_planted_strength(tmp_path):
    lines = run("benchmarks/calibration.py", "--strengths", "background,0.8", "--seeds", "0", "--common-null", "0",
                "--overlay", "tests/fixtures/tiny_demo.yaml", "--out", str(tmp_path / "calibration"))
    table = "\n".join(lines)
    assert re.search(r"^\| 0\.01 \(nothing planted\) \| 0 \| dcgan_nature \| \d+/3 vs \d+/3 \|", table, re.M), table
    assert re.search(r"^\| 0\.8 \| 1 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$", table, re.M), table
    assert (tmp_path / "calibration" / "calibration.png").is_file()
    assert re.fullmatch(r"false_positive_rate_nothing_planted=[\d.]+ detection_rate_strongest=[\d.]+", lines[-1])


def test_calibration_pools_a_settings_seeds_as_replicates(tmp_path, capsys):
    """The pooled table of calibration.py from three seeds' bias tables (no pipeline run: their files only)."""
    import importlib.util

    import numpy as np
    import pandas as pd

    spec = importlib.util.spec_from_file_location("calibration", REPO / "benchmarks" / "calibration.py")
    calibration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calibration)
    config = {"bias": {"control_prompt": "landscape", "fdr": 0.05},
              "synthetic": {"planted_bias": {"class": "mountain", "background_probability": 0.01}}}
    members = []
    for seed, (mountain, sea) in enumerate([(20, 2), (22, 1), (18, 3)]):
        rows = []
        for cls, (guided, control) in {"mountain": (mountain, 1), "sea": (sea, 6), "forest": (24 - mountain - sea, 17)
                                       }.items():
            rows.append({"generator": "dcgan_nature", "prompt_id": "beautiful", "prompt": "a beautiful landscape",
                         "baseline": "prompt:landscape", "class": cls, "count_guided": guided, "n_guided": 24,
                         "count_baseline": control, "n_baseline": 24, "q_value": 1e-4,
                         "log_odds_ratio": np.log((guided + .5) * (24.5 - control))
                         - np.log((24.5 - guided) * (control + .5))})
        folder = tmp_path / f"seed{seed}"
        (folder / "results").mkdir(parents=True)
        pd.DataFrame(rows).to_parquet(folder / "results" / "bias.parquet")
        members.append((seed, folder, config, 0.8))
    calibration.print_pooled({"0.8": members})
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| 0.8 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["dcgan_nature", "3"] and cells[3].startswith("+") and cells[6] == "100%", cells
    assert float(cells[7]) < 0.05 and cells[8] == "—", cells  # mountain pooled; no other class favoured


def test_compare_studies_puts_each_baseline_in_its_own_column(tmp_path):
    """Two studies' bias tables (no pipeline run): the control prompt has no control column of its own, and a
    headline lost against the prompt-free search is shown under that search, not under the control."""
    import pandas as pd

    def study(name: str, street_count: int, headline_vs_prompt_free: bool):
        rows = []
        for prompt in ("beautiful", "landscape"):
            control = ["prompt:landscape"] if prompt == "beautiful" else []  # the control has none against itself
            for baseline in ["unguided", "prompt:prompt_free", *control]:
                for cls, count in (("street", street_count if prompt == "beautiful" else 8), ("sea", 4)):
                    flagged = cls == "street" and prompt == "beautiful" and baseline != "unguided" and (
                        headline_vs_prompt_free or baseline == "prompt:landscape")
                    rows.append({"generator": "dcgan_city", "prompt_id": prompt, "baseline": baseline, "class": cls,
                                 "n_guided": 24, "count_guided": count, "share_guided": count / 24,
                                 "share_guided_ci_low": max(count / 24 - 0.2, 0), "share_guided_ci_high": count / 24
                                 + 0.2, "headline": flagged})
        (tmp_path / name / "results").mkdir(parents=True)
        pd.DataFrame(rows).to_parquet(tmp_path / name / "results" / "bias.parquet")
        return tmp_path / name

    before, after = study("before", 18, True), study("after", 16, False)
    lines = run("benchmarks/compare_studies.py", "--before", str(before), "--after", str(after), timeout=120)
    rows = {cells[1]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines
                                          if line.startswith("| dcgan_city"))}
    assert rows["beautiful"][2:5] == ["none → none", "street → street", "street → none"], rows
    assert rows["landscape"][2:5] == ["none → none", "—", "none → none"], rows
    assert lines[-1] == "moved=0/4 outside_interval=0 headlines_kept=4/5"
