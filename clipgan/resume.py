"""Resumable training: a trainer saves its whole state every N steps and continues from it after a crash.

"Whole state" means everything the next step depends on: weights, optimiser and scheduler
state, every random generator, the position in the epoch (with that epoch's shuffled order)
and the log so far. A resumed run therefore takes exactly the steps an uninterrupted run
would have taken, and on the same device reaches the same weights.

A resume file records a fingerprint of what it belongs to (settings and data checksums); a
file left by a different run is ignored with a warning, never resumed. It lives outside the
job's declared outputs, so Snakemake's `--rerun-incomplete` (which deletes those outputs)
keeps it, and it is deleted when training finishes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clipgan.checkpoints import load_torch
from clipgan.io import save_torch

log = logging.getLogger(__name__)


@dataclass
class Resumer:
    path: str | os.PathLike
    fingerprint: str  # what the run is; see module docstring
    every: int = 200  # optimiser steps between saves; 0 = never save

    def load(self) -> dict | None:
        path = Path(self.path)
        if not path.exists():
            return None
        try:
            state = load_torch(path)
        except Exception as err:  # a resume file is an optimisation: a broken one means start over
            log.warning("ignoring unreadable resume file %s (%s); training from the start", path, err)
            return None
        if state.get("fingerprint") != self.fingerprint:
            log.warning("ignoring resume file %s: it belongs to other settings or data; training from the start", path)
            return None
        log.info("resuming from %s at step %d (epoch %d, batch %d)", path, state["step"], state["epoch"] + 1,
                 state["batch"])
        return state

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def save_if_due(self, stateful: dict, *, step: int, **position: Any) -> None:
        """Every `every` steps: the state of `stateful` (see `snapshot`) plus the loop's `position`."""
        if self.due(step):
            self.save({**snapshot(**stateful), "step": step, **position})

    def save(self, state: dict) -> None:
        save_torch({**state, "fingerprint": self.fingerprint}, self.path)
        log.info("saved resume state at step %d to %s", state["step"], self.path)

    def finish(self) -> None:
        Path(self.path).unlink(missing_ok=True)


def start_or_resume(resume: Resumer | None, **stateful: Any) -> tuple[dict | None, list, int, int, int]:
    """Where a trainer starts: (saved state or None, history, step, epoch, batch).

    When a resume file is found, `stateful` is restored from it in place; the saved state also
    carries the interrupted epoch's order and running sums, which the trainer picks up itself.
    """
    saved = resume.load() if resume else None
    if not saved:
        return None, [], 0, 0, 0
    restore(saved, **stateful)
    return saved, saved["history"], saved["step"], saved["epoch"], saved["batch"]


def snapshot(**objects: Any) -> dict:
    """State of modules, optimisers, schedulers and random generators, by name (plus torch's global RNG)."""
    out: dict[str, Any] = {"torch_rng": torch.get_rng_state()}
    for name, obj in objects.items():
        if isinstance(obj, torch.Generator):
            out[name] = obj.get_state()
        elif isinstance(obj, np.random.Generator):
            out[name] = obj.bit_generator.state
        else:
            out[name] = obj.state_dict()
    return out


def restore(state: dict, **objects: Any) -> None:
    """The inverse of `snapshot`: load each named object's state back in place."""
    torch.set_rng_state(state["torch_rng"])
    for name, obj in objects.items():
        if isinstance(obj, torch.Generator):
            obj.set_state(state[name])
        elif isinstance(obj, np.random.Generator):
            obj.bit_generator.state = state[name]
        else:
            obj.load_state_dict(state[name])
