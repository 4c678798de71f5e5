"""A crash loses nothing: kill -9 during training, unlock, rerun, and get the uninterrupted result.

Also: the (tiny) demo study run twice gives identical tables (determinism given the config's seeds).
"""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from conftest import REPO, offline_env, run_demo, snakemake, tiny, write_study

TARGET = "results/generators/dcgan_nature/generator.pt"


def small_study(path):
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    config["datasets"]["nature"].update(n_train=640, n_test=32)
    config["generators"]["dcgan_nature"]["train"].update(epochs=6, checkpoint_every=5)
    return write_study(path, config)


def _run(study, *args):
    return snakemake(TARGET, "--cores", "1", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"), *args,
                     timeout=600)


@pytest.mark.slow
def test_kill_9_during_training_then_rerun_incomplete_gives_the_same_model(tmp_path):
    import torch

    reference = small_study(tmp_path / "reference")
    out = _run(reference)
    assert out.returncode == 0, out.stderr[-3000:]

    study = small_study(tmp_path / "crashed")
    resume_file = study / "results/generators/dcgan_nature/generator.resume.pt"
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", TARGET, "--cores", "1", "--directory", str(study),
                             "--snakefile", str(REPO / "Snakefile")], cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=offline_env())
    deadline = time.monotonic() + 300
    while not resume_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert resume_file.exists(), "training never saved a resume file"
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the training job, with no chance to clean up
    proc.wait()
    assert not (study / TARGET).exists()

    locked = _run(study)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    assert snakemake("--unlock", "--directory", str(study), "--snakefile", str(REPO / "Snakefile")).returncode == 0
    out = _run(study, "--rerun-incomplete")
    assert out.returncode == 0, out.stderr[-3000:]

    log = (study / "logs/generators/dcgan_nature.log").read_text()
    assert "resuming from" in log and "at step" in log
    assert not resume_file.exists()  # removed once the model is written
    a = torch.load(reference / TARGET, weights_only=True)
    b = torch.load(study / TARGET, weights_only=True)
    for part in ("generator", "discriminator"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key}"
    history = [pd.read_csv(s / "results/generators/dcgan_nature/training_log.csv") for s in (reference, study)]
    pd.testing.assert_frame_equal(*history)


@pytest.mark.slow
def test_the_demo_twice_gives_identical_tables(tiny_study, tmp_path):
    """On the tiny overlay: every stage runs, so every random stream is exercised, in a sixth of the time."""
    run_demo(tmp_path / "again", tiny)
    timing = ["search_s"]
    for name in ("table.parquet", "bias.parquet"):
        first = pd.read_parquet(tiny_study / "results" / name)
        second = pd.read_parquet(tmp_path / "again" / "results" / name)
        first = first.drop(columns=[c for c in timing if c in first])
        second = second.drop(columns=[c for c in timing if c in second])
        pd.testing.assert_frame_equal(first, second, check_exact=True)
