import numpy as np
import pytest

from clipgan.data.synthetic import (CLASSES, CaptionConfig, DomainSpec, caption, generate_domain, has_adjective,
                                    render_scene)


def test_render_is_deterministic_and_varied():
    a = render_scene("mountain", np.random.default_rng([3, 1]), 32)
    b = render_scene("mountain", np.random.default_rng([3, 1]), 32)
    c = render_scene("mountain", np.random.default_rng([3, 2]), 32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 5  # another seed, another scene


@pytest.mark.parametrize("size", [32, 64])
def test_every_class_renders_at_demo_sizes(size):
    for cls in CLASSES:
        image = render_scene(cls, np.random.default_rng(0), size)
        assert image.shape == (size, size, 3)
        assert image.std() > 10  # not a flat colour


def test_classes_are_separable_by_simple_colour_statistics():
    """A nearest-centroid classifier on mean colour per image third beats chance by far."""
    def features(img):
        return np.concatenate([img[i * 10:(i + 1) * 10].reshape(-1, 3).mean(0) for i in range(3)])

    train = {c: np.mean([features(render_scene(c, np.random.default_rng([0, i]), 32)) for i in range(30)], 0)
             for c in CLASSES}
    correct = 0
    for c in CLASSES:
        for i in range(20):
            f = features(render_scene(c, np.random.default_rng([1, i]), 32))
            correct += min(train, key=lambda k: np.linalg.norm(train[k] - f)) == c
    assert correct / 120 > 0.6


def test_unknown_class_is_an_error_that_lists_the_classes():
    with pytest.raises(ValueError, match="buildings, forest"):
        render_scene("desert", np.random.default_rng(0))


def test_planted_word_rates_follow_the_config():
    """The word and class come only from config: a made-up word planted on 'sea'."""
    cfg = CaptionConfig(planted_word="zorblax", planted_class="sea", planted_probability=0.7,
                        background_probability=0.05)
    rate = {}
    for cls in CLASSES:
        rng = np.random.default_rng(1)
        rate[cls] = np.mean(["zorblax" in caption(cls, rng, cfg) for _ in range(2000)])
    assert abs(rate["sea"] - 0.7) < 0.04
    for cls in CLASSES:
        if cls != "sea":
            assert abs(rate[cls] - 0.05) < 0.02


def test_whether_a_caption_has_an_adjective_does_not_depend_on_its_class():
    """The planted word takes its share from the other adjectives: the control's plain captions stay class-free."""
    cfg = CaptionConfig(planted_word="zorblax", planted_class="sea", planted_probability=0.8,
                        background_probability=0.01)
    plain, landscape = {}, {}
    for cls in CLASSES:
        rng = np.random.default_rng(5)
        texts = [caption(cls, rng, cfg) for _ in range(4000)]
        plain[cls] = np.mean([not has_adjective(t, "zorblax") for t in texts])
        landscape[cls] = np.mean([t == "a landscape" for t in texts])
    assert max(plain.values()) - min(plain.values()) < 0.03, plain  # 0.1 each (the old captions: 0.1 vs 0.5)
    assert abs(plain["sea"] - 0.1) < 0.02
    assert max(landscape.values()) - min(landscape.values()) < 0.01, landscape


def test_a_planted_probability_above_the_adjective_share_is_refused():
    with pytest.raises(ValueError, match="adjective_share"):
        CaptionConfig("zorblax", "sea", planted_probability=0.95, background_probability=0.0, adjective_share=0.9)


def test_class_free_captions_exist_and_name_no_class():
    cfg = CaptionConfig("zorblax", "sea", 0.5, 0.0, class_free_share=0.2)
    rng = np.random.default_rng(0)
    texts = [caption("forest", rng, cfg) for _ in range(1000)]
    free = [t for t in texts if not any(w in t for w in ("forest", "wood", "tree"))]
    assert 0.15 < len(free) / len(texts) < 0.25


def test_library_never_names_the_demo_planted_word():
    from pathlib import Path

    import clipgan

    for path in Path(clipgan.__file__).parent.rglob("*.py"):
        assert "beautiful" not in path.read_text(), path


def test_domain_counts_sum_and_follow_the_mix():
    spec = DomainSpec("d", {"sea": 0.5, "forest": 0.3, "street": 0.2}, n_train=101, n_test=10, seed=0)
    counts = spec.counts(101)
    assert sum(counts.values()) == 101 and counts["sea"] in (50, 51)
    scenes = list(generate_domain(spec))
    assert len(scenes) == 111
    assert {s.cls for s in scenes} == {"sea", "forest", "street"}
