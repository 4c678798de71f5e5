"""The one resumable training loop that every model trained here shares (CLIP, DCGAN, the judge).

A trainer supplies how to shuffle and how to take one optimiser step on a batch; the loop owns
the epochs, the fixed-size batches, the divergence check, the running means, the resume saves
and the progress rows. Resuming restores the interrupted epoch's order and sums, so a resumed
run gives the same weights as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

from clipgan.resume import Resumer, start_or_resume
from clipgan.runtime import check_loss

# (indices of the batch, epoch from 0) -> {metric: value} for this batch
Step = Callable[[Any, int], dict[str, float]]


def one_cycle(opt: torch.optim.Optimizer, max_lr: float, total_steps: int,
              warmup_share: float) -> torch.optim.lr_scheduler.OneCycleLR:
    """The one-cycle learning-rate schedule, `warmup_share` of the steps rising to `max_lr`.

    torch divides by the warm-up's length less one step, so a warm-up of exactly one step (5 steps at a share of
    0.2, 10 at 0.1: a short run of a small config) raises ZeroDivisionError; there it takes one and a half."""
    if float(warmup_share * total_steps) - 1 == 0:
        warmup_share *= 1.5
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps, pct_start=warmup_share)


def train_epochs(*, n: int, batch_size: int, epochs: int, shuffle: Callable[[int], Any], step: Step,
                 stateful: dict, losses: Mapping[str, str], model: str, setting: str,
                 limit: float = float("inf"), resume: Resumer | None = None,
                 progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Run `epochs` passes of full batches over `n` items; returns one row per epoch.

    shuffle(n): the epoch's order (numpy array or torch tensor), drawn from the trainer's own stream.
    step(indices, epoch): one optimiser step; returns the batch's metrics. The keys of `losses`
        ({metric: how a message names it}) are checked: NaN, infinite or above `limit` stops
        training with TrainingDiverged, naming the epoch, the step (counted over the whole run,
        from 1) and the `setting` to change.
    stateful: what `resume` saves and restores (modules, optimisers, schedulers, generators).
    Each row: {"epoch", "step", and the mean of every metric over the epoch's batches}.
    """
    starts = list(range(0, n - batch_size + 1, batch_size))
    saved, history, global_step, first_epoch, first_batch = start_or_resume(resume, **stateful)
    for epoch in range(first_epoch, epochs):
        if saved and epoch == first_epoch:
            order, sums, batches = saved["order"], saved["sums"], saved["batches"]
            order = order.numpy() if isinstance(order, torch.Tensor) and saved.get("order_is_numpy") else order
        else:
            order, sums, batches = shuffle(n), {}, 0
        for b in range(first_batch if epoch == first_epoch else 0, len(starts)):
            metrics = step(order[starts[b]:starts[b] + batch_size], epoch)
            global_step += 1
            for name, value in metrics.items():
                if name in losses:
                    check_loss(value, model=model, name=losses[name], epoch=epoch + 1, step=global_step,
                               setting=setting, limit=limit)
                sums[name] = sums.get(name, 0.0) + value
            batches += 1
            if resume:
                is_numpy = isinstance(order, np.ndarray)
                resume.save_if_due(stateful, step=global_step, history=history, epoch=epoch, batch=b + 1,
                                   order=torch.from_numpy(order) if is_numpy else order, order_is_numpy=is_numpy,
                                   sums=sums, batches=batches)
        row = {"epoch": epoch + 1, "step": global_step, **{k: v / max(batches, 1) for k, v in sums.items()}}
        history.append(row)
        if progress:
            progress(row)
    return history
