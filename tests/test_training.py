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
    from clipgan.classifier import JudgeConfig, train_judge

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
    with pytest.raises(TrainingDiverged, match=r"CLIP training diverged at epoch 1, step 0: contrastive loss = nan"):
        train_clip(model, tok, images, ["a view"] * 32, ClipTrainConfig(epochs=1, batch_size=32))
