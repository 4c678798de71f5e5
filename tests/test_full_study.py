"""The full study's config, with every asset pointed at local files in the real formats, runs every rule.

config.yaml is used as shipped except for where its assets live and how much work each job
does: the datasets are a zip in the Intel Image Classification layout (checked by sha256) and
an unlabelled folder; CLIP is an open_clip checkpoint file of the demo's tiny architecture;
BigGAN is a config.json + pytorch_model.bin folder and StyleGAN2 a rosinality checkpoint (both
small, random weights); the ResNet50 ImageNet weights sit in torch's hub cache. Downloads are
forbidden (CLIPGAN_OFFLINE=1, HF_HUB_OFFLINE=1), so the run proves the compute needs no network.
"""

import hashlib
import zipfile

import pandas as pd
import pytest
import yaml
from PIL import Image

from assets import (TINY_BIGGAN, TINY_STYLEGAN2, biggan_folder, intel_like_folder, open_clip_checkpoint,
                    scene_images, stylegan2_checkpoint, torchvision_hub_cache)
from conftest import REPO, guided_sets, snakemake, write_study
from test_workflow import job_counts


def fixture_config(assets):
    from clipgan.generators.biggan import BigGANArch
    from clipgan.generators.stylegan2 import StyleGAN2Arch

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    raw = intel_like_folder(assets / "intel-raw")
    archive = assets / "intel-image-classification.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(raw.rglob("*.jpg")):
            zf.write(path, path.relative_to(raw))
    config["datasets"]["intel"] = {**config["datasets"]["intel"], "source": "local", "path": str(archive),
                                   "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}
    del config["datasets"]["intel"]["handle"]
    scene_images(assets / "landscapes" / "photos", 24)
    config["datasets"]["landscapes"] = {"source": "local", "path": str(assets / "landscapes"), "labelled": False}

    config["clip"] = {"model": "clipgan-tiny", "config_file": "models/clipgan-tiny.json",
                      "pretrained": str(open_clip_checkpoint(assets / "clip" / "open_clip_tiny.pt"))}
    # the second judge: another CLIP, fetched by the same local rule path from a file (other random weights)
    config["judges"] = {judge: {"kind": "clip", "model": "clipgan-tiny", "config_file": "models/clipgan-tiny.json",
                                "pretrained": str(open_clip_checkpoint(assets / "clip" / f"{judge}.pt", seed=1))}
                        for judge in config["judges"]}
    for name in ("dcgan_intel", "dcgan_landscapes"):
        config["generators"][name].update(model={"nz": 16, "ngf": 8, "ndf": 8},
                                          train={"epochs": 1, "batch_size": 8})
    biggan = config["generators"]["biggan"]
    for key in ("url", "config_url"):
        del biggan[key]
    biggan["weights"] = str(biggan_folder(assets / "biggan-deep-tiny", BigGANArch(**TINY_BIGGAN)))
    config["generators"]["stylegan2_church"]["weights"] = str(
        stylegan2_checkpoint(assets / "stylegan2-tiny.pt", StyleGAN2Arch(**TINY_STYLEGAN2)))
    config["search"].update(restarts=2, pop_size=4, generations=2, eval_batch=8, prior_samples=8, pool_size=16)
    config["unguided"]["n"] = 8
    config["judge"].update(input_size=32, epochs=1, batch_size=8)
    config["bias"].update(n_permutations=200)
    return config


@pytest.mark.slow
def test_full_study_runs_every_rule_offline_on_local_assets(tmp_path):
    torch_home = tmp_path / "torch"
    torchvision_hub_cache(torch_home, "resnet50")
    config = fixture_config(tmp_path / "assets")
    study = write_study(tmp_path / "study", config)
    out = snakemake("--cores", "2", "--directory", str(study), "--snakefile", str(REPO / "Snakefile"), timeout=1800,
                    env={"TORCH_HOME": str(torch_home), "CLIPGAN_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    jobs = job_counts(out.stderr if "Job stats:" in out.stderr else out.stdout)
    n_gen, n_prompt = len(config["generators"]), len(config["prompts"])
    assert n_gen == 4 and n_prompt >= 5 and len(guided_sets(config)) == n_prompt + 1
    assert jobs["data_prepare"] == 2 and jobs["clip_fetch"] == 1 and jobs["judge_fetch"] == 1
    assert jobs["judge_clip_fetch"] == len(config["judges"]) >= 1
    assert jobs["generator_train"] == 2 and jobs["generator_fetch"] == 2 and jobs["generator_samples"] == 2
    assert jobs["search_latents"] == n_gen * (n_prompt + 1) and jobs["unguided_sample"] == n_gen
    assert jobs["judge_classify"] == n_gen
    for rule in ("judge_train", "table_build", "bias_compute", "report_html"):
        assert jobs[rule] == 1

    table = pd.read_parquet(study / "results" / "table.parquet")
    assert sorted(table.generator.unique()) == sorted(config["generators"])
    assert all(table[f"predicted_{judge}"].notna().all() for judge in config["judges"])
    sizes = {g: Image.open(study / rows.image_path.iloc[0]).size for g, rows in table.groupby("generator")}
    assert sizes == {"biggan": (32, 32), "stylegan2_church": (32, 32), "dcgan_intel": (64, 64),
                     "dcgan_landscapes": (64, 64)}
    assert (study / "results" / "report" / "index.html").stat().st_size > 10_000
    manifest = (study / "resources" / "datasets" / "landscapes" / "manifest.json").read_text()
    assert '"class": "unlabelled"' in manifest
