"""Interrupted training resumes from its last save and ends exactly where an uninterrupted run ends."""

import numpy as np
import pytest
import torch

from clipgan.resume import Resumer


class Interrupted(Exception):
    pass


def _stop_after_first_epoch(row):
    raise Interrupted  # after 4 steps; the last save was at step 3, inside the epoch


def _assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _run_interrupted(train, tmp_path):
    resume = Resumer(tmp_path / "resume.pt", fingerprint="run-1", every=3)
    with pytest.raises(Interrupted):
        train(progress=_stop_after_first_epoch, resume=resume)
    assert resume.load()["step"] == 3
    return train(resume=resume)


def test_dcgan_resumes_to_the_same_weights(tmp_path):
    from clipgan.generators.dcgan import DCGANConfig, GANTrainConfig, train_dcgan

    images = torch.rand(128, 3, 16, 16) * 2 - 1
    model_cfg, cfg = DCGANConfig(image_size=16, nz=8, ngf=8, ndf=8), GANTrainConfig(epochs=2, batch_size=32, seed=3)
    def train(**kw):
        return train_dcgan(images, model_cfg, cfg, **kw)
    plain, plain_log = train()
    resumed, resumed_log = _run_interrupted(train, tmp_path)
    _assert_same_state(plain["generator"], resumed["generator"])
    _assert_same_state(plain["discriminator"], resumed["discriminator"])
    assert plain_log == resumed_log


def test_judge_resumes_to_the_same_weights(tmp_path):
    from clipgan.judge import JudgeConfig, train_judge

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (128, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 128)
    cfg = JudgeConfig(arch="resnet18", input_size=16, epochs=2, batch_size=32, classes=["a", "b", "c"])
    def train(**kw):
        return train_judge(images, labels, cfg, **kw)
    plain, plain_log = train()
    resumed, resumed_log = _run_interrupted(train, tmp_path)
    _assert_same_state(plain["state_dict"], resumed["state_dict"])
    assert plain_log == resumed_log


def test_clip_resumes_to_the_same_weights(tmp_path, tiny_clip_config):
    from clipgan.clip import ClipSpec, ClipTrainConfig, load_clip, train_clip

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (64, 32, 32, 3), dtype=np.uint8)
    captions = [f"a photo of {c}" for c in rng.choice(["sea", "forest", "street"], 64)]
    cfg = ClipTrainConfig(epochs=2, batch_size=16)
    def train(**kw):
        torch.manual_seed(0)
        model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
        return model, train_clip(model, tok, images, captions, cfg, **kw)
    plain, plain_log = train()
    resumed, resumed_log = _run_interrupted(train, tmp_path)
    _assert_same_state(plain.state_dict(), resumed.state_dict())
    assert plain_log == resumed_log


def test_a_resume_file_from_other_settings_is_ignored(tmp_path, caplog):
    path = tmp_path / "resume.pt"
    Resumer(path, fingerprint="old settings").save({"step": 5, "epoch": 0, "batch": 5})
    assert Resumer(path, fingerprint="old settings").load()["step"] == 5
    assert Resumer(path, fingerprint="new settings").load() is None
    assert "belongs to other settings" in caplog.text
    path.write_bytes(b"half a file")
    assert Resumer(path, fingerprint="old settings").load() is None
    assert "unreadable resume file" in caplog.text
