"""The code follows the project's lint rules (pyproject.toml [tool.ruff])."""

import shutil
import subprocess
import sys

from conftest import REPO


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or f"{sys.executable} -m ruff"
    out = subprocess.run([*ruff.split(), "check", "clipgan", "scripts", "tests", "benchmarks"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
