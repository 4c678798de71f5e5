"""The (tiny) demo study through a real single-node SLURM cluster (tests/slurm/cluster.sh).

Every non-local job must run as a SLURM job, every GPU job must ask SLURM for a GPU, and the
results must equal a local run's. The tiny overlay runs every rule of the demo, with
SLURM's per-job overhead on far less work: the test checks the plumbing, not the findings.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, run_demo, tiny

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
LOCAL_RULES = {"data_prepare", "clip_fetch", "generator_fetch", "judge_fetch", "judge_clip_fetch", "all"}
GPU_RULES = {"clip_train", "generator_train", "generator_samples", "search_pool", "search_latents", "unguided_sample",
             "judge_train", "judge_clip_train", "judge_classify"}


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root (CI runs as root)")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("SLURM cannot be installed here: no apt-get and no slurmctld")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.skip("snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')")
    started = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, timeout=600)
    assert started.returncode == 0, started.stderr
    yield
    subprocess.run([str(CLUSTER), "stop"], capture_output=True, text=True, timeout=60)


def sbatch_recorder(folder: Path) -> tuple[Path, Path]:
    """An `sbatch` first on PATH that logs its arguments, then runs the real one."""
    folder.mkdir()
    record = folder / "sbatch_calls.txt"
    wrapper = folder / "sbatch"
    wrapper.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {record}\nexec {shutil.which("sbatch")} "$@"\n')
    wrapper.chmod(0o755)
    return folder, record


@pytest.mark.slow
def test_demo_runs_on_slurm_like_it_runs_locally(cluster, tiny_study, tmp_path, capsys):
    bin_dir, record = sbatch_recorder(tmp_path / "bin")
    study = tmp_path / "slurm_demo"
    t0 = time.perf_counter()
    profiles = ("--profile", str(REPO / "profiles" / "slurm"),
                "--workflow-profile", str(REPO / "tests" / "slurm" / "profile"))
    out = run_demo(study, tiny, extra=profiles,
                   env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    with capsys.disabled():
        print(f"\n[timing] tiny demo study through SLURM: {time.perf_counter() - t0:.0f} s")

    # every non-local job ran as a SLURM job: it has a SLURM log
    planned = re.findall(r"^rule (\w+):", out.stdout + out.stderr, re.M)
    logs = list((study / ".snakemake" / "slurm_logs").rglob("*.log"))
    ran_on_slurm = [rule for rule in planned if rule not in LOCAL_RULES]
    assert ran_on_slurm, out.stdout[-2000:]
    for rule in set(ran_on_slurm):
        n_logs = sum(f"rule_{rule}" in log.parts for log in logs)
        assert n_logs == ran_on_slurm.count(rule), (rule, n_logs)

    # every GPU job asked SLURM for a GPU
    calls = record.read_text().splitlines()
    assert len(calls) == len(ran_on_slurm)
    for call in calls:
        is_gpu = any(f"rule_{r}" in call or f"rule {r}" in call for r in GPU_RULES)
        if is_gpu:
            assert "--gpus=1" in call or "--gres=gpu" in call, call
    assert sum("--gpus=1" in c for c in calls) == sum(r in GPU_RULES for r in ran_on_slurm)

    # the same results as the local run
    keys = ["generator", "condition", "prompt_id", "restart"]
    local = pd.read_parquet(tiny_study / "results" / "table.parquet").sort_values(keys, ignore_index=True)
    remote = pd.read_parquet(study / "results" / "table.parquet").sort_values(keys, ignore_index=True)
    assert len(local) == len(remote)
    pd.testing.assert_frame_equal(local[keys + ["seed", "predicted"]], remote[keys + ["seed", "predicted"]])
    for column in ["clip_score", "realism", *[c for c in local.columns if c.startswith("prob_")]]:
        np.testing.assert_allclose(remote[column], local[column], atol=1e-4, err_msg=column)
