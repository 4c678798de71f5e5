import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may reach a model hub

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def tiny_clip_config(tmp_path) -> Path:
    """The demo's tiny CLIP architecture, as a registered open_clip config."""
    return REPO / "demo" / "models" / "clipgan-tiny.json"
