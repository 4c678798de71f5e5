"""Pretrained generator kinds: files in the real formats load, build, generate and can be searched."""

import json
import types

import numpy as np
import pytest
import torch

from assets import TINY_BIGGAN, TINY_STYLEGAN2, biggan_folder, keyed_weights, stylegan2_checkpoint
from clipgan.generators.biggan import fetch as fetch_biggan
from clipgan.generators.stylegan2 import fetch as fetch_stylegan2
from clipgan.generators import build_generator, kinds
from clipgan.generators.biggan import BigGANArch
from clipgan.generators.stylegan2 import (StyleGAN2Arch, StyleGAN2DiscriminatorNet, StyleGAN2Net,
                                          load_stylegan2_discriminator)
from clipgan.checkpoints import UnsafeCheckpointError
from clipgan.io import MissingAssetError, sha256_file
from conftest import REPO

# every key, shape and dtype of rosinality's church g_ema (config-f, 256 px), listed from its model code
MANIFEST = REPO / "tests" / "fixtures" / "stylegan2_church_g_ema_manifest.json"
# the same for its discriminator `d`, with rosinality's logits for key-seeded weights (tests/assets.keyed_weights)
D_MANIFEST = REPO / "tests" / "fixtures" / "stylegan2_church_d_manifest.json"


def test_all_kinds_are_registered():
    assert kinds() == ["biggan", "dcgan", "renderer", "stylegan2"]


def test_stylegan2_church_state_dict_equals_the_manifest():
    manifest = json.loads(MANIFEST.read_text())
    state = StyleGAN2Net(StyleGAN2Arch.config_f(256, 2)).state_dict()
    assert [(k, list(v.shape)) for k, v in state.items()] == [(k, s) for k, s, _ in manifest["state_dict"]]
    assert sum(v.numel() for v in state.values()) == manifest["num_state_dict_elements"]
    assert StyleGAN2Arch.from_state_dict(state).channels == {int(r): c for r, c in manifest["channels"].items()
                                                             if int(r) <= 256}


def test_stylegan2_church_discriminator_state_dict_equals_the_manifest():
    manifest = json.loads(D_MANIFEST.read_text())
    net = StyleGAN2DiscriminatorNet(StyleGAN2Arch.config_f(256, 2).channels)
    state = net.state_dict()
    assert [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in state.items()] == manifest["state_dict"]
    assert sum(v.numel() for v in state.values()) == manifest["num_state_dict_elements"]
    assert StyleGAN2DiscriminatorNet.from_state_dict(state).channels == net.channels


@pytest.mark.slow
def test_stylegan2_church_discriminator_gives_rosinality_logits():
    check = json.loads(D_MANIFEST.read_text())["cpu_forward_check"]
    state = keyed_weights(StyleGAN2DiscriminatorNet(StyleGAN2Arch.config_f(256, 2).channels).state_dict())
    net = load_stylegan2_discriminator(state, 256).eval()
    x = (torch.randn(8, 3, 256, 256, generator=torch.Generator().manual_seed(0)) * 0.5).clamp(-1, 1)
    with torch.no_grad():
        for n, key in [(8, "logits_batch8"), (4, "logits_batch4_first4"), (1, "logits_batch1_first1")]:
            torch.testing.assert_close(net(x[:n]), torch.tensor(check[key]), rtol=0, atol=2e-6)


def test_discriminator_realism_groups_each_image_with_fixed_companions(tmp_path):
    arch = StyleGAN2Arch(**TINY_STYLEGAN2)
    ckpt = stylegan2_checkpoint(tmp_path / "tiny.pt", arch, discriminator=True)
    settings = {"weights": str(ckpt), "realism": "discriminator", "truncation": 0.7}
    fetch_stylegan2(settings, "generators.g", tmp_path / "model")
    assert json.loads((tmp_path / "model" / "source.json").read_text())["discriminator"] is True
    gen = build_generator("stylegan2", str(tmp_path / "model"), settings)
    latents = torch.from_numpy(gen.sample_latents(5, np.random.default_rng(3)))
    images = gen(latents)
    together = gen.realism(latents, images)
    alone = torch.cat([gen.realism(latents[i:i + 1], images[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)  # a score does not depend on the batch
    assert together.std() > 0 and (together > 0).all()

    # as in training, where the image's group of 4 is itself and the three companions
    companion_images = gen(torch.from_numpy(gen.sample_latents(3, np.random.default_rng([0, 2]))))
    grouped = gen.d(torch.cat([images[:1], companion_images]))[0]
    torch.testing.assert_close(together[0], torch.nn.functional.softplus(-grouped), rtol=1e-5, atol=1e-6)

    latent_only = build_generator("stylegan2", str(tmp_path / "model"), {"truncation": 0.7})
    assert latent_only.d is None and not torch.allclose(latent_only.realism(latents, images), together)


@pytest.mark.slow
def test_discriminator_realism_compiles_to_the_eager_objectives(tmp_path, tiny_clip_config):
    from clipgan.clip import ClipScorer, ClipSpec, load_clip
    from clipgan.search.runner import BatchEvaluator

    ckpt = stylegan2_checkpoint(tmp_path / "tiny.pt", StyleGAN2Arch(**TINY_STYLEGAN2), discriminator=True)
    settings = {"weights": str(ckpt), "realism": "discriminator"}
    fetch_stylegan2(settings, "generators.g", tmp_path / "model")
    gen = build_generator("stylegan2", str(tmp_path / "model"), settings)
    clip, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    X = gen.sample_latents(12, np.random.default_rng(0))  # one full batch of 8, one padded
    evaluate = {compile: BatchEvaluator(gen, ClipScorer(clip, tok, "a church"), 8, torch.device("cpu"),
                                        compile=compile).images_and_objectives(X)[0] for compile in (False, True)}
    np.testing.assert_allclose(evaluate[True], evaluate[False], rtol=1e-4, atol=1e-5)


def test_discriminator_realism_needs_a_discriminator_of_the_same_size(tmp_path):
    arch = StyleGAN2Arch(**TINY_STYLEGAN2)
    settings = {"weights": str(stylegan2_checkpoint(tmp_path / "g.pt", arch)), "realism": "discriminator"}
    with pytest.raises(ValueError, match=r"generators.g.realism: discriminator needs the checkpoint's discriminator "
                                         r"\('d'\), and .*g.pt has none .* convert_weight.py --disc"):
        fetch_stylegan2(settings, "generators.g", tmp_path / "model")
    assert not (tmp_path / "model" / "weights.pt").exists()
    fetch_stylegan2({**settings, "realism": "latent"}, "generators.g", tmp_path / "model")
    with pytest.raises(ValueError, match=r"If it was fetched before realism was set, fetch it again"):
        build_generator("stylegan2", str(tmp_path / "model"), settings)

    small = StyleGAN2Arch(size=16, style_dim=64, n_mlp=2, channels={4: 32, 8: 32, 16: 16})
    wrong = stylegan2_checkpoint(tmp_path / "other.pt", small, discriminator=True)
    ckpt = torch.load(stylegan2_checkpoint(tmp_path / "mixed.pt", arch), weights_only=True)
    ckpt["d"] = torch.load(wrong, weights_only=True)["d"]
    torch.save(ckpt, tmp_path / "mixed.pt")
    with pytest.raises(ValueError, match=r"generators.g: .*mixed.pt: the discriminator takes 16 px images; the "
                                         r"generator makes 32 px"):
        fetch_stylegan2({**settings, "weights": str(tmp_path / "mixed.pt")}, "generators.g", tmp_path / "model")

    ckpt["d"] = {"convs.0.0.weight": torch.zeros(16, 3, 1, 1)}
    torch.save(ckpt, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match=r"generators.g: .*broken.pt: not a rosinality StyleGAN2 discriminator"):
        fetch_stylegan2({**settings, "weights": str(tmp_path / "broken.pt")}, "generators.g", tmp_path / "model")


@pytest.mark.slow
@pytest.mark.parametrize("realism", ["latent", "discriminator"])
def test_stylegan2_church_checkpoint_loads_generates_256px_and_searches(tmp_path, tiny_clip_config, realism):
    from clipgan.clip import ClipScorer, ClipSpec, load_clip
    from clipgan.search import SearchConfig, run_search

    ckpt = stylegan2_checkpoint(tmp_path / "stylegan2-church-config-f.pt", discriminator=realism == "discriminator")
    settings = {"kind": "stylegan2", "weights": str(ckpt), "truncation": 0.7, "realism": realism}
    fetch_stylegan2(settings, "generators.church", tmp_path / "model")
    gen = build_generator("stylegan2", str(tmp_path / "model"), settings)
    assert gen.image_size == 256 and gen.latent_dim == 512
    w = gen.sample_latents(1, np.random.default_rng(0))
    image = gen(torch.from_numpy(w))
    assert image.shape == (1, 3, 256, 256) and image.isfinite().all()
    assert torch.equal(image, gen(torch.from_numpy(w)))  # fixed noise: a latent is one image

    clip, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    cfg = SearchConfig(restarts=1, pop_size=4, generations=2, eval_batch=4, prior_samples=4)
    result = run_search(gen, ClipScorer(clip, tok, "a church"), cfg)
    assert result.images.shape == (1, 3, 256, 256) and result.n_evals[0] == 8


def test_tiny_stylegan2_in_the_same_layout(tmp_path):
    arch = StyleGAN2Arch(**TINY_STYLEGAN2)
    ckpt = stylegan2_checkpoint(tmp_path / "tiny.pt", arch)
    fetch_stylegan2({"weights": str(ckpt)}, "generators.g", tmp_path / "model")
    gen = build_generator("stylegan2", str(tmp_path / "model"), {"truncation": 0.5})
    latents = gen.sample_latents(3, np.random.default_rng(1))
    assert (latents >= gen.bounds[0]).all() and (latents <= gen.bounds[1]).all()
    images = gen(torch.from_numpy(latents))
    assert images.shape == (3, 3, 32, 32) and images.abs().max() <= 1
    realism = gen.realism(torch.from_numpy(latents), images)
    assert realism.shape == (3,) and (realism >= 0).all()
    source = json.loads((tmp_path / "model" / "source.json").read_text())
    assert source["sha256"] == sha256_file(ckpt) and source["arch"]["size"] == 32


def test_stylegan2_checkpoint_saved_by_training_needs_the_pickle_opt_in(tmp_path):
    arch = StyleGAN2Arch(**TINY_STYLEGAN2)
    ckpt = stylegan2_checkpoint(tmp_path / "train.pt", arch, extra={"args": types.SimpleNamespace(size=32)})
    with pytest.raises(UnsafeCheckpointError, match=r"generators.g.trust_pickle: true and generators.g.sha256"):
        fetch_stylegan2({"weights": str(ckpt)}, "generators.g", tmp_path / "model")
    fetch_stylegan2({"weights": str(ckpt), "trust_pickle": True, "sha256": sha256_file(ckpt)}, "generators.g",
                    tmp_path / "model")
    assert "args" not in torch.load(tmp_path / "model" / "weights.pt", weights_only=True)


def test_stylegan2_checkpoint_without_noise_buffers_still_loads(tmp_path, caplog):
    ckpt = stylegan2_checkpoint(tmp_path / "old.pt", StyleGAN2Arch(**TINY_STYLEGAN2), noise_buffers=False)
    fetch_stylegan2({"weights": str(ckpt)}, "generators.g", tmp_path / "model")
    assert "no noise buffers" in caplog.text


def test_a_file_that_is_not_stylegan2_is_refused_with_its_keys(tmp_path):
    path = tmp_path / "dcgan.pt"
    torch.save({"generator": {"net.0.weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match=r"generators.g: .* has no 'g_ema' \(top-level keys: \['generator'\]\)"):
        fetch_stylegan2({"weights": str(path)}, "generators.g", tmp_path / "model")


def test_biggan_folder_loads_and_one_gene_is_one_class(tmp_path):
    folder = biggan_folder(tmp_path / "biggan-deep-tiny")
    settings = {"kind": "biggan", "weights": str(folder), "truncation": 0.4, "imagenet_classes": [970, 978]}
    fetch_biggan(settings, "generators.b", tmp_path / "model")
    gen = build_generator("biggan", str(tmp_path / "model"), settings)
    assert gen.latent_dim == TINY_BIGGAN["z_dim"] + 2 and gen.image_size == 32
    latents = torch.from_numpy(gen.sample_latents(4, np.random.default_rng(0)))
    assert (latents[:, :16].abs() <= 0.8).all()  # truncated at 2 sd, times the truncation
    images = gen(latents)
    assert images.shape == (4, 3, 32, 32) and images.isfinite().all()
    genes = torch.tensor([[0.9, 0.1], [0.55, 0.45], [0.5, 0.5]])
    vectors = gen.class_vectors(genes)
    assert vectors[0, 970] > 0.9999 and vectors[0].sum() == pytest.approx(1)
    assert 0.7 < vectors[1, 970] < 0.99 and vectors[2, 978] == pytest.approx(0.5)


def test_biggan_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    folder = biggan_folder(tmp_path / "b")
    config = json.loads((folder / "config.json").read_text())
    config["channel_width"] = 16
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="do not fit config.json: size mismatch for"):
        fetch_biggan({"weights": str(folder)}, "generators.b", tmp_path / "model")


def test_full_size_biggan_deep_256_builds():
    from torch.utils.flop_counter import FlopCounterMode

    from clipgan.generators.biggan import BigGANNet

    net = BigGANNet(BigGANArch()).eval().requires_grad_(False)
    with torch.inference_mode(), FlopCounterMode(display=False) as flops:
        image = net(torch.zeros(1, 128), torch.zeros(1, 1000), 0.4)
    assert image.shape == (1, 3, 256, 256)
    assert flops.get_total_flops() == pytest.approx(77.7e9, rel=0.01)  # the published model's count


# ---------------------------------------------------------------------------------------------
# missing assets fail at once, naming the key and the way to provide them


@pytest.mark.parametrize("fetch, settings, message", [
    (fetch_stylegan2, {}, r"generators.g: no weights configured. Set generators.g.weights to the local path of a "
                          r"rosinality-format StyleGAN2 checkpoint"),
    (fetch_stylegan2, {"weights": "/nowhere/church.pt"}, r"generators.g.weights: /nowhere/church.pt not found"),
    (fetch_biggan, {"weights": "/nowhere"}, r"generators.g.weights: /nowhere/pytorch_model.bin not found. It "
                                            r"should be a folder with config.json and pytorch_model.bin"),
    (fetch_stylegan2, {"url": "https://example.invalid/church.pt"}, r"CLIPGAN_OFFLINE=1 forbids downloading"),
])
def test_missing_generator_weights(tmp_path, monkeypatch, fetch, settings, message):
    monkeypatch.setenv("CLIPGAN_OFFLINE", "1")
    with pytest.raises(MissingAssetError, match=message):
        fetch(settings, "generators.g", tmp_path / "model", downloads=tmp_path / "downloads")
    assert not (tmp_path / "model").exists()


def test_missing_clip_tag_offline_says_how_to_go_local(tmp_path, monkeypatch):
    from clipgan.stages import Job, clip_fetch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    clip = {"model": "ViT-B-32", "pretrained": "laion2b_s34b_b79k"}
    with pytest.raises(MissingAssetError, match=r"clip.pretrained: the weights 'laion2b_s34b_b79k' of ViT-B-32 "
                                                r"could not be fetched.*set clip.pretrained to its path"):
        clip_fetch(Job(output={"model": str(tmp_path / "clip.pt")}, params={"clip": clip}))


def test_missing_judge_imagenet_weights_offline(tmp_path, monkeypatch):
    from clipgan.assets import fetch_imagenet_resnet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("CLIPGAN_OFFLINE", "1")
    with pytest.raises(MissingAssetError, match=r"judge.imagenet_weights: the resnet18 ImageNet weights .* Put "
                                                r"resnet18-f37072fd.pth there .* or set judge.weights"):
        fetch_imagenet_resnet("resnet18", tmp_path / "out.pt", downloads=tmp_path / "downloads")


def test_judge_imagenet_weights_are_downloaded_once_and_checked(tmp_path, monkeypatch):
    import hashlib
    import threading
    import types
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import torchvision

    from clipgan.assets import fetch_imagenet_resnet

    served = tmp_path / "served"
    served.mkdir()
    torch.save(torchvision.models.resnet18().state_dict(), served / "weights.pth")
    sha = hashlib.sha256((served / "weights.pth").read_bytes()).hexdigest()
    good, bad = f"resnet18-{sha[:8]}.pth", "resnet18-00000000.pth"
    for name in (good, bad):
        (served / name).write_bytes((served / "weights.pth").read_bytes())
    requests = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    url = {"name": good}
    monkeypatch.setattr(torchvision.models, "get_model_weights", lambda arch: types.SimpleNamespace(
        DEFAULT=types.SimpleNamespace(url=f"{base}/{url['name']}")))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    try:
        fetch_imagenet_resnet("resnet18", tmp_path / "a.pt", downloads=tmp_path / "downloads")
        fetch_imagenet_resnet("resnet18", tmp_path / "b.pt", downloads=tmp_path / "downloads")
        assert len(requests) == 1  # the rerun used the downloaded file
        assert torch.equal(torch.load(tmp_path / "b.pt", weights_only=True)["fc.weight"],
                           torch.load(served / "weights.pth", weights_only=True)["fc.weight"])
        url["name"] = bad
        with pytest.raises(MissingAssetError, match=r"resnet18-00000000.pth does not match the sha256 prefix "
                                                    r"00000000 in its name; deleted it"):
            fetch_imagenet_resnet("resnet18", tmp_path / "c.pt", downloads=tmp_path / "downloads")
        assert not (tmp_path / "downloads" / "judge" / bad).exists() and not (tmp_path / "c.pt").exists()
    finally:
        httpd.shutdown()


def test_judge_imagenet_weights_from_the_torch_hub_cache(tmp_path, monkeypatch):
    from assets import torchvision_hub_cache
    from clipgan.assets import fetch_imagenet_resnet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("CLIPGAN_OFFLINE", "1")
    cached = torchvision_hub_cache(tmp_path / "torch", "resnet18")
    fetch_imagenet_resnet("resnet18", tmp_path / "out.pt")
    stored = torch.load(tmp_path / "out.pt", weights_only=True)
    assert torch.equal(stored["fc.weight"], torch.load(cached, weights_only=True)["fc.weight"])
