import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may reach a model hub

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def tiny_clip_config() -> Path:
    """The demo's tiny CLIP architecture, as a registered open_clip config."""
    return REPO / "demo" / "models" / "clipgan-tiny.json"


def guided_sets(config: dict) -> list[str]:
    """The guided image sets a study searches per generator: its prompts and, unless turned off, the prompt-free
    search."""
    return sorted(config["prompts"]) + (["prompt_free"] if config["search"].get("prompt_free", True) else [])


NO_SLURM = REPO / "tests" / "no_slurm"


def offline_env(**overrides: str) -> dict:
    """The environment of a Snakemake run in a test: offline, and with an `scontrol` that fails at once first on PATH
    (tests/no_slurm/scontrol: the SLURM plugin asks scontrol at every start, and where SLURM is installed but no
    controller runs the real one waits 9 seconds). A run on the test cluster passes its own PATH."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{NO_SLURM}{os.pathsep}{os.environ['PATH']}", **overrides}


def snakemake(*args, cwd=REPO, timeout=1800, env=None):
    """Run Snakemake in a subprocess, offline."""
    env = offline_env(**(env or {}))
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def write_study(path: Path, config: dict) -> Path:
    """A study folder holding only `config` and the demo's model configs: nothing built yet."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "demo" / "models", path / "models", dirs_exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


TINY_OVERLAY = REPO / "tests" / "fixtures" / "tiny_demo.yaml"


def tiny(config: dict) -> dict:
    """The demo config shrunk to a one-minute run (tests/fixtures/tiny_demo.yaml): plumbing, not findings. It keeps
    only the generators and second judges the overlay names (the two DCGANs and a one-epoch CLIP judge: the
    renderer runs the same rules, and a test that needs one adds its own)."""
    from clipgan.config import merge

    overlay = yaml.safe_load(TINY_OVERLAY.read_text())
    config = merge(config, overlay)
    for section in ("generators", "judges"):
        config[section] = {key: config[section][key] for key in overlay[section]}
    return config


def only_generators(config: dict, *generators: str) -> dict:
    """The demo config cut to some of its generators and without its second judges: for a test that reads the
    primary judge's findings on one generator and would pay for the others' training and searches."""
    config["generators"] = {g: config["generators"][g] for g in generators}
    config.pop("judges", None)
    return config


def run_demo(study: Path, edit=None, extra: tuple = (), env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the demo study (its config, optionally edited in place or replaced) in `study`; fails the test if
    Snakemake fails."""
    config = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())
    if edit:
        config = edit(config) or config
    write_study(study, config)
    out = snakemake(*(extra or ("--cores", "2")), "--directory", str(study), "--snakefile", str(REPO / "Snakefile"),
                    timeout=1500, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory, pytestconfig) -> Path:
    """The demo study, run once per test session (locally, 2 cores)."""
    import time

    study = tmp_path_factory.mktemp("demo")
    t0 = time.perf_counter()
    run_demo(study)
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[timing] demo study, local run: {time.perf_counter() - t0:.0f} s")
    return study


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory, pytestconfig) -> Path:
    """The demo shrunk by tests/fixtures/tiny_demo.yaml, run once per test session (locally, 2 cores): the
    reference that plumbing tests (determinism, SLURM, a grown study) compare their own runs with."""
    import time

    study = tmp_path_factory.mktemp("tiny")
    t0 = time.perf_counter()
    run_demo(study, tiny)
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[timing] tiny demo study, local run: {time.perf_counter() - t0:.0f} s")
    return study


def browser(download_dir: Path | None = None, width: int = 1366, height: int = 768):
    """Debian's chromium, headless, through Debian's chromedriver; a laptop's window by default."""
    if shutil.which("chromedriver") is None:
        pytest.fail("chromedriver is missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", "--no-first-run", "--disable-background-networking"):
        options.add_argument(flag)
    if download_dir is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    if download_dir is not None:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver
