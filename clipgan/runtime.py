"""What every pipeline step does first: log to its file, pin threads, pick the device."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import torch

import clipgan


def start_step(log_path: str | os.PathLike, step: str, params: dict | None = None, threads: int = 1) -> logging.Logger:
    """Send logging and stderr to `log_path`; log the package version, commit and parameters."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "a", buffering=1)
    sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(int(threads), 1))
    logger = logging.getLogger(f"clipgan.{step}")
    logger.info("clipgan %s (commit %s), torch %s, %d threads", clipgan.__version__, _commit(),
                torch.__version__, torch.get_num_threads())
    if params:
        logger.info("parameters: %s", json.dumps(params, sort_keys=True, default=str))
    return logger


def pick_device(preference: str = "auto") -> torch.device:
    """'auto' takes CUDA when present; asking for 'cuda' on a machine without it is an error."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("config key device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device(preference)


def _commit() -> str:
    here = Path(clipgan.__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Progress:
    """A progress bar for log files: one line per update, with share done, rate and ETA."""

    def __init__(self, total: int, desc: str, logger: logging.Logger | None = None, width: int = 24):
        import time

        self.total, self.desc, self.width = max(int(total), 1), desc, width
        self.logger = logger or logging.getLogger("clipgan.progress")
        self.done, self._clock, self.t0 = 0, time.perf_counter, time.perf_counter()

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        elapsed = self._clock() - self.t0
        frac = min(self.done / self.total, 1.0)
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        bar = "#" * int(frac * self.width) + "." * (self.width - int(frac * self.width))
        self.logger.info("%s [%s] %d/%d %3.0f%% %.0fs elapsed, ~%.0fs left%s", self.desc, bar, self.done,
                         self.total, 100 * frac, elapsed, eta, f"  {note}" if note else "")

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        return None


class TrainingDiverged(RuntimeError):
    """A loss became NaN, infinite or exploded: training stops instead of saving garbage."""


def check_loss(value: float, *, model: str, name: str, epoch: int, step: int, setting: str,
               limit: float = float("inf")) -> float:
    """Return `value`, or raise TrainingDiverged naming the step, the loss and the setting to change."""
    import math

    if not math.isfinite(value) or value > limit:
        raise TrainingDiverged(f"{model} training diverged at epoch {epoch}, step {step}: {name} = {value}. "
                               f"Lower the learning rate ({setting}) or change the seed.")
    return value
