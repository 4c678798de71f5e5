import pytest
import torch

from clipgan.clip import ClipScorer, ClipSpec, MissingAssetError, image_mean_std, load_clip


def test_tiny_config_loads_with_random_weights(tiny_clip_config):
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    assert not model.training
    assert model.encode_text(tok(["a view"])).shape == (1, 64)


def test_a_saved_checkpoint_loads_back_through_the_same_door(tiny_clip_config, tmp_path):
    torch.manual_seed(0)
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    path = tmp_path / "clip.pt"
    torch.save(model.state_dict(), path)
    again, _ = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config), pretrained=str(path)))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    a = ClipScorer(model, tok, "a forest")(x)
    b = ClipScorer(again, tok, "a forest")(x)
    assert torch.allclose(a, b)


def test_unknown_tag_is_an_error_listing_tags_and_the_local_file_option():
    with pytest.raises(MissingAssetError, match=r"(?s)laion2b_s34b_b79k.*path of an open_clip state dict"):
        load_clip(ClipSpec(model="ViT-B-32", pretrained="no_such_tag"))


def test_unknown_architecture_names_the_key():
    with pytest.raises(ValueError, match="clip.model"):
        load_clip(ClipSpec(model="NoSuchNet"))


def test_a_second_judges_clip_names_its_own_keys(tmp_path):
    """A second judge's CLIP settings live under judges.<id>: its errors point there, not at the guiding clip."""
    from clipgan.config import clip_spec

    with pytest.raises(ValueError, match=r"judges\.clip_b\.model.*judges\.clip_b\.config_file"):
        load_clip(clip_spec({"model": "NoSuchNet"}, section="judges.clip_b"))
    with pytest.raises(MissingAssetError, match=r"judges\.clip_b\.pretrained"):
        load_clip(clip_spec({"model": "ViT-B-32", "pretrained": "no_such_tag"}, section="judges.clip_b"))
    with pytest.raises(MissingAssetError, match=r"judges\.clip_b\.config_file"):
        load_clip(clip_spec({"model": "x", "config_file": str(tmp_path / "nope.json")}, section="judges.clip_b"))


def test_missing_config_file_names_the_key(tmp_path):
    with pytest.raises(MissingAssetError, match="clip.config_file"):
        load_clip(ClipSpec(model="x", config_file=str(tmp_path / "nope.json")))


def test_preprocessing_on_tensors_matches_clip_normalisation(tiny_clip_config):
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    scorer = ClipScorer(model, tok, "a view")
    x = torch.zeros(1, 3, 64, 64)  # mid-grey in [-1, 1]
    out = scorer.preprocess(x)
    mean, std = image_mean_std(model)
    assert out.shape == (1, 3, 32, 32)  # resized to the model's input
    expected = (0.5 - torch.tensor(mean)) / torch.tensor(std)
    assert torch.allclose(out[0, :, 5, 5], expected, atol=1e-5)


def test_augmented_score_is_deterministic_and_differs_from_plain(tiny_clip_config):
    torch.manual_seed(0)
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    scorer = ClipScorer(model, tok, "a view", n_augment=4, augment_seed=1)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    assert torch.equal(scorer(x), scorer(x))
    assert not torch.allclose(scorer(x), scorer(x, augmented=False))


def test_over_long_prompt_is_truncated_with_a_warning(tiny_clip_config, caplog):
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    ClipScorer(model, tok, "a very " * 30 + "long prompt")
    assert any("truncated" in r.message for r in caplog.records)


def test_clip_stage_is_deterministic_for_a_seed(tiny_clip_config, tmp_path):
    """The pipeline's CLIP stage twice on the same scenes: identical weights (initialisation included)."""
    import yaml

    from clipgan.stages import Job, clip_train, data_prepare

    config = yaml.safe_load((tiny_clip_config.parents[1] / "config.yaml").read_text())
    tiny = {"source": "synthetic", "class_mix": {"sea": 1, "forest": 1}, "n_train": 64, "n_test": 8}
    data_prepare(Job(output={"folder": str(tmp_path / "tiny")}, wildcards={"dataset": "tiny"},
                     params={"settings": tiny, "synthetic": config["synthetic"], "seed": config["seed"],
                             "image_size": config["image_size"], "classes": None}))
    clip = {**config["clip"], "train": {"epochs": 1, "batch_size": 32}}
    weights = []
    for run in range(2):
        torch.rand(run + 1)  # whatever the process drew before must not matter
        clip_train(Job(input={"datasets": [str(tmp_path / "tiny")], "model_config": [str(tiny_clip_config)]},
                       output={"model": str(tmp_path / f"clip{run}.pt"), "metrics": str(tmp_path / f"m{run}.json")},
                       params={"clip": clip, "seed": config["seed"], "image_size": config["image_size"],
                               "classes": config["classes"], "device": "cpu"}))
        weights.append(torch.load(tmp_path / f"clip{run}.pt", weights_only=True))
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


@pytest.mark.parametrize("prompt", ["un paysage d'été à Genève", "日本の美しい風景", "a landscape 🌄🏔️",
                                    "ландшафт\twith\nnewlines", "Ω≈ç√∫ \u200b zero-width"])
def test_any_unicode_prompt_scores(tiny_clip_config, prompt):
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    score = ClipScorer(model, tok, prompt)(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert score.shape == (2,) and torch.isfinite(score).all()


def test_random_text_directions_lie_among_text_features_and_score_per_row(tiny_clip_config):
    from clipgan.clip import NEUTRAL_PHRASES, encode_text, random_text_directions

    torch.manual_seed(0)
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    targets = random_text_directions(model, tok, 5, seed=3, device="cpu")
    assert targets.shape == (5, 64) and torch.allclose(targets.norm(dim=-1), torch.ones(5))
    assert torch.equal(targets, random_text_directions(model, tok, 5, seed=3, device="cpu"))  # seeded
    assert not torch.allclose(targets[0], targets[1])  # one per restart
    phrases = encode_text(model, tok, list(NEUTRAL_PHRASES), "cpu")
    mean = torch.nn.functional.normalize(phrases.mean(0), dim=0)
    uniform = torch.nn.functional.normalize(torch.randn(5, 64, generator=torch.Generator().manual_seed(1)), dim=-1)
    assert (targets @ mean).mean() > (uniform @ mean).abs().mean() + 0.2  # where text lies, not anywhere on the sphere

    scorer = ClipScorer(model, tok, None, text_features=targets)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    features = scorer.image_features(x)
    per_row = scorer(x, rows=[0, 1, 2, 3, 4])
    assert torch.allclose(per_row, scorer.score_all(features).diagonal(), atol=1e-6)
    with pytest.raises(ValueError, match="5 text features"):
        scorer(x)
