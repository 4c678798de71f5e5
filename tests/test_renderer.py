"""The renderer generator: every image's class is known, and its prior draws the data's class mix."""

import numpy as np
import pytest
import torch

from clipgan.generators.renderer import GeneStream, SceneRenderer, train_from_labels

CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


def renderer(mix=(1, 1, 1, 1, 1, 1)) -> SceneRenderer:
    return SceneRenderer({"classes": CLASSES, "class_mix": list(mix), "image_size": 32})


def test_the_prior_draws_the_learned_class_mix():
    """Gumbel-max over uniform class genes: P(class) is the training data's share (simulated, 20,000 draws)."""
    labels = np.repeat(np.arange(6), [500, 300, 100, 100, 0, 1000])
    checkpoint, history = train_from_labels(torch.zeros(1), {}, image_size=32, seed=0, labels=labels,
                                            classes=CLASSES)
    gen = SceneRenderer(checkpoint)
    drawn = np.array(gen.true_classes(gen.sample_latents(20_000, np.random.default_rng(0))))
    expected = np.bincount(labels, minlength=6) / len(labels)
    observed = np.array([(drawn == c).mean() for c in CLASSES])
    assert np.abs(observed - expected).max() < 0.015, (observed, expected)
    assert (drawn == "sea").sum() == 0  # a class the data lacks is never drawn
    assert history[0]["share_street"] == pytest.approx(0.5)


def test_images_are_deterministic_in_the_latent_and_in_range():
    gen = renderer()
    z = torch.from_numpy(gen.sample_latents(8, np.random.default_rng(1)))
    a, b = gen(z), gen(z)
    assert a.shape == (8, 3, 32, 32) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1
    assert gen.realism(z, a).shape == (8,)


def test_a_small_step_in_the_scene_genes_keeps_the_class_and_changes_the_image_a_little():
    gen = renderer()
    z = gen.sample_latents(16, np.random.default_rng(2))
    nudged = z.copy()
    nudged[:, len(CLASSES):] += 0.01
    assert gen.true_classes(z) == gen.true_classes(nudged)
    near = (gen(torch.from_numpy(z)) - gen(torch.from_numpy(nudged))).abs().mean()
    far = (gen(torch.from_numpy(z)) - gen(torch.from_numpy(z[::-1].copy()))).abs().mean()
    assert near < far / 3, (near, far)


def test_the_class_genes_choose_the_class():
    gen = renderer()
    z = gen.sample_latents(6, np.random.default_rng(3))
    z[:, :6] = 0.01
    z[np.arange(6), np.arange(6)] = 0.99
    assert gen.true_classes(z) == CLASSES


def test_the_gene_stream_answers_the_renderers_calls():
    stream = GeneStream(np.array([0.0, 1.0, -1.0]))
    assert stream.uniform(0, 2) == pytest.approx(1.0)  # Phi(0) = 0.5
    assert stream.random((2,)).shape == (2,)
    assert 0 <= stream.integers(3) < 3 and stream.choice(["a", "b"]) in ("a", "b")
    assert stream.normal(1.0, 2.0) == pytest.approx(1.0 + 2.0 * stream.genes[(stream.position - 1) % 3])
    with pytest.raises(ValueError, match="class mix"):
        SceneRenderer({"classes": CLASSES, "class_mix": [0] * 6, "image_size": 32})
