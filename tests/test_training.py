"""Training stops with a clear message when a loss turns NaN, for every model the pipeline trains."""

import numpy as np
import pytest
import torch

from clipgan.runtime import TrainingDiverged


def test_dcgan_stops_on_nan_with_step_loss_and_setting():
    from clipgan.generators.dcgan import DCGANConfig, GANTrainConfig, train_dcgan

    images = torch.full((64, 3, 32, 32), float("nan"))
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step 1: loss_d = nan.*generators.<id>.train.lr"):
        train_dcgan(images, DCGANConfig(nz=8, ngf=8, ndf=8), GANTrainConfig(epochs=1, batch_size=32))


def test_judge_stops_on_exploding_learning_rate():
    from clipgan.judge import JudgeConfig, train_judge

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (64, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, 64)
    cfg = JudgeConfig(arch="resnet18", epochs=2, batch_size=32, lr=1e12, classes=["a", "b"])
    with pytest.raises(TrainingDiverged, match=r"judge training diverged .*cross-entropy = .*judge.lr"):
        train_judge(images, labels, cfg)


def test_clip_stops_on_nan(tiny_clip_config):
    from clipgan.clip import ClipSpec, ClipTrainConfig, load_clip, train_clip

    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    with torch.no_grad():
        model.logit_scale.fill_(float("nan"))
    images = np.zeros((32, 32, 32, 3), np.uint8)
    with pytest.raises(TrainingDiverged, match=r"CLIP training diverged at epoch 1, step 1: contrastive loss = nan"):
        train_clip(model, tok, images, ["a view"] * 32, ClipTrainConfig(epochs=1, batch_size=32))


def test_the_shared_loop_counts_steps_over_the_whole_run():
    """Every trainer reports a divergence at the same kind of step: optimiser steps since the start, from 1."""
    from clipgan.training import train_epochs

    seen = []

    def step(idx, epoch):
        seen.append(len(idx))
        return {"loss": float("nan") if len(seen) == 6 else 1.0, "accuracy": 0.5}

    with pytest.raises(TrainingDiverged, match=r"toy training diverged at epoch 2, step 6: the loss = nan.*toy.lr"):
        train_epochs(n=10, batch_size=2, epochs=3, shuffle=np.random.default_rng(0).permutation, step=step,
                     stateful={}, losses={"loss": "the loss"}, model="toy", setting="toy.lr")
    assert seen == [2] * 6  # full batches only


def test_the_shared_loop_returns_epoch_means():
    from clipgan.training import train_epochs

    rows = []
    history = train_epochs(n=9, batch_size=4, epochs=2, shuffle=lambda n: np.arange(n), stateful={},
                           step=lambda idx, epoch: {"loss": float(idx[0])}, losses={"loss": "loss"}, model="toy",
                           setting="toy.lr", progress=rows.append)
    assert history == rows == [{"epoch": 1, "step": 2, "loss": 2.0}, {"epoch": 2, "step": 4, "loss": 2.0}]


def test_a_one_step_warm_up_trains_instead_of_dividing_by_zero():
    """5 steps at the judge's 0.2 warm-up (or 10 at CLIP's 0.1) is one step of warm-up, where torch's own
    OneCycleLR divides by zero; the schedule still rises to the peak and falls to near zero."""
    from clipgan.judge import JudgeConfig, train_judge
    from clipgan.training import one_cycle

    for steps, share in ((5, 0.2), (10, 0.1)):
        with pytest.raises(ZeroDivisionError):  # why the helper exists: if torch fixes it, the nudge can go
            opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=steps, pct_start=share)
            for _ in range(steps):
                opt.step()
                sched.step()
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        sched = one_cycle(opt, 1.0, steps, warmup_share=share)
        rates = []
        for _ in range(steps):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert max(rates) > 0.5 and rates[0] < 0.1 and rates[-1] < max(rates) / 2, rates

    rng = np.random.default_rng(0)  # the judge itself, 5 steps: 1 epoch of 5 batches
    _, log = train_judge(rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8), rng.integers(0, 2, 40),
                         JudgeConfig(arch="resnet18", epochs=1, batch_size=8, classes=["a", "b"]))
    assert len(log) == 1 and np.isfinite(log[0]["loss"])
